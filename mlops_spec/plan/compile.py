"""Compile a validated spec into its Plan: the ordered steps, the guards on each, and the
retries and caching the runtime applies to each step's task."""

from __future__ import annotations

from typing import Any

from mlops_spec.loader.load import LoadedAudit, LoadedSpec
from mlops_spec.plan.model import Cache, Guard, Plan, Step
from mlops_spec.spec import ChampionGate, DataConstraint, Split, TrainingPipeline
from mlops_spec.spec.constraints import FairnessRule, Severity
from mlops_spec.spec.metrics import Task
from mlops_spec.spec.sections import SplitMethod, SplitValues

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


# Reading files and joining features meet I/O hiccups; the registry meets a locked or busy
# backend. Retries apply to I/O and backend errors only (``runtime.retry_rules``).
FEATURE_CACHE = Cache(
    key="feature-inputs",
    inputs="spec hash + entity rows + repo definitions + source data",
    hours=12,
)


def _input_steps(spec: TrainingPipeline) -> list[Step]:
    """Reading the entity rows and joining their features: the I/O steps, retried."""
    return [
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
            retries=2,
            retry_delay_s=1,
        ),
        Step(
            "retrieve_features",
            "feast",
            "point-in-time join of features onto entity rows",
            _items(
                repo=spec.features.repo,
                service=spec.features.service,
                refs=list(spec.features.refs) if spec.features.refs else None,
            ),
            guards=(Guard("row_count", "rows out == rows in"),),
            depends_on=("load_entities",),
            retries=2,
            retry_delay_s=2,
            cache=FEATURE_CACHE,
        ),
    ]


def _fairness_rule_text(rule: FairnessRule) -> str:
    """The rule as the plan prints it; the golden files keep a plain blocking rule's text."""
    text = f"{rule.metric.value}{_bounds(rule.min, rule.max)}"
    if rule.reference_label is not None:
        text += f" against {rule.reference_label}"
    if rule.on_names is not None:
        text += f" on {', '.join(rule.on_names)}"
    if rule.severity is Severity.warn:
        text += " (warn only)"
    return text


def _split_settings(split: Split) -> tuple[tuple[str, Any], ...]:
    """What decides the split, and nothing that does not (a size the cutoff overrides)."""
    sized = split.cutoff is None and split.method is not SplitMethod.column
    values = split.values.model_dump() if split.values is not None else None
    if split.method is SplitMethod.column and values is None:
        values = SplitValues().model_dump()
    return _items(
        method=split.method.value,
        cutoff=split.cutoff.isoformat() if split.cutoff else None,
        validation_cutoff=split.validation_cutoff.isoformat() if split.validation_cutoff else None,
        by=split.by,
        column=split.column,
        values=values,
        test_size=split.test_size if sized else None,
        validation_size=split.validation_size,
        seed=split.seed,
    )


def _data_steps(spec: TrainingPipeline) -> list[Step]:
    return [
        *_input_steps(spec),
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
        *_label_bias_steps(spec),
        Step(
            "split",
            "scikit-learn",
            "hold out the test rows",
            _split_settings(spec.split),
            depends_on=("label_bias" if _label_rules(spec) else "check_constraints",),
        ),
    ]


def _label_rules(spec: TrainingPipeline) -> list[FairnessRule]:
    fairness = spec.constraints.fairness
    return list(fairness.label_rules) if fairness is not None else []


def _label_bias_steps(spec: TrainingPipeline) -> list[Step]:
    """The label's own outcome rates per group, before anything is trained."""
    rules = _label_rules(spec)
    if not rules:
        return []
    assert spec.constraints.fairness is not None
    return [
        Step(
            "label_bias",
            "whylogs",
            "favourable-outcome rates of the label per group; a broken block rule stops the run",
            _items(sensitive=spec.constraints.fairness.names),
            guards=tuple(Guard("label_rule", _fairness_rule_text(rule)) for rule in rules),
            depends_on=("check_constraints",),
        )
    ]


def _tune_step(spec: TrainingPipeline, content_hash: str) -> Step | None:
    tuning = spec.tuning
    if tuning is None:
        return None
    return Step(
        "tune",
        "optuna",
        "search hyper-parameters on a validation holdout"
        if tuning.cv is None
        else f"search hyper-parameters by {tuning.cv}-fold cross-validation of the training rows",
        _items(
            study=study_name(spec, content_hash),
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
            cv=tuning.cv,
        ),
        guards=(Guard("failed_trials", f"failed share <= {tuning.max_failed_fraction}"),),
        depends_on=("split",),
    )


def _model_steps(spec: TrainingPipeline, after: str) -> list[Step]:
    steps = [
        Step(
            "fit",
            "scikit-learn",
            "fit the final model on all training rows",
            _items(
                estimator=spec.model.estimator,
                params=dict(spec.model.params) or None,
                tuned=spec.tuning is not None,
            ),
            depends_on=(after,),
        ),
        Step(
            "evaluate",
            "scikit-learn",
            "test-set metrics for the task",
            _items(task=spec.model.task.value),
            depends_on=("fit",),
        ),
    ]
    fairness = spec.constraints.fairness
    if fairness is not None:
        steps.append(
            Step(
                "fairness",
                "whylogs",
                "per-group MAE and RMSE of test predictions (segmented profiles)"
                if spec.model.task is Task.regression
                else "per-group rates on test predictions (segmented profiles)",
                _items(sensitive=fairness.names, min_group_size=fairness.min_group_size),
                guards=tuple(
                    Guard("fairness_rule", _fairness_rule_text(rule)) for rule in fairness.rules
                ),
                depends_on=("evaluate",),
            )
        )
    return steps


def _bounds(low: float | None, high: float | None) -> str:
    return (f" >= {low}" if low is not None else "") + (f" <= {high}" if high is not None else "")


def _gate_guards(spec: TrainingPipeline) -> tuple[Guard, ...]:
    guards = []
    for gate in spec.governance.gates:
        if isinstance(gate, ChampionGate):
            rule = f"{gate.metric} regression vs champion <= {gate.max_regression} (same test rows)"
            guards.append(Guard("champion_gate", rule))
        else:
            guards.append(Guard("threshold_gate", f"{gate.metric}{_bounds(gate.min, gate.max)}"))
    guards.extend(Guard("required_metadata", key) for key in spec.governance.required_metadata)
    if spec.constraints.fairness is not None:
        guards.append(Guard("fairness", "every blocking fairness rule passes"))
    return tuple(guards)


def _governance_steps(spec: TrainingPipeline, after: str) -> list[Step]:
    promotion = spec.governance.promotion
    approval = promotion.approval == "required"
    steps = [
        Step(
            "governance",
            "mlflow",
            "decide every gate before registration, so no version exists without a verdict",
            guards=_gate_guards(spec),
            depends_on=(after,),
            retries=1,
        ),
        Step(
            "register",
            "mlflow",
            "log the model; register it with lineage, gate decisions and the verdict at once",
            _items(registered_model=spec.metadata.name, alias="challenger"),
            depends_on=("governance",),
            retries=2,
            retry_delay_s=2,
        ),
    ]
    if approval:
        steps.append(
            Step(
                "approval",
                "prefect",
                "pause for a reviewer's decision",
                _items(timeout_s=promotion.approval_timeout),
                depends_on=("register",),
            )
        )
    reviewer = (Guard("approval", "a reviewer approved"),) if approval else ()
    steps.append(
        Step(
            "promote",
            "mlflow",
            f"move alias '{promotion.alias}' to the new version",
            _items(alias=promotion.alias, approval=promotion.approval),
            guards=(Guard("all_gates", "every gate passed"), *reviewer),
            depends_on=(steps[-1].name,),
        )
    )
    return steps


def compile_plan(loaded: LoadedSpec) -> Plan:
    spec = loaded.spec
    steps = _data_steps(spec)
    tune = _tune_step(spec, loaded.content_hash)
    if tune is not None:
        steps.append(tune)
    steps.extend(_model_steps(spec, after=steps[-1].name))
    steps.extend(_governance_steps(spec, after=steps[-1].name))
    return Plan(
        spec_name=spec.metadata.name,
        spec_path=loaded.display_path,
        content_hash=loaded.content_hash,
        registered_model=spec.metadata.name,
        steps=tuple(steps),
    )


def compile_audit_plan(loaded: LoadedAudit) -> Plan:
    """A fairness audit's plan: read the rows that carry the outcome and the score, then the
    report and its rules (nothing is trained, registered or promoted)."""
    spec = loaded.spec
    score = spec.score
    decided = (
        f"{score.column} >= {score.threshold:g}"
        if score.threshold is not None
        else f"{score.column} == {spec.positive_label!r}"
    )
    steps = (
        Step(
            "load_entities",
            "pandas",
            "read the rows: keys, event time, outcome, score, groups",
            _items(path=spec.data.entities, label=spec.data.label, score=score.column),
            guards=(Guard("entity_columns", "label, score and sensitive columns present"),),
            retries=2,
            retry_delay_s=1,
        ),
        Step(
            "fairness_audit",
            "whylogs",
            f"per-group rates of the decision {decided} against {spec.data.label}",
            _items(
                sensitive=spec.fairness.names,
                min_group_size=spec.fairness.min_group_size,
                positive_label=spec.positive_label,
            ),
            guards=tuple(
                Guard("fairness_rule", _fairness_rule_text(rule)) for rule in spec.fairness.rules
            ),
            depends_on=("load_entities",),
        ),
    )
    return Plan(
        spec_name=spec.metadata.name,
        spec_path=loaded.display_path,
        content_hash=loaded.content_hash,
        registered_model="(none: an audit registers nothing)",
        steps=steps,
    )
