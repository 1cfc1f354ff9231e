"""Online serving core: which versions answer, how traffic is routed, and one prediction pass.

The service (``serving_app``) holds one ``ModelSlots``: the champion, and for ``shadow`` or
``canary`` the candidate alias's version. A watcher thread re-reads both aliases every
``reload_seconds`` and swaps in newly loaded models as one tuple assignment, so a request
always uses a consistent pair and none is dropped while a new champion loads. Canary routing
hashes the model name and entity key, so an entity always meets the same version. A version is
loaded only if its recorded gate verdict allows its role (``gates.alias_refusal``): the champion
must have passed every gate, the candidate must at least have been judged.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlops_spec.adapters import mlflow_registry, prediction
from mlops_spec.adapters.feast_online import OnlineFeatures, check_keys
from mlops_spec.errors import OnlineStoreUnavailable, RegistryError, UnservableEntityKey
from mlops_spec.runtime.gates import AliasRole, alias_refusal
from mlops_spec.runtime.serving_metrics import (
    BATCH_ENTITIES,
    BATCH_REQUESTS,
    PREDICTIONS,
    STORE_UNAVAILABLE,
)
from mlops_spec.spec.metrics import Task
from mlops_spec.spec.sections import Serving


@dataclass(frozen=True)
class LoadedModel:
    version: int
    model: Any
    columns: tuple[str, ...]


def load_version(name: str, version: int, role: AliasRole = "champion") -> LoadedModel:
    """Load a version to answer (``champion``) or to be compared (``challenger``), if its
    recorded verdict allows that role; otherwise a one-line ``RegistryError`` and nothing
    loaded, so an unjudged or failed version never answers a request."""
    refusal = alias_refusal(role, mlflow_registry.get_version_tags(name, version))
    if refusal is not None:
        raise RegistryError(f"{name} v{version} may not be served as {role}: {refusal}")
    model = mlflow_registry.load_model(f"models:/{name}/{version}")
    columns = tuple(str(c) for c in getattr(model, "feature_names_in_", ()))
    return LoadedModel(version, model, columns)


class ModelSlots:
    """The champion and the candidate, replaced together when an alias moves."""

    def __init__(self, name: str, champion_alias: str, candidate_alias: str | None) -> None:
        self.name = name
        self.champion_alias = champion_alias
        self.candidate_alias = candidate_alias
        self._pair: tuple[LoadedModel, LoadedModel | None] | None = None
        self.reloads = 0
        self.last_error: str | None = None

    def current(self) -> tuple[LoadedModel, LoadedModel | None]:
        if self._pair is None:
            raise RegistryError(f"no {self.champion_alias} of {self.name!r} loaded yet")
        return self._pair

    def refresh(self) -> bool:
        """Load whatever the aliases point at now; whether anything changed."""
        champion_version, candidate_version = _alias_versions(
            self.name, self.champion_alias, self.candidate_alias
        )
        old = self._pair
        if old and (old[0].version, old[1].version if old[1] else None) == (
            champion_version,
            candidate_version,
        ):
            return False
        champion = (
            old[0]
            if old and old[0].version == champion_version
            else load_version(self.name, champion_version)
        )
        candidate = None
        if candidate_version is not None:
            kept = old[1] if old is not None else None
            if kept is not None and kept.version == candidate_version:
                candidate = kept
            else:
                candidate = load_version(self.name, candidate_version, "challenger")
        self._pair = (champion, candidate)  # one assignment: requests see old or new, whole
        self.reloads += 1 if old else 0
        return True

    def watch(self, every_seconds: float, stop: threading.Event) -> threading.Thread:
        """Re-read the aliases until ``stop`` is set; errors are kept, the old pair serves on."""

        def loop() -> None:
            while not stop.wait(every_seconds):
                try:
                    self.refresh()
                    self.last_error = None
                except Exception as exc:  # the registry may be briefly unreachable
                    self.last_error = f"{type(exc).__name__}: {exc}"

        thread = threading.Thread(target=loop, name=f"reload-{self.name}", daemon=True)
        thread.start()
        return thread


def _alias_versions(
    name: str, champion_alias: str, candidate_alias: str | None
) -> tuple[int, int | None]:
    """The versions the aliases point at now (no candidate when it is the champion)."""
    champion_version = mlflow_registry.get_alias_version(name, champion_alias)
    if champion_version is None:
        raise RegistryError(
            f"{name!r} has no {champion_alias!r} alias to serve: train and "
            f"promote a version first (`mlops-spec run <spec>`)"
        )
    candidate_version = (
        mlflow_registry.get_alias_version(name, candidate_alias) if candidate_alias else None
    )
    if candidate_version == champion_version:
        candidate_version = None  # a promoted candidate has nothing left to be compared with
    return champion_version, candidate_version


def servable_versions(
    name: str, champion_alias: str, candidate_alias: str | None
) -> tuple[int, int | None]:
    """The versions the aliases point at, checked as ``load_version`` checks them, without
    loading either: what ``serve`` verifies once before its workers start."""
    champion, candidate = _alias_versions(name, champion_alias, candidate_alias)
    for version, role in ((champion, "champion"), (candidate, "challenger")):
        if version is None:
            continue
        refusal = alias_refusal(role, mlflow_registry.get_version_tags(name, version))  # type: ignore[arg-type]
        if refusal is not None:
            raise RegistryError(f"{name} v{version} may not be served as {role}: {refusal}")
    return champion, candidate


def canary_bucket(model: str, entity: dict[str, Any]) -> float:
    """A stable number in [0, 100) for an entity: the same keys, the same route, every time."""
    keys = "\x00".join(f"{name}={entity[name]}" for name in sorted(entity))
    digest = hashlib.sha256(f"{model}\x00{keys}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 / 100


class UnknownEntities(LookupError):
    def __init__(self, entities: list[dict[str, Any]]) -> None:
        super().__init__(entities)
        self.entities = entities


Answer = list[dict[str, Any]] | Exception  # one request's rows, in order, or why it failed


def answer_batch(
    *,
    name: str,
    requests: Sequence[list[dict[str, Any]]],
    slots: ModelSlots,
    features: OnlineFeatures,
    serving: Serving,
    task: Task | None = None,
) -> list[Answer]:
    """The answers to several requests at once: one online-store read and one call of each
    model for all their entities, then each request's own rows back, in order.

    A request fails alone when it asks for a key no store could hold or for an entity the
    store does not know; a store outage fails every request of the batch (``error_503``) or
    answers all of them with defaults. The routed model answers each entity, with the other
    model's answer alongside (for the log only). ``task`` is the spec's (the prediction
    function then gives probabilities only for classification).
    """
    answers: list[Answer | None] = [None] * len(requests)
    for i, entities in enumerate(requests):
        try:
            check_keys(entities)
        except UnservableEntityKey as exc:
            answers[i] = exc
    served = [i for i, a in enumerate(answers) if a is None]
    flat = [entity for i in served for entity in requests[i]]
    if flat:
        try:
            rows = predict_entities(
                name=name,
                entities=flat,
                slots=slots,
                features=features,
                serving=serving,
                task=task,
                keys_checked=True,
            )
        except OnlineStoreUnavailable as exc:
            return [exc if a is None else a for a in answers]
        start = 0
        for i in served:
            mine = rows[start : start + len(requests[i])]
            start += len(mine)
            unknown = [r["_entity"] for r in mine if r["_unknown"]]
            answers[i] = UnknownEntities(unknown) if unknown else mine
    BATCH_ENTITIES.labels(name).observe(len(flat))
    BATCH_REQUESTS.labels(name).observe(len(requests))
    return [a if a is not None else RuntimeError("unanswered") for a in answers]


def predict_entities(
    *,
    name: str,
    entities: list[dict[str, Any]],
    slots: ModelSlots,
    features: OnlineFeatures,
    serving: Serving,
    task: Task | None = None,
    keys_checked: bool = False,
) -> list[dict[str, Any]]:
    """Features from the online store, then the routed model's answer for each known entity
    (the store has features for it); an unknown one gets ``_unknown`` and no answer. Each
    model is called once, for all the known entities."""
    store = "ok"
    try:
        online = features.get(entities, keys_checked=keys_checked)
    except OnlineStoreUnavailable:
        STORE_UNAVAILABLE.labels(name).inc()
        if serving.on_store_unavailable == "error_503":
            raise
        store = "defaults"
        online = pd.DataFrame(np.nan, index=range(len(entities)), columns=list(features.columns))
    unknown = (
        online.isna().all(axis=1).to_numpy() if store == "ok" else np.zeros(len(entities), bool)
    )
    known = online[~unknown]
    champion, candidate = slots.current()
    champion_out = iter(_predict(champion, known, task) if len(known) else [])
    candidate_out = iter(_predict(candidate, known, task) if candidate and len(known) else [])
    canary = serving.mode == "canary" and candidate is not None
    results = []
    routes: Counter[str] = Counter()
    for entity, missing in zip(entities, unknown, strict=True):
        row: dict[str, Any] = {**entity, "_entity": entity, "_unknown": bool(missing)}
        results.append(row)
        if missing:
            continue
        mine = next(champion_out)
        theirs = next(candidate_out) if candidate else None
        to_canary = canary and canary_bucket(name, entity) < serving.canary_percent
        route = "canary" if to_canary else "champion"
        routes[route] += 1
        answer = theirs if to_canary and theirs is not None else mine
        row.update(
            route=route,
            version=candidate.version if to_canary and candidate else champion.version,
            **answer,
            store=store,
            _champion=mine["prediction"],
            _champion_version=champion.version,
            _candidate=theirs["prediction"] if theirs else None,
            _candidate_version=candidate.version if candidate else None,
        )
    for route, count in routes.items():
        PREDICTIONS.labels(name, route).inc(count)
    return results


def _predict(loaded: LoadedModel, online: pd.DataFrame, task: Task | None) -> list[dict[str, Any]]:
    """One answer per row, from the prediction function batch scoring uses, as JSON-ready
    values: the label (or value), and the probability of each class by its name."""
    X = online.reindex(columns=list(loaded.columns)) if loaded.columns else online
    X = X.astype({c: object for c in X.columns if X[c].isna().all()})
    answers = prediction.predict(loaded.model, X, task, labels_from_probabilities=True)
    out: list[dict[str, Any]] = [
        {"prediction": _plain(label)} for label in answers[prediction.PREDICTION]
    ]
    probabilities = prediction.class_probabilities(answers)
    if probabilities is not None:
        classes = [str(_plain(c)) for c in loaded.model.classes_]
        for row, p in zip(out, probabilities, strict=True):
            row["probabilities"] = {c: float(v) for c, v in zip(classes, p, strict=True)}
    return out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
