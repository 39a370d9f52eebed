"""Data quality of a window: missing values, type violations against the model signature,
values outside the training range, categories the training data never had, constant and
duplicated columns, and the row count against the expected volume.

Every check is a rate in [0, 1] per column (``missing.age``, ``type_errors.age``,
``out_of_range.age``, ``unseen.city``) so rules can read them; ``issues`` lists what crossed
the thresholds in words.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.monitoring._deps import need
from shipyard.monitoring._drift import _json_safe
from shipyard.monitoring._frames import CATEGORICAL, column_kind, numeric_values, to_frame
from shipyard.monitoring._reference import (
    CategoricalReference,
    NumericReference,
    ReferenceProfile,
)

DEFAULT_QUALITY_THRESHOLDS: dict[str, float] = {
    "missing": 0.1,  # missing share may rise this much above the reference's
    "type_errors": 0.0,  # any value of the wrong type is an issue
    "out_of_range": 0.05,
    "unseen": 0.05,
    "volume": 0.5,  # the row count may differ from the expected volume by this fraction
}
_NUMERIC_TYPES = {"float64", "float32", "int64", "int32", "int16", "int8", "uint64", "uint32",
                  "uint16", "uint8"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnQuality:
    """Quality of one column of the current window (rates over its rows)."""

    column: str
    kind: str
    missing: float
    missing_reference: float | None = None
    expected_type: str | None = None
    type_errors: float = 0.0
    out_of_range: float | None = None
    unseen: float | None = None
    constant: bool = False
    duplicate_of: str | None = None
    issues: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, "missing": self.missing,
                "missing_reference": self.missing_reference,
                "expected_type": self.expected_type, "type_errors": self.type_errors,
                "out_of_range": self.out_of_range, "unseen": self.unseen,
                "constant": self.constant, "duplicate_of": self.duplicate_of,
                "issues": list(self.issues)}


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityReport:
    """Column checks plus table-level ones (row count, missing/extra columns)."""

    columns: tuple[ColumnQuality, ...]
    rows: int
    expected_rows: float | None = None
    missing_columns: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def volume_ratio(self) -> float | None:
        if not self.expected_rows:
            return None
        return self.rows / self.expected_rows

    @property
    def issues(self) -> list[str]:
        out = [f"{c.column}: {issue}" for c in self.columns for issue in c.issues]
        if self.missing_columns:
            out.append(f"columns missing from the data: {', '.join(self.missing_columns)}")
        ratio = self.volume_ratio
        tol = self.thresholds.get("volume", DEFAULT_QUALITY_THRESHOLDS["volume"])
        if ratio is not None and abs(ratio - 1) > tol:
            out.append(f"{self.rows} rows where about {self.expected_rows:.0f} were expected "
                       f"({ratio:.0%})")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "quality", "rows": self.rows, "expected_rows": self.expected_rows,
                "volume_ratio": self.volume_ratio,
                "missing_columns": list(self.missing_columns),
                "extra_columns": list(self.extra_columns), "issues": self.issues,
                "thresholds": dict(self.thresholds),
                "columns": [c.to_dict() for c in self.columns]}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(_json_safe(self.to_dict()), **kwargs)

    def to_frame(self) -> Any:
        pd = need("pandas")
        rows = []
        for c in self.columns:
            row = c.to_dict()
            row["issues"] = "; ".join(c.issues)
            rows.append(row)
        return pd.DataFrame(rows)

    def values(self) -> dict[str, float | None]:
        """Flat values for a monitor: ``rows``, ``volume_ratio``, ``missing.<column>``..."""
        out: dict[str, float | None] = {
            "rows": float(self.rows), "volume_ratio": self.volume_ratio,
            "quality.issues": float(len(self.issues)),
            "quality.missing_columns": float(len(self.missing_columns)),
            "quality.constant_columns": float(sum(c.constant for c in self.columns)),
            "quality.duplicated_columns": float(sum(c.duplicate_of is not None
                                                    for c in self.columns)),
        }
        for c in self.columns:
            out[f"missing.{c.column}"] = c.missing
            out[f"type_errors.{c.column}"] = c.type_errors
            if c.out_of_range is not None:
                out[f"out_of_range.{c.column}"] = c.out_of_range
            if c.unseen is not None:
                out[f"unseen.{c.column}"] = c.unseen
            out[f"constant.{c.column}"] = float(c.constant)
        return out


# -- type checks against a signature -------------------------------------------------------
def _expected_types(signature: Any) -> dict[str, str]:
    if signature is None:
        return {}
    if isinstance(signature, Mapping):
        from shipyard.models import signature_from_dict

        signature = signature_from_dict(dict(signature))
    inputs = getattr(signature, "inputs", None)
    if not isinstance(inputs, tuple):
        return {}
    return {c.name: c.type for c in inputs}


def _type_errors(series: Any, expected: str) -> int:
    """How many present values do not fit the signature's type."""
    np = need("numpy")
    pd = need("pandas")
    present = series.notna()
    n_present = int(present.sum())
    if n_present == 0:
        return 0
    dtype = series.dtype
    is_num = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if expected in _NUMERIC_TYPES:
        if is_num:
            if expected.startswith(("int", "uint")) and pd.api.types.is_float_dtype(dtype):
                arr = series.to_numpy(dtype="float64", na_value=np.nan)
                arr = arr[np.isfinite(arr)]
                return int(np.count_nonzero(arr != np.floor(arr)))
            return 0
        if pd.api.types.is_bool_dtype(dtype):
            return n_present
        coerced = pd.to_numeric(series, errors="coerce")
        return int((coerced.isna() & present).sum())
    if expected == "bool":
        if pd.api.types.is_bool_dtype(dtype):
            return 0
        allowed = {True, False, "true", "false", "True", "False"}
        return int((~series[present].isin(allowed)).sum())
    if expected == "string":
        if is_num or pd.api.types.is_bool_dtype(dtype):
            return n_present
        if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
            return 0
        values = series[present]
        if isinstance(dtype, pd.CategoricalDtype):
            values = values.astype(object)
        return int((~values.map(lambda v: isinstance(v, str))).sum())
    if expected == "datetime":
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return 0
        parsed = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
        return int((parsed.isna() & present).sum())
    return 0


def _fingerprint(values: Any) -> tuple[Any, ...]:
    np = need("numpy")
    finite = np.isfinite(values)
    head = tuple(None if v != v else v for v in np.round(values[:8], 12).tolist())
    return (values.size, int(finite.sum()), float(np.sum(values, where=finite)), head)


def _duplicates(frame: Any, names: Sequence[str], kinds: Mapping[str, str]) -> dict[str, str]:
    """column -> the earlier column it duplicates exactly."""
    np = need("numpy")
    groups: dict[tuple[Any, ...], list[str]] = {}
    for name in names:
        series = frame[name]
        if kinds[name] == CATEGORICAL:
            key: tuple[Any, ...] = ("c", len(series), int(series.isna().sum()),
                                    tuple(map(str, series.head(8).tolist())))
        else:
            key = ("n", *_fingerprint(numeric_values(series)))
        groups.setdefault(key, []).append(name)
    out: dict[str, str] = {}
    for members in groups.values():
        for i, later in enumerate(members[1:], start=1):
            for earlier in members[:i]:
                if earlier in out:
                    continue
                a, b = frame[earlier], frame[later]
                same = (np.array_equal(numeric_values(a), numeric_values(b), equal_nan=True)
                        if kinds[later] != CATEGORICAL else bool(
                            a.astype(object).equals(b.astype(object))))
                if same:
                    out[later] = earlier
                    break
    return out


def quality_report(current: Any, *, reference: Any = None, signature: Any = None,
                   expected_rows: float | None = None, columns: list[str] | None = None,
                   thresholds: Mapping[str, float] | None = None,
                   categorical: Sequence[str] = ()) -> QualityReport:
    """Check the current data's quality, against a reference profile (training range,
    known categories, missing share) and a model signature (types) when given.

    ``expected_rows``: the normal row count of such a window; ``thresholds`` override
    `DEFAULT_QUALITY_THRESHOLDS` (keys missing, type_errors, out_of_range, unseen, volume).
    """
    np = need("numpy")
    frame = to_frame(current, what="current")
    limits = {**DEFAULT_QUALITY_THRESHOLDS, **(thresholds or {})}
    profile = None if reference is None else ReferenceProfile.load(
        reference, categorical=list(categorical))
    expected = _expected_types(signature)
    present = [str(c) for c in frame.columns]
    names = columns if columns is not None else present
    wanted = set(expected) | (set(profile.names) if profile is not None else set())
    missing_columns = tuple(sorted(n for n in wanted if n not in present))
    extra = tuple(n for n in present if wanted and n not in wanted)
    names = [n for n in names if n in present]
    kinds = {}
    for n in names:
        ref = profile.columns.get(n) if profile is not None else None
        kinds[n] = ref.kind if ref is not None else (
            CATEGORICAL if n in categorical else column_kind(frame[n]))
    dups = _duplicates(frame, names, kinds) if len(frame) else {}
    rows = len(frame)
    out = []
    for name in names:
        series = frame[name]
        ref = profile.columns.get(name) if profile is not None else None
        n_missing = int(series.isna().sum())
        values = numeric_values(series) if kinds[name] != CATEGORICAL else None
        if values is not None:
            n_missing = int(np.isnan(values).sum())
        missing = n_missing / rows if rows else 0.0
        ref_missing = None
        if ref is not None:
            total = ref.count + ref.missing
            ref_missing = ref.missing / total if total else 0.0
        n_present = rows - n_missing
        type_err = (_type_errors(series, expected[name]) / rows
                    if name in expected and rows else 0.0)
        out_of_range = unseen = None
        constant = False
        if values is not None:
            finite = values[~np.isnan(values)]
            constant = finite.size == 0 or float(finite.min()) == float(finite.max())
            if isinstance(ref, NumericReference) and ref.min is not None and finite.size:
                outside = np.count_nonzero((finite < ref.min) | (finite > ref.max))
                out_of_range = outside / finite.size
        else:
            from shipyard.monitoring._frames import category_counts

            counts, _ = category_counts(series)
            constant = len(counts) <= 1
            if isinstance(ref, CategoricalReference) and n_present:
                unseen = sum(v for k, v in counts.items() if k not in ref.counts) / n_present
        issues = []
        if missing - (ref_missing or 0.0) > limits["missing"]:
            issues.append(f"{missing:.1%} missing" + (
                f" (reference {ref_missing:.1%})" if ref_missing is not None else ""))
        if type_err > limits["type_errors"]:
            issues.append(f"{type_err:.1%} of values are not {expected[name]}")
        if out_of_range is not None and out_of_range > limits["out_of_range"]:
            issues.append(f"{out_of_range:.1%} outside the training range")
        if unseen is not None and unseen > limits["unseen"]:
            issues.append(f"{unseen:.1%} in categories the training data never had")
        ref_constant = (isinstance(ref, NumericReference) and ref.min == ref.max) or (
            isinstance(ref, CategoricalReference) and len(ref.counts) <= 1)
        if constant and rows and not ref_constant:
            issues.append("constant")
        if name in dups:
            issues.append(f"duplicates column {dups[name]!r}")
        out.append(ColumnQuality(
            column=name, kind=kinds[name], missing=missing, missing_reference=ref_missing,
            expected_type=expected.get(name), type_errors=type_err, out_of_range=out_of_range,
            unseen=unseen, constant=bool(constant), duplicate_of=dups.get(name),
            issues=tuple(issues)))
    return QualityReport(columns=tuple(out), rows=rows, expected_rows=expected_rows,
                         missing_columns=missing_columns, extra_columns=extra,
                         thresholds=limits)
