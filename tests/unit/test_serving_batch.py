"""Micro-batching gives every request what it would have got alone: the same values, in the
same order, in champion, shadow and canary modes; failures stay with their own request; the
batcher gathers what queued while a batch was scored, and answers a lone request alone."""

from __future__ import annotations

import asyncio
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
    """A batch runner that records each batch it scores."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __call__(self, requests: Sequence[list[dict[str, Any]]]) -> list[Any]:
        self.batches.append([r[0]["n"] for r in requests])
        return [[{**r[0], "answer": r[0]["n"] * 10}] for r in requests]


def test_the_batcher_gathers_what_queued_and_answers_a_lone_request_alone() -> None:
    async def scenario() -> tuple[list[Any], list[Any]]:
        recorder = _Recorder()
        batcher = MicroBatcher(recorder, max_entities=8, max_wait=0.002)
        batcher.start()
        lone = await batcher.submit([{"n": 0}], timeout=30)
        # 13 requests queue before the consumer runs again, as while a batch is scored
        queued = [
            asyncio.ensure_future(batcher.submit([{"n": n}], timeout=30)) for n in range(1, 14)
        ]
        answers = await asyncio.gather(*queued)
        await batcher.close()
        return [lone, *answers], recorder.batches

    answers, batches = asyncio.run(scenario())
    assert [a[0]["answer"] for a in answers] == [n * 10 for n in range(14)]
    assert batches == [[0], list(range(1, 9)), list(range(9, 14))]  # at most 8 per batch


def test_a_request_larger_than_a_batch_is_served_whole_and_alone() -> None:
    async def scenario() -> list[list[int]]:
        seen: list[list[int]] = []

        def run(requests: Sequence[list[dict[str, Any]]]) -> list[Any]:
            seen.append([len(r) for r in requests])
            return list(requests)

        batcher = MicroBatcher(run, max_entities=4, max_wait=0.002)
        batcher.start()
        small = asyncio.ensure_future(batcher.submit([{"n": 1}], timeout=30))
        large = asyncio.ensure_future(batcher.submit([{"n": n} for n in range(10)], timeout=30))
        after = asyncio.ensure_future(batcher.submit([{"n": 2}], timeout=30))
        await asyncio.gather(small, large, after)
        assert len(large.result()) == 10
        await batcher.close()
        return seen

    assert asyncio.run(scenario()) == [[1], [10], [1]]


def test_a_request_that_timed_out_is_dropped_from_its_batch() -> None:
    async def scenario() -> tuple[Any, list[list[int]]]:
        recorder = _Recorder()
        batcher = MicroBatcher(recorder, max_entities=8, max_wait=0.002)
        batcher.start()
        with pytest.raises(TimeoutError):
            await batcher.submit([{"n": 1}], timeout=0)  # gave up before it was scored
        answer = await batcher.submit([{"n": 2}], timeout=30)
        await batcher.close()
        return answer, recorder.batches

    answer, batches = asyncio.run(scenario())
    assert answer == [{"n": 2, "answer": 20}]
    assert batches == [[2]]
