"""Train/test splitting as the spec's ``split`` block describes it.

A split must be reproducible (same rows, same seed, same split) so that a re-run, a resumed
tuning study and a champion comparison all score on the same rows. The time split is the
default because it is the honest one for data that arrives over time: the model is tested on
rows later than any it was trained on.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
from sklearn.model_selection import train_test_split

from mlops_spec.errors import StepError
from mlops_spec.spec.metrics import Task
from mlops_spec.spec.sections import Split, SplitMethod


def split_frame(
    df: pd.DataFrame,
    split: Split,
    *,
    label: str,
    timestamp: str,
    task: Task,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(train, test)`` with ``held_out_rows(n, split.test_size)`` rows in ``test``.

    ``time``: rows are sorted by ``timestamp`` with a stable sort (rows sharing a timestamp keep
    their input order, so ties are split deterministically) and the latest share is the test set.
    ``random``/``stratified``: a seeded ``train_test_split``; stratified keeps class shares
    equal on both sides and needs a classification task. The original index is kept.
    """
    if label not in df.columns:
        raise StepError(f"label column '{label}' is not in the frame")
    n_rows = len(df)
    n_test = held_out_rows(n_rows, split.test_size)
    if n_rows < 2 or n_test < 1 or n_test >= n_rows:
        raise StepError(
            f"cannot split {n_rows} rows with test_size={split.test_size}: "
            "both sides need at least one row"
        )
    if split.method is SplitMethod.time:
        if timestamp not in df.columns:
            raise StepError(f"timestamp column '{timestamp}' is not in the frame")
        ordered = df.sort_values(timestamp, kind="stable")
        return ordered.iloc[: n_rows - n_test], ordered.iloc[n_rows - n_test :]
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


def held_out_rows(n_rows: int, fraction: float) -> int:
    """``n_rows * fraction`` rounded half up, computed in decimal from the fraction as written.

    Binary floats make ``25 * 0.28`` come out as ``7.000000000000001``, so ``ceil`` (what
    scikit-learn does with a fractional ``test_size``) gives 8 rows where a user expects 7. The
    fraction's shortest repr (``"0.28"``) is the number the spec wrote, so the product is exact.
    """
    exact = Decimal(repr(fraction)) * n_rows
    return int(exact.to_integral_value(rounding=ROUND_HALF_UP))


def holdout_split(split: Split) -> Split:
    """The split used inside the training rows to score tuning trials: same method and seed,
    ``validation_size`` as the held-out share."""
    return split.model_copy(update={"test_size": split.validation_size})
