"""Governance decisions: every gate of the spec judged on the run's numbers, each one recorded.

Pure functions over metrics, so the rules are tested without any service; the flow records the
decisions in MLflow (version tags and a JSON artifact) and as a Prefect table artifact.

The verdict travels with the version from its creation (the gates are judged before
registration), and :func:`alias_refusal` is the one rule every alias move and every loader
applies: which verdicts allow a version to be champion, and which only a challenger.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

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


def within_allowance(regression: float, allowance: float) -> bool:
    """``regression <= allowance`` as a person reads decimals: 0.8 - 0.7 is
    0.10000000000000009 in binary floating point, and that is an allowance of 0.1 met."""
    return regression <= allowance or math.isclose(regression, allowance, abs_tol=1e-12)


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
    passed = within_allowance(regression, gate.max_regression)
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


VERDICT_TAG = "governance.verdict"
PROMOTE, AWAITING_APPROVAL, KEEP_CHALLENGER = "promote", "awaiting-approval", "keep-challenger"
VERDICTS = (PROMOTE, AWAITING_APPROVAL, KEEP_CHALLENGER)
#: What an alias is for: ``champion`` answers for the model (the promotion alias, and a canary
#: being promoted to it); ``challenger`` is compared, shadowed or canaried, never promoted by it.
AliasRole = Literal["champion", "challenger"]


def verdict_of(decisions: Sequence[GateDecision], *, approval_required: bool) -> str:
    """``promote`` when every gate passed (``awaiting-approval`` if a reviewer must also say
    yes), else ``keep-challenger``."""
    if not all(d.passed for d in decisions):
        return KEEP_CHALLENGER
    return AWAITING_APPROVAL if approval_required else PROMOTE


def decision_tags(decisions: Sequence[GateDecision], verdict: str) -> dict[str, str]:
    """The version tags that record the gates: one per decision, in order, plus the verdict."""
    tags = {
        f"gate.{i}.{d.gate}": ("pass" if d.passed else "FAIL") + f": {d.detail}"
        for i, d in enumerate(decisions)
    }
    tags[VERDICT_TAG] = verdict
    return tags


def is_unjudged(tags: Mapping[str, str]) -> bool:
    """A version without a verdict: registered before verdicts travelled with registration, or
    set up by hand. Nothing may serve, score or promote it."""
    return VERDICT_TAG not in tags


def alias_refusal(
    role: AliasRole, tags: Mapping[str, str], *, approval_required: bool = False
) -> str | None:
    """Why a version with these tags may not hold an alias of ``role``; ``None`` if it may.

    Any judged version may be a challenger (that is what a version that failed its gates
    stays). Only a version that passed every gate may be champion: verdict ``promote``, or
    ``awaiting-approval`` with an approval recorded as ``approve``. ``approval_required`` (the
    spec's current ``promotion.approval``) also demands that approval of a ``promote`` verdict,
    for a new promotion under a spec that now requires review.
    """
    verdict = tags.get(VERDICT_TAG)
    if verdict is None:
        return f"unjudged: it has no {VERDICT_TAG} tag (its gates were never recorded)"
    if verdict not in VERDICTS:
        return f"unknown verdict {verdict!r} (expected one of {', '.join(VERDICTS)})"
    if role == "challenger":
        return None
    if verdict == KEEP_CHALLENGER:
        if tags.get("approval.decision") == "reject":
            return f"a reviewer rejected it ({tags.get('approval.reviewer') or 'unknown reviewer'})"
        failed = [
            k.split(".", 2)[2]
            for k, v in sorted(tags.items(), key=_gate_order)
            if _failed_gate(k, v)
        ]
        return "it failed its gates" + (f" ({', '.join(failed)})" if failed else "")
    approved = tags.get("approval.decision") == "approve"
    if verdict == AWAITING_APPROVAL and not approved:
        return f"it awaits approval (approval.decision: {tags.get('approval.decision', 'none')})"
    if approval_required and not approved:
        return "the spec requires approval and none is recorded as approved"
    return None


def _gate_order(item: tuple[str, str]) -> tuple[int, str]:
    """gate.<i>.<name> tags in the spec's gate order (gate.2 before gate.10)."""
    parts = item[0].split(".")
    return (int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else -1, item[0])


def _failed_gate(key: str, value: str) -> bool:
    return key.startswith("gate.") and key.count(".") >= 2 and value.startswith("FAIL")
