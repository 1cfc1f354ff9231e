"""What a training run ended with, for the CLI, tests and the flow's return value.

Its ``state_name`` names the flow run's final Completed state, so the Prefect UI's run list
says the outcome (``Promoted``, ``Challenger``, ``AwaitingApproval``) without opening a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunOutcome:
    spec_name: str
    registered_model: str
    version: int | None
    promoted: bool
    status: str  # "promoted", "challenger", "awaiting-approval"
    metrics: dict[str, float] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    mlflow_run_id: str | None = None
    prefect_flow_run_id: str | None = None
    champion_version: int | None = None
    warnings: list[str] = field(default_factory=list)
    fairness_groups: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state_name(self) -> str:
        """The name of the run's Completed state: what happened to its version."""
        if self.promoted or self.status == "promoted":
            return "Promoted"
        if self.status == "awaiting-approval":
            return "AwaitingApproval"
        return "Challenger"

    @property
    def headline(self) -> str:
        """One line for the state's message: the version and its status."""
        return f"{self.registered_model} v{self.version}: {self.status}"

    @property
    def failed_gates(self) -> list[str]:
        return [f"{d['gate']} ({d['detail']})" for d in self.decisions if not d["passed"]]

    def summary(self) -> str:
        lines = [self.headline]
        shown = ", ".join(f"{k}={v:.4f}" for k, v in sorted(self.metrics.items()))
        lines.append(f"  test metrics: {shown}")
        for decision in self.decisions:
            mark = "pass" if decision["passed"] else "FAIL"
            lines.append(f"  gate {decision['gate']}: {mark} - {decision['detail']}")
        if self.champion_version is not None:
            lines.append(f"  champion is v{self.champion_version}")
        lines += [f"  warning: {warning}" for warning in self.warnings]
        if self.fairness_groups:
            lines += ["  fairness per group (test rows):", rates_table(self.fairness_groups)]
        lines.append(
            f"  mlflow run {self.mlflow_run_id}; prefect flow run {self.prefect_flow_run_id}"
        )
        return "\n".join(lines)


RATE_COLUMNS = ("n", "selection_rate", "tpr", "fpr", "fnr", "accuracy")
ERROR_COLUMNS = ("n", "mae", "rmse", "mean_true", "mean_pred")


def rates_table(rows: list[dict[str, Any]]) -> str:
    """Per-group rates (a classifier) or errors (a regressor: rows with ``mae``) as a
    fixed-width terminal table (a missing or NaN rate is n/a); the false negative rate is
    1 - TPR where a row does not carry it. Intersection groups are wider than one column's."""
    columns = ERROR_COLUMNS if rows and "mae" in rows[0] else RATE_COLUMNS
    wide = max([12, *(len(str(row["sensitive"])) for row in rows)])
    group = max([18, *(len(str(row["group"])) for row in rows)])
    wide, group = min(wide, 30), min(group, 40)
    header = f"  {'sensitive':<{wide}} {'group':<{group}}" + "".join(f" {c:>14}" for c in columns)
    body = [
        f"  {str(row['sensitive'])[:wide]:<{wide}} {str(row['group'])[:group]:<{group}}"
        + "".join(f" {_rate_cell(c, _rate(row, c)):>14}" for c in columns)
        for row in rows
    ]
    return "\n".join([header, *body])


def _rate(row: dict[str, Any], column: str) -> Any:
    if column == "fnr" and "fnr" not in row and isinstance(row.get("tpr"), float):
        return 1.0 - row["tpr"]
    return row.get(column)


def _rate_cell(column: str, value: Any) -> str:
    if value is None or value != value:  # NaN
        return "n/a"
    return str(int(value)) if column == "n" else f"{value:.4f}"
