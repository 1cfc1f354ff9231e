"""Spec value types: durations, cron, metric directions, JSON Schema currency."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mlops_spec.schema import SCHEMA_PATH, schema_text
from mlops_spec.spec import TASK_METRICS, Task, higher_is_better
from mlops_spec.spec.common import check_cron, parse_duration
from mlops_spec.spec.names import did_you_mean

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10m", 600), ("90s", 90), ("1h30m", 5400), ("2d", 172800), (45, 45), ("250ms", 0.25)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "10 minutes",
        "m10",
        "",
        "-5m",
        "0s",
        True,
        "1x",
        float("inf"),
        float("nan"),
        10**400,
        "9" * 400 + "d",
        "367d",
    ],
)
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_longest_duration() -> None:
    assert parse_duration("366d") == 366 * 86400


def test_cron() -> None:
    assert check_cron("*/5 * * * 1-5") == "*/5 * * * 1-5"
    with pytest.raises(ValueError):
        check_cron("0 25 * * *")
    with pytest.raises(ValueError, match=r"it has 6 fields; .* seconds are not part of cron"):
        check_cron("0 0 3 * * 1")  # cronsim itself accepts a seconds field


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        (
            "m\u043edel",
            "key 'm\u043edel' contains U+043E CYRILLIC SMALL LETTER O; did you mean 'model'?",
        ),
        (
            "mod\u200bel",
            "key 'mod\u200bel' contains U+200B ZERO WIDTH SPACE; did you mean 'model'?",
        ),
        (
            "\uff4dodel",
            "key '\uff4dodel' contains U+FF4D FULLWIDTH LATIN SMALL LETTER M;"
            " did you mean 'model'?",
        ),
        ("modle", "did you mean 'model'?"),
        ("caf\u00e9", None),  # a real accented letter is not a look-alike
    ],
)
def test_did_you_mean_names_odd_characters(name: str, hint: str | None) -> None:
    assert did_you_mean(name, ["model", "metadata", "tuning"]) == hint


def test_numbers_in_specs_are_finite() -> None:
    from pydantic import ValidationError

    from mlops_spec.spec import ChampionGate, DataConstraint, ThresholdGate

    for bad in (
        lambda: ThresholdGate(metric="roc_auc", min=float("nan")),
        lambda: ChampionGate(compare_to="champion", metric="roc_auc", max_regression=math.inf),
        lambda: DataConstraint(column="age", in_range=(0, math.inf)),
    ):
        with pytest.raises(ValidationError, match="finite number"):
            bad()


def test_every_task_has_metrics_with_direction() -> None:
    for task in Task:
        assert TASK_METRICS[task]
    assert higher_is_better("roc_auc") and not higher_is_better("rmse")


def test_committed_schema_is_current() -> None:
    committed = (ROOT / SCHEMA_PATH).read_text()
    assert committed == schema_text(), "run `mlops-spec schema -o schema/mlops-spec.schema.json`"


def test_specs_carry_schema_header() -> None:
    for spec in (ROOT / "specs").glob("*.yaml"):
        first = spec.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schema/mlops-spec.schema.json", spec


def test_prefect_yaml_is_generated_from_the_specs() -> None:
    import yaml

    from mlops_spec.loader import load_spec
    from mlops_spec.plan.deployments import prefect_document, render_prefect_yaml
    from mlops_spec.settings import Settings

    settings = Settings(project_root=ROOT)
    specs = [load_spec(p, settings) for p in sorted((ROOT / "specs").glob("*.yaml"))]
    committed = (ROOT / "prefect.yaml").read_text()
    assert committed == render_prefect_yaml(prefect_document(specs)), "run `mlops-spec deploy`"
    by_name = {d["name"]: d for d in yaml.safe_load(committed)["deployments"]}
    for loaded in specs:
        spec = loaded.spec
        deployment = by_name[f"{spec.metadata.name}-train"]
        assert deployment["parameters"] == {"spec_path": f"specs/{loaded.path.name}"}
        assert spec.schedule is not None
        assert deployment["schedules"] == [
            {"cron": spec.schedule.cron, "timezone": spec.schedule.timezone}
        ]
        assert deployment["entrypoint"] == "flows/train.py:train"
        assert deployment["work_pool"] == {
            "name": "local",
            "job_variables": {"env": {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"}},
        }
        if spec.monitoring is not None:
            monitor = by_name[f"{spec.metadata.name}-monitor"]
            assert monitor["entrypoint"] == "flows/monitor.py:monitor"
            assert monitor["schedules"] == [
                {"cron": spec.monitoring.schedule, "timezone": spec.monitoring.timezone}
            ]
