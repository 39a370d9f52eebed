"""Model signatures: what a model takes and returns, inferred from an example and enforced on
every prediction.

Two input shapes exist. *Columns* (a DataFrame-like input: named, typed columns) and a
*tensor* (one array of a dtype and shape, ``-1`` meaning any size). Validation casts safe
widenings (int -> float, float64 -> float32) and raises `SignatureError` naming the column,
the value and the expected type for anything else. numpy and pandas are imported lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.errors import InvalidArgumentError, SignatureError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

NUMERIC_TYPES = ("float64", "float32", "int64", "int32", "int16", "int8", "uint64", "uint32",
                 "uint16", "uint8")
TYPES = (*NUMERIC_TYPES, "bool", "string", "datetime")
_SHOWN = 8  # how many expected columns an error lists


@dataclass(frozen=True, slots=True, kw_only=True)
class ColSpec:
    """One named input or output column; ``shape`` is set for array-valued cells."""

    name: str
    type: str
    shape: tuple[int, ...] | None = None
    optional: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TensorSpec:
    """One array input or output; ``-1`` in ``shape`` means any size (usually the batch)."""

    type: str
    shape: tuple[int, ...]


Spec = tuple[ColSpec, ...] | TensorSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    """Inputs (columns or a tensor) and, when known, outputs of a model."""

    inputs: Spec
    outputs: Spec | None = None

    @property
    def is_tensor(self) -> bool:
        return isinstance(self.inputs, TensorSpec)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.inputs] if isinstance(self.inputs, tuple) else []


# -- (de)serialization --------------------------------------------------------------------
def _spec_to_dict(spec: Spec) -> dict[str, Any]:
    if isinstance(spec, TensorSpec):
        return {"type": "tensor", "dtype": spec.type, "shape": list(spec.shape)}
    return {"type": "columns", "columns": [
        {"name": c.name, "type": c.type, "shape": None if c.shape is None else list(c.shape),
         "optional": c.optional} for c in spec]}


def _spec_from_dict(data: dict[str, Any]) -> Spec:
    if data.get("type") == "tensor":
        return TensorSpec(type=data["dtype"], shape=tuple(data["shape"]))
    return tuple(ColSpec(name=c["name"], type=c["type"],
                         shape=None if c.get("shape") is None else tuple(c["shape"]),
                         optional=bool(c.get("optional", False))) for c in data["columns"])


def signature_to_dict(sig: Signature) -> dict[str, Any]:
    """The JSON form stored in ``signature.json`` and on registered versions."""
    return {"inputs": _spec_to_dict(sig.inputs),
            "outputs": None if sig.outputs is None else _spec_to_dict(sig.outputs)}


def signature_from_dict(data: dict[str, Any]) -> Signature:
    outputs = data.get("outputs")
    return Signature(inputs=_spec_from_dict(data["inputs"]),
                     outputs=None if outputs is None else _spec_from_dict(outputs))


# -- inference ----------------------------------------------------------------------------
def _is_frame(data: Any) -> bool:
    return type(data).__module__.startswith("pandas") and hasattr(data, "columns")


def _to_numpy(data: Any) -> Any:
    """torch tensors and array-likes to numpy (torch is never imported here)."""
    if hasattr(data, "detach") and hasattr(data, "numpy"):
        return data.detach().cpu().numpy()
    return data


def _type_of_series(name: str, col: pd.Series[Any]) -> str:
    import numpy as np
    import pandas as pd

    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        # pandas-stubs: an ExtensionDtype is no DTypeLike, but those here have numpy_dtype
        return str(np.dtype(dtype.numpy_dtype if hasattr(dtype, "numpy_dtype") else dtype))  # type: ignore[arg-type]
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
        values = col.dropna()
        if all(isinstance(v, str) for v in values.head(1000)):
            return "string"
    kinds = sorted({type(v).__name__ for v in col.dropna().head(1000)})
    msg = (f"Cannot infer a signature type for column {name!r}: it holds {', '.join(kinds)} "
           f"values; supported types are {', '.join(TYPES)}.")
    raise InvalidArgumentError(msg, hint="pass signature= explicitly, or convert the column")


def _frame_of(data: Any) -> Any:
    import pandas as pd

    if _is_frame(data):
        return data
    if isinstance(data, dict):
        scalar = all(not isinstance(v, list | tuple) and getattr(v, "ndim", 0) == 0
                     for v in data.values())
        return pd.DataFrame([data]) if scalar else pd.DataFrame(data)
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return pd.DataFrame(data)
    return None


def infer_spec(data: Any) -> Spec:
    """Columns for DataFrame-like data, a tensor spec for arrays (first dimension any size)."""
    import numpy as np

    frame = _frame_of(data)
    if frame is not None:
        return tuple(ColSpec(name=str(c), type=_type_of_series(str(c), frame[c]))
                     for c in frame.columns)
    arr = np.asarray(_to_numpy(data))
    if arr.dtype.kind in "USO":
        msg = (f"Cannot infer a tensor signature from an array of dtype {arr.dtype}; "
               "pass a numeric array or a DataFrame.")
        raise SignatureError(msg, value=str(arr.dtype), expected="a numeric array")
    kind = "bool" if arr.dtype == np.bool_ else str(arr.dtype)
    if arr.dtype.kind == "M":
        kind = "datetime"
    return TensorSpec(type=kind, shape=(-1, *arr.shape[1:]))


def infer_signature(input_example: Any, output_example: Any = None) -> Signature:
    """A signature from an input example (DataFrame, dict, list of dicts, array, tensor) and,
    optionally, an example of the model's output."""
    outputs = None if output_example is None else infer_spec(output_example)
    return Signature(inputs=infer_spec(input_example), outputs=outputs)


# -- validation ---------------------------------------------------------------------------
def _names(spec: tuple[ColSpec, ...]) -> str:
    names = [c.name for c in spec]
    more = f", ... ({len(names)} in all)" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def _bad_value(column: str, value: Any, row: Any, expected: str, why: str = "") -> SignatureError:
    reason = f" ({why})" if why else ""
    msg = (f"Column {column!r} has value {value!r} at row {row!r}; the model's signature "
           f"expects {expected}{reason}.")
    return SignatureError(msg, column=column, value=value, expected=expected,
                          hint="fix or cast the input, or log the model with another signature")


def _first(mask: np.ndarray[Any, Any]) -> int:
    import numpy as np

    return int(np.flatnonzero(mask)[0])


def _cast_series(name: str, col: pd.Series[Any], want: str) -> pd.Series[Any]:
    """Cast one column to ``want`` or raise naming the first offending value."""
    import numpy as np
    import pandas as pd

    dtype = col.dtype
    if want == "datetime":
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return col
        out = pd.to_datetime(col, errors="coerce", utc=False, format="mixed")
        bad = out.isna().to_numpy() & col.notna().to_numpy()
        if bad.any():
            i = _first(bad)
            raise _bad_value(name, col.iloc[i], col.index[i], "datetime",
                             "not a date or an ISO-8601 string")
        return out
    if want == "string":
        if isinstance(dtype, pd.CategoricalDtype):
            col = col.astype(object)
        if pd.api.types.is_object_dtype(col.dtype):
            bad = ~col.map(lambda v: isinstance(v, str) or v is None or v != v).to_numpy(bool)
            if bad.any():
                i = _first(bad)
                raise _bad_value(name, col.iloc[i], col.index[i], "string")
            return col
        if pd.api.types.is_string_dtype(col.dtype):
            return col
        i = _first(col.notna().to_numpy()) if col.notna().any() else 0
        raise _bad_value(name, col.iloc[i], col.index[i], "string")
    target = np.dtype(want)
    is_num = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if want == "bool":
        if pd.api.types.is_bool_dtype(dtype):
            return col
        i = 0
        if pd.api.types.is_object_dtype(dtype):
            bad = ~col.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(bool)
            if not bad.any():
                return col.astype(bool)
            i = _first(bad)
        raise _bad_value(name, col.iloc[i], col.index[i], "bool")
    if pd.api.types.is_bool_dtype(dtype):
        return col.astype(target)
    if not is_num:
        if pd.api.types.is_object_dtype(dtype):
            ok = col.map(lambda v: (isinstance(v, int | float | np.number)
                                    and not isinstance(v, bool))
                         or v is None or v != v).to_numpy(bool)
            if ok.all():
                col = pd.to_numeric(col)
                return _cast_series(name, col, want)
            i = _first(~ok)
        else:
            i = _first(col.notna().to_numpy()) if col.notna().any() else 0
        raise _bad_value(name, col.iloc[i], col.index[i], want)
    if isinstance(dtype, np.dtype):
        values = col.to_numpy()
    elif col.isna().any():  # a nullable extension dtype holding pd.NA
        values = col.to_numpy(dtype="float64", na_value=np.nan)
    else:
        # pandas-stubs: ExtensionDtype lacks numpy_dtype; the numeric ones here all have it
        values = col.to_numpy(dtype=dtype.numpy_dtype)  # type: ignore[attr-defined]
    if target.kind in "iu" and values.dtype.kind == "f":
        bad = ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            i = _first(bad)
            why = "a missing value" if np.isnan(values[i]) else "it has a fraction"
            raise _bad_value(name, col.iloc[i], col.index[i], want, why)
    if target.kind in "iu":
        info = np.iinfo(target)
        bad = (values < info.min) | (values > info.max)
        if bad.any():
            i = _first(bad)
            raise _bad_value(name, col.iloc[i], col.index[i], want, "out of range")
    if values.dtype == target:
        return col if col.dtype == target else pd.Series(values, index=col.index, name=col.name)
    return pd.Series(values.astype(target), index=col.index, name=col.name)


def _check_cell_shapes(name: str, col: pd.Series[Any], shape: tuple[int, ...]) -> None:
    import numpy as np

    for i, cell in enumerate(col):
        got = np.shape(cell)
        if len(got) != len(shape) or any(w not in (-1, g) for w, g in zip(shape, got,
                                                                         strict=True)):
            msg = (f"Column {name!r} has a value of shape {got} at row {col.index[i]!r}; the "
                   f"model's signature expects shape {shape}.")
            raise SignatureError(msg, column=name, value=got, expected=f"shape {shape}")


def validate_columns(spec: tuple[ColSpec, ...], data: Any) -> pd.DataFrame:
    """A DataFrame with exactly the signature's columns, in order, cast to their types."""
    import numpy as np
    import pandas as pd

    frame = _frame_of(data)
    if frame is None:
        arr = _to_numpy(data)
        if isinstance(arr, np.ndarray) and arr.ndim == 2 and arr.shape[1] == len(spec):
            frame = pd.DataFrame(arr, columns=[c.name for c in spec])
        elif isinstance(arr, np.ndarray):
            msg = (f"Input has shape {arr.shape}; the model's signature expects "
                   f"{len(spec)} columns ({_names(spec)}), e.g. an array of shape "
                   f"(n, {len(spec)}) or a DataFrame.")
            raise SignatureError(msg, value=arr.shape, expected=f"(-1, {len(spec)})",
                                 hint="reshape a single row with x.reshape(1, -1)")
        else:
            msg = (f"Input of type {type(data).__name__} cannot be matched to the columns "
                   f"{_names(spec)}; pass a DataFrame, a dict of columns or a list of rows.")
            raise SignatureError(msg, value=type(data).__name__, expected="a DataFrame")
    names = [str(c) for c in frame.columns]
    wanted = {c.name for c in spec}
    for extra in names:
        if extra not in wanted:
            msg = (f"Input has a column {extra!r} that the model's signature does not have; "
                   f"it expects: {_names(spec)}.")
            raise SignatureError(msg, column=extra, value=extra, expected="no such column",
                                 hint="drop the extra column before predicting")
    out: dict[str, Any] = {}
    for c in spec:
        if c.name not in frame.columns:
            if c.optional:
                continue
            msg = (f"Input is missing column {c.name!r} (expected {c.type}); the model's "
                   f"signature wants: {_names(spec)}.")
            raise SignatureError(msg, column=c.name, value=None, expected=c.type)
        col = frame[c.name]
        if c.shape is not None:
            _check_cell_shapes(c.name, col, c.shape)
            out[c.name] = col
        else:
            out[c.name] = _cast_series(c.name, col, c.type)
    return pd.DataFrame(out, index=frame.index)


def _shape_ok(want: tuple[int, ...], got: tuple[int, ...]) -> bool:
    return len(want) == len(got) and all(w in (-1, g) for w, g in zip(want, got, strict=True))


def validate_tensor(spec: TensorSpec, data: Any) -> np.ndarray[Any, Any]:
    """An array of the spec's dtype and shape (a no-copy fast path when it already is)."""
    import numpy as np

    if type(data) is np.ndarray and data.dtype.name == spec.type and _shape_ok(spec.shape,
                                                                               data.shape):
        return data
    if _is_frame(data):
        data = data.to_numpy()
    arr = np.asarray(_to_numpy(data)) if not isinstance(data, np.ndarray) else data
    if arr.dtype.kind == "U" and isinstance(data, list | tuple):  # numpy turned 1.0 into '1.0'
        arr = np.asarray(data, dtype=object)
    if not _shape_ok(spec.shape, arr.shape):
        msg = (f"Input has shape {tuple(arr.shape)}; the model's signature expects shape "
               f"{spec.shape} (-1 means any size).")
        hint = ("reshape a single row with x.reshape(1, -1)"
                if arr.ndim == len(spec.shape) - 1 else None)
        raise SignatureError(msg, value=tuple(arr.shape), expected=f"shape {spec.shape}",
                             hint=hint)
    want = np.dtype(bool) if spec.type == "bool" else np.dtype(spec.type)
    if arr.dtype == want:
        return arr
    if arr.dtype.kind in "biuf" and (np.can_cast(arr.dtype, want, "same_kind")
                                     or (arr.dtype.kind in "biu" and want.kind == "f")):
        return arr.astype(want)
    flat = arr.reshape(len(arr), -1) if arr.ndim > 1 else arr.reshape(-1, 1)
    for (i, j), value in np.ndenumerate(flat):
        ok = isinstance(value, int | float | np.number) and not isinstance(value, bool | str)
        if want.kind in "iu" and ok:
            ok = float(value).is_integer()
        if not ok:
            column = str(j)
            msg = (f"Column {column} of the input array has value {value!r} at row {i}; the "
                   f"model's signature expects {spec.type}.")
            raise SignatureError(msg, column=column, value=value, expected=spec.type)
    return flat.astype(want).reshape(arr.shape)


def validate_matrix(spec: tuple[ColSpec, ...], arr: Any) -> np.ndarray[Any, Any] | None:
    """Fast path of `validate_columns` for a 2-D numeric array whose columns are in signature
    order and share one numeric type: the array cast to that type, without a DataFrame.

    Returns None where it does not apply (mixed or non-numeric types, array-valued or
    optional columns, another width, a value the cast would reject): the caller then takes
    `validate_columns`, which gives the same result or names the offending value."""
    import numpy as np

    if not isinstance(spec, tuple):  # a tensor signature: validate_input handles it
        return None
    if not isinstance(arr, np.ndarray) or arr.ndim != 2 or arr.shape[1] != len(spec) or (
            arr.dtype.kind not in "biuf"):
        return None
    want = spec[0].type if spec else ""
    if want not in NUMERIC_TYPES or any(c.type != want or c.shape is not None or c.optional
                                        for c in spec):
        return None
    target = np.dtype(want)
    if arr.dtype == target:
        return arr
    if target.kind in "iu" and arr.dtype.kind != "b":
        if arr.dtype.kind == "f" and not (np.isfinite(arr).all()
                                          and (arr == np.round(arr)).all()):
            return None
        info = np.iinfo(target)
        if arr.size and (arr.min() < info.min or arr.max() > info.max):
            return None
    return arr.astype(target)


def validate_input(sig: Signature, data: Any) -> Any:
    """Validate and cast ``data`` against the signature's inputs."""
    if isinstance(sig.inputs, TensorSpec):
        return validate_tensor(sig.inputs, data)
    return validate_columns(sig.inputs, data)
