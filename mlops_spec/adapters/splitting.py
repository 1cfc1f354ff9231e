"""Train/test splitting as the spec's ``split`` block describes it.

A split must be reproducible (same rows, same seed, same split) so that a re-run, a resumed
tuning study and a champion comparison all score on the same rows. The time split is the
default because it is the honest one for data that arrives over time: the model is tested on
rows later than any it was trained on. It never separates rows that share a timestamp (a
model trained on some of one day's rows and tested on the others is tested on its own day).
A group split keeps each group (a person, a store) on one side, so the test measures rows
of groups never seen; a column split takes the sides a team already fixed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    TimeSeriesSplit,
    train_test_split,
)

from mlops_spec.errors import StepError
from mlops_spec.spec.metrics import Task
from mlops_spec.spec.sections import Split, SplitMethod, SplitValues

Frames = tuple[pd.DataFrame, pd.DataFrame]


def split_frame(
    df: pd.DataFrame,
    split: Split,
    *,
    label: str,
    timestamp: str,
    task: Task,
) -> Frames:
    """Return ``(train, test)``; the original index is kept.

    ``time``: the rows at or after ``cutoff``, or else the latest ``held_out_rows(n,
    test_size)`` rows by ``timestamp`` (stable sort), the cut moved to the nearest boundary
    between timestamps when it would fall inside a run of equal ones. ``random`` /
    ``stratified``: a seeded ``train_test_split`` (stratified keeps class shares and needs a
    classification task). ``group``: whole groups of ``by`` (see :func:`_group_split`).
    ``column``: the rows whose ``column`` value is a train or validation value, and those
    whose value is a test value.
    """
    if label not in df.columns:
        raise StepError(f"label column '{label}' is not in the frame")
    method = split.method
    if method is SplitMethod.time:
        return _time_split(df, split, timestamp)
    if method is SplitMethod.group:
        return _group_split(df, split, label=label, task=task)
    if method is SplitMethod.column:
        return _column_split(df, split)
    return _shuffled_split(df, split, label=label, task=task)


def holdout_split(split: Split) -> Split:
    """The split that takes the tuning holdout out of the training rows: the same method and
    seed, with ``validation_cutoff`` as the cut-off, the split column's validation values as
    the test values, or ``validation_size`` as the held-out share. A column split without
    validation values holds out ``validation_size`` of its training rows at random."""
    size = split.validation_size
    if split.method is SplitMethod.time:
        return split.model_copy(
            update={"cutoff": split.validation_cutoff, "validation_cutoff": None, "test_size": size}
        )
    if split.method is SplitMethod.column:
        values = split.values or SplitValues()
        if values.validation:
            chosen = SplitValues(train=values.train, validation=[], test=values.validation)
            return split.model_copy(update={"values": chosen})
        return Split(method=SplitMethod.random, test_size=size, seed=split.seed)
    return split.model_copy(update={"test_size": size})


def held_out_rows(n_rows: int, fraction: float) -> int:
    """``n_rows * fraction`` rounded half up, computed in decimal from the fraction as written.

    Binary floats make ``25 * 0.28`` come out as ``7.000000000000001``, so ``ceil`` (what
    scikit-learn does with a fractional ``test_size``) gives 8 rows where a user expects 7. The
    fraction's shortest repr (``"0.28"``) is the number the spec wrote, so the product is exact.
    """
    exact = Decimal(repr(fraction)) * n_rows
    return int(exact.to_integral_value(rounding=ROUND_HALF_UP))


def _held_out_count(n_rows: int, fraction: float) -> int:
    n_test = held_out_rows(n_rows, fraction)
    if n_rows < 2 or n_test < 1 or n_test >= n_rows:
        raise StepError(
            f"cannot split {n_rows} rows with test_size={fraction}: "
            "both sides need at least one row"
        )
    return n_test


def _time_split(df: pd.DataFrame, split: Split, timestamp: str) -> Frames:
    if timestamp not in df.columns:
        raise StepError(f"timestamp column '{timestamp}' is not in the frame")
    if split.cutoff is not None:
        return _cutoff_split(df, split, timestamp)
    n_test = _held_out_count(len(df), split.test_size)
    ordered = df.sort_values(timestamp, kind="stable")
    cut = tie_safe_cut(ordered[timestamp], len(df) - n_test)
    return ordered.iloc[:cut], ordered.iloc[cut:]


def tie_safe_cut(times: pd.Series, cut: int) -> int:
    """``cut`` (the first test position in ascending ``times``), moved to the nearest
    boundary between two different timestamps when it falls inside a run of equal ones; at
    an equal distance, the boundary with more test rows."""
    n_rows = len(times)
    if times.iloc[cut - 1] != times.iloc[cut]:
        return cut
    value = times.iloc[cut]
    first, after = (int(times.searchsorted(value, side=s)) for s in ("left", "right"))
    candidates = sorted(
        (c for c in (first, after) if 0 < c < n_rows), key=lambda c: (abs(c - cut), c)
    )
    if not candidates:
        raise StepError(f"cannot split {n_rows} rows by time: every row has the event time {value}")
    return candidates[0]


def _cutoff_split(df: pd.DataFrame, split: Split, timestamp: str) -> Frames:
    assert split.cutoff is not None
    times = pd.to_datetime(df[timestamp], utc=True)
    tested = (times >= pd.Timestamp(split.cutoff)).to_numpy()
    train, test = df[~tested], df[tested]
    if train.empty or test.empty:
        side = "before" if train.empty else "at or after"
        raise StepError(
            f"no row has an event time {side} the cutoff {split.cutoff.isoformat()} (event "
            f"times run from {times.min().isoformat()} to {times.max().isoformat()}); move "
            "the cutoff between them"
        )
    return train, test


def _shuffled_split(df: pd.DataFrame, split: Split, *, label: str, task: Task) -> Frames:
    n_test = _held_out_count(len(df), split.test_size)
    stratify = None
    if split.method is SplitMethod.stratified:
        if task is Task.regression:
            raise StepError(
                "a stratified split needs a classification task; use method: random or time"
            )
        stratify = df[label]
    try:
        train, test = train_test_split(
            df, test_size=n_test, random_state=split.seed, shuffle=True, stratify=stratify
        )
    except ValueError as exc:
        raise StepError(f"cannot make a {split.method.value} split: {exc}") from exc
    return train, test


def _group_split(df: pd.DataFrame, split: Split, *, label: str, task: Task) -> Frames:
    """No group on both sides. For a classification whose ``1 / test_size`` is a whole number
    k (0.2, 0.25, 0.5...) and whose classes each span at least k groups, the test rows are the
    first of k seeded ``StratifiedGroupKFold`` folds, which keeps class shares as close as
    whole groups allow; otherwise a seeded ``GroupShuffleSplit`` holding out ``test_size`` of
    the groups."""
    assert split.by is not None
    if split.by not in df.columns:
        raise StepError(f"group column '{split.by}' is not in the frame")
    groups = df[split.by]
    if groups.isna().any():
        raise StepError(
            f"{int(groups.isna().sum())} rows have no value in the group column '{split.by}'"
        )
    n_groups = groups.nunique()
    if n_groups < 2:
        raise StepError(f"a group split needs two groups or more; '{split.by}' has {n_groups}")
    folds = _stratified_folds(df[label], groups, split.test_size, task)
    if folds:
        splitter: Any = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=split.seed)
        train_at, test_at = next(splitter.split(df, df[label], groups))
    else:
        splitter = GroupShuffleSplit(n_splits=1, test_size=split.test_size, random_state=split.seed)
        train_at, test_at = next(splitter.split(df, groups=groups))
    return df.iloc[np.sort(train_at)], df.iloc[np.sort(test_at)]


def _stratified_folds(labels: pd.Series, groups: pd.Series, size: float, task: Task) -> int:
    """k when a stratified group split fits (see ``_group_split``), else 0."""
    if task is Task.regression:
        return 0
    folds = round(1 / size)
    if folds < 2 or abs(folds * size - 1) > 1e-9:
        return 0
    groups_per_class = groups.groupby(labels, observed=True).nunique()
    return folds if int(groups_per_class.min()) >= folds else 0


def _column_split(df: pd.DataFrame, split: Split) -> Frames:
    assert split.column is not None
    if split.column not in df.columns:
        raise StepError(f"split column '{split.column}' is not in the frame")
    values = split.values or SplitValues()
    side = df[split.column]
    trained = side.isin([*values.train, *values.validation]).to_numpy()
    tested = side.isin(values.test).to_numpy()
    if not trained.any() or not tested.any():
        empty = "train" if not trained.any() else "test"
        seen = sorted(map(str, side.dropna().unique()[:10]))
        raise StepError(
            f"no row of column '{split.column}' has a {empty} value "
            f"({getattr(values, empty)}); it has {seen}"
        )
    return df[trained], df[tested]


def rows_outside(df: pd.DataFrame, split: Split) -> int:
    """Rows a column split leaves out: their value is on no side."""
    if split.method is not SplitMethod.column or split.column not in df.columns:
        return 0
    values = split.values or SplitValues()
    kept = df[split.column].isin([*values.train, *values.validation, *values.test])
    return int((~kept).sum())


def label_shift(train: pd.DataFrame, test: pd.DataFrame, label: str, task: Task) -> list[str]:
    """Classes whose share differs sharply between train and test: by more than 20 points,
    or more than 2x for a class holding at least 2 % of either side. A model scored on a
    test set whose base rate moved is graded on a different question; the run says so."""
    if task is Task.regression:
        return []
    before = train[label].value_counts(normalize=True)
    after = test[label].value_counts(normalize=True)
    shifted = []
    for value in sorted(set(before.index) | set(after.index), key=str):
        a, b = float(before.get(value, 0.0)), float(after.get(value, 0.0))
        high, low = max(a, b), min(a, b)
        if high - low > 0.2 or (high >= 0.02 and high > 2 * low):
            shifted.append(
                f"label {label}={value} is {a:.1%} of the training rows and {b:.1%} of the "
                "test rows"
            )
    return shifted


Folds = list[tuple[np.ndarray, np.ndarray]]


def cv_folds(
    train: pd.DataFrame, split: Split, *, k: int, label: str, timestamp: str, task: Task
) -> tuple[str, Folds]:
    """``k`` (fit positions, validation positions) folds of ``train`` made the way ``split``
    divides rows, and what kind they are: ``grouped`` (no group in both parts of a fold;
    stratified by the label for a classification where each class spans k groups),
    ``time-ordered`` (scikit-learn's ``TimeSeriesSplit`` over the distinct event times, so
    each fold validates on times after those it fits on and never separates a timestamp's
    rows), else ``stratified`` for a classification or seeded ``shuffled`` folds."""
    seed = split.seed
    try:
        if split.method is SplitMethod.group:
            return "grouped", _group_folds(train, split, k=k, label=label, task=task)
        if split.method is SplitMethod.time:
            return "time-ordered", _time_folds(train, k=k, timestamp=timestamp)
        if task is not Task.regression:
            folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
            return "stratified", list(folds.split(train, train[label]))
        return "shuffled", list(KFold(n_splits=k, shuffle=True, random_state=seed).split(train))
    except ValueError as exc:
        raise StepError(
            f"cannot make {k} cross-validation folds of {len(train)} rows: {exc}"
        ) from exc


def _group_folds(train: pd.DataFrame, split: Split, *, k: int, label: str, task: Task) -> Folds:
    assert split.by is not None
    groups = train[split.by]
    per_class = groups.groupby(train[label], observed=True).nunique()
    if task is not Task.regression and int(per_class.min()) >= k:
        folds: Any = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=split.seed)
        return list(folds.split(train, train[label], groups))
    return list(GroupKFold(n_splits=k).split(train, groups=groups))


def _time_folds(train: pd.DataFrame, *, k: int, timestamp: str) -> Folds:
    times = pd.to_datetime(train[timestamp], utc=True)
    distinct = np.sort(times.unique())
    positions = np.arange(len(train))
    folds = []
    for fit_at, valid_at in TimeSeriesSplit(n_splits=k).split(distinct):
        fit_times, valid_times = distinct[fit_at], distinct[valid_at]
        folds.append(
            (
                positions[times.isin(fit_times).to_numpy()],
                positions[times.isin(valid_times).to_numpy()],
            )
        )
    return folds
