"""What every command module shares: exit codes and small file helpers."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_STOPPED, EXIT_INTERNAL = 0, 1, 2, 3


def spec_files(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"}))
        else:
            files.append(path)
    return files


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
