"""Compile a validated spec into its Plan: the ordered steps and the guards on each."""

from __future__ import annotations

from typing import Any

from mlops_spec.loader.load import LoadedSpec
from mlops_spec.plan.model import Guard, Plan, Step
from mlops_spec.spec import ChampionGate, DataConstraint, TrainingPipeline

_CHECKS = ("no_missing", "max_missing_fraction", "in_range", "min", "max", "in_set", "unique")


def _constraint_rules(constraint: DataConstraint) -> list[str]:
    rules = []
    for check in _CHECKS:
        value = getattr(constraint, check)
        if value is None or value is False:
            continue
        shown = "" if value is True else f" {list(value) if isinstance(value, tuple) else value}"
        rules.append(f"{constraint.column} {check}{shown}")
    return rules


def _items(**settings: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((key, value) for key, value in settings.items() if value is not None)


def study_name(spec: TrainingPipeline, content_hash: str) -> str:
    """One study per spec content: editing the spec starts a new study, re-running resumes."""
    return f"{spec.metadata.name}-{content_hash[:12]}"


def compile_plan(loaded: LoadedSpec) -> Plan:
    spec = loaded.spec
    name = spec.metadata.name
    steps: list[Step] = [
        Step(
            "load_entities",
            "pandas",
            "read entity rows (keys, event time, label, groups)",
            _items(
                path=spec.data.entities,
                entity_key=spec.data.entity_keys,
                timestamp=spec.data.timestamp,
                label=spec.data.label,
            ),
            guards=(Guard("entity_columns", "key, timestamp and label columns present"),),
        ),
        Step(
            "retrieve_features",
            "feast",
            "point-in-time join of features onto entity rows",
            _items(
                repo=spec.features.repo,
                service=spec.features.service,
                refs=list(spec.features.refs) if spec.features.refs else None,
                cache_key="spec hash + entity rows + repo definitions + source data",
                retries=2,
            ),
            guards=(Guard("row_count", "rows out == rows in"),),
            depends_on=("load_entities",),
        ),
        Step(
            "profile_data",
            "whylogs",
            "profile the training frame (the monitoring reference)",
            depends_on=("retrieve_features",),
        ),
        Step(
            "check_constraints",
            "whylogs",
            "data constraints; a failure stops the run",
            _items(constraints=len(spec.constraints.data)),
            guards=tuple(
                Guard("data_constraint", rule)
                for c in spec.constraints.data
                for rule in _constraint_rules(c)
            ),
            depends_on=("profile_data",),
        ),
        Step(
            "split",
            "scikit-learn",
            "hold out the test rows",
            _items(
                method=spec.split.method.value,
                test_size=spec.split.test_size,
                validation_size=spec.split.validation_size,
                seed=spec.split.seed,
            ),
            depends_on=("check_constraints",),
        ),
    ]
    fit_after = "split"
    if spec.tuning is not None:
        tuning = spec.tuning
        steps.append(
            Step(
                "tune",
                "optuna",
                "search hyper-parameters on a validation holdout",
                _items(
                    study=study_name(spec, loaded.content_hash),
                    n_trials=tuning.n_trials,
                    timeout_s=tuning.timeout,
                    metric=tuning.metric,
                    direction=spec.tuning_direction.value,
                    sampler=tuning.sampler.value,
                    pruner=tuning.pruner.value,
                    parallelism=tuning.parallelism,
                    seed=tuning.seed,
                    max_failed_fraction=tuning.max_failed_fraction,
                    search_space=sorted(tuning.search_space),
                ),
                guards=(Guard("failed_trials", f"failed share <= {tuning.max_failed_fraction}"),),
                depends_on=("split",),
            )
        )
        fit_after = "tune"
    steps.append(
        Step(
            "fit",
            "scikit-learn",
            "fit the final model on all training rows",
            _items(
                estimator=spec.model.estimator,
                params=dict(spec.model.params) or None,
                tuned=spec.tuning is not None,
            ),
            depends_on=(fit_after,),
        )
    )
    steps.append(
        Step(
            "evaluate",
            "scikit-learn",
            "test-set metrics for the task",
            _items(task=spec.model.task.value),
            depends_on=("fit",),
        )
    )
    last = "evaluate"
    if spec.constraints.fairness is not None:
        fairness = spec.constraints.fairness
        steps.append(
            Step(
                "fairness",
                "whylogs",
                "per-group rates on test predictions (segmented profiles)",
                _items(sensitive=list(fairness.sensitive), min_group_size=fairness.min_group_size),
                guards=tuple(
                    Guard(
                        "fairness_rule",
                        f"{rule.metric.value}"
                        + (f" >= {rule.min}" if rule.min is not None else "")
                        + (f" <= {rule.max}" if rule.max is not None else ""),
                    )
                    for rule in fairness.rules
                ),
                depends_on=("evaluate",),
            )
        )
        last = "fairness"
    gate_rules = []
    for gate in spec.governance.gates:
        if isinstance(gate, ChampionGate):
            gate_rules.append(
                Guard(
                    "champion_gate",
                    f"{gate.metric} regression vs champion "
                    f"<= {gate.max_regression} (same test rows)",
                )
            )
        else:
            bounds = (f" >= {gate.min}" if gate.min is not None else "") + (
                f" <= {gate.max}" if gate.max is not None else ""
            )
            gate_rules.append(Guard("threshold_gate", f"{gate.metric}{bounds}"))
    for key in spec.governance.required_metadata:
        gate_rules.append(Guard("required_metadata", key))
    if spec.constraints.fairness is not None:
        gate_rules.append(Guard("fairness", "every fairness rule passes"))
    steps.append(
        Step(
            "governance",
            "mlflow",
            "decide every gate before registration, so no version exists without a verdict",
            guards=tuple(gate_rules),
            depends_on=(last,),
        )
    )
    steps.append(
        Step(
            "register",
            "mlflow",
            "log the model; register it with lineage, gate decisions and the verdict at once",
            _items(registered_model=name, alias="challenger", retries=2),
            depends_on=("governance",),
        )
    )
    promotion = spec.governance.promotion
    if promotion.approval == "required":
        steps.append(
            Step(
                "approval",
                "prefect",
                "pause for a reviewer's decision",
                _items(timeout_s=promotion.approval_timeout),
                depends_on=("register",),
            )
        )
    steps.append(
        Step(
            "promote",
            "mlflow",
            f"move alias '{promotion.alias}' to the new version",
            _items(alias=promotion.alias, approval=promotion.approval),
            guards=(Guard("all_gates", "every gate passed"),)
            + (
                (Guard("approval", "a reviewer approved"),)
                if promotion.approval == "required"
                else ()
            ),
            depends_on=(steps[-1].name,),
        )
    )
    return Plan(
        spec_name=name,
        spec_path=loaded.display_path,
        content_hash=loaded.content_hash,
        registered_model=name,
        steps=tuple(steps),
    )
