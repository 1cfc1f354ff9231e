"""Governance decisions: every gate of the spec judged on the run's numbers, each one recorded.

Pure functions over metrics, so the rules are tested without any service; the flow records the
decisions in MLflow (version tags and a JSON artifact) and as a Prefect table artifact.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mlops_spec.spec import ChampionGate, ThresholdGate, TrainingPipeline, higher_is_better


@dataclass(frozen=True)
class GateDecision:
    gate: str
    passed: bool
    value: float | None
    bound: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def threshold_decision(gate: ThresholdGate, metrics: dict[str, float]) -> GateDecision:
    value = metrics.get(gate.metric)
    bounds = []
    if gate.min is not None:
        bounds.append(f">= {gate.min}")
    if gate.max is not None:
        bounds.append(f"<= {gate.max}")
    bound = " and ".join(bounds)
    if value is None:
        return GateDecision(f"{gate.metric}", False, None, bound, "metric was not computed")
    passed = (gate.min is None or value >= gate.min) and (gate.max is None or value <= gate.max)
    return GateDecision(gate.metric, passed, value, bound, f"{gate.metric} = {value:.4f}")


def champion_decision(
    gate: ChampionGate,
    metrics: dict[str, float],
    champion_metrics: dict[str, float] | None,
    champion_version: int | None,
) -> GateDecision:
    name = f"{gate.metric} vs champion"
    bound = f"regression <= {gate.max_regression}"
    value = metrics.get(gate.metric)
    if champion_metrics is None or champion_version is None:
        return GateDecision(name, True, value, bound, "no champion yet: nothing to regress from")
    champion_value = champion_metrics.get(gate.metric)
    if value is None or champion_value is None:
        return GateDecision(name, False, value, bound, "metric missing for challenger or champion")
    regression = champion_value - value if higher_is_better(gate.metric) else value - champion_value
    passed = regression <= gate.max_regression
    return GateDecision(
        name,
        passed,
        value,
        bound,
        f"challenger {value:.4f} vs champion v{champion_version} {champion_value:.4f} "
        f"on the same test rows (regression {regression:+.4f})",
    )


def metadata_decisions(spec: TrainingPipeline) -> list[GateDecision]:
    decisions = []
    for key in spec.governance.required_metadata:
        value = (
            getattr(spec.metadata, key, None)
            if key in type(spec.metadata).model_fields
            else (spec.metadata.tags.get(key))
        )
        decisions.append(
            GateDecision(
                f"metadata {key}",
                bool(value),
                None,
                "required",
                "set" if value else "missing",
            )
        )
    return decisions


def decide(
    spec: TrainingPipeline,
    metrics: dict[str, float],
    *,
    champion_metrics: dict[str, float] | None,
    champion_version: int | None,
    fairness_failures: list[str] | None,
) -> list[GateDecision]:
    """Every gate in the spec's order, then metadata, then fairness as one gate per failed rule."""
    decisions: list[GateDecision] = []
    for gate in spec.governance.gates:
        if isinstance(gate, ChampionGate):
            decisions.append(champion_decision(gate, metrics, champion_metrics, champion_version))
        else:
            decisions.append(threshold_decision(gate, metrics))
    decisions.extend(metadata_decisions(spec))
    if fairness_failures is not None:
        decisions.append(
            GateDecision(
                "fairness",
                not fairness_failures,
                None,
                "every fairness rule passes",
                "; ".join(fairness_failures) if fairness_failures else "all rules pass",
            )
        )
    return decisions
