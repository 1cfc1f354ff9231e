"""State that goes bad: each broken piece of the state folder ends a run with one clear line.

A project trains once (v1, champion), its state folder is kept, and each case starts from that
copy with one thing broken: a truncated Optuna journal, a corrupt MLflow SQLite database, a
corrupt Feast registry, a read-only state folder and a full disk (a small tmpfs). Each run must
exit 1 with a last line that names the file or folder and says what to do, print no traceback,
and leave the registry as it was: no new version, no alias moved.

The read-only and full-disk cases mount file systems, so they need root (skipped otherwise).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.prefect_server import PrefectServer
from tests.support.private_project import SPEC, penguins_project, registry_state, run_cli

pytestmark = pytest.mark.e2e

DATA = "data"  # outside the state folder, so a remounted state keeps the project's data


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, prefect_server: PrefectServer) -> Path:
    """A project after one successful run; its state folder is copied to `state.good`."""
    root = penguins_project(tmp_path_factory.mktemp("broken-state"), data_dir=DATA)
    first = run_cli(root, prefect_server, "run", "--no-progress", SPEC, env=_env())
    assert first.returncode == 0, first.stderr[-3000:]
    versions, aliases = registry_state(root / ".mlops" / "mlflow.db")
    assert versions == [1] and aliases["champion"] == 1
    shutil.copytree(root / ".mlops", root / "state.good", symlinks=True)
    return root


def _trained_registry(root: Path) -> tuple[list[int], dict[str, int]]:
    return registry_state(root / "state.good" / "mlflow.db")


def _env() -> dict[str, str]:
    return {"MLOPS_SPEC_DATA_DIR": DATA}


def _fresh_state(root: Path) -> Path:
    state = root / ".mlops"
    shutil.rmtree(state, ignore_errors=True)
    shutil.copytree(root / "state.good", state, symlinks=True)
    return state


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    return result.stderr.strip().splitlines()[-1]


def _truncate_journal(state: Path) -> str:
    journal = state / "optuna.journal"
    with journal.open("r+b") as handle:
        handle.truncate(journal.stat().st_size - 37)  # the last record, cut short
    return str(journal)


def _corrupt_mlflow(state: Path) -> str:
    database = state / "mlflow.db"
    data = bytearray(database.read_bytes())
    data[0:100] = b"x" * 100  # the SQLite header
    database.write_bytes(bytes(data))
    return str(database)


def _corrupt_registry(state: Path) -> str:
    registry = state / "feast" / "registry.db"
    data = registry.read_bytes()
    registry.write_bytes(data[: len(data) // 2] + b"garbage")
    return str(registry)


CORRUPTIONS: dict[str, tuple[Callable[[Path], str], str]] = {
    "optuna-journal": (_truncate_journal, "move the file aside"),
    "mlflow-database": (_corrupt_mlflow, "restore it from a backup"),
    "feast-registry": (_corrupt_registry, "apply`, which rebuilds it"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_a_corrupt_state_file_is_one_line_and_changes_nothing(
    trained: Path, prefect_server: PrefectServer, case: str
) -> None:
    corrupt, advice = CORRUPTIONS[case]
    state = _fresh_state(trained)
    broken = corrupt(state)
    database = state / "mlflow.db"
    before = database.read_bytes()
    line = _last_line(run_cli(trained, prefect_server, "run", "--no-progress", SPEC, env=_env()))
    assert line.startswith("error: ") and broken in line and advice in line, line
    if case == "mlflow-database":
        assert database.read_bytes() == before  # nothing was written into it
    else:
        assert registry_state(database) == _trained_registry(trained)


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here ({result.stderr.strip()})")


@contextmanager
def _mounted_state(root: Path, kind: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only or tiny state folder needs root")
    state = _fresh_state(root)
    if kind == "readonly":
        _mount("--bind", str(state), str(state))
        subprocess.run(["mount", "-o", "remount,ro,bind", str(state)], check=True)
    else:
        used = sum(p.stat().st_size for p in state.rglob("*") if p.is_file()) // 1024
        shutil.rmtree(state)
        state.mkdir()
        _mount("-t", "tmpfs", "-o", f"size={used + 400}k", "tmpfs", str(state))
        shutil.copytree(root / "state.good", state, symlinks=True, dirs_exist_ok=True)
    try:
        yield state
    finally:
        subprocess.run(["umount", str(state)], check=True)


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("readonly", "is not writable (Read-only file system): make it writable"),
        ("full", "full: free space"),
    ],
)
def test_an_unwritable_state_folder_is_one_line_and_changes_nothing(
    trained: Path, prefect_server: PrefectServer, kind: str, says: str
) -> None:
    with _mounted_state(trained, kind) as state:
        result = run_cli(trained, prefect_server, "run", "--no-progress", SPEC, env=_env())
        line = _last_line(result)
        assert line.startswith("error: ") and str(state) in line and says in line, line
        assert registry_state(state / "mlflow.db") == _trained_registry(trained)
