"""`mlops-spec serve`: the HTTP service (FastAPI) of one worker process.

``POST /predict`` takes entity keys and answers with the champion (or, for canary entities,
the candidate), with features from the Feast online store. Requests are validated against a
model built from the spec (the entity key's name and type), so a bad request gets a 422
naming the field; then they wait, on the event loop, for their micro-batch
(``serving_batch``), which ``serving.answer_batch`` scores. ``GET
/health`` (liveness) tells which versions answer and what the counters say, ``GET /ready``
whether a champion is loaded and the online store answers, ``GET /metrics`` is Prometheus'
text format, ``/docs`` FastAPI's OpenAPI page. Limits and the token: ``serving_guard``; the
worker processes: ``serving_workers``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ConfigDict, Field, StrictInt, StrictStr, create_model

from mlops_spec.adapters import data_files, mlflow_tracking
from mlops_spec.adapters.feast_online import OnlineFeatures
from mlops_spec.errors import OnlineStoreUnavailable, UnservableEntityKey
from mlops_spec.loader import LoadedSpec
from mlops_spec.runtime.environment import command_settings
from mlops_spec.runtime.prediction_log import PredictionLog, log_path
from mlops_spec.runtime.secret_blocks import use_secret_blocks
from mlops_spec.runtime.serving import ModelSlots, UnknownEntities, answer_batch
from mlops_spec.runtime.serving_batch import Arrivals, MicroBatcher, submitted
from mlops_spec.runtime.serving_guard import BodyLimit, bearer_check
from mlops_spec.runtime.serving_metrics import CONTENT_TYPE, LATENCY, REQUESTS, exposition, totals
from mlops_spec.runtime.spec_cache import load_once
from mlops_spec.settings import Settings
from mlops_spec.spec.metrics import Task
from mlops_spec.spec.sections import Serving

INT64_MAX = 2**63 - 1  # the widest integer an online store's key can hold


def online_features(loaded: LoadedSpec) -> OnlineFeatures:
    spec = loaded.spec
    return OnlineFeatures(
        loaded.resolve(spec.features.repo),
        service=spec.features.service,
        refs=list(spec.features.refs) if spec.features.refs else None,
    )


def _key_fields(loaded: LoadedSpec, keys: list[str]) -> dict[str, Any]:
    """Each entity key's JSON type, from the entity file the model was trained on; integers
    within the range of the file's integer type (int64 when unknown), so an id no store could
    hold is a 422 naming the field."""
    ranges = data_files.integer_ranges(loaded.resolve(loaded.spec.data.entities)) or {}
    fields: dict[str, Any] = {}
    for key in keys:
        if key in ranges:
            low, high = ranges[key]
            fields[key] = (Annotated[StrictInt, Field(ge=low, le=min(high, INT64_MAX))], ...)
        else:
            fields[key] = (StrictStr, ...)
    return fields


def _request_model(loaded: LoadedSpec, keys: list[str], max_entities: int) -> Any:
    """The body ``POST /predict`` accepts: 1 to ``max_entities`` entities, each exactly the
    spec's entity keys with their types, so a bad request is a 422 naming the field."""
    entity_model: Any = create_model(
        "Entity", __config__=ConfigDict(extra="forbid"), **_key_fields(loaded, keys)
    )
    return create_model(
        "PredictRequest",
        entities=(list[entity_model], Field(min_length=1, max_length=max_entities)),
    )


@dataclass
class _Service:
    """What the endpoints share: the spec's serving rules, the models, the features, the log."""

    name: str
    task: Task
    serving: Serving
    slots: ModelSlots
    features: OnlineFeatures
    log: PredictionLog
    probe_entity: dict[str, Any]
    stop: threading.Event = field(default_factory=threading.Event)
    batcher: MicroBatcher = field(init=False)

    def __post_init__(self) -> None:
        self.batcher = MicroBatcher(
            self._score,
            max_entities=self.serving.batch_max_entities,
            max_wait=self.serving.batch_wait_ms / 1000,
        )

    def _score(self, requests: Any) -> Any:
        return answer_batch(
            name=self.name,
            requests=requests,
            slots=self.slots,
            features=self.features,
            serving=self.serving,
            task=self.task,
        )

    async def answer(self, request: Any, http: Request) -> JSONResponse:
        """The answers for the request's entities (from its batch), each logged; store, key,
        unknown-entity and time-out failures become the HTTP errors they call for."""
        started = time.perf_counter()
        status = 500
        try:
            entities = [entity.model_dump() for entity in request.entities]
            submitted(http.scope, self.batcher)  # queued in the next line, no await between
            rows = await self._rows(entities)
            status = 200
        except HTTPException as exc:
            status = exc.status_code
            raise
        finally:
            elapsed = time.perf_counter() - started
            REQUESTS.labels(self.name, str(status)).inc()
            LATENCY.labels(self.name).observe(elapsed)
        at = datetime.now(UTC).isoformat()
        self.log.append([_log_record(row, at, elapsed * 1000) for row in rows])
        return JSONResponse(
            {
                "model": self.name,
                "predictions": [
                    {k: v for k, v in r.items() if not k.startswith("_")} for r in rows
                ],
            }
        )

    async def _rows(self, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        timeout = self.serving.request_timeout_seconds
        try:
            return await self.batcher.submit(entities, timeout)
        except OnlineStoreUnavailable as exc:
            raise HTTPException(
                503, f"online feature store unavailable (on_store_unavailable: error_503): {exc}"
            ) from None
        except UnservableEntityKey as exc:
            raise HTTPException(422, str(exc)) from None
        except UnknownEntities as exc:
            raise HTTPException(
                404,
                f"no online features for {exc.entities}: unknown, or not materialized "
                "(run `mlops-spec serve --materialize`)",
            ) from None
        except TimeoutError:
            raise HTTPException(
                504, f"no answer within {timeout} s (serving.request_timeout_seconds)"
            ) from None

    def health(self) -> dict[str, Any]:
        """Liveness, with what answers and the counters of every worker."""
        champion, candidate = self.slots.current()
        return {
            "status": "ok",
            "model": self.name,
            "mode": self.serving.mode,
            "worker": os.getpid(),
            "champion_version": champion.version,
            "candidate_version": candidate.version if candidate else None,
            "canary_percent": self.serving.canary_percent,
            "on_store_unavailable": self.serving.on_store_unavailable,
            "reloads": self.slots.reloads,
            "last_reload_error": self.slots.last_error,
            **totals(self.name),
        }

    async def ready(self) -> JSONResponse:
        """Ready when a champion is loaded and the online store answers a read; 503 with the
        reason otherwise. On the event loop, like the batches, so never during one."""
        problems = []
        try:
            self.slots.current()
        except Exception as exc:
            problems.append(f"{type(exc).__name__}: {exc}")
        try:
            self.features.get([self.probe_entity])
        except Exception as exc:
            problems.append(f"{type(exc).__name__}: {exc}")
        body = {"ready": not problems, "worker": os.getpid(), "problems": problems}
        return JSONResponse(body, status_code=503 if problems else 200)


def _start_service(loaded: LoadedSpec, settings: Settings, keys: list[str]) -> _Service:
    """Connect to MLflow and the online store and load the versions that answer first."""
    spec = loaded.spec
    serving = spec.serving or Serving()
    use_secret_blocks()
    mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
    features = online_features(loaded)
    slots = ModelSlots(
        spec.metadata.name,
        spec.governance.promotion.alias,
        serving.candidate_alias if serving.mode != "champion" else None,
    )
    slots.refresh()
    fields = _key_fields(loaded, keys)
    return _Service(
        name=spec.metadata.name,
        task=spec.model.task,
        serving=serving,
        slots=slots,
        features=features,
        log=PredictionLog(
            log_path(settings.state, spec.metadata.name),
            max_bytes=int(serving.log_max_mb * 2**20),
            backups=serving.log_backups,
        ),
        probe_entity={k: "" if fields[k][0] is StrictStr else 0 for k in keys},
    )


def create_app(
    spec_path: str, settings: Settings | None = None, token: str | None = None
) -> FastAPI:
    """The service of one worker; ``token``: the bearer token ``/predict`` and ``/metrics``
    want (``None``: none)."""
    settings = settings or command_settings()
    loaded = load_once(spec_path, settings)
    service = _start_service(loaded, settings, loaded.spec.data.entity_keys)
    request_model = _request_model(
        loaded, loaded.spec.data.entity_keys, service.serving.max_entities
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.slots.watch(service.serving.reload_seconds, service.stop)
        service.batcher.start()
        try:
            yield
        finally:  # uvicorn has answered every request in flight by now
            service.stop.set()
            await service.batcher.close()
            service.log.close()

    app = FastAPI(
        title=f"{service.name} predictions",
        description=f"{loaded.spec.metadata.description} Served by mlops-spec "
        f"({service.serving.mode}).",
        lifespan=lifespan,
    )
    _routes(app, service, request_model, bearer_check(token))
    app.add_middleware(Arrivals, batcher=service.batcher, path="/predict")
    app.add_middleware(BodyLimit, max_bytes=service.serving.max_body_kb * 1024)
    return app


def _routes(app: FastAPI, service: _Service, request_model: Any, guard: Any) -> None:
    async def predict(request: Any, http: Request) -> JSONResponse:
        return await service.answer(request, http)

    async def refused(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path == "/predict":
            REQUESTS.labels(service.name, "422").inc()
        return await request_validation_exception_handler(request, exc)

    async def metrics() -> Response:
        return Response(exposition(), media_type=CONTENT_TYPE)

    predict.__annotations__["request"] = request_model  # what FastAPI validates against
    secured = [Depends(guard)]
    app.add_api_route(
        "/predict",
        predict,
        methods=["POST"],
        summary="Predict for entity keys",
        dependencies=secured,
    )
    app.add_api_route("/health", service.health, methods=["GET"], summary="Liveness and counters")
    app.add_api_route("/ready", service.ready, methods=["GET"], summary="Readiness")
    app.add_api_route(
        "/metrics", metrics, methods=["GET"], summary="Prometheus metrics", dependencies=secured
    )
    app.add_exception_handler(RequestValidationError, refused)  # type: ignore[arg-type]


def _log_record(row: dict[str, Any], at: str, latency_ms: float) -> dict[str, Any]:
    return {
        "at": at,
        "entity": row["_entity"],
        "route": row["route"],
        "version": row["version"],
        "prediction": row["prediction"],
        "champion_version": row["_champion_version"],
        "champion_prediction": row["_champion"],
        "candidate_version": row["_candidate_version"],
        "candidate_prediction": row["_candidate"],
        "latency_ms": round(latency_ms, 3),
        "store": row["store"],
    }
