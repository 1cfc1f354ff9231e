"""Optuna adapter: run the spec's ``tuning`` block as a resumable, prunable study.

Why it looks like this:

* The study lives in persistent storage (a journal file by default, or any RDB URL) under a
  stable name, and is opened with ``load_if_exists``: re-running a crashed or interrupted run
  only runs the trials still missing (``n_trials`` counts COMPLETE and PRUNED trials).
* The objective is a plain ``(params, reporter) -> float`` function, so it can be written and
  tested without Optuna; the reporter is the only door to pruning.
* A trial that raises is recorded as FAIL and the study goes on, because one bad corner of a
  search space should not waste the others. Too many failures (``max_failed_fraction``) stop the
  study early and raise a ``StepError`` that quotes the first failure, because then the problem
  is the setup, not the corner.
* A run killed mid-study (SIGKILL, a lost worker) leaves its trials RUNNING; the next run marks
  them FAIL before counting what is missing (see ``tuning_storage``), so a resumed study never
  waits on, or samples around, trials nobody is running.
* Parallel trials are threads (``n_jobs``): scikit-learn releases the GIL in its hot loops.
  OpenMP estimators (HistGradientBoosting) already use every core in one fit, so
  ``threads_per_trial`` splits the cores between concurrent trials instead of oversubscribing.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import optuna
from optuna.study import MaxTrialsCallback, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from mlops_spec.adapters.estimators import (
    DEFAULT_ALLOWED,
    build_pipeline,
    check_params,
    fit_in_steps,
    resolve_estimator,
    split_columns,
)
from mlops_spec.adapters.evaluation import evaluate, predict_for_evaluation
from mlops_spec.adapters.tuning_search import (
    check_search_space,
    make_pruner,
    make_sampler,
    suggest,
)
from mlops_spec.adapters.tuning_storage import (
    ERROR_ATTR,
    fail_orphaned_trials,
    mark_owner,
    open_storage,
    redact_url,
)
from mlops_spec.errors import StepError
from mlops_spec.spec.metrics import TASK_METRICS, Task
from mlops_spec.spec.tuning import Tuning

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

# Below this many finished trials a failure share is too noisy to stop a study on.
MIN_TRIALS_BEFORE_FAILURE_STOP = 5
_ERROR_ATTR = ERROR_ATTR
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


class TrialReporter:
    """What an objective sees of its trial: report a score per step and get pruned.

    ``report`` raises ``optuna.TrialPruned`` when the pruner judges the trial hopeless; the
    objective simply lets it propagate.
    """

    def __init__(self, trial: optuna.Trial) -> None:
        self._trial = trial

    @property
    def number(self) -> int:
        return int(self._trial.number)

    def report(self, value: float, step: int) -> None:
        self._trial.report(value, step)
        if self._trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {step} with value {value:.6g}")

    def set_attr(self, key: str, value: Any) -> None:
        """Store a JSON-serializable note on the trial (kept in the study's storage)."""
        self._trial.set_user_attr(key, value)


ObjectiveFn = Callable[[dict[str, Any], TrialReporter], float]


@dataclass(frozen=True)
class TuningResult:
    """The outcome of a study, counted over every trial it holds (earlier runs included)."""

    study_name: str
    storage_url: str
    direction: str
    best_params: dict[str, Any]
    best_value: float
    n_complete: int
    n_pruned: int
    n_failed: int
    trials_this_run: int
    history: list[dict[str, Any]]
    fit_seconds_total: float
    study: optuna.Study = field(repr=False, compare=False)

    def importances(self) -> dict[str, float]:
        """Parameter importances (fANOVA, seeded), or ``{}`` when there is too little to say."""
        complete = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        names = sorted({name for t in complete for name in t.params})
        if len(complete) < 2 or not names:
            return {}
        if len(names) == 1:
            return {names[0]: 1.0}
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = optuna.importance.get_param_importances(self.study, evaluator=evaluator)
        except (ValueError, RuntimeError, ZeroDivisionError):
            return {}
        return {name: float(value) for name, value in raw.items()}

    def history_figure(self) -> Figure:
        """Objective value per trial with the running best (Optuna's own matplotlib plot)."""
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure
        from optuna.visualization.matplotlib import plot_optimization_history

        # Optuna's plot calls plt.style.use("ggplot"), a process-wide change: keep it local.
        with warnings.catch_warnings(), plt.rc_context():
            warnings.simplefilter("ignore")  # ExperimentalWarning
            axes = plot_optimization_history(self.study)
        figure = axes.figure
        assert isinstance(figure, Figure)
        figure.set_size_inches(8, 4.5)
        figure.tight_layout()
        plt.close(figure)  # detach from pyplot's global registry; the figure stays usable
        return figure

    def importance_figure(self) -> Figure:
        """Horizontal bars of ``importances()``; says so in the plot when there are none."""
        from matplotlib.figure import Figure

        importances = self.importances()
        figure = Figure(figsize=(8, max(2.5, 0.5 * len(importances) + 1)))
        axes = figure.subplots()
        if importances:
            names = list(importances)[::-1]
            axes.barh(names, [importances[n] for n in names])
            axes.set_xlabel("importance (fANOVA)")
        else:
            axes.text(0.5, 0.5, "not enough complete trials", ha="center", va="center")
            axes.set_axis_off()
        axes.set_title(f"Hyperparameter importances: {self.study_name}")
        figure.tight_layout()
        return figure


def tune(
    *,
    study_name: str,
    storage_url: str,
    tuning: Tuning,
    direction: str,
    objective_fn: ObjectiveFn,
    show_progress: bool,
    trial_attrs: Mapping[str, str] | None = None,
) -> TuningResult:
    """Run (or resume) the study ``study_name`` until it holds ``tuning.n_trials`` trials that
    completed or were pruned, or ``tuning.timeout`` seconds pass. Failed trials use up this
    run's budget (as in Optuna); the next run of the same study tops it up.

    Raises ``StepError`` when the failure share of this run's trials exceeds
    ``tuning.max_failed_fraction``, when no trial ever completed, or when an existing study of
    that name optimizes in the other direction.
    """
    if direction not in ("maximize", "minimize"):
        raise StepError(f"direction must be 'maximize' or 'minimize', not '{direction}'")
    check_search_space(tuning)
    storage = open_storage(storage_url)
    study = _open_study(study_name, storage, tuning, direction)
    fail_orphaned_trials(study, storage)
    existing = study.get_trials(deepcopy=False)
    done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in existing)
    remaining = tuning.n_trials - done
    guard = _FailureGuard(tuning.max_failed_fraction)
    if remaining > 0:
        _optimize(
            study,
            _wrap(objective_fn, tuning, trial_attrs or {}),
            tuning,
            remaining,
            guard,
            show_progress,
        )
    if guard.exceeded():
        raise StepError(
            f"{guard.failed} of {guard.finished} trials of study '{study_name}' failed, more than "
            f"max_failed_fraction={tuning.max_failed_fraction}; first failure: "
            f"{_error_of(study, guard.first_failure)}"
        )
    return _result(study, study_name, storage_url, direction, guard.finished)


def _open_study(
    study_name: str, storage: optuna.storages.BaseStorage, tuning: Tuning, direction: str
) -> optuna.Study:
    """Create the study or load the existing one, which must optimize in the same direction:
    resuming it the other way would rank every earlier trial backwards."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study = optuna.create_study(
            study_name=study_name,
            storage=storage,
            sampler=make_sampler(tuning),
            pruner=make_pruner(tuning),
            direction=StudyDirection.MAXIMIZE
            if direction == "maximize"
            else StudyDirection.MINIMIZE,
            load_if_exists=True,
        )
    if study.direction.name.lower() != direction:
        raise StepError(
            f"study '{study_name}' already exists and {study.direction.name.lower()}s; "
            f"it cannot be resumed to {direction}: use another study name"
        )
    return study


def _optimize(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    tuning: Tuning,
    remaining: int,
    guard: _FailureGuard,
    show_progress: bool,
) -> None:
    """Run up to ``remaining`` trials with Optuna's per-trial INFO lines silenced (the progress
    bar and the report say more), restoring the caller's verbosity afterwards."""
    previous_verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study.optimize(
            objective,
            n_trials=remaining,
            timeout=tuning.timeout,
            n_jobs=tuning.parallelism,
            catch=(Exception,),
            # Several workers may share the study (an RDB storage): together they stop at
            # n_trials finished trials, not n_trials each.
            callbacks=[guard, MaxTrialsCallback(tuning.n_trials, states=_FINISHED)],
            show_progress_bar=show_progress,
        )
    finally:
        optuna.logging.set_verbosity(previous_verbosity)


def _wrap(
    objective_fn: ObjectiveFn, tuning: Tuning, attrs: Mapping[str, str]
) -> Callable[[optuna.Trial], float]:
    """Sample the spec's search space, call the objective, and keep any error text on the trial
    so a later run (or the failure message) can say why it failed."""

    def objective(trial: optuna.Trial) -> float:
        mark_owner(trial)
        for attr, text in attrs.items():  # e.g. the flow run, when runs share a study
            trial.set_user_attr(attr, text)
        params = suggest(trial, tuning)
        try:
            value = float(objective_fn(params, TrialReporter(trial)))
            if not math.isfinite(value):
                raise StepError(f"the objective returned {value} for params {params}")
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            trial.set_user_attr(_ERROR_ATTR, f"{type(exc).__name__}: {exc}"[:2000])
            raise
        return value

    return objective


class _FailureGuard:
    """Counts this run's finished trials and stops the study once too many failed."""

    def __init__(self, max_fraction: float) -> None:
        self.max_fraction = max_fraction
        self.finished = 0
        self.failed = 0
        self.first_failure: int | None = None
        self._lock = threading.Lock()

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        with self._lock:
            self.finished += 1
            if trial.state == TrialState.FAIL:
                self.failed += 1
                if self.first_failure is None or trial.number < self.first_failure:
                    self.first_failure = trial.number
            stop = self.finished >= MIN_TRIALS_BEFORE_FAILURE_STOP and self.exceeded()
        if stop:
            study.stop()

    def exceeded(self) -> bool:
        return self.finished > 0 and self.failed / self.finished > self.max_fraction


def _error_of(study: optuna.Study, number: int | None) -> str:
    if number is None:
        return "unknown"
    trial = study.get_trials(deepcopy=False)[number]
    return str(trial.user_attrs.get(_ERROR_ATTR, "no error recorded (see the log)"))


def _result(
    study: optuna.Study, study_name: str, storage_url: str, direction: str, ran: int
) -> TuningResult:
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if not complete:
        failures = [t for t in trials if t.state == TrialState.FAIL]
        why = _error_of(study, failures[0].number) if failures else "all were pruned or none ran"
        raise StepError(f"no trial of study '{study_name}' completed; {why}")
    history = [
        {
            "number": t.number,
            "state": t.state.name,
            "value": t.value,
            "params": dict(t.params),
            "duration_s": t.duration.total_seconds() if t.duration else None,
            **({_ERROR_ATTR: t.user_attrs[_ERROR_ATTR]} if _ERROR_ATTR in t.user_attrs else {}),
        }
        for t in trials
    ]
    best = study.best_trial
    assert best.value is not None
    return TuningResult(
        study_name=study_name,
        storage_url=redact_url(storage_url),
        direction=direction,
        best_params=dict(best.params),
        best_value=float(best.value),
        n_complete=len(complete),
        n_pruned=sum(t.state == TrialState.PRUNED for t in trials),
        n_failed=sum(t.state == TrialState.FAIL for t in trials),
        trials_this_run=ran,
        history=history,
        fit_seconds_total=sum(h["duration_s"] or 0.0 for h in history),
        study=study,
    )


def threads_per_trial(parallelism: int) -> int | None:
    """OpenMP threads for each of ``parallelism`` concurrent fits: the cores shared out, so
    two trials on two cores use one thread each. ``None`` (no cap) for a single trial."""
    if parallelism <= 1:
        return None
    return max(1, (os.cpu_count() or 1) // parallelism)


def make_objective(
    *,
    estimator: str,
    base_params: Mapping[str, Any],
    train: pd.DataFrame,
    validation: pd.DataFrame,
    features: list[str],
    label: str,
    task: Task,
    metric: str,
    allowed: frozenset[str] = DEFAULT_ALLOWED,
    seed: int | None = None,
    search_space: Iterable[str] = (),
    n_steps: int = 5,
    parallelism: int = 1,
) -> ObjectiveFn:
    """The default objective: ``base_params`` overlaid with the trial's params, fitted on
    ``train`` and scored with ``metric`` on ``validation``.

    Iterative estimators report the validation score after each of ``n_steps`` growth stages so
    the pruner can stop them early. The estimator, every base parameter and every search-space
    name are checked here, once, so a typo fails before the first trial rather than in all.
    Pass the study's ``parallelism`` so concurrent fits share the cores (``threads_per_trial``)
    instead of each starting one OpenMP thread per core.
    """
    _check_metric(metric, task)
    cls = resolve_estimator(estimator, allowed)
    check_params(estimator, [*base_params, *search_space], cls)
    numeric, categorical = split_columns(train, features)
    X_train, y_train = train[features], train[label]
    X_valid, y_valid = validation[features], validation[label]
    threads = threads_per_trial(parallelism)

    def objective(params: dict[str, Any], reporter: TrialReporter) -> float:
        pipeline = build_pipeline(
            estimator,
            {**base_params, **params},
            numeric=numeric,
            categorical=categorical,
            task=task,
            allowed=allowed,
            seed=seed,
            resolved=cls,
        )
        value = math.nan
        for step in fit_in_steps(pipeline, X_train, y_train, n_steps=n_steps, n_threads=threads):
            value = validation_score(pipeline, X_valid, y_valid, task, metric)
            reporter.report(value, step)
        return value

    return objective


def validation_score(pipeline: Any, X: pd.DataFrame, y: Any, task: Task, metric: str) -> float:
    """``metric`` of the fitted ``pipeline`` on validation rows, refused when undefined."""
    y_pred, y_score = predict_for_evaluation(pipeline, X, task)
    value = evaluate(task, y, y_pred, y_score, getattr(pipeline, "classes_", None))[metric]
    if math.isnan(value):
        raise StepError(
            f"metric '{metric}' is undefined for this model on the validation rows "
            "(log_loss needs predict_proba; ROC AUC needs both classes present)"
        )
    return float(value)


def _check_metric(metric: str, task: Task) -> None:
    """A metric the task does not produce would fail every trial alike: refuse it up front."""
    if metric not in TASK_METRICS[task]:
        raise StepError(
            f"metric '{metric}' is not produced for {task.value}; "
            f"choose one of {', '.join(TASK_METRICS[task])}"
        )
