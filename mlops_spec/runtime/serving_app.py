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
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException
from pydantic import ConfigDict, Field, StrictInt, StrictStr, create_model

from mlops_spec.adapters import mlflow_tracking
from mlops_spec.adapters.feast_online import OnlineFeatures
from mlops_spec.errors import OnlineStoreUnavailable, UnservableEntityKey
from mlops_spec.loader import LoadedSpec, load_spec
from mlops_spec.runtime.prediction_log import PredictionLog, log_path
from mlops_spec.runtime.serving import Counters, ModelSlots, UnknownEntities, predict_entities
from mlops_spec.settings import Settings
from mlops_spec.spec.sections import Serving

MAX_ENTITIES = 1000


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
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(loaded.resolve(loaded.spec.data.entities))
    except (OSError, pa.ArrowException):
        schema = None
    fields: dict[str, Any] = {}
    for key in keys:
        index = schema.get_field_index(key) if schema is not None else -1
        field_type = schema.field(index).type if schema is not None and index >= 0 else None
        if field_type is not None and pa.types.is_integer(field_type):
            bounds = np.iinfo(field_type.to_pandas_dtype())
            low, high = int(bounds.min), min(int(bounds.max), int(np.iinfo(np.int64).max))
            fields[key] = (Annotated[StrictInt, Field(ge=low, le=high)], ...)
        else:
            fields[key] = (StrictStr, ...)
    return fields


def create_app(spec_path: str, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    loaded = load_spec(spec_path, settings)
    spec = loaded.spec
    serving = spec.serving or Serving()
    name = spec.metadata.name
    keys = (
        [spec.data.entity_key]
        if isinstance(spec.data.entity_key, str)
        else list(spec.data.entity_key)
    )
    mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
    features = online_features(loaded)
    slots = ModelSlots(
        name,
        spec.governance.promotion.alias,
        serving.candidate_alias if serving.mode != "champion" else None,
    )
    slots.refresh()
    log = PredictionLog(log_path(settings.state, name))
    counters = Counters()
    stop = threading.Event()

    entity_model: Any = create_model(
        "Entity", __config__=ConfigDict(extra="forbid"), **_key_fields(loaded, keys)
    )
    request_model: Any = create_model(
        "PredictRequest",
        entities=(list[entity_model], Field(min_length=1, max_length=MAX_ENTITIES)),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        slots.watch(serving.reload_seconds, stop)
        yield
        stop.set()

    app = FastAPI(
        title=f"{name} predictions",
        description=f"{spec.metadata.description} Served by mlops-spec ({serving.mode}).",
        lifespan=lifespan,
    )

    def predict(request: Any) -> dict[str, Any]:
        entities = [entity.model_dump() for entity in request.entities]
        try:
            rows = predict_entities(
                name=name,
                entities=entities,
                slots=slots,
                features=features,
                serving=serving,
                counters=counters,
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
        log.append([_log_record(row, at) for row in rows])
        return {
            "model": name,
            "predictions": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
        }

    def counted() -> dict[str, Any]:
        with counters.lock:
            return {
                "requests": counters.requests,
                "predictions": counters.predictions,
                "store_unavailable": counters.store_unavailable,
                "routes": dict(counters.routes),
            }

    def health() -> dict[str, Any]:
        champion, candidate = slots.current()
        return {
            "status": "ok",
            "model": name,
            "mode": serving.mode,
            "champion_version": champion.version,
            "candidate_version": candidate.version if candidate else None,
            "canary_percent": serving.canary_percent,
            "on_store_unavailable": serving.on_store_unavailable,
            "reloads": slots.reloads,
            "last_reload_error": slots.last_error,
            **counted(),
        }

    predict.__annotations__["request"] = request_model  # what FastAPI validates against
    app.add_api_route("/predict", predict, methods=["POST"], summary="Predict for entity keys")
    app.add_api_route("/health", health, methods=["GET"], summary="Versions and counters")
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

    settings = Settings()
    if materialize:
        online_features(load_spec(spec_path, settings)).materialize_all()
    uvicorn.run(create_app(spec_path, settings), host=host, port=port, log_level="info")
