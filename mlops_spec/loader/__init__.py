"""Reading specs: safe YAML with positions, environment, policies and located errors."""

from mlops_spec.loader.load import (
    LoadedAudit,
    LoadedSpec,
    content_hash,
    document_kind,
    load_audit,
    load_policy,
    load_spec,
    validate_file,
)

__all__ = [
    "LoadedAudit",
    "LoadedSpec",
    "content_hash",
    "document_kind",
    "load_audit",
    "load_policy",
    "load_spec",
    "validate_file",
]
