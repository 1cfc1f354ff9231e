"""Writing several files as one change: either every file appears, or none does.

``features add`` writes a Feast module, an entity-rows parquet file and a spec. A failure
half-way (a full disk, a permission error) must not leave a module that ``feast apply`` would
import without the spec that uses it, so each file is written to a temporary name in its own
folder first and only renamed into place once all of them were written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from mlops_spec.project import ProjectError


def refuse_existing(paths: list[Path], root: Path) -> None:
    """Never overwrite: a file the user may have edited is theirs."""
    for path in paths:
        if path.exists():
            raise ProjectError(
                f"{_shown(path, root)} exists; pass another --name or remove it first"
            )


def write_all(files: Mapping[Path, bytes], root: Path) -> None:
    """Write ``files`` (absolute path -> content) all-or-nothing; refuses existing files."""
    refuse_existing(list(files), root)
    created_dirs: list[Path] = []
    temps: dict[Path, Path] = {}
    placed: list[Path] = []
    current = root
    try:
        for path, content in files.items():
            current = path
            created_dirs.extend(_make_parents(path.parent))
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps[path] = Path(name)
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
        refuse_existing(list(files), root)  # one more look, just before the renames
        for path, temp in temps.items():
            current = path
            os.replace(temp, path)
            placed.append(path)
    except BaseException as exc:
        _undo(placed, list(temps.values()), created_dirs)
        if isinstance(exc, OSError):
            raise ProjectError(
                f"cannot write {_shown(current, root)}: {exc.strerror or exc}; nothing was written"
            ) from exc
        raise


def _undo(placed: list[Path], temps: list[Path], created_dirs: list[Path]) -> None:
    for path in [*placed, *temps]:
        path.unlink(missing_ok=True)
    for folder in reversed(created_dirs):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created, outermost first."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        path.mkdir()
    return list(reversed(missing))


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
