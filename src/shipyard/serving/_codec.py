"""Request payloads -> validated model inputs, and model outputs -> JSON values.

Accepted bodies (see docs/serving.md): JSON records, column-split, instances and columnar
``inputs``; CSV with a header; Apache Arrow IPC (stream or file); the Open Inference Protocol
v2 ``inputs`` list. Every input is validated and cast against the model's signature; a problem
raises `SignatureError` (the column, the value, the expected type) or `InvalidArgumentError`.

The fast path builds one numpy matrix straight from the parsed JSON when the signature is a
set of same-typed numeric columns; anything unusual (strings, nulls, booleans, ragged rows)
takes the general path through the signature validator, which either casts it exactly as the
library does or names the offending value. numpy is imported on use; pandas and pyarrow only
for the general path and the CSV/Arrow formats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from shipyard.errors import InvalidArgumentError, SignatureError

if TYPE_CHECKING:
    from shipyard.models import Signature

    class PyFuncModel(Protocol):
        """What decoding needs of a model: ``prepare`` (validate and cast against the
        signature), as `shipyard.models.PyFuncModel` and the serving `Predictor` have."""

        def prepare(self, data: Any) -> Any: ...

try:  # orjson is several times faster; the json module is the fallback
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson ships with the serving extra
    _orjson = None  # type: ignore[assignment]

JSON = "application/json"
CSV = "text/csv"
ARROW_STREAM = "application/vnd.apache.arrow.stream"
ARROW_FILE = "application/vnd.apache.arrow.file"
CONTENT_TYPES = (JSON, CSV, ARROW_STREAM, ARROW_FILE)
_WRAPPERS = ("records", "dataframe_records", "columns", "dataframe_split", "instances", "inputs")
_SHOWN = 8
V2_DTYPES = {"BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32",
             "UINT64": "uint64", "INT8": "int8", "INT16": "int16", "INT32": "int32",
             "INT64": "int64", "FP16": "float16", "FP32": "float32", "FP64": "float64",
             "BYTES": "object"}
_V2_OF_KIND = {"b": "BOOL", "O": "BYTES", "U": "BYTES", "S": "BYTES"}


# -- JSON -------------------------------------------------------------------------------
def loads(body: bytes) -> Any:
    """Parse JSON; raises `InvalidArgumentError` saying where it is malformed."""
    if not body.strip():
        msg = "The request body is empty; send the rows to predict on."
        raise InvalidArgumentError(msg, hint='e.g. [{"feature": 1.0, ...}] as application/json')
    try:
        if _orjson is not None:
            return _orjson.loads(body)
        import json

        return json.loads(body)
    except ValueError as exc:
        msg = f"The request body is not valid JSON: {exc}."
        raise InvalidArgumentError(msg, hint="send UTF-8 JSON (NaN and Infinity are not JSON; "
                                             "use null)") from exc


def dumps(value: Any) -> bytes:
    """Serialize to JSON bytes (numpy arrays and scalars included; NaN becomes null)."""
    if _orjson is not None:
        return _orjson.dumps(value, option=_orjson.OPT_SERIALIZE_NUMPY
                             | _orjson.OPT_NON_STR_KEYS)
    import json

    return json.dumps(jsonable(value), default=str).encode()


def jsonable(value: Any) -> Any:
    """Model output -> plain JSON values (lists, numbers, strings; NaN as None)."""
    if hasattr(value, "tolist") and not hasattr(value, "columns"):
        value = value.tolist()
    elif hasattr(value, "to_dict"):
        return jsonable(value.to_dict(orient="records"))
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def fast_array(value: Any) -> Any:
    """An output array orjson can write as is, else plain JSON values."""
    if _orjson is not None and type(value).__module__ == "numpy" and getattr(
            getattr(value, "dtype", None), "kind", "") in ("b", "i", "u", "f"):
        return value if value.flags.c_contiguous else value.copy()
    return jsonable(value)


# -- the signature, precomputed -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class InputSpec:
    """What a served model takes, derived once from its signature."""

    columns: tuple[str, ...] | None
    """Signature column names in order (None for a tensor or no signature)."""
    required: frozenset[str]
    types: dict[str, str]
    tensor: bool
    numeric: bool
    """Every column is a scalar of one numeric type: the one-matrix fast path applies."""

    @classmethod
    def of(cls, model: Any) -> InputSpec:
        """From a loaded model (anything with a ``signature``)."""
        return cls.of_signature(model.signature)

    @classmethod
    def of_signature(cls, sig: Signature | None) -> InputSpec:
        if sig is None:
            return cls(None, frozenset(), {}, tensor=False, numeric=False)
        if sig.is_tensor:
            return cls(None, frozenset(), {}, tensor=True, numeric=False)
        cols = tuple(sig.inputs)  # type: ignore[arg-type]
        from shipyard.models._signature import NUMERIC_TYPES

        numeric = bool(cols) and all(c.type == cols[0].type and c.type in NUMERIC_TYPES
                                     and c.shape is None and not c.optional for c in cols)
        return cls(tuple(c.name for c in cols), frozenset(c.name for c in cols
                                                            if not c.optional),
                   {c.name: c.type for c in cols}, tensor=False, numeric=numeric)


def _names(columns: Sequence[str]) -> str:
    more = f", ... ({len(columns)} in all)" if len(columns) > _SHOWN else ""
    return ", ".join(columns[:_SHOWN]) + more


def _missing(spec: InputSpec, name: str, where: str) -> SignatureError:
    expected = spec.types.get(name, "a value")
    msg = (f"Input is missing column {name!r} (expected {expected}){where}; the model's "
           f"signature wants: {_names(spec.columns or ())}.")
    return SignatureError(msg, column=name, value=None, expected=expected,
                          hint="send every column of the signature (GET /v1/models lists it)")


def _extra(spec: InputSpec, name: str, where: str) -> SignatureError:
    msg = (f"Input has a column {name!r}{where} that the model's signature does not have; it "
           f"expects: {_names(spec.columns or ())}.")
    return SignatureError(msg, column=str(name), value=name, expected="no such column",
                          hint="drop the extra column")


def check_columns(spec: InputSpec, names: Sequence[str], where: str = "") -> None:
    """Raise naming the first missing or unexpected column."""
    if spec.columns is None:
        return
    known = spec.types
    for name in names:
        if name not in known:
            raise _extra(spec, name, where)
    have = set(names)
    for name in spec.columns:
        if name in spec.required and name not in have:
            raise _missing(spec, name, where)


# -- structures -> model input ------------------------------------------------------------
def _matrix(rows: Any, spec: InputSpec, model: PyFuncModel, *, maybe_bool: bool) -> Any:
    """The fast path: rows (lists in signature order) -> one numpy matrix, or None."""
    import numpy as np

    if maybe_bool:
        return None
    try:
        arr = np.array(rows)
    except (ValueError, TypeError, OverflowError):
        return None
    if arr.ndim != 2 or arr.dtype.kind not in "iuf" or arr.shape[1] != len(spec.columns or ()):
        return None
    return model.prepare(arr)


def _frame(rows: list[list[Any]], columns: Sequence[str], model: PyFuncModel,
           data: dict[str, Any] | None = None) -> Any:
    """``rows`` as a frame with ``columns``, or, given ``data``, the frame of those columns."""
    import pandas as pd

    if data is not None:
        return model.prepare(pd.DataFrame(data))
    return model.prepare(pd.DataFrame.from_records(rows, columns=list(columns)))


def from_records(records: list[Any], spec: InputSpec, model: PyFuncModel, *,
                 maybe_bool: bool = True) -> Any:
    """``[{"a": 1, "b": 2}, ...]`` -> model input."""
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            msg = (f"Record {i} is {type(rec).__name__} {rec!r}; every record must be an "
                   "object of column: value.")
            raise InvalidArgumentError(msg, hint='send [{"column": value, ...}, ...]')
    if not records:
        raise _empty()
    if spec.columns is None:
        if spec.tensor:
            msg = "This model takes a tensor, not named columns; send instances or inputs."
            raise InvalidArgumentError(msg, hint='e.g. {"instances": [[1.0, 2.0], ...]}')
        return _records_frame(records, model)
    cols = spec.columns
    n = len(cols)
    try:
        rows = [[rec[c] for c in cols] for rec in records]
    except KeyError:
        rows = None
    if rows is None or any(len(rec) != n for rec in records):
        for i, rec in enumerate(records):
            check_columns(spec, list(rec), f" in record {i}")
        rows = [[rec.get(c) for c in cols] for rec in records]
    if spec.numeric:
        out = _matrix(rows, spec, model, maybe_bool=maybe_bool)
        if out is not None:
            return out
    return _frame(rows, cols, model)


def _records_frame(records: list[dict[str, Any]], model: PyFuncModel) -> Any:
    import pandas as pd

    return model.prepare(pd.DataFrame.from_records(records))


def from_rows(rows: list[Any], spec: InputSpec, model: PyFuncModel, *,
              columns: Sequence[str] | None = None, maybe_bool: bool = True) -> Any:
    """Rows of values (in ``columns`` order, default the signature's) -> model input."""
    import numpy as np

    if not rows:
        raise _empty()
    if spec.columns is None:
        try:
            return model.prepare(np.asarray(rows))
        except (ValueError, TypeError) as exc:
            msg = f"The rows do not form an array: {exc}."
            raise InvalidArgumentError(msg, hint="send rows of equal length") from exc
    names = list(columns) if columns is not None else list(spec.columns)
    if columns is not None:
        if len(set(names)) != len(names):
            dup = next(c for c in names if names.count(c) > 1)
            msg = f"Column {dup!r} appears twice in 'columns'."
            raise InvalidArgumentError(msg)
        check_columns(spec, names)
    width = len(names)
    if spec.numeric and not maybe_bool and names == list(spec.columns):
        out = _matrix(rows, spec, model, maybe_bool=False)  # a full numeric matrix: done
        if out is not None:
            return out
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            got = f"{len(row)} values" if isinstance(row, list) else f"{type(row).__name__}"
            msg = (f"Row {i} has {got}; expected a list of {width} values "
                   f"({_names(names)}).")
            raise SignatureError(msg, value=row if not isinstance(row, list) else len(row),
                                 expected=f"{width} values")
    if names != list(spec.columns):
        pos = {c: j for j, c in enumerate(names)}
        rows = [[row[pos[c]] if c in pos else None for c in spec.columns] for row in rows]
    if spec.numeric:
        out = _matrix(rows, spec, model, maybe_bool=maybe_bool)
        if out is not None:
            return out
    return _frame(rows, spec.columns, model)


def from_columns(data: dict[str, Any], spec: InputSpec, model: PyFuncModel, *,
                 maybe_bool: bool = True) -> Any:
    """``{"a": [1, 2], "b": [3, 4]}`` -> model input."""
    import numpy as np

    check_columns(spec, list(data))
    lengths = {len(v) if isinstance(v, list) else -1 for v in data.values()}
    if -1 in lengths or len(lengths) != 1:
        msg = ("Columnar inputs must map every column to a list of values of the same length; "
               f"got lengths {sorted(lengths)}.")
        raise InvalidArgumentError(msg, hint='e.g. {"inputs": {"a": [1, 2], "b": [3, 4]}}')
    if not next(iter(lengths)):
        raise _empty()
    if spec.numeric and spec.columns is not None and not maybe_bool:
        try:
            arr = np.array([data[c] for c in spec.columns]).T
        except (ValueError, TypeError, OverflowError):
            arr = None
        if arr is not None and arr.ndim == 2 and arr.dtype.kind in "iuf":
            return model.prepare(np.ascontiguousarray(arr))
    return _frame([], (), model, data=data)


def _empty() -> InvalidArgumentError:
    msg = "The request holds no rows."
    return InvalidArgumentError(msg, hint="send at least one row to predict on")


def from_json(body: bytes, spec: InputSpec, model: PyFuncModel) -> Any:
    """Any accepted JSON shape -> model input (see the module docstring)."""
    doc = loads(body)
    maybe_bool = b"true" in body or b"false" in body
    return from_document(doc, spec, model, maybe_bool=maybe_bool)


def from_document(doc: Any, spec: InputSpec, model: PyFuncModel, *,
                  maybe_bool: bool = True) -> Any:
    """A parsed JSON document -> model input."""
    if isinstance(doc, list):
        return _from_list(doc, spec, model, maybe_bool=maybe_bool)
    if not isinstance(doc, dict):
        msg = f"The JSON body is a {type(doc).__name__}; expected an object or a list of rows."
        raise InvalidArgumentError(msg, hint=_SHAPES_HINT)
    keys = [k for k in _WRAPPERS if k in doc]
    if len(keys) != 1 or (keys[0] == "columns" and "data" not in doc):
        shown = ", ".join(repr(k) for k in list(doc)[:5])
        msg = (f"The JSON object has keys {shown or 'none'}; expected exactly one of "
               "'records', 'columns' + 'data', 'instances', 'inputs' (or MLflow's "
               "'dataframe_records' / 'dataframe_split').")
        raise InvalidArgumentError(msg, hint=_SHAPES_HINT)
    key = keys[0]
    value = doc[key]
    if key == "dataframe_split":
        if not isinstance(value, dict) or "columns" not in value or "data" not in value:
            msg = "'dataframe_split' must be an object with 'columns' and 'data'."
            raise InvalidArgumentError(msg, hint=_SHAPES_HINT)
        key, doc, value = "columns", value, value["columns"]
    if key == "columns":
        data = doc["data"]
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value) or (
                not isinstance(data, list)):
            msg = "'columns' must be a list of column names and 'data' a list of rows."
            raise InvalidArgumentError(msg, hint=_SHAPES_HINT)
        return from_rows(data, spec, model, columns=value, maybe_bool=maybe_bool)
    if key in ("records", "dataframe_records"):
        if not isinstance(value, list):
            msg = f"{key!r} must be a list of objects."
            raise InvalidArgumentError(msg, hint=_SHAPES_HINT)
        return from_records(value, spec, model, maybe_bool=maybe_bool)
    if isinstance(value, dict):  # "inputs"/"instances" given as columns
        if spec.tensor:
            msg = f"This model takes a tensor; {key!r} must be a (nested) list of numbers."
            raise InvalidArgumentError(msg)
        return from_columns(value, spec, model, maybe_bool=maybe_bool)
    if not isinstance(value, list):
        msg = f"{key!r} must be a list (of rows or objects) or an object of columns."
        raise InvalidArgumentError(msg, hint=_SHAPES_HINT)
    return _from_list(value, spec, model, maybe_bool=maybe_bool)


_SHAPES_HINT = ('send [{"col": v, ...}], {"columns": [...], "data": [[...]]}, '
                '{"instances": [...]} or {"inputs": {...}}; see docs/serving.md')


def _from_list(items: list[Any], spec: InputSpec, model: PyFuncModel, *,
               maybe_bool: bool) -> Any:
    if not items:
        raise _empty()
    first = items[0]
    if isinstance(first, dict):
        return from_records(items, spec, model, maybe_bool=maybe_bool)
    if spec.tensor or spec.columns is None:
        import numpy as np

        try:
            arr = np.asarray(items)
        except (ValueError, TypeError) as exc:
            msg = f"The instances do not form an array: {exc}."
            raise InvalidArgumentError(msg, hint="send rows of equal length") from exc
        if arr.dtype.kind in "OUS":
            msg = "The instances hold non-numeric values; this model takes a numeric tensor."
            raise SignatureError(msg, value=str(arr.dtype), expected="numbers")
        return model.prepare(arr)
    if not isinstance(first, list):
        if len(spec.columns) != 1:
            msg = (f"Instance 0 is the scalar {first!r}; this model takes rows of "
                   f"{len(spec.columns)} values ({_names(spec.columns)}).")
            raise SignatureError(msg, value=first, expected=f"{len(spec.columns)} values")
        items = [[v] for v in items]
    return from_rows(items, spec, model, maybe_bool=maybe_bool)


# -- CSV and Arrow ------------------------------------------------------------------------
def from_table(table: Any, spec: InputSpec, model: PyFuncModel) -> Any:
    """A pyarrow Table -> model input (a numpy matrix when every column is numeric)."""
    import numpy as np
    import pyarrow as pa

    if table.num_rows == 0:
        raise _empty()
    names = [str(n) for n in table.column_names]
    if len(set(names)) != len(names):
        dup = next(c for c in names if names.count(c) > 1)
        msg = f"Column {dup!r} appears twice in the input."
        raise InvalidArgumentError(msg)
    if spec.tensor:
        arr = np.column_stack([table.column(i).to_numpy(zero_copy_only=False)
                               for i in range(table.num_columns)])
        return model.prepare(arr)
    check_columns(spec, names)
    cols = [c for c in (spec.columns or names) if c in names]
    if spec.numeric and all(pa.types.is_integer(table.column(c).type)
                            or pa.types.is_floating(table.column(c).type) for c in cols):
        arr = np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in cols])
        return model.prepare(arr)
    return model.prepare(table.select(cols).to_pandas())


def read_csv(body: bytes) -> Any:
    """CSV bytes (with a header row) -> pyarrow Table."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if not body.strip():
        raise _empty()
    try:
        return pcsv.read_csv(pa.py_buffer(body))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        msg = f"The CSV body cannot be parsed: {exc}."
        raise InvalidArgumentError(msg, hint="send UTF-8 CSV with a header row of column "
                                             "names") from exc


def read_arrow(body: bytes, *, file: bool = False) -> Any:
    """Arrow IPC bytes (stream, or file format) -> pyarrow Table."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    if not body:
        raise _empty()
    try:
        buf = pa.py_buffer(body)
        reader = ipc.open_file(buf) if file else ipc.open_stream(buf)
        return reader.read_all()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        kind = "file" if file else "stream"
        msg = f"The body is not an Arrow IPC {kind}: {exc}."
        hint = (f"send {ARROW_STREAM} (pyarrow.ipc.new_stream) or {ARROW_FILE} "
                "(pyarrow.ipc.new_file)")
        raise InvalidArgumentError(msg, hint=hint) from exc


def decode(body: bytes, content_type: str, spec: InputSpec, model: PyFuncModel) -> Any:
    """A request body of any accepted content type -> validated model input."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in ("", JSON, "application/*", "*/*") or kind.endswith("+json"):
        return from_json(body, spec, model)
    if kind in (CSV, "application/csv"):
        return from_table(read_csv(body), spec, model)
    if kind in (ARROW_STREAM, ARROW_FILE):
        return from_table(read_arrow(body, file=kind == ARROW_FILE), spec, model)
    msg = f"Content type {content_type!r} is not supported."
    raise UnsupportedMediaError(msg, hint=f"send one of: {', '.join(CONTENT_TYPES)}")


class UnsupportedMediaError(InvalidArgumentError):
    code = "unsupported-media-type"


# -- Open Inference Protocol v2 -----------------------------------------------------------
def _v2_array(item: dict[str, Any], index: int) -> tuple[str, Any]:
    import numpy as np

    name = item.get("name")
    shape = item.get("shape")
    datatype = item.get("datatype")
    data = item.get("data")
    where = f"inputs[{index}]" + (f" ({name!r})" if isinstance(name, str) else "")
    if not isinstance(name, str) or not name:
        msg = f"{where} needs a 'name' (a string)."
        raise InvalidArgumentError(msg, hint=_V2_HINT)
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool)
                                              and d >= 0 for d in shape) or not shape:
        msg = f"{where} needs a 'shape': a list of non-negative integers. Got {shape!r}."
        raise InvalidArgumentError(msg, hint=_V2_HINT)
    if datatype not in V2_DTYPES:
        msg = f"{where} has datatype {datatype!r}; expected one of {', '.join(V2_DTYPES)}."
        raise InvalidArgumentError(msg, hint=_V2_HINT)
    if not isinstance(data, list):
        msg = f"{where} needs 'data': a list of values. Got {type(data).__name__}."
        raise InvalidArgumentError(msg, hint=_V2_HINT)
    try:
        raw = np.asarray(data)
    except (ValueError, TypeError) as exc:
        msg = f"{where}: 'data' is ragged or mixed: {exc}."
        raise InvalidArgumentError(msg, hint="send the values flattened, row-major") from exc
    size = math.prod(shape)
    if raw.size != size:
        msg = f"{where} has {raw.size} values; its shape {shape} needs {size}."
        raise InvalidArgumentError(msg, hint="send the values flattened, row-major")
    flat = raw.reshape(-1)
    want = V2_DTYPES[datatype]
    kind = flat.dtype.kind
    ok = (want == "bool" and kind == "b") or (want == "object") or (
        want not in ("bool", "object") and kind in "iuf")
    if not ok and flat.size:
        bad = next((v for v in flat.tolist() if isinstance(v, str | bool | type(None))
                    or (want == "bool" and not isinstance(v, bool))), flat[0])
        msg = f"{where} has value {bad!r}; datatype {datatype} expects {want} values."
        raise SignatureError(msg, column=name, value=bad, expected=want)
    try:
        arr = flat.astype(want).reshape(shape) if want != "object" else flat.reshape(shape)
    except (ValueError, OverflowError) as exc:
        msg = f"{where} cannot be read as {datatype}: {exc}."
        raise SignatureError(msg, column=name, value=None, expected=want) from exc
    return name, arr


_V2_HINT = ('send {"inputs": [{"name": "x", "shape": [rows, cols], "datatype": "FP32", '
            '"data": [...]}]}; see docs/serving.md')
V2_OUTPUTS = ("predict", "predict_proba")


def from_v2(body: bytes, spec: InputSpec, model: PyFuncModel) -> tuple[Any, list[str], Any]:
    """An OIP v2 inference request -> (model input, requested output names, request id)."""
    import numpy as np

    doc = loads(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list) or not doc["inputs"]:
        msg = "An inference request must be an object with a non-empty 'inputs' list."
        raise InvalidArgumentError(msg, hint=_V2_HINT)
    outputs = ["predict"]
    wanted = doc.get("outputs")
    if wanted is not None:
        if not isinstance(wanted, list) or not all(isinstance(o, dict) and isinstance(
                o.get("name"), str) for o in wanted):
            msg = "'outputs' must be a list of objects with a 'name'."
            raise InvalidArgumentError(msg, hint=_V2_HINT)
        outputs = [o["name"] for o in wanted] or ["predict"]
        for name in outputs:
            if name not in V2_OUTPUTS:
                msg = f"Unknown output {name!r}; this server offers {', '.join(V2_OUTPUTS)}."
                raise InvalidArgumentError(msg)
    request_id = doc.get("id")
    items = doc["inputs"]
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            msg = f"inputs[{i}] must be an object with name, shape, datatype and data."
            raise InvalidArgumentError(msg, hint=_V2_HINT)
    arrays = [_v2_array(item, i) for i, item in enumerate(items)]
    if spec.tensor or spec.columns is None or (
            len(arrays) == 1 and arrays[0][0] not in spec.types and arrays[0][1].ndim == 2):
        if len(arrays) != 1:
            msg = f"This model takes one tensor; the request has {len(arrays)} inputs."
            raise InvalidArgumentError(msg, hint=_V2_HINT)
        arr = arrays[0][1]
        if spec.columns is not None and arr.shape[1] != len(spec.columns):
            msg = (f"Input {arrays[0][0]!r} has shape {list(arr.shape)}; the model takes "
                   f"{len(spec.columns)} columns ({_names(spec.columns)}), or one input "
                   "per column.")
            raise SignatureError(msg, value=list(arr.shape),
                                 expected=f"[n, {len(spec.columns)}]")
        return model.prepare(arr), outputs, request_id
    names = [name for name, _ in arrays]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        msg = f"Input {dup!r} appears twice."
        raise InvalidArgumentError(msg)
    check_columns(spec, names)
    columns: dict[str, Any] = {}
    rows = None
    for name, arr in arrays:
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            msg = (f"Input {name!r} has shape {list(arr.shape)}; a column input has shape "
                   "[rows] or [rows, 1].")
            raise SignatureError(msg, column=name, value=list(arr.shape), expected="[rows]")
        if rows is not None and len(arr) != rows:
            msg = f"Input {name!r} has {len(arr)} rows; the other inputs have {rows}."
            raise InvalidArgumentError(msg)
        rows = len(arr)
        columns[name] = arr
    if not rows:
        raise _empty()
    if spec.numeric and all(a.dtype.kind in "iuf" for a in columns.values()):
        assert spec.columns is not None
        return (model.prepare(np.column_stack([columns[c] for c in spec.columns])), outputs,
                request_id)
    import pandas as pd

    return model.prepare(pd.DataFrame(columns)), outputs, request_id


def v2_output(name: str, value: Any) -> dict[str, Any]:
    """One OIP v2 output tensor: name, shape, datatype and flat data."""
    import numpy as np

    arr = np.asarray(value)
    kind = arr.dtype.kind
    if kind in "iuf":
        datatype = {"i": "INT", "u": "UINT", "f": "FP"}[kind] + str(arr.dtype.itemsize * 8)
    else:
        datatype = _V2_OF_KIND.get(kind, "BYTES")
    flat = arr.reshape(-1)
    data = fast_array(flat) if kind in "biuf" else [str(v) for v in flat.tolist()]
    return {"name": name, "shape": list(arr.shape), "datatype": datatype, "data": data}


def rows_of(x: Any) -> int:
    """Number of rows of a prepared model input."""
    shape = getattr(x, "shape", None)
    if shape:
        return int(shape[0])
    return len(x)
