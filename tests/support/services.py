"""PostgreSQL and Redis from Debian's packages, private to one test session, on loopback.

Installed with apt-get when missing (a fresh machine), then started from scratch in a
temporary folder: `initdb` + `pg_ctl` as the `postgres` user (PostgreSQL refuses to run as
root) with trust authentication on 127.0.0.1 only, and `redis-server` without persistence.
Both are stopped when the session ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.prefect_server import free_port

PACKAGES = ("postgresql", "redis-server")


def _pg_bin() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


def ensure_packages() -> Path:
    """The PostgreSQL bin folder, after installing the packages if either is missing."""
    if _pg_bin() is None or shutil.which("redis-server") is None:
        if os.geteuid() != 0:
            raise RuntimeError(f"install {' '.join(PACKAGES)} (apt-get needs root)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True)
            subprocess.run(install, env=env, check=True, capture_output=True)
    found = _pg_bin()
    assert found is not None and shutil.which("redis-server"), "packages did not install"
    return found


@dataclass
class Services:
    pg_port: int
    redis_port: int

    def pg_url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://mlops@127.0.0.1:{self.pg_port}/{database}"


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def postgres_and_redis(folder: Path, databases: tuple[str, ...]) -> Iterator[Services]:
    pg_bin = ensure_packages()
    folder.mkdir(parents=True, exist_ok=True)
    # The postgres user must reach its data folder; pytest's tmp folders are root-only.
    pg_home = Path(tempfile.mkdtemp(prefix="mlops-spec-pg-"))
    data, sockets = pg_home / "pgdata", pg_home / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(pg_home, "postgres")
        shutil.chown(sockets, "postgres")
    services = Services(free_port(), free_port())
    subprocess.run(
        _as_postgres(
            [str(pg_bin / "initdb"), "-D", str(data), "-U", "mlops", "-A", "trust", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {services.pg_port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c max_connections=200"
    )
    pg_ctl = [str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(pg_home / "postgres.log")]
    subprocess.run(_as_postgres([*pg_ctl, "-o", options, "-w", "start"]), check=True)
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(services.redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=(folder / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        for database in databases:
            subprocess.run(
                [
                    str(pg_bin / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(services.pg_port),
                    "-U",
                    "mlops",
                    database,
                ],
                check=True,
            )
        deadline = time.monotonic() + 30
        while (
            subprocess.run(
                ["redis-cli", "-p", str(services.redis_port), "ping"], capture_output=True
            ).stdout.strip()
            != b"PONG"
        ):
            assert redis.poll() is None and time.monotonic() < deadline, "redis did not start"
            time.sleep(0.2)
        yield services
    finally:
        redis.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            redis.wait(timeout=10)
        subprocess.run(_as_postgres([*pg_ctl, "-m", "fast", "stop"]), check=False)
        with contextlib.suppress(OSError):
            shutil.copy(pg_home / "postgres.log", folder / "postgres.log")
        shutil.rmtree(pg_home, ignore_errors=True)
