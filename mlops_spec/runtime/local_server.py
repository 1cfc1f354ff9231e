"""The project's own Prefect server: started on demand, recorded in the state folder, reused.

Without a server, every command that runs a flow starts Prefect's temporary server afresh
(10-20 s on 2 cores) and its runs vanish with it, so the Prefect UI showed nothing a newcomer
did. Instead the first command that needs Prefect starts ``prefect server start`` in the
background (its database under ``<state>/prefect``, a free loopback port, a log file), records
it in ``<state>/prefect-server.json`` and later commands, workers and deployments reuse it.

Starting is serialised by an exclusive ``flock`` on ``<state>/prefect-server.lock``: two
commands starting at once get one server. A record whose process is gone, or whose port no
longer answers as a Prefect API, is stale and replaced. Only the standard library is used
here: the server runs in its own process, so nothing of Prefect is imported to manage it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from mlops_spec.errors import StepError
from mlops_spec.processes import pid_alive

RECORD = "prefect-server.json"
LOCK = "prefect-server.lock"
LOG = "prefect-server.log"
START_SECONDS = 120.0
STOP_SECONDS = 20.0


@dataclass(frozen=True)
class ServerRecord:
    """What a later command needs to find (and stop) the server one command started."""

    pid: int
    port: int
    started_at: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"


def ensure_server(
    state: Path,
    environment: dict[str, str],
    while_starting: Callable[[], None] | None = None,
) -> tuple[ServerRecord, bool]:
    """The project's running server, started first if there is none; ``(record, started)``.

    ``while_starting`` runs once the server process is spawned and before its health check is
    awaited: on 2 cores the command's own start-up work overlaps the server's."""
    with _locked(state):
        record = _live_record(state)
        if record is not None:
            return record, False
        return _start(state, environment, while_starting), True


def running_server(state: Path) -> ServerRecord | None:
    """The recorded server if it is alive and answering, else ``None`` (nothing is started)."""
    return _live_record(state)


def recorded_api_url(state: Path) -> str | None:
    """The API URL of the server this state folder recorded (alive or not; no request made)."""
    record = _read_record(state)
    return record.api_url if record is not None else None


def stop_server(state: Path) -> ServerRecord | None:
    """Stop the recorded server and its children; the record that was stopped, if any."""
    with _locked(state):
        record = _read_record(state)
        if record is None:
            return None
        if _is_prefect_server(record.pid):
            _terminate(record.pid)
        (state / RECORD).unlink(missing_ok=True)
        return record


@contextlib.contextmanager
def _locked(state: Path) -> Iterator[None]:
    state.mkdir(parents=True, exist_ok=True)
    with (state / LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_record(state: Path) -> ServerRecord | None:
    try:
        raw = json.loads((state / RECORD).read_text())
        return ServerRecord(int(raw["pid"]), int(raw["port"]), str(raw["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _live_record(state: Path) -> ServerRecord | None:
    record = _read_record(state)
    if record is None or not pid_alive(record.pid) or not _healthy(record.api_url, timeout=5):
        return None
    return record


def _start(
    state: Path, environment: dict[str, str], while_starting: Callable[[], None] | None
) -> ServerRecord:
    stale = _read_record(state)
    if stale is not None and _is_prefect_server(stale.pid):
        _terminate(stale.pid)  # a hung or half-dead server of ours: replace it
    port = _free_port()
    log = (state / LOG).open("ab")
    env = {**os.environ, **environment}
    env.pop("PREFECT_API_URL", None)  # the server is the API; it must not look for another
    # The UI asks this for its API's address; unset, it calls port 4200 and shows "Can't
    # connect to Server API" on any other port.
    env["PREFECT_SERVER_UI_API_URL"] = f"http://127.0.0.1:{port}/api"
    process = subprocess.Popen(
        [_prefect_cli(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # outlives the command; stopped by `mlops-spec server stop`
    )
    log.close()
    record = ServerRecord(process.pid, port, datetime.now(UTC).isoformat(timespec="seconds"))
    if while_starting is not None:
        while_starting()
    _wait_healthy(process, record, state / LOG)
    tmp = state / f".{RECORD}.tmp"
    tmp.write_text(json.dumps(asdict(record)))
    tmp.replace(state / RECORD)
    return record


def _wait_healthy(process: subprocess.Popen[bytes], record: ServerRecord, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StepError(
                f"the project's Prefect server exited at start (code {process.returncode}); "
                f"see {log}"
            )
        if _healthy(record.api_url, timeout=2):
            return
        time.sleep(0.25)
    _terminate(process.pid)
    raise StepError(
        f"the project's Prefect server did not answer within {START_SECONDS:.0f} s; see {log}, "
        "or set MLOPS_SPEC_PREFECT_SERVER=ephemeral"
    )


def _healthy(api_url: str, *, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:
            return bool(response.status == 200 and response.read().strip() == b"true")
    except (OSError, ValueError):
        return False


def _is_prefect_server(pid: int) -> bool:
    """Whether ``pid`` still runs ``prefect server start``: a stale record's pid may have been
    reused by an unrelated process, which must never be signalled."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"server" in argv and any(arg.endswith(b"prefect") for arg in argv)


def _terminate(pid: int) -> None:
    """SIGINT to the server's process group (what Ctrl-C does), SIGKILL after a grace time."""
    for sig, wait in ((signal.SIGINT, STOP_SECONDS), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.1)
        if not pid_alive(pid):
            return


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prefect_cli() -> str:
    beside = Path(sys.executable).parent / "prefect"
    found = str(beside) if beside.is_file() else shutil.which("prefect")
    if found is None:
        raise StepError("the `prefect` command is not installed beside mlops-spec")
    return found
