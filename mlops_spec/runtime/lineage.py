"""What makes a model version traceable: the code, the data and the spec it came from."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pandas as pd


def git_commit(root: Path) -> tuple[str, bool]:
    """The checkout's commit and whether it has uncommitted changes ('unknown' outside git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown", False
    return commit, dirty


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """Order-sensitive hash of a frame's values and column names (pandas' own row hashing)."""
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest = hashlib.sha256(rows.tobytes())
    digest.update("|".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


def tree_sha256(folder: Path, patterns: tuple[str, ...] = ("*.py", "*.yaml")) -> str:
    """Hash of a folder's definition files (names and contents), e.g. a Feast repo."""
    digest = hashlib.sha256()
    for pattern in patterns:
        for path in sorted(folder.glob(pattern)):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
