"""One promotion of a model at a time, across processes and machines, via Prefect.

MLflow cannot compare-and-set an alias, so two runs of one spec could each read "no champion",
each pass their gates and each move the alias; the last writer would win silently. The moves
are serialised with a Prefect global concurrency limit of one slot per model instead of a file
lock: it holds wherever the runs share a Prefect API (the embedded one shares its database
file), and its slot is a lease that expires if the holder is killed, so a crashed run cannot
block promotions for good. Inside the slot, ``mlflow_registry.promote(expected_from=...)``
checks the alias still points where the gates compared against.

With no Prefect API configured (``MLOPS_SPEC_PREFECT_SERVER=ephemeral``), taking the limit
would start Prefect's temporary server just for the lock (10-20 s for a rollback), and with the
project's own server (loopback only) importing Prefect's client costs a rollback 2-3 s. Every
process of such a project shares one machine and one state folder, so an exclusive ``flock`` on
``<state>/locks/promote-<model>.lock`` serialises them instead; the kernel drops it when its
holder dies, as the lease would expire. The Prefect limit is used for any other API URL, where
runs may come from several machines.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from mlops_spec.errors import RegistryError

# A promotion is a few registry calls; the lease outlives them comfortably and is renewed
# while held, yet frees the slot soon after a holder is killed.
LEASE_SECONDS = 60.0
WAIT_SECONDS = 600.0


def limit_name(model: str) -> str:
    return f"mlops-spec-promote-{model}"


@contextmanager
def promotion_lock(model: str) -> Iterator[None]:
    """Hold the model's promotion slot; raise ``RegistryError`` if it stays taken too long."""
    from mlops_spec.runtime.environment import command_settings

    state = command_settings().state
    if not _shared_beyond_this_machine(state):
        with _file_lock(model, state):
            yield
        return
    with _prefect_limit(model):
        yield


def _shared_beyond_this_machine(state: Path) -> bool:
    from mlops_spec.runtime.local_server import recorded_api_url

    url = os.environ.get("PREFECT_API_URL")
    return bool(url) and url != recorded_api_url(state)


@contextmanager
def _file_lock(model: str, state: Path) -> Iterator[None]:
    folder = state / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + WAIT_SECONDS
    with (folder / f"promote-{model}.lock").open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RegistryError(
                        f"another promotion of {model!r} held {handle.name} for over "
                        f"{WAIT_SECONDS:.0f} s; find its holder with `fuser {handle.name}`"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _prefect_limit(model: str) -> Iterator[None]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    name = limit_name(model)
    # Read before creating: creating one that exists makes the server log an integrity-error
    # traceback, and every promotion after the first would add one. Another run may still
    # create it between the two calls; one slot either way.
    with get_client(sync_client=True) as prefect_client:
        try:
            prefect_client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):
                prefect_client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1)
                )
    with ExitStack() as held:
        try:
            held.enter_context(
                concurrency(
                    name,
                    occupy=1,
                    timeout_seconds=WAIT_SECONDS,
                    lease_duration=LEASE_SECONDS,
                    strict=True,
                )
            )
        except TimeoutError as exc:
            raise RegistryError(
                f"another promotion of {model!r} held the Prefect concurrency limit {name!r} "
                f"for over {WAIT_SECONDS:.0f} s; check its flow run, or inspect the limit with "
                f"`prefect gcl inspect {name}`"
            ) from exc
        yield
