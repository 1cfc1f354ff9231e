"""Reading specs: safe YAML with positions, environment, policies and located errors."""

from mlops_spec.loader.load import (
    LoadedSpec,
    content_hash,
    load_policy,
    load_spec,
    validate_file,
)

__all__ = ["LoadedSpec", "content_hash", "load_policy", "load_spec", "validate_file"]
