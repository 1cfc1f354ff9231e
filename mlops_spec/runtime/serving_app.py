"""`mlops-spec serve`: the HTTP service (FastAPI) in front of ``serving.predict_entities``.

``POST /predict`` takes entity keys and answers with the champion (or, for canary entities,
the candidate), with features from the Feast online store; ``GET /health`` tells which
versions answer and what the counters say; ``/docs`` is FastAPI's OpenAPI page. Requests are
validated against a model built from the spec (the entity key's name and type), so a bad
request gets a 422 naming the field. The endpoint is a plain function, run in FastAPI's thread
pool, because prediction is CPU work.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException
from pydantic import ConfigDict, Field, StrictInt, StrictStr, create_model

from mlops_spec.adapters import data_files, mlflow_tracking
from mlops_spec.adapters.feast_online import OnlineFeatures
from mlops_spec.errors import OnlineStoreUnavailable, UnservableEntityKey
from mlops_spec.loader import LoadedSpec
from mlops_spec.runtime.environment import command_settings
from mlops_spec.runtime.prediction_log import PredictionLog, log_path
from mlops_spec.runtime.secret_blocks import use_secret_blocks
from mlops_spec.runtime.serving import Counters, ModelSlots, UnknownEntities, predict_entities
from mlops_spec.runtime.spec_cache import load_once
from mlops_spec.settings import Settings
from mlops_spec.spec.metrics import Task
from mlops_spec.spec.sections import Serving

MAX_ENTITIES = 1000
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


def _request_model(loaded: LoadedSpec, keys: list[str]) -> Any:
    """The body ``POST /predict`` accepts: 1 to ``MAX_ENTITIES`` entities, each exactly the
    spec's entity keys with their types, so a bad request is a 422 naming the field."""
    entity_model: Any = create_model(
        "Entity", __config__=ConfigDict(extra="forbid"), **_key_fields(loaded, keys)
    )
    return create_model(
        "PredictRequest",
        entities=(list[entity_model], Field(min_length=1, max_length=MAX_ENTITIES)),
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
    counters: Counters = field(default_factory=Counters)
    stop: threading.Event = field(default_factory=threading.Event)

    def answer(self, request: Any) -> dict[str, Any]:
        """The answers for the request's entities, each logged; store, key and unknown-entity
        failures become the HTTP errors the spec and the request call for."""
        entities = [entity.model_dump() for entity in request.entities]
        try:
            rows = predict_entities(
                name=self.name,
                entities=entities,
                slots=self.slots,
                features=self.features,
                serving=self.serving,
                counters=self.counters,
                task=self.task,
            )
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
        at = datetime.now(UTC).isoformat()
        self.log.append([_log_record(row, at) for row in rows])
        return {
            "model": self.name,
            "predictions": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
        }

    def health(self) -> dict[str, Any]:
        champion, candidate = self.slots.current()
        with self.counters.lock:
            counted = {
                "requests": self.counters.requests,
                "predictions": self.counters.predictions,
                "store_unavailable": self.counters.store_unavailable,
                "routes": dict(self.counters.routes),
            }
        return {
            "status": "ok",
            "model": self.name,
            "mode": self.serving.mode,
            "champion_version": champion.version,
            "candidate_version": candidate.version if candidate else None,
            "canary_percent": self.serving.canary_percent,
            "on_store_unavailable": self.serving.on_store_unavailable,
            "reloads": self.slots.reloads,
            "last_reload_error": self.slots.last_error,
            **counted,
        }


def _start_service(loaded: LoadedSpec, settings: Settings) -> _Service:
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
    return _Service(
        name=spec.metadata.name,
        task=spec.model.task,
        serving=serving,
        slots=slots,
        features=features,
        log=PredictionLog(log_path(settings.state, spec.metadata.name)),
    )


def create_app(spec_path: str, settings: Settings | None = None) -> FastAPI:
    settings = settings or command_settings()
    loaded = load_once(spec_path, settings)
    spec = loaded.spec
    keys = (
        [spec.data.entity_key]
        if isinstance(spec.data.entity_key, str)
        else list(spec.data.entity_key)
    )
    service = _start_service(loaded, settings)
    request_model = _request_model(loaded, keys)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.slots.watch(service.serving.reload_seconds, service.stop)
        yield
        service.stop.set()

    app = FastAPI(
        title=f"{service.name} predictions",
        description=f"{spec.metadata.description} Served by mlops-spec ({service.serving.mode}).",
        lifespan=lifespan,
    )

    def predict(request: Any) -> dict[str, Any]:
        return service.answer(request)

    predict.__annotations__["request"] = request_model  # what FastAPI validates against
    app.add_api_route("/predict", predict, methods=["POST"], summary="Predict for entity keys")
    app.add_api_route("/health", service.health, methods=["GET"], summary="Versions and counters")
    return app


def _log_record(row: dict[str, Any], at: str) -> dict[str, Any]:
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
        "latency_ms": row["_latency_ms"],
        "store": row["store"],
    }


def serve(spec_path: str, *, host: str, port: int, materialize: bool) -> None:
    """Run the service until interrupted (the CLI's `serve`)."""
    import uvicorn

    settings = command_settings()
    if materialize:
        online_features(load_once(spec_path, settings)).materialize_all()
    uvicorn.run(create_app(spec_path, settings), host=host, port=port, log_level="info")
