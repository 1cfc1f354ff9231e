"""One load per spec per command: the CLI validates a spec before Prefect starts, and the flow
(and its run name) needs the same spec again in the same process."""

from __future__ import annotations

from pathlib import Path

from mlops_spec.loader import LoadedSpec, load_spec
from mlops_spec.settings import Settings

_loaded: dict[tuple[str, int, int, str], LoadedSpec] = {}


def load_once(spec_path: str | Path, settings: Settings) -> LoadedSpec:
    """The loaded spec, reused while the file is unchanged (same size and modification time)
    and the project root the same; a deployment's worker loads it afresh for every run."""
    path = Path(spec_path)
    stat = path.stat() if path.is_file() else None
    key = (
        str(path.resolve()),
        stat.st_mtime_ns if stat else 0,
        stat.st_size if stat else 0,
        str(settings.root),
    )
    if stat is None or key not in _loaded:
        loaded = load_spec(spec_path, settings)
        if stat is None:
            return loaded
        _loaded.clear()
        _loaded[key] = loaded
    return _loaded[key]
