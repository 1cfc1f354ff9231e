"""Micro-batching gives every request what it would have got alone: the same values, in the
same order, in champion, shadow and canary modes; failures stay with their own request; the
batcher gathers what queued while a batch was scored, and answers a lone request alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from mlops_spec.errors import OnlineStoreUnavailable
from mlops_spec.runtime.serving import LoadedModel, UnknownEntities, answer_batch, canary_bucket
from mlops_spec.runtime.serving_batch import MicroBatcher
from mlops_spec.spec.metrics import Task
from mlops_spec.spec.sections import Serving

RNG = np.random.default_rng(11)
X = pd.DataFrame({"a": RNG.normal(size=200), "b": RNG.normal(size=200)})
Y = np.where(X["a"] - X["b"] > 0, "yes", "no")
CHAMPION = LoadedModel(1, HistGradientBoostingClassifier(max_iter=20).fit(X, Y), ("a", "b"))
CANDIDATE = LoadedModel(2, LogisticRegression().fit(X, Y), ("a", "b"))
UNKNOWN = 999  # an id the store has no features for


class _Slots:
    def __init__(self, candidate: LoadedModel | None) -> None:
        self.pair = (CHAMPION, candidate)

    def current(self) -> tuple[LoadedModel, LoadedModel | None]:
        return self.pair


class _Features:
    """An online store over ``X``: one row per id, all missing for an unknown id."""

    columns = ("a", "b")

    def __init__(self, broken: bool = False) -> None:
        self.reads: list[int] = []
        self.broken = broken

    def get(self, entities: Sequence[dict[str, Any]], keys_checked: bool = False) -> pd.DataFrame:
        self.reads.append(len(entities))
        if self.broken:
            raise OnlineStoreUnavailable("down")
        ids = [e["id"] for e in entities]
        return X.reindex(ids).reset_index(drop=True)


def _answers(serving: Serving, requests: list[list[dict[str, Any]]], **kw: Any) -> list[Any]:
    features = kw.pop("features", _Features())
    return answer_batch(
        name="m",
        requests=requests,
        slots=_Slots(None if serving.mode == "champion" else CANDIDATE),  # type: ignore[arg-type]
        features=features,  # type: ignore[arg-type]
        serving=serving,
        task=Task.binary_classification,
    )


MODES = {
    "champion": Serving(),
    "shadow": Serving(mode="shadow"),
    "canary": Serving(mode="canary", canary_percent=40),
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_batch_answers_each_request_as_it_would_be_answered_alone(mode: str) -> None:
    serving = MODES[mode]
    sizes = [1, 3, 1, 7, 2, 1, 5]
    ids = iter(RNG.permutation(200).tolist())
    requests = [[{"id": next(ids)} for _ in range(n)] for n in sizes]
    features = _Features()
    batched = _answers(serving, requests, features=features)
    alone = [_answers(serving, [request])[0] for request in requests]
    assert features.reads == [sum(sizes)]  # one online read for the whole batch
    assert batched == alone
    for request, rows in zip(requests, batched, strict=True):
        assert [row["id"] for row in rows] == [e["id"] for e in request]  # own rows, in order
    rows = [row for answer in batched for row in answer]
    if mode == "canary":
        expected = {r["id"]: canary_bucket("m", {"id": r["id"]}) < 40 for r in rows}
        assert {r["id"]: r["route"] == "canary" for r in rows} == expected
        assert {r["version"] for r in rows if r["route"] == "canary"} == {2}
    if mode == "shadow":
        assert {(r["route"], r["version"], r["_candidate_version"]) for r in rows} == {
            ("champion", 1, 2)
        }
    if mode != "champion":
        scored = CANDIDATE.model.predict(X.loc[[r["id"] for r in rows]])
        assert [r["_candidate"] for r in rows] == list(scored)
    labels = CHAMPION.model.predict(X.loc[[r["id"] for r in rows]])
    assert [r["_champion"] for r in rows] == list(labels)


def test_failures_stay_with_their_request() -> None:
    requests = [[{"id": 1}], [{"id": 2}, {"id": UNKNOWN}], [{"id": 3}], [{"id": 2**70}]]
    answers = _answers(Serving(), requests)
    assert [type(a).__name__ for a in answers] == [
        "list",
        "UnknownEntities",
        "list",
        "UnservableEntityKey",
    ]
    assert isinstance(answers[1], UnknownEntities) and answers[1].entities == [{"id": UNKNOWN}]
    assert answers[0] == _answers(Serving(), [[{"id": 1}]])[0]


def test_a_store_outage_fails_the_batch_or_answers_it_with_defaults() -> None:
    requests = [[{"id": 1}], [{"id": 2}, {"id": 3}]]
    refused = _answers(Serving(), requests, features=_Features(broken=True))
    assert all(isinstance(a, OnlineStoreUnavailable) for a in refused)
    defaults = _answers(
        Serving(on_store_unavailable="defaults"), requests, features=_Features(broken=True)
    )
    assert [[r["store"] for r in a] for a in defaults] == [["defaults"], ["defaults"] * 2]


class _Recorder:
    """A batch runner that records each batch and can be held until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.release.set()
        self.running = threading.Event()

    def __call__(self, requests: Sequence[list[dict[str, Any]]]) -> list[Any]:
        self.running.set()
        assert self.release.wait(30)
        self.batches.append([r[0]["n"] for r in requests])
        return [[{**r[0], "answer": r[0]["n"] * 10}] for r in requests]


def test_the_batcher_gathers_what_queued_and_answers_a_lone_request_alone() -> None:
    async def scenario() -> tuple[list[Any], list[Any]]:
        recorder = _Recorder()
        batcher = MicroBatcher(recorder, max_entities=8, max_wait=0.002)
        batcher.start()
        lone = await batcher.submit([{"n": 0}], timeout=30)
        recorder.running.clear()
        recorder.release.clear()  # the next batch is held while 12 more requests arrive
        first = asyncio.ensure_future(batcher.submit([{"n": 1}], timeout=30))
        while not recorder.running.wait(0):
            await asyncio.sleep(0.001)
        rest = [asyncio.ensure_future(batcher.submit([{"n": n}], timeout=30)) for n in range(2, 14)]
        await asyncio.sleep(0)
        recorder.release.set()
        answers = await asyncio.gather(first, *rest)
        await batcher.close()
        return [lone, *answers], recorder.batches

    answers, batches = asyncio.run(scenario())
    assert [a[0]["answer"] for a in answers] == [n * 10 for n in range(14)]
    assert batches[:3] == [[0], [1], list(range(2, 10))]  # at most 8 entities per batch
    assert [n for batch in batches for n in batch] == list(range(14))


def test_a_request_that_waits_too_long_times_out_and_the_batcher_carries_on() -> None:
    async def scenario() -> Any:
        recorder = _Recorder()
        recorder.release.clear()
        batcher = MicroBatcher(recorder, max_entities=8, max_wait=0.002)
        batcher.start()
        with pytest.raises(TimeoutError):
            await batcher.submit([{"n": 1}], timeout=0.01)
        recorder.release.set()
        answer = await batcher.submit([{"n": 2}], timeout=30)
        await batcher.close()
        return answer

    assert asyncio.run(scenario()) == [{"n": 2, "answer": 20}]
