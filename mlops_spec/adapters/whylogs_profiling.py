"""whylogs profiles and the spec's data constraints, checked with whylogs' own constraint factories.

The rest of the package sees a profile view, a path and a `ConstraintReport`; nothing else about
whylogs leaks out, so a whylogs upgrade touches this module only.

Two whylogs 1.6.4 defects are worked around here, in `loggable_frame`:

* under numpy 2, whylogs' type mapper evaluates ``np.unicode_`` (removed in numpy 2) for every
  dtype that is neither numeric, bool, object nor categorical, so pandas ``string``, datetime
  (naive or tz-aware), timedelta, period, interval and pyarrow string/timestamp columns raise
  ``AttributeError`` inside ``why.log``;
* under pandas 2, whylogs' preprocessing builds masks with ``Series.apply`` on categorical columns,
  which returns categorical masks that pandas refuses to index with
  (``ValueError: Cannot mask with non-boolean array containing NA / NaN values``).

Datetimes become float seconds since the Unix epoch (UTC; naive values are taken as UTC),
timedeltas float seconds, categoricals their plain values, and other unmappable dtypes Python
objects; missing values stay missing, so counts, nulls and ranges keep their meaning.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import whylogs as why
from whylogs.core.configs import SummaryConfig
from whylogs.core.constraints import ConstraintsBuilder
from whylogs.core.constraints.factories import (
    column_is_probably_unique,
    frequent_strings_in_reference_set,
    is_in_range,
    no_missing_values,
    null_percentage_below_number,
)
from whylogs.core.datatypes import Fractional, StandardTypeMapper
from whylogs.core.resolvers import STANDARD_RESOLVER, MetricSpec, ResolverSpec, StandardMetric
from whylogs.core.schema import DeclarativeSchema
from whylogs.core.view.dataset_profile_view import DatasetProfileView

from mlops_spec.errors import DataSourceError
from mlops_spec.spec.constraints import DataConstraint

ProfileView: TypeAlias = DatasetProfileView
"""A whylogs ``DatasetProfileView``: merged, serializable column sketches of one frame."""

# whylogs tracks frequent items for integer and string columns only; `in_set` on a float column
# (a 0/1 label with missing values is float in pandas) needs them too. They cost ~30% more
# profiling time on an all-float frame and a few KB per profile; KS drift still prefers the
# distribution sketch.
_SCHEMA_RESOLVERS = [
    *STANDARD_RESOLVER,
    ResolverSpec(column_type=Fractional, metrics=[MetricSpec(StandardMetric.frequent_items.value)]),
]
_EPOCH = pd.Timestamp(0, tz="UTC")
_SECOND = pd.Timedelta(seconds=1)


def loggable_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Return `df` with every column in a dtype whylogs 1.6.4 can log under numpy 2 / pandas 2."""
    if df.columns.duplicated().any():
        dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise DataSourceError(f"duplicate column names cannot be profiled: {', '.join(dupes)}")
    return pd.DataFrame({name: _loggable(df[name]) for name in df.columns}, index=df.index)


def _loggable(series: pd.Series) -> pd.Series:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        try:  # keep the categories' own dtype, so datetime categories stay datetimes
            plain = series.astype(dtype.categories.dtype)
        except (TypeError, ValueError):  # e.g. integer categories with missing values
            plain = pd.Series(np.asarray(series), index=series.index, name=series.name)
        return _loggable(plain)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return (pd.to_datetime(series, utc=True) - _EPOCH) / _SECOND
    if pd.api.types.is_timedelta64_dtype(dtype):
        return series / _SECOND
    try:
        StandardTypeMapper()(dtype)
    except AttributeError:  # the numpy-2 `np.unicode_` path
        return series.astype(object)
    return series


def profile_frame(df: pd.DataFrame) -> ProfileView:
    """Profile a frame; see the module docstring for how awkward dtypes are represented."""
    schema = DeclarativeSchema(_SCHEMA_RESOLVERS)
    return why.log(loggable_frame(df), schema=schema).view()


def write_profile(view: ProfileView, path: Path) -> Path:
    """Write atomically, so a crashed run never leaves a truncated profile for drift to read.

    The bytes are whylogs' own binary format (``view.serialize()``, what the deprecated
    ``view.write(path)`` writes), so ``DatasetProfileView.read`` opens the file too.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(view.serialize())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_profile(path: Path) -> ProfileView:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataSourceError(f"cannot read whylogs profile {path}: {exc}") from exc
    try:
        return DatasetProfileView.deserialize(data)
    except Exception as exc:  # whylogs raises several unrelated types for a corrupt file
        raise DataSourceError(f"{path} is not a whylogs profile: {exc}") from exc


@dataclass(frozen=True)
class ConstraintResult:
    """One spec check on one column; `check` is the spec key so users find it in their YAML."""

    column: str
    check: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class ConstraintReport:
    rows: tuple[ConstraintResult, ...]

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    def failed(self) -> list[ConstraintResult]:
        return [row for row in self.rows if not row.passed]

    def to_records(self) -> list[dict[str, Any]]:
        return [
            {"column": r.column, "check": r.check, "passed": r.passed, "detail": r.detail}
            for r in self.rows
        ]

    def to_markdown(self) -> str:
        if not self.rows:
            return "No data constraints declared.\n"
        ok = len(self.rows) - len(self.failed())
        lines = [
            f"**{ok} of {len(self.rows)} data constraint checks passed.**",
            "",
            "| column | check | result | detail |",
            "|---|---|---|---|",
        ]
        for r in self.rows:
            result = "pass" if r.passed else "**FAIL**"
            cells = [_md(r.column), _md(r.check), result, _md(r.detail)]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


@dataclass(frozen=True)
class _Check:
    """A spec check compiled to one whylogs constraint plus the words to explain its outcome."""

    column: str
    check: str
    constraint: Any
    needs: str  # the whylogs metric the constraint reads
    describe: Callable[[Any], str]
    extra: Callable[[Any], str | None] | None = None  # a further condition; returns why it fails


def check_constraints(
    view: ProfileView, constraints: Sequence[DataConstraint], *, row_count: int
) -> ConstraintReport:
    """Evaluate every check of every constraint; a missing column or metric fails, never raises.

    `row_count` is the number of rows profiled: with none, every check fails (an empty batch is
    an incident, not a vacuous pass).
    """
    columns = view.get_columns()
    rows: list[ConstraintResult | _Check] = []
    for constraint in constraints:
        for check in _compile(constraint):
            if row_count == 0:
                rows.append(_fail(check, "no rows to check"))
            elif check.column not in columns:
                names = sorted(columns)
                known = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
                detail = f"column '{check.column}' is not in the data (it has: {known or 'none'})"
                rows.append(_fail(check, detail))
            elif columns[check.column].get_metric(check.needs) is None:
                rows.append(_fail(check, f"whylogs has no {check.needs} metric for this column"))
            else:
                rows.append(check)
    pending = [row for row in rows if isinstance(row, _Check)]
    outcome = _run_whylogs(view, pending)
    return ConstraintReport(tuple(_settle(row, view, outcome) for row in rows))


def _fail(check: _Check, detail: str) -> ConstraintResult:
    return ConstraintResult(check.column, check.check, False, detail)


def _run_whylogs(view: ProfileView, checks: list[_Check]) -> dict[str, bool]:
    if not checks:
        return {}
    builder = ConstraintsBuilder(dataset_profile_view=view)
    for check in checks:
        builder.add_constraint(check.constraint)
    report = builder.build().generate_constraints_report()
    return {entry.name: bool(entry.passed) and not entry.failed for entry in report}


def _settle(
    row: ConstraintResult | _Check, view: ProfileView, outcome: dict[str, bool]
) -> ConstraintResult:
    if isinstance(row, ConstraintResult):
        return row
    column = view.get_column(row.column)
    detail = row.describe(column)
    passed = outcome.get(row.constraint.name)
    if passed is None:  # whylogs skipped it (it logs a warning instead of raising)
        return _fail(row, f"whylogs could not evaluate this check; {detail}")
    if passed and row.extra is not None and (reason := row.extra(column)) is not None:
        return _fail(row, reason)
    return ConstraintResult(row.column, row.check, passed, detail)


def _compile(c: DataConstraint) -> Iterator[_Check]:
    """Spec checks in a fixed order; `min`/`max` are inclusive, like `in_range`."""
    col = c.column
    if c.no_missing:
        yield _Check(col, "no_missing", no_missing_values(col), "counts", _missing_text)
    if c.max_missing_fraction is not None:
        frac = c.max_missing_fraction
        yield _Check(
            col,
            "max_missing_fraction",
            null_percentage_below_number(col, frac),
            "counts",
            lambda v: f"{_missing_text(v)}; allowed fraction {frac:g}",
        )
    bounds = [
        ("in_range", c.in_range),
        ("min", None if c.min is None else (c.min, math.inf)),
        ("max", None if c.max is None else (-math.inf, c.max)),
    ]
    for name, bound in bounds:
        if bound is not None:
            lo, hi = bound
            yield _Check(
                col,
                name,
                is_in_range(col, lo, hi, skip_missing=False),
                "distribution",
                partial(_range_text, lo=lo, hi=hi),
            )
    if c.in_set is not None:
        tokens = _set_tokens(c.in_set)
        shown = ", ".join(str(v) for v in c.in_set)
        yield _Check(
            col,
            "in_set",
            frequent_strings_in_reference_set(col, tokens),
            "frequent_items",
            lambda v: _set_text(v, tokens, shown),
            _set_incomplete,
        )
    if c.unique:
        constraint = column_is_probably_unique(col)
        yield _Check(col, "unique", constraint, "cardinality", _unique_text)


def _counts(view: Any) -> tuple[int, int]:
    counts = view.get_metric("counts")
    return int(counts.n.value), int(counts.null.value)


def _missing_text(view: Any) -> str:
    n, null = _counts(view)
    fraction = null / n if n else 0.0
    return f"{null} of {n} values missing ({fraction:.4g})"


def _range_text(view: Any, lo: float, hi: float) -> str:
    dist = view.get_metric("distribution")
    if math.isinf(hi):
        expected = f"expected values >= {lo:g}"
    elif math.isinf(lo):
        expected = f"expected values <= {hi:g}"
    else:
        expected = f"expected values in [{lo:g}, {hi:g}]"
    if dist.kll.value.is_empty():
        return f"{expected}; the column has no numeric values"
    return f"{expected}; observed [{dist.min:g}, {dist.max:g}]"


def _set_tokens(values: Sequence[str | int | float | bool]) -> set[str]:
    """The strings whylogs' frequent-items sketch stores for these values.

    Integers are stored as ``str(int)``, floats as C++ ``std::to_string`` (``"1.000000"``),
    booleans as ``"True"``/``"False"``, strings as themselves.
    """
    tokens: set[str] = set()
    for value in values:
        tokens.add(str(value))
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            tokens.add(f"{float(value):f}")
            if float(value).is_integer():
                tokens.add(str(int(value)))
    return tokens


def _items(view: Any) -> list[Any]:
    return list(
        view.get_metric("frequent_items").to_summary_dict(SummaryConfig())["frequent_strings"]
    )


def _set_text(view: Any, tokens: set[str], shown: str) -> str:
    outside = sorted({item.value for item in _items(view)} - tokens)
    if outside:
        return f"expected values in {{{shown}}}; also found {', '.join(outside[:10])}"
    return f"expected values in {{{shown}}}"


def _set_incomplete(view: Any) -> str | None:
    """whylogs lists frequent items only; membership holds for all values only if they add up."""
    n, null = _counts(view)
    covered = sum(int(item.lower) for item in _items(view))
    if covered < n - null:
        return (
            f"only {covered} of {n - null} non-missing values are exactly itemized by whylogs "
            "(too many distinct values, or values that are neither numbers nor strings); "
            "membership in the set cannot be shown"
        )
    return None


def _unique_text(view: Any) -> str:
    n, null = _counts(view)
    estimate = view.get_metric("cardinality").hll.value.get_estimate()
    return f"about {estimate:.0f} distinct values among {n - null} non-missing"
