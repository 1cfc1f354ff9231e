"""One promotion of a model at a time, across processes and machines, via Prefect.

MLflow cannot compare-and-set an alias, so two runs of one spec could each read "no champion",
each pass their gates and each move the alias; the last writer would win silently. The moves
are serialised with a Prefect global concurrency limit of one slot per model instead of a file
lock: it holds wherever the runs share a Prefect API (the embedded one shares its database
file), and its slot is a lease that expires if the holder is killed, so a crashed run cannot
block promotions for good. Inside the slot, ``mlflow_registry.promote(expected_from=...)``
checks the alias still points where the gates compared against.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress

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
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectAlreadyExists

    name = limit_name(model)
    # Another run may create it first; one slot either way.
    with get_client(sync_client=True) as prefect_client, suppress(ObjectAlreadyExists):
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
