"""What the online service counts, as Prometheus metrics (``prometheus_client``).

Operators scrape ``GET /metrics``; ``/health`` shows the same totals. With several worker
processes each counts in its own process, so ``serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a
fresh folder before the workers start, and every worker's values are files there that
``prometheus_client``'s ``MultiProcessCollector`` adds up: whichever worker answers the scrape
(or ``/health``) reports the service's totals. Without that variable (one process, tests) the
default registry is used.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

PREFIX = "mlops_spec_serving"
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# prometheus_client picks its value store once, when imported; ``serve`` sets the variable first
MULTIPROCESS = bool(os.environ.get(MULTIPROCESS_DIR))

REQUESTS = Counter(
    f"{PREFIX}_requests", "Prediction requests answered, by HTTP status.", ["model", "status"]
)
PREDICTIONS = Counter(
    f"{PREFIX}_predictions", "Entities answered, by route (champion or canary).", ["model", "route"]
)
STORE_UNAVAILABLE = Counter(
    f"{PREFIX}_store_unavailable",
    "Batches whose online-store read failed (answered with defaults or refused with 503).",
    ["model"],
)
LATENCY = Histogram(
    f"{PREFIX}_request_seconds",
    "Time from a request's arrival to its answer, in the service (batch wait included).",
    ["model"],
    buckets=(0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
BATCH_ENTITIES = Histogram(
    f"{PREFIX}_batch_entities",
    "Entities per batch: one online read and one model call each.",
    ["model"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096),
)
BATCH_REQUESTS = Histogram(
    f"{PREFIX}_batch_requests",
    "Requests gathered into one batch.",
    ["model"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)


def registry() -> CollectorRegistry:
    """The registry to report: every worker's values when several count, else this process's."""
    if not MULTIPROCESS:
        return REGISTRY
    combined = CollectorRegistry()
    MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
    return combined


def exposition() -> bytes:
    """The text ``/metrics`` answers with."""
    return generate_latest(registry())


def totals(model: str) -> dict[str, Any]:
    """The counters ``/health`` reports, summed over every worker."""
    found: dict[str, Any] = {
        "requests": 0,
        "predictions": 0,
        "store_unavailable": 0,
        "routes": {},
    }
    for family in registry().collect():
        for sample in family.samples:
            if sample.labels.get("model") != model or not sample.name.endswith("_total"):
                continue
            if sample.name == f"{PREFIX}_requests_total":
                found["requests"] += int(sample.value)
            elif sample.name == f"{PREFIX}_predictions_total":
                found["predictions"] += int(sample.value)
                route = sample.labels["route"]
                found["routes"][route] = found["routes"].get(route, 0) + int(sample.value)
            elif sample.name == f"{PREFIX}_store_unavailable_total":
                found["store_unavailable"] += int(sample.value)
    return found
