"""How a study searches: one trial's draw from the spec's search space, the seeded sampler,
and the pruner, each chosen from the spec's ``tuning`` block."""

from __future__ import annotations

import threading
from typing import Any

import optuna

from mlops_spec.errors import StepError
from mlops_spec.spec.tuning import CategoricalParam, FloatParam, IntParam, Pruner, Sampler, Tuning


def suggest(trial: optuna.Trial, tuning: Tuning) -> dict[str, Any]:
    """Draw one value per search-space entry, in the spec's order."""
    params: dict[str, Any] = {}
    for name, spec in tuning.search_space.items():
        if isinstance(spec, FloatParam):
            low, high = spec.float_
            params[name] = trial.suggest_float(name, low, high, log=spec.log, step=spec.step)
        elif isinstance(spec, IntParam):
            low_i, high_i = spec.int_
            params[name] = trial.suggest_int(name, low_i, high_i, step=spec.step, log=spec.log)
        elif isinstance(spec, CategoricalParam):
            params[name] = trial.suggest_categorical(name, spec.choices)
    return params


def check_search_space(tuning: Tuning) -> None:
    """Optuna refuses log scale with a step; say so before any trial starts."""
    for name, spec in tuning.search_space.items():
        if isinstance(spec, FloatParam) and spec.log and spec.step is not None:
            raise StepError(f"search_space.{name}: a float range cannot have both log and step")
        if isinstance(spec, IntParam) and spec.log and spec.step != 1:
            raise StepError(f"search_space.{name}: a log-scale int range needs step 1")


def make_sampler(tuning: Tuning) -> optuna.samplers.BaseSampler:
    """Seeded samplers. TPE uses the constant liar when trials run in parallel, so concurrent
    trials do not all sample the same promising point."""
    seed = tuning.seed
    if tuning.sampler is Sampler.random:
        return optuna.samplers.RandomSampler(seed=seed)
    if tuning.sampler is Sampler.qmc:
        return optuna.samplers.QMCSampler(seed=seed, scramble=True, warn_independent_sampling=False)
    return optuna.samplers.TPESampler(seed=seed, constant_liar=tuning.parallelism > 1)


class ThreadSafeHyperbandPruner(optuna.pruners.HyperbandPruner):
    """Optuna's Hyperband builds its brackets lazily on the first ``prune`` call, and that
    build is not atomic: a thread that reads the half-built budgets while another appends
    fails with "This line should be unreachable" (optuna/optuna#3891). Parallel trials are
    threads here, so ``prune`` is serialized; it is a few list reads, never a fit."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._prune_lock = threading.Lock()

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        with self._prune_lock:
            return super().prune(study, trial)


def make_pruner(tuning: Tuning) -> optuna.pruners.BasePruner:
    """Pruners for objectives that report about five steps (see ``fit_in_steps``).

    Step 0 is never pruned (``n_warmup_steps=1``): the first stage of boosting or of a forest
    says little about the last. The median pruner waits for a quarter of the budget (at most 5)
    to have completed before it compares.
    """
    if tuning.pruner is Pruner.median:
        startup = min(5, max(1, tuning.n_trials // 4))
        return optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=1)
    if tuning.pruner is Pruner.hyperband:
        return ThreadSafeHyperbandPruner(min_resource=1, reduction_factor=3)
    if tuning.pruner is Pruner.successive_halving:
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.NopPruner()
