"""Batch scoring (``shipyard predict``): stream a large input through a model in chunks.

The input (a Parquet, CSV or Arrow file, a folder of them, or an ``s3://`` prefix) is read
file after file, sequentially, in chunks of ``chunk_rows`` rows, so memory stays bounded by a
few chunks whatever the input size (pyarrow's dataset scanner reads ahead in parallel, and
its RSS grew past 3x a 384 MB file, so it is not used). Chunks are scored in a pool of
``workers`` processes (each loads the model once, from a local copy of the package; the
parent never imports the model's library), and written in input order to the output (Parquet,
CSV or Arrow, local or S3) with the input's non-feature columns (ids) and the row number.

Every row is validated against the signature. A row that does not match (a value that is not
of its column's type, a missing value where the type has none) or that the model itself
refuses is written to the *rejects* file with its reason, instead of failing the job. A column
of the signature that the input lacks altogether fails the job at once (nothing would score).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import InvalidArgumentError, ShipyardError, SignatureError
from shipyard.serving._codec import InputSpec

if TYPE_CHECKING:
    from shipyard.config import Settings
    from shipyard.models import ModelService, PyFuncModel, Signature

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".arrow": "ipc",
            ".feather": "ipc", ".ipc": "ipc"}
Progress = Callable[[int, int | None], None]
"""Called with (rows done, total rows or None when unknown) after every chunk."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreResult:
    """What a batch scoring job did."""

    rows: int
    scored: int
    rejected: int
    chunks: int
    seconds: float
    output: str
    rejects: str | None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# -- files ----------------------------------------------------------------------------------
def _filesystem(path: str, settings: Settings | None) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    if path.startswith("s3://"):
        opts: dict[str, Any] = {"region": settings.s3_region if settings else "us-east-1"}
        endpoint = settings.s3_endpoint_url if settings else None
        if endpoint:
            scheme, _, rest = endpoint.partition("://")
            opts.update(endpoint_override=rest or scheme, scheme=scheme if rest else "https")
        return pafs.S3FileSystem(**opts), path.removeprefix("s3://")
    return pafs.LocalFileSystem(), str(Path(path).expanduser().absolute())


def _format_of(path: str, default: str | None = None) -> str:
    suffix = Path(path.rstrip("/")).suffix.lower()
    fmt = _FORMATS.get(suffix, default)
    if fmt is None:
        msg = (f"Cannot tell the format of {path!r} from its extension; use one of "
               f"{', '.join(sorted(_FORMATS))}.")
        raise InvalidArgumentError(msg, hint="or pass --format parquet|csv|ipc")
    return fmt


class InputFiles:
    """The files of an input (one file, a folder of one format, or an S3 prefix), read one
    after the other in record batches: sequential and single-threaded, so at most one
    Parquet row group (or CSV block) is in memory besides the chunk being built."""

    def __init__(self, path: str, settings: Settings | None = None,
                 fmt: str | None = None) -> None:
        import pyarrow.fs as pafs

        self.path = path
        self.fs, where = _filesystem(path, settings)
        info = self.fs.get_file_info(where)
        if info.type == pafs.FileType.NotFound:
            msg = f"The input {path!r} does not exist."
            raise InvalidArgumentError(msg, hint="pass a Parquet/CSV/Arrow file or a folder "
                                                 "of them")
        if info.type == pafs.FileType.Directory:
            found = [f for f in self.fs.get_file_info(pafs.FileSelector(where, recursive=True))
                     if f.is_file and not Path(f.path).name.startswith(("_", "."))]
            kinds = {_FORMATS.get(Path(f.path).suffix.lower()) for f in found} - {None}
            if fmt is None and len(kinds) != 1:
                msg = (f"The folder {path!r} holds {len(kinds) or 'no'} kinds of data files; "
                       "it needs files of one format (.parquet, .csv or .arrow).")
                raise InvalidArgumentError(msg, hint="pass --format, or one file")
            fmt = fmt or kinds.pop()
            self.files = sorted(f.path for f in found
                                if _FORMATS.get(Path(f.path).suffix.lower(), fmt) == fmt)
        else:
            fmt = fmt or _format_of(path)
            self.files = [where]
        if not self.files:
            msg = f"The folder {path!r} holds no data files."
            raise InvalidArgumentError(msg)
        self.format = fmt

    def _open(self, file: str) -> Any:
        return self.fs.open_input_file(file)

    @property
    def names(self) -> list[str]:
        """Column names of the first file."""
        import pyarrow as pa
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        first = self.files[0]
        try:
            if self.format == "parquet":
                return list(pq.read_schema(self._open(first)).names)
            if self.format == "csv":
                with self.fs.open_input_stream(first) as stream:
                    return list(pcsv.open_csv(stream).schema.names)
            with self._open(first) as fh:
                return list(_ipc_open(fh)[0].names)
        except (pa.ArrowInvalid, OSError) as exc:
            msg = f"Cannot read {first!r} as {self.format}: {exc}"
            raise InvalidArgumentError(msg) from exc

    def count_rows(self) -> int | None:
        """Total rows when cheap to know (Parquet footers), else None."""
        if self.format != "parquet":
            return None
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(self._open(f)).metadata.num_rows for f in self.files)

    def batches(self, chunk_rows: int, text_columns: list[str]) -> Iterator[Any]:
        """Tables of ``chunk_rows`` rows (the last one shorter), in file order. CSV columns
        in ``text_columns`` are read as text, so one bad value cannot fail the whole read
        (the chunk's validation rejects that row instead)."""
        import pyarrow as pa

        pending: list[Any] = []
        rows = 0
        for batch in self._raw(chunk_rows, text_columns):
            pending.append(batch)
            rows += batch.num_rows
            while rows >= chunk_rows:
                table = pa.Table.from_batches(pending)
                yield table.slice(0, chunk_rows).combine_chunks()
                rest = table.slice(chunk_rows)
                pending, rows = rest.to_batches(), rest.num_rows
        if rows:
            yield pa.Table.from_batches(pending).combine_chunks()

    def _raw(self, chunk_rows: int, text_columns: list[str]) -> Iterator[Any]:
        import pyarrow as pa
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        schema = None
        for file in self.files:
            try:
                if self.format == "parquet":
                    reader = pq.ParquetFile(self._open(file), pre_buffer=False)
                    yield from reader.iter_batches(batch_size=chunk_rows, use_threads=False)
                elif self.format == "csv":
                    convert = pcsv.ConvertOptions(
                        column_types=dict.fromkeys(text_columns, pa.string()),
                        strings_can_be_null=True)
                    with self.fs.open_input_stream(file) as stream:
                        for batch in pcsv.open_csv(stream, convert_options=convert,
                                                   read_options=pcsv.ReadOptions(
                                                       block_size=4 << 20)):
                            if schema is None:
                                schema = batch.schema
                            yield batch if batch.schema == schema else _conform(
                                pa.Table.from_batches([batch]), schema).to_batches()[0]
                else:
                    with self._open(file) as fh:
                        yield from _ipc_open(fh)[1]
            except (pa.ArrowInvalid, OSError) as exc:
                msg = f"Cannot read {file!r} as {self.format}: {exc}"
                raise InvalidArgumentError(msg) from exc


def _ipc_open(fh: Any) -> tuple[Any, Iterator[Any]]:
    """(schema, batches) of an Arrow IPC file, or of a stream."""
    import pyarrow as pa

    try:
        reader = pa.ipc.open_file(fh)
        return reader.schema, (reader.get_batch(i) for i in range(reader.num_record_batches))
    except pa.ArrowInvalid:
        fh.seek(0)
        stream = pa.ipc.open_stream(fh)
        return stream.schema, iter(stream)


class _Writer:
    """Streams tables of one schema to a Parquet, CSV or Arrow file (local or S3)."""

    def __init__(self, path: str, settings: Settings | None) -> None:
        self.path = path
        self.format = _format_of(path)
        self.fs, self.where = _filesystem(path, settings)
        self._writer: Any = None
        self._stream: Any = None
        self._schema: Any = None
        self.rows = 0

    def write(self, table: Any) -> None:
        import pyarrow as pa

        if self._writer is None:
            parent = self.where.rsplit("/", 1)[0]
            if parent and not self.path.startswith("s3://"):
                self.fs.create_dir(parent, recursive=True)
            self._schema = table.schema
            self._stream = self.fs.open_output_stream(self.where)
            if self.format == "parquet":
                import pyarrow.parquet as pq

                self._writer = pq.ParquetWriter(self._stream, self._schema,
                                                compression="zstd")
            elif self.format == "csv":
                import pyarrow.csv as pcsv

                self._writer = pcsv.CSVWriter(self._stream, self._schema)
            else:
                self._writer = pa.ipc.new_file(self._stream, self._schema)
        if table.schema != self._schema:
            table = _conform(table, self._schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._stream.close()


def _conform(table: Any, schema: Any) -> Any:
    import pyarrow as pa

    cols = []
    for field in schema:
        if field.name in table.column_names:
            col = table.column(field.name)
            cols.append(col if col.type == field.type else col.cast(field.type, safe=False))
        else:
            cols.append(pa.nulls(table.num_rows, field.type))
    return pa.table(cols, schema=schema)


# -- scoring one chunk ------------------------------------------------------------------
def _problems(frame: Any, spec: InputSpec) -> tuple[Any, Any]:
    """Per row, the first reason it does not match the signature (None when it does), and
    the frame with text columns that hold numbers read as numbers (CSV has no types)."""
    import numpy as np
    import pandas as pd

    reasons = np.full(len(frame), None, dtype=object)
    fixed = frame.copy()
    for name in spec.columns or ():
        want = spec.types[name]
        col = frame[name]
        present = col.notna().to_numpy()
        if want in ("string",):
            bad = present & ~col.map(lambda v: isinstance(v, str)).to_numpy(bool)
        elif want == "bool":
            bad = present & ~col.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(bool)
        elif want == "datetime":
            conv = pd.to_datetime(col, errors="coerce", format="mixed")
            bad = present & conv.isna().to_numpy()
        else:
            num = pd.to_numeric(col.map(lambda v: None if isinstance(v, bool | str) and not (
                isinstance(v, str) and _is_number(v)) else v), errors="coerce")
            values = num.to_numpy(dtype="float64", na_value=np.nan)
            bad = present & np.isnan(values)
            if not pd.api.types.is_numeric_dtype(col.dtype):
                fixed[name] = num
            if want.startswith(("int", "uint")):
                info = np.iinfo(np.dtype(want))
                with np.errstate(invalid="ignore"):
                    bad |= ~present | (np.isfinite(values) & ((values != np.round(values))
                                                              | (values < info.min)
                                                              | (values > info.max)))
        for i in np.flatnonzero(bad & (reasons == None)):  # noqa: E711 - elementwise
            value = col.iloc[i]
            reasons[i] = (f"column {name!r} has value {value!r}; the signature expects "
                          f"{want}")
    return reasons, fixed


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _predict_isolating(model: PyFuncModel, x: Any, predictor: Any,
                       want_proba: bool) -> tuple[Any, Any, dict[int, str]]:
    """Predict; when the model raises, bisect to reject only the rows it refuses."""
    import numpy as np

    try:
        pred, proba = predictor.both(x, predict=True, proba=want_proba)
        return np.asarray(pred), proba, {}
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError) as exc:
        n = len(x)
        if n == 1:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return None, None, {0: f"the model refused this row: {text[:300]}"}
    half = n // 2
    parts = (x[:half], x[half:]) if not hasattr(x, "iloc") else (
        x.iloc[:half].reset_index(drop=True), x.iloc[half:].reset_index(drop=True))
    p1, q1, r1 = _predict_isolating(model, parts[0], predictor, want_proba)
    p2, q2, r2 = _predict_isolating(model, parts[1], predictor, want_proba)
    rejected = {**r1, **{k + half: v for k, v in r2.items()}}
    preds = [p for p in (p1, p2) if p is not None]
    probas = [q for q in (q1, q2) if q is not None]
    pred = np.concatenate(preds) if preds else np.empty(0)
    proba = np.concatenate(probas) if probas and want_proba else None
    return pred, proba, rejected


def score_chunk(model: PyFuncModel, predictor: Any, batch: Any, start: int,
                passthrough: list[str], keep_inputs: bool) -> tuple[Any, Any]:
    """One record batch -> (scored table, rejects table or None)."""
    import numpy as np
    import pyarrow as pa

    spec = InputSpec.of(model)
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    n = table.num_rows
    rows = np.arange(start, start + n, dtype=np.int64)
    cols = list(spec.columns or table.column_names)
    reasons = np.full(n, None, dtype=object)
    x = None
    if spec.numeric:
        table = _numbers_from_text(table, cols)
    if spec.numeric and all(pa.types.is_integer(table.column(c).type) or pa.types.is_floating(
            table.column(c).type) for c in cols):
        arr = np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in cols])
        try:
            x = predictor.prepare(arr)
        except SignatureError:
            x = None
    frame = None
    if x is None:
        frame = table.select(cols).to_pandas()
        try:
            x = model.prepare(frame)
        except SignatureError:
            reasons, frame = _problems(frame, spec)
            good = np.flatnonzero(reasons == None)  # noqa: E711 - elementwise
            x = None
            if len(good):
                sub = frame.iloc[good].reset_index(drop=True)
                try:
                    x = model.prepare(sub)
                except SignatureError as exc:  # a case _problems missed: reject row by row
                    for i in good:
                        try:
                            model.prepare(frame.iloc[[i]])
                        except SignatureError as row_exc:
                            reasons[i] = row_exc.message
                    del exc
                    good = np.flatnonzero(reasons == None)  # noqa: E711
                    x = model.prepare(frame.iloc[good].reset_index(drop=True)) if len(
                        good) else None
    good = np.flatnonzero(reasons == None)  # noqa: E711 - elementwise
    pred = proba = None
    if x is not None and len(good):
        pred, proba, refused = _predict_isolating(model, x, predictor, predictor.has_proba)
        if refused:
            for k, why in refused.items():
                reasons[good[k]] = why
            good = np.flatnonzero(reasons == None)  # noqa: E711
    out: dict[str, Any] = {"row": pa.array(rows[good])}
    keep = np.asarray(good)
    for name in passthrough:
        out[name] = table.column(name).take(pa.array(keep))
    if keep_inputs:
        for name in cols:
            out[name] = table.column(name).take(pa.array(keep))
    if pred is not None:
        out["prediction"] = _arrow_values(pred)
        if proba is not None:
            classes = predictor.classes or list(range(np.asarray(proba).shape[1]))
            for j, cls in enumerate(classes):
                out[f"proba_{cls}"] = pa.array(np.asarray(proba)[:, j])
    else:
        out["prediction"] = pa.nulls(0)
    scored = pa.table(out)
    bad = np.flatnonzero(reasons != None)  # noqa: E711 - elementwise
    rejects = None
    if len(bad):
        rej: dict[str, Any] = {"row": pa.array(rows[bad])}
        picked = table.take(pa.array(bad))
        for name in table.column_names:
            rej[name] = pa.array([None if v is None else str(v)
                                  for v in picked.column(name).to_pylist()], pa.string())
        rej["reason"] = pa.array([str(r) for r in reasons[bad]], pa.string())
        rejects = pa.table(rej)
    return scored, rejects


def _numbers_from_text(table: Any, cols: list[str]) -> Any:
    """Text columns (CSV read as text) cast to float64 when every value parses; a chunk with
    a bad value is left as is (row-level validation then names it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name in cols:
        col = table.column(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            try:
                cast = pc.cast(col, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return table
            table = table.set_column(table.column_names.index(name), name, cast)
    return table


def _arrow_values(values: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    arr = np.asarray(values)
    if arr.ndim > 1:
        return pa.array([row.tolist() for row in arr.reshape(len(arr), -1)])
    try:
        return pa.array(arr)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([str(v) for v in arr.tolist()], pa.string())


# -- worker processes ---------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _worker_init(folder: str, trusted: bool, settings: Settings) -> None:
    """Load the package once per worker; an error is kept and raised by every chunk (an
    initializer that raises would only break the pool, losing the reason)."""
    from shipyard.models import ModelService

    try:
        # a verified local copy: loading it checks hashes and trust (never the tracking store)
        model = ModelService(None, settings).load_model(  # type: ignore[arg-type]
            folder, trust_pickle=trusted, lazy=True)  # compiled arrays: no unpickling
        _WORKER["model"] = model
        _WORKER["predictor"] = _predictor(model)
    except Exception as exc:
        _WORKER["error"] = exc


def _predictor(model: PyFuncModel) -> Any:
    from shipyard.serving._fast import Predictor
    from shipyard.serving._host import _example

    predictor = Predictor(model)
    with contextlib.suppress(ShipyardError):
        predictor.try_fast_path(_example(model))
    return predictor


def _worker_score(batch: Any, start: int, passthrough: list[str],
                  keep_inputs: bool) -> tuple[Any, Any]:
    if "error" in _WORKER:
        raise _WORKER["error"]
    return score_chunk(_WORKER["model"], _WORKER["predictor"], batch, start, passthrough,
                       keep_inputs)


# -- the job --------------------------------------------------------------------------------
def rejects_path(output: str) -> str:
    """``out/scores.parquet`` -> ``out/scores.rejects.parquet``."""
    base, dot, ext = output.rpartition(".")
    return f"{base}.rejects.{ext}" if dot and "/" not in ext else f"{output}.rejects.parquet"


class BatchScorer:
    """Scores files with a model from the registry (see the module docstring)."""

    def __init__(self, models: ModelService, settings: Settings) -> None:
        self.models = models
        self.settings = settings

    def score(self, uri: str, *, input: str, output: str, rejects: str | None = None,
              chunk_rows: int | None = None, workers: int | None = None,
              input_format: str | None = None, keep_inputs: bool = False,
              progress: Progress | None = None) -> ScoreResult:
        """Score ``input`` into ``output``; rows that fail go to ``rejects`` (default
        ``<output>.rejects.<ext>``). Raises `SignatureError` when a signature column is
        missing from the input altogether."""
        chunk_rows = chunk_rows or self.settings.predict_chunk_rows
        workers = workers or self.settings.predict_workers
        if chunk_rows < 1 or workers < 1:
            msg = f"chunk_rows and workers must be >= 1. Got {chunk_rows!r}, {workers!r}."
            raise InvalidArgumentError(msg)
        rejects = rejects or rejects_path(output)
        _format_of(output)
        _format_of(rejects)
        started = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix="shipyard-predict-"))
        try:
            if workers == 1:
                model: Any = self.models.load_model(uri, lazy=True)
                spec = InputSpec.of(model)
            else:  # the workers load it; this process never imports the model's library
                model = self._package(uri, tmp)
                spec = InputSpec.of_signature(model[2])
            return self._score(model, spec, input=input, output=output, rejects=rejects,
                               chunk_rows=chunk_rows, workers=workers,
                               input_format=input_format, keep_inputs=keep_inputs,
                               progress=progress, started=started)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _package(self, uri: str, tmp: Path) -> tuple[str, bool, Signature | None]:
        """A verified local copy of the package: (folder, trusted, signature)."""
        from shipyard.models import signature_from_dict

        where = self.models.resolve(uri)
        if where.kind == "path":
            assert where.path is not None
            folder, trusted = Path(where.path), bool(self.settings.trust_pickle)
        else:
            assert where.run_id is not None
            assert where.path is not None
            manifest = self.models.read_manifest(where.run_id, where.path)
            self.models.download(where.run_id, where.path, tmp, manifest)
            folder, trusted = tmp, self.models.store_is_trusted()
        sig = folder / "signature.json"
        signature = signature_from_dict(json.loads(sig.read_text())) if sig.is_file() else None
        return str(folder), trusted, signature

    def _score(self, model: Any, spec: InputSpec, *, input: str, output: str, rejects: str,
               chunk_rows: int, workers: int, input_format: str | None, keep_inputs: bool,
               progress: Progress | None, started: float) -> ScoreResult:
        files = InputFiles(input, self.settings, input_format)
        names = files.names
        if spec.columns is not None:
            missing = [c for c in spec.columns if c in spec.required and c not in names]
            if missing:
                msg = (f"The input {input!r} has no column {missing[0]!r}, which the model's "
                       f"signature needs (missing: {', '.join(missing[:8])}).")
                raise SignatureError(msg, column=missing[0], value=None,
                                     expected=spec.types[missing[0]])
        passthrough = [n for n in names if spec.columns is not None and n not in spec.types]
        total = files.count_rows()
        text = [c for c in (spec.columns or ()) if c in names]
        out = _Writer(output, self.settings)
        rej = _Writer(rejects, self.settings)
        done = scored = rejected = chunks = 0
        import pyarrow as pa

        pool = pa.default_memory_pool()
        try:
            for table, bad in self._chunks(model, files.batches(chunk_rows, text), workers,
                                           passthrough, keep_inputs):
                chunks += 1
                done += table.num_rows + (bad.num_rows if bad is not None else 0)
                scored += table.num_rows
                if table.num_rows:
                    out.write(table)
                if bad is not None:
                    rejected += bad.num_rows
                    rej.write(bad)
                if progress is not None:
                    progress(done, total)
                pool.release_unused()  # hand the written chunk's buffers back at once
            if out.rows == 0:
                import pyarrow as pa

                out.write(pa.table({"row": pa.array([], pa.int64())}))
        finally:
            out.close()
            rej.close()
        return ScoreResult(rows=done, scored=scored, rejected=rejected, chunks=chunks,
                           seconds=time.perf_counter() - started, output=output,
                           rejects=rejects if rejected else None)

    def _chunks(self, model: Any, batches: Iterator[Any], workers: int,
                passthrough: list[str], keep_inputs: bool) -> Iterator[tuple[Any, Any]]:
        """Scored chunks in input order; ``model`` is the loaded model (one worker) or the
        (folder, trusted, signature) of its package, which each worker process loads."""
        if workers == 1:
            predictor = _predictor(model)
            start = 0
            for batch in batches:
                if batch.num_rows:
                    yield score_chunk(model, predictor, batch, start, passthrough, keep_inputs)
                    start += batch.num_rows
            return
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        pending: deque[Future[tuple[Any, Any]]] = deque()
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                                 initargs=(model[0], model[1], self.settings)) as pool:
            start = 0
            for batch in batches:
                if not batch.num_rows:
                    continue
                pending.append(pool.submit(_worker_score, batch, start, passthrough,
                                           keep_inputs))
                start += batch.num_rows
                while len(pending) > workers:  # at most workers + 1 chunks in flight
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
