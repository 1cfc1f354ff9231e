"""MLflow model registry: log + register a fitted pipeline, aliases and promotions.

Audit records live in :mod:`mlops_spec.adapters.mlflow_audit`. The tracking half (configure,
runs, params, metrics, artifacts) lives in :mod:`mlops_spec.adapters.mlflow_tracking` and is
re-exported here, so a flow needs one import::

    from mlops_spec.adapters import mlflow_registry as reg

    reg.configure(settings.tracking_uri, settings.artifact_root)
    with reg.tracked_run("churn", "train-42", {"spec": "churn.yaml"}) as run_id:
        reg.log_params(run_id, {"model": params})
        ...
        info = reg.log_and_register_model(
            pipeline, run_id=run_id, registered_name="churn", input_example=X.head(5),
            pip_requirements=reg.pinned_requirements(), tags={"spec.sha": sha},
        )
        reg.promote("churn", "challenger", info.version, actor="flow", reason="trained")

Registry stages are deprecated in MLflow 3; the lifecycle here is aliases (``champion``,
``challenger``) plus version tags, and every promotion is recorded as an append-only registered
model tag so an audit can replay it and a rollback can find the previous champion.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from mlops_spec.adapters.mlflow_backend import backend_call, is_not_found
from mlops_spec.adapters.mlflow_serialization import (
    MODEL_CODE_PATH,
    SERIALIZATION_FORMAT,
    TRUSTED_TYPE_NAMES,
    TRUSTED_TYPE_PREFIXES,
    library_requirements,
    pinned_requirements,
    trusted_types_for,
)
from mlops_spec.adapters.mlflow_tracking import (
    PARAM_VALUE_LIMIT,
    client,
    configure,
    end_run,
    experiment_id_of_run,
    flatten_params,
    get_or_create_experiment,
    log_artifact_file,
    log_dict,
    log_figure,
    log_metrics,
    log_params,
    log_table,
    log_text,
    set_tags,
    start_run,
    tracked_run,
)
from mlops_spec.errors import PromotionConflict, RegistryError

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo

__all__ = [
    "PARAM_VALUE_LIMIT",
    "SERIALIZATION_FORMAT",
    "TRUSTED_TYPE_NAMES",
    "TRUSTED_TYPE_PREFIXES",
    "ModelVersionInfo",
    "backend_call",
    "client",
    "configure",
    "delete_alias",
    "end_run",
    "flatten_params",
    "get_alias_version",
    "get_or_create_experiment",
    "get_version_tags",
    "is_missing_alias",
    "library_requirements",
    "load_model",
    "log_and_register_model",
    "log_artifact_file",
    "log_dict",
    "log_figure",
    "log_metrics",
    "log_params",
    "log_table",
    "log_text",
    "pinned_requirements",
    "promote",
    "promotion_history",
    "record_promotion",
    "set_alias",
    "set_tags",
    "set_version_tags",
    "start_run",
    "tracked_run",
    "trusted_types_for",
]

_MODEL_ARTIFACT_NAME = "model"
_EXAMPLE_ROWS = 5
_PROMOTION_PREFIX = "promotion."


@dataclass(frozen=True)
class ModelVersionInfo:
    """What registration produced: enough to set an alias, tag the version or load it back."""

    name: str
    version: int
    run_id: str
    model_uri: str  # models:/<name>/<version>
    model_id: str  # MLflow 3 LoggedModel id (models:/<model_id> is the artifact location)
    trusted_types: tuple[str, ...]


# --------------------------------------------------------------------------- log + register


def _as_declared(example: pd.DataFrame) -> pd.DataFrame:
    """The example as the signature should declare it: integer features as doubles.

    Every pipeline turns numbers into floats with NaN for missing, and a client posting JSON
    sends a missing number as null, which MLflow's schema enforcement refuses for a ``long``
    column ("Can not safely convert float64 to int64"). Declared as doubles, integer columns
    accept integers and gaps alike.
    """
    integers = [
        c
        for c in example.columns
        if pd.api.types.is_integer_dtype(example[c]) and not pd.api.types.is_bool_dtype(example[c])
    ]
    return example.astype(dict.fromkeys(integers, "float64")) if integers else example


def _predict_for_signature(model: Any, example: pd.DataFrame) -> tuple[Any, str]:
    """Predictions that describe the output, and the pyfunc method that produces them.

    Classifiers with ``predict_proba`` are described (and served) by their probabilities:
    scores are what thresholds, ROC curves and drift checks use. The probabilities are a frame
    with one column per class, so the signature names the classes in ``predict_proba``'s
    column order. ``SGDClassifier`` with the default hinge loss has no ``predict_proba`` and
    falls back to labels.
    """
    from sklearn.base import is_classifier

    if is_classifier(model) and hasattr(model, "predict_proba"):
        classes = [str(c) for c in model.classes_]
        return pd.DataFrame(model.predict_proba(example), columns=classes), "predict_proba"
    return model.predict(example), "predict"


def log_and_register_model(
    model: Any,
    *,
    run_id: str,
    registered_name: str,
    input_example: pd.DataFrame,
    pip_requirements: Sequence[str],
    tags: Mapping[str, str],
    extra_trusted_prefixes: Sequence[str] = (),
) -> ModelVersionInfo:
    """Log a fitted scikit-learn model into ``run_id`` and register it as a new version.

    Serialization - decided here, once: **skops with a computed, allow-listed trust list**
    (:func:`trusted_types_for`), not cloudpickle. Pickle formats execute arbitrary code when
    a registry artifact is loaded, and MLflow warns on every such log; skops only
    reconstructs the types it is told to trust. MLflow's default skops path refuses
    HistGradientBoosting (``TreePredictor``) and RandomForest (``Tree``) unless those types
    are named, so we name exactly the types the fitted pipeline contains, and only if they
    come from scikit-learn, NumPy, SciPy, LightGBM, XGBoost or the project's own
    preprocessing. The list is stored in the MLmodel file, so :func:`load_model` needs no
    extra argument. Cost: one extra in-memory skops dump (~30 ms for the test pipelines).

    Other choices:

    * ``pip_requirements`` is mandatory: inference costs 8-19 s offline (see
      :func:`pinned_requirements`). The pin of a library the model's own types come from
      (LightGBM, XGBoost) is added to them (:func:`library_requirements`).
    * The signature comes from the first rows of ``input_example`` and the model's output on
      them; classifiers with ``predict_proba`` are described and served as probabilities.
    * The LoggedModel is created explicitly in the run's experiment. Passing only ``run_id``
      to ``mlflow.sklearn.log_model`` outside a fluent active run files the model under the
      *Default* experiment, i.e. in ``./mlruns`` of the current directory.
    * ``tags`` (lineage, and the gate decisions with their verdict) go on the LoggedModel
      and on the model version, in the one ``create_model_version`` call: MLflow writes the
      version row and its tags in a single transaction (SQL store) or request (REST), so a
      version never exists without them, even if the process dies right after.

    Raises:
        RegistryError: untrusted types, or the backend/artifact store failed.
    """
    trusted = trusted_types_for(model, extra_prefixes=extra_trusted_prefixes)
    str_tags = {str(k): str(v) for k, v in tags.items()}
    info = _log_model(
        model,
        run_id=run_id,
        input_example=input_example,
        pip_requirements=[*pip_requirements, *library_requirements(trusted, pip_requirements)],
        tags=str_tags,
        trusted=trusted,
    )
    number = _register_version(registered_name, info, run_id=run_id, tags=str_tags)
    return ModelVersionInfo(
        name=registered_name,
        version=number,
        run_id=run_id,
        model_uri=f"models:/{registered_name}/{number}",
        model_id=str(info.model_id),
        trusted_types=tuple(trusted),
    )


def _log_model(
    model: Any,
    *,
    run_id: str,
    input_example: pd.DataFrame,
    pip_requirements: Sequence[str],
    tags: dict[str, str],
    trusted: list[str],
) -> ModelInfo:
    """The LoggedModel, created in the run's own experiment (see ``log_and_register_model``
    for why it is explicit), then the skops artifact with its signature logged into it."""
    example = _as_declared(input_example.head(_EXAMPLE_ROWS))
    predictions, predict_fn = _predict_for_signature(model, example)
    signature = infer_signature(example, predictions)
    experiment_id = experiment_id_of_run(run_id)
    with backend_call(f"log the model of run {run_id}"):
        logged = mlflow.initialize_logged_model(
            name=_MODEL_ARTIFACT_NAME,
            source_run_id=run_id,
            experiment_id=experiment_id,
            tags=tags,
        )
        info: ModelInfo = mlflow.sklearn.log_model(
            model,
            name=_MODEL_ARTIFACT_NAME,
            run_id=run_id,
            model_id=logged.model_id,
            signature=signature,
            input_example=example,
            pip_requirements=list(pip_requirements),
            code_paths=[MODEL_CODE_PATH],
            serialization_format=SERIALIZATION_FORMAT,
            skops_trusted_types=trusted,
            pyfunc_predict_fn=predict_fn,
        )
    return info


def _register_version(
    registered_name: str, info: ModelInfo, *, run_id: str, tags: dict[str, str]
) -> int:
    """A new version of ``registered_name`` (created on first use) with its tags in the same
    ``create_model_version`` call, so no version exists without them.

    ``mlflow.register_model`` rather than the client's ``create_model_version``: it also tags
    the LoggedModel with the version it became (``mlflow.modelVersions``), which is what links
    the model page in the MLflow UI to its registered version. A process killed between the
    two leaves a judged version whose model page says "Not registered", nothing worse.
    """
    with backend_call(f"register a version of {registered_name!r}"):
        version = mlflow.register_model(info.model_uri, registered_name, tags=tags)
    return int(version.version)


def load_model(uri: str) -> Any:
    """Load the scikit-learn object behind ``models:/name@alias``, ``models:/name/3``...

    Loading needs ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION`` unset or ``true`` (MLflow 3.17 gates
    every format, skops included, behind it because the trust list travels with the model).
    """
    with backend_call(f"load model {uri}"):
        return mlflow.sklearn.load_model(uri)


# --------------------------------------------------------------------------- aliases and tags


def set_alias(name: str, alias: str, version: int) -> None:
    """Point ``alias`` at ``version`` (moving it if it pointed elsewhere)."""
    with backend_call(f"set alias {name}@{alias} to version {version}"):
        client().set_registered_model_alias(name, alias, str(version))


def delete_alias(name: str, alias: str) -> None:
    """Remove ``alias``; a missing model or alias is not an error (the end state holds)."""
    try:
        with backend_call(f"delete alias {name}@{alias}"):
            client().delete_registered_model_alias(name, alias)
    except RegistryError as exc:
        if not is_not_found(exc.__cause__ or exc):
            raise


def get_alias_version(name: str, alias: str) -> int | None:
    """The version ``alias`` points at, or None when the model or the alias does not exist."""
    try:
        with backend_call(f"resolve {name}@{alias}"):
            return int(client().get_model_version_by_alias(name, alias).version)
    except RegistryError as exc:
        cause = exc.__cause__
        if cause is not None and (is_not_found(cause) or is_missing_alias(cause)):
            return None
        raise


def is_missing_alias(exc: BaseException) -> bool:
    # Depending on the store, an unknown alias is INVALID_PARAMETER_VALUE, not NOT_FOUND.
    return (
        isinstance(exc, MlflowException)
        and exc.error_code == "INVALID_PARAMETER_VALUE"
        and "alias" in str(exc).lower()
    )


def get_version_tags(name: str, version: int) -> dict[str, str]:
    """The tags of one model version (lineage, gates, verdict, approval...), read fresh.

    Raises:
        RegistryError: the version does not exist, or the backend failed.
    """
    with backend_call(f"read the tags of {name!r} version {version}"):
        return dict(client().get_model_version(name, str(version)).tags or {})


def set_version_tags(name: str, version: int, tags: Mapping[str, Any]) -> None:
    """Set (or overwrite) tags on one model version, e.g. gate results or approval."""
    with backend_call(f"tag version {version} of {name!r}"):
        mlflow_client = client()
        for key, value in tags.items():
            mlflow_client.set_model_version_tag(name, str(version), str(key), str(value))


# --------------------------------------------------------------------------- promotions


def record_promotion(
    name: str,
    alias: str,
    from_version: int | None,
    to_version: int,
    actor: str,
    reason: str,
    kind: str = "promotion",
) -> dict[str, Any]:
    """Append one promotion event to the registered model's history and return it.

    ``kind`` is ``promotion`` or ``rollback``: replaying the events with rollbacks popping
    what they undid gives the chain of champions (see ``mlops_spec.runtime.rollback``).

    Each event is its own registered-model tag, ``promotion.<utc-nanoseconds>.<random>``, with a
    JSON value. One tag per event (rather than one tag holding a JSON list) means no
    read-modify-write: two processes promoting at once cannot lose each other's record, and the
    history never approaches the 100 000-character tag value limit.
    """
    now_ns = time.time_ns()
    event: dict[str, Any] = {
        "alias": alias,
        "from_version": from_version,
        "to_version": to_version,
        "actor": actor,
        "reason": reason,
        "kind": kind,
        "at": datetime.fromtimestamp(now_ns / 1e9, tz=UTC).isoformat(),
    }
    key = f"{_PROMOTION_PREFIX}{now_ns:020d}.{secrets.token_hex(3)}"
    with backend_call(f"record a promotion of {name!r}"):
        client().set_registered_model_tag(name, key, json.dumps(event, sort_keys=True))
    return event


def promotion_history(name: str, alias: str | None = None) -> list[dict[str, Any]]:
    """Promotion events of ``name`` (optionally of one alias), oldest first; [] if unknown.

    A rollback of ``alias`` goes to ``promotion_history(name, alias)[-1]["from_version"]``.
    """
    try:
        with backend_call(f"read the promotion history of {name!r}"):
            model_tags: dict[str, str] = dict(client().get_registered_model(name).tags)
    except RegistryError as exc:
        if exc.__cause__ is not None and is_not_found(exc.__cause__):
            return []
        raise
    events = [
        json.loads(value)
        for key, value in sorted(model_tags.items())
        if key.startswith(_PROMOTION_PREFIX)
    ]
    return [e for e in events if alias is None or e.get("alias") == alias]


class _Unchecked:
    """Marker for "promote whatever the alias points at now" (no compare-and-set)."""


UNCHECKED = _Unchecked()


def promote(
    name: str,
    alias: str,
    to_version: int,
    *,
    actor: str,
    reason: str,
    kind: str = "promotion",
    expected_from: int | _Unchecked | None = UNCHECKED,
) -> dict[str, Any]:
    """Move ``alias`` to ``to_version`` and record the move (with the version it replaced).

    With ``expected_from`` this is a compare-and-set: when the alias no longer points where the
    caller's gates compared against (another run promoted meanwhile), nothing moves, a
    ``conflict`` event records the refused move and ``PromotionConflict`` says what it found.
    MLflow has no atomic compare-and-set on aliases, so callers that race (two runs of one
    spec) hold ``mlops_spec.runtime.promotion_lock`` around this call.
    """
    from_version = get_alias_version(name, alias)
    if not isinstance(expected_from, _Unchecked) and from_version != expected_from:
        seen = _label(expected_from)
        found = _label(from_version)
        record_promotion(
            name,
            alias,
            from_version,
            to_version,
            actor,
            f"not moved: gates compared against {seen}, but {alias} is now {found}",
            kind="conflict",
        )
        raise PromotionConflict(
            f"{name}@{alias} moved from {seen} to {found} while v{to_version} was being judged",
            current=from_version,
        )
    # Recorded before the move: a process killed in between leaves an event whose move never
    # happened (from_version is still the alias; see ``applied_history``), never a moved alias
    # with no event, which would make the history and every later rollback disagree with it.
    event = record_promotion(name, alias, from_version, to_version, actor, reason, kind)
    set_alias(name, alias, to_version)
    return event


def applied_history(history: list[dict[str, Any]], current: int | None) -> list[dict[str, Any]]:
    """``history`` without the moves that were recorded but never made.

    ``promote`` records a move before making it, so a process killed in between leaves an
    event whose alias change never happened: the next move (or, for the last one, the alias
    itself) still starts from that event's ``from_version``. ``conflict`` events moved nothing
    and are kept as they are.
    """
    moves = [i for i, e in enumerate(history) if e.get("kind", "promotion") != "conflict"]
    dropped: set[int] = set()
    for position, index in enumerate(moves):
        event = history[index]
        following = (
            history[moves[position + 1]]["from_version"] if position + 1 < len(moves) else current
        )
        if following != event.get("to_version") and following == event.get("from_version"):
            dropped.add(index)
    return [e for i, e in enumerate(history) if i not in dropped]


def _label(version: int | None) -> str:
    return "no version" if version is None else f"v{version}"
