"""The fairness block's language: intersections (a sensitive entry that lists columns), rules
whose metrics follow the task, and the located problems for each misuse, decided from the spec
alone; the plan lines and the terminal table they lead to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops_spec.loader import load_spec
from mlops_spec.plan import compile_plan
from mlops_spec.runtime.outcome import rates_table
from mlops_spec.settings import Settings
from mlops_spec.spec import Fairness, FairnessRule, TrainingPipeline, semantic_problems
from mlops_spec.spec.constraints import (
    CLASSIFICATION_FAIRNESS_METRICS,
    REGRESSION_FAIRNESS_METRICS,
    FairnessMetric,
    sensitive_name,
)

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = frozenset(
    {
        "sklearn.linear_model.LogisticRegression",
        "sklearn.linear_model.Ridge",
    }
)


def pipeline(fairness: dict[str, Any], task: str = "binary_classification") -> TrainingPipeline:
    estimator = "Ridge" if task == "regression" else "LogisticRegression"
    return TrainingPipeline.model_validate(
        {
            "apiVersion": "mlops-spec/v1",
            "kind": "TrainingPipeline",
            "metadata": {"name": "m", "owner": "team@example.com"},
            "data": {"entities": "e.parquet", "entity_key": "id", "timestamp": "ts", "label": "y"},
            "features": {"repo": "feature_repo", "service": "s"},
            "model": {"task": task, "estimator": f"sklearn.linear_model.{estimator}"},
            "constraints": {"fairness": fairness},
        }
    )


def problems(fairness: dict[str, Any], task: str = "binary_classification") -> list[Any]:
    found = semantic_problems(pipeline(fairness, task), ALLOWED)
    return [(".".join(map(str, where)), message, hint) for where, message, hint in found]


DI = {"metric": "disparate_impact", "min": 0.8}


def test_an_intersection_is_named_by_its_columns_and_reads_each_once() -> None:
    fairness = Fairness.model_validate(
        {"sensitive": ["race", ["race", "sex"], ["sex", "age_band"]], "rules": [DI]}
    )
    assert fairness.names == ["race", "race & sex", "sex & age_band"]
    assert fairness.columns == ["race", "sex", "age_band"]
    assert sensitive_name(["a", "b", "c"]) == "a & b & c"


@pytest.mark.parametrize(
    ("reference", "label"),
    [("White", "White"), (["White", "Male"], "White & Male"), ("White & Male", "White & Male")],
)
def test_a_reference_group_is_spelled_as_a_list_or_the_joined_label(
    reference: Any, label: str
) -> None:
    rule = FairnessRule.model_validate({**DI, "reference_group": reference})
    assert rule.reference_label == label


def test_a_valid_intersection_has_no_problems() -> None:
    assert (
        problems(
            {
                "sensitive": ["race", ["race", "sex"]],
                "rules": [
                    {**DI, "on": [["race", "sex"]], "reference_group": ["White", "Male"]},
                    {**DI, "on": ["race"], "reference_group": "White"},
                    {**DI, "on": [["race", "sex"]], "reference_group": "White & Male"},
                ],
            }
        )
        == []
    )


@pytest.mark.parametrize(
    ("sensitive", "where", "says"),
    [
        ([["race"]], "constraints.fairness.sensitive.0", "two or more columns"),
        ([[]], "constraints.fairness.sensitive.0", "two or more columns"),
        ([["race", "sex", "race"]], "constraints.fairness.sensitive.0.2", "listed twice in the"),
        (["sex", ["race", "y"]], "constraints.fairness.sensitive.1.1", "the label cannot"),
        ([["race", "id"]], "constraints.fairness.sensitive.0.1", "the entity key"),
        ([["race", "ts"]], "constraints.fairness.sensitive.0.1", "the timestamp"),
        ([["race", "sex"], ["sex", "race"]], "constraints.fairness.sensitive.1", "listed twice"),
        (["sex", "sex"], "constraints.fairness.sensitive.1", "'sex' is listed twice"),
    ],
)
def test_intersection_misuse_is_located(sensitive: list[Any], where: str, says: str) -> None:
    found = problems({"sensitive": sensitive, "rules": [DI]})
    assert any(at == where and says in message for at, message, _ in found), found


def test_an_unknown_column_inside_an_intersection_is_located_against_data_columns() -> None:
    spec = pipeline({"sensitive": [["race", "gender"]], "rules": [DI]})
    spec = spec.model_copy(
        update={"data": spec.data.model_copy(update={"columns": ["id", "ts", "y", "race", "sex"]})}
    )
    [(where, message, _)] = semantic_problems(spec, ALLOWED)
    assert where == ("constraints", "fairness", "sensitive", 0, 1)
    assert "'gender' is not in data.columns" in message


def test_rule_targets_name_intersections_in_list_form() -> None:
    found = problems(
        {
            "sensitive": ["race", ["race", "sex"]],
            "rules": [
                {**DI, "on": [["sex", "race"]]},
                {**DI, "on": [["race", "sex"]], "reference_group": ["White"]},
                {**DI, "on": ["race"], "reference_group": ["White", "Male"]},
                {**DI, "reference_group": "White"},
            ],
        }
    )
    wheres = [at for at, _, _ in found]
    assert wheres == [
        "constraints.fairness.rules.0.on.0",
        "constraints.fairness.rules.1.reference_group",
        "constraints.fairness.rules.2.reference_group",
        "constraints.fairness.rules.3.reference_group",
    ]
    assert "'sex & race' is not an intersection in sensitive" in found[0][1]
    assert "race & sex" in (found[0][2] or "")


@pytest.mark.parametrize("metric", list(REGRESSION_FAIRNESS_METRICS))
def test_regression_metrics_are_refused_for_a_classifier(metric: FairnessMetric) -> None:
    [(where, message, hint)] = problems(
        {"sensitive": ["sex"], "rules": [{"metric": metric.value, "max": 1.2}]}
    )
    assert where == "constraints.fairness.rules.0.metric"
    assert "judges errors of a regression" in message and "disparate_impact" in (hint or "")


@pytest.mark.parametrize("metric", list(CLASSIFICATION_FAIRNESS_METRICS))
def test_classification_metrics_are_refused_for_a_regressor(metric: FairnessMetric) -> None:
    [(where, message, hint)] = problems(
        {"sensitive": ["sex"], "rules": [{"metric": metric.value, "min": 0.8}]}, "regression"
    )
    assert where == "constraints.fairness.rules.0.metric"
    assert "judges rates of decisions" in message and "mae_ratio" in (hint or "")


def test_a_regressor_is_judged_on_its_errors_and_has_no_label_rules() -> None:
    rules = [{"metric": "mae_ratio", "max": 1.25}, {"metric": "rmse_difference", "max": 5}]
    assert problems({"sensitive": ["sex", ["sex", "race"]], "rules": rules}, "regression") == []
    found = problems({"sensitive": ["sex"], "rules": rules, "label_rules": [DI]}, "regression")
    assert [(at, message) for at, message, _ in found] == [
        (
            "constraints.fairness.label_rules",
            "label_rules judge the rate of a favourable outcome, and a regression label is a "
            "number",
        )
    ]
    [(_, _, hint)] = problems({"sensitive": ["sex"]}, "regression")
    assert "mae_ratio" in (hint or "")


def test_multiclass_fairness_is_refused_once() -> None:
    found = problems({"sensitive": ["sex"], "rules": [DI]}, "multiclass_classification")
    assert [at for at, _, _ in found] == ["constraints.fairness"]
    assert "binary classification and regression only" in found[0][1]


def test_plan_lines_name_intersections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("MLOPS_SPEC_DATA_DIR", raising=False)
    text = (ROOT / "specs" / "adult_income.yaml").read_text()
    old = "sensitive: [sex, race]"
    assert old in text
    text = text.replace(old, "sensitive: [sex, [race, sex]]").replace(
        "      - {metric: disparate_impact, min: 0.8}\n",
        "      - {metric: disparate_impact, min: 0.8}\n"
        "      - {metric: disparate_impact, min: 0.7, on: [[race, sex]], "
        "reference_group: [White, Male], severity: warn}\n",
    )
    spec = ROOT / "specs" / f".intersection-{tmp_path.name}.yaml"
    spec.write_text(text)
    try:
        plan = compile_plan(load_spec(spec.relative_to(ROOT), Settings(project_root=ROOT)))
    finally:
        spec.unlink()
    step = plan.step("fairness")
    assert dict(step.settings)["sensitive"] == ["sex", "race & sex"]
    rules = [guard.rule for guard in step.guards]
    assert "disparate_impact >= 0.7 against White & Male on race & sex (warn only)" in rules


def test_the_terminal_table_follows_the_task_and_fits_intersections() -> None:
    rows = [
        {"sensitive": "(all)", "group": "overall", "n": 442, "mae": 44.1, "rmse": 55.2,
         "mean_true": 152.1, "mean_pred": 151.9, "judged": True},
        {"sensitive": "sex & age_band", "group": "two & under 50 years", "n": 90, "mae": 40.0,
         "rmse": 50.0, "mean_true": 140.0, "mean_pred": 150.0, "judged": True},
    ]  # fmt: skip
    table = rates_table(rows)
    header = table.splitlines()[0].split()
    assert header == ["sensitive", "group", "n", "mae", "rmse", "mean_true", "mean_pred"]
    assert "two & under 50 years" in table and "sex & age_band" in table
    assert "44.1000" in table
