"""Model packages: write a self-describing folder into a run's artifacts, and load it back.

Layout of a package at ``<run>/<name>/``::

    manifest.json            flavor + options, versions, requirements, source run, file hashes
    signature.json           inputs (columns or tensor) and outputs
    input_example.json       up to 100 rows of the example
    reference_profile.json   statistics of the training data (for monitoring)
    requirements.txt         pip requirements pinned to the versions used
    data/...                 the flavor's files

Loading verifies every file's SHA-256 against the manifest and against the hash recorded in
the metadata store when it was uploaded, before anything is deserialized.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard._version import __version__
from shipyard.artifacts import validate_artifact_path
from shipyard.entities._ids import utc_now
from shipyard.errors import (
    ArtifactAlreadyExistsError,
    ArtifactNotFoundError,
    ConfigError,
    InvalidArgumentError,
    ModelIntegrityError,
    UntrustedModelError,
)
from shipyard.models._profile import compute_profile
from shipyard.models._pyfunc import PyFuncModel
from shipyard.models._signature import (
    Signature,
    infer_signature,
    infer_spec,
    signature_from_dict,
    signature_to_dict,
    validate_input,
)
from shipyard.models._uri import ModelUri, parse_model_uri
from shipyard.models.flavors import Adapter, detect_flavor, get_flavor

if TYPE_CHECKING:
    from shipyard.config import Settings
    from shipyard.stores.registry import ModelStore
    from shipyard.tracking import TrackingService

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MAX_EXAMPLE_ROWS = 100
_PIP_NAMES = {"sklearn": "scikit-learn", "skops": "skops", "xgboost": "xgboost",
              "lightgbm": "lightgbm", "torch": "torch", "onnx": "onnx",
              "onnxruntime": "onnxruntime", "numpy": "numpy", "pandas": "pandas",
              "scipy": "scipy", "joblib": "joblib", "cloudpickle": "cloudpickle"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelInfo:
    """What `log_model` stored: where, which flavor, its signature and manifest, and the
    registered version when ``registered_model=`` was given."""

    run_id: str
    artifact_path: str
    flavor: str
    signature: Signature | None
    manifest: dict[str, Any]
    registered_model: str | None = None
    version: int | None = None

    @property
    def uri(self) -> str:
        return f"runs:/{self.run_id}/{self.artifact_path}"

    @property
    def model_uri(self) -> str:
        """``models:/NAME/VERSION`` when registered, else the ``runs:/`` URI."""
        if self.registered_model and self.version:
            return f"models:/{self.registered_model}/{self.version}"
        return self.uri


# -- small helpers ------------------------------------------------------------------------
def _sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _versions(modules: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        version = getattr(module, "__version__", None)
        if version:
            out[_PIP_NAMES.get(name, name)] = str(version)
    return out


def _jsonable(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, float) and v != v:  # NaN
            out.append(None)
        elif hasattr(v, "isoformat"):
            out.append(v.isoformat())
        elif hasattr(v, "item"):
            out.append(v.item())
        else:
            out.append(v)
    return out


def _example_to_json(example: Any) -> dict[str, Any]:
    import numpy as np

    from shipyard.models._signature import _frame_of, _to_numpy

    frame = _frame_of(example)
    if frame is not None:
        frame = frame.head(MAX_EXAMPLE_ROWS)
        return {"type": "dataframe", "columns": [str(c) for c in frame.columns],
                "dtypes": [str(t) for t in frame.dtypes],
                "data": [_jsonable(frame[c].tolist()) for c in frame.columns]}
    arr = np.asarray(_to_numpy(example))[:MAX_EXAMPLE_ROWS]
    data = arr.astype(object).tolist() if arr.dtype.kind != "f" else \
        np.where(np.isnan(arr), None, arr).tolist()  # type: ignore[call-overload]  # NaN -> None
    return {"type": "ndarray", "dtype": str(arr.dtype), "shape": list(arr.shape), "data": data}


def read_example(folder: Path) -> Any:
    """The stored input example as a DataFrame or array (None when there is none)."""
    path = folder / "input_example.json"
    if not path.is_file():
        return None
    import numpy as np

    doc = json.loads(path.read_text())
    if doc["type"] == "ndarray":
        return np.array(doc["data"], dtype=doc["dtype"]).reshape(doc["shape"])
    import pandas as pd

    cols = {}
    for name, dtype, values in zip(doc["columns"], doc["dtypes"], doc["data"], strict=True):
        series = pd.Series(values, name=name)
        if dtype.startswith("datetime64"):
            series = pd.to_datetime(series)
        elif dtype not in ("object", "str", "string"):
            series = series.astype(dtype)
        cols[name] = series
    return pd.DataFrame(cols)


def _requirements(versions: dict[str, str], extra: list[str]) -> list[str]:
    pins = [f"{name}=={version.split('+', 1)[0]}" for name, version in sorted(versions.items())]
    return [*pins, *extra]


# -- the service --------------------------------------------------------------------------
class ModelService:
    """Logs model packages into runs and loads them back from ``models:/``, ``runs:/`` URIs
    or local folders. ``store`` (the registry port) resolves ``models:/`` URIs."""

    def __init__(self, tracking: TrackingService, settings: Settings,
                 store: ModelStore | None = None) -> None:
        self.tracking = tracking
        self.settings = settings
        self.store = store

    # -- trust ------------------------------------------------------------------------
    def store_is_trusted(self) -> bool:
        """Whether pickle-based models from this client's artifact store load without
        ``trust_pickle=True``: the ``trust_pickle`` setting when set, else only the embedded
        store under the home folder (not S3, not another folder, not a server)."""
        if self.settings.trust_pickle is not None:
            return bool(self.settings.trust_pickle)
        return not self.settings.is_remote and self.settings.artifact_uri is None

    # -- logging ----------------------------------------------------------------------
    def log_model(
        self, run_id: str, model: Any, *, name: str = "model", input_example: Any = None,
        signature: Signature | dict[str, Any] | None = None, reference_data: Any = None,
        format: str | None = None, flavor: str | None = None,
        artifacts: dict[str, str | os.PathLike[str]] | None = None,
        extra_requirements: list[str] | None = None,
    ) -> ModelInfo:
        """Package ``model`` into the run's artifacts under ``name``.

        ``signature`` defaults to one inferred from ``input_example`` (outputs from the
        model's prediction on it); ``reference_data`` (default: the example) is profiled
        for monitoring. ``format`` picks a flavor's serialization (``"skops"``, ``"onnx"``,
        ``"pickle"``, ``"export"``). ``artifacts`` (custom models) are copied in."""
        path = validate_artifact_path(name)
        self.tracking.get_run(run_id)
        if self.tracking.list_artifacts(run_id, f"{path}/"):
            msg = f"Run {run_id!r} already has artifacts under {path!r}."
            raise ArtifactAlreadyExistsError(msg, hint="pass another name= for this model")
        source = flavor or detect_flavor(model)
        if isinstance(signature, dict):
            signature = signature_from_dict(signature)
        if signature is None and input_example is not None:
            signature = infer_signature(input_example)
        example = (validate_input(signature, input_example)
                   if signature is not None and input_example is not None else input_example)
        with tempfile.TemporaryDirectory(prefix="shipyard-package-") as tmp:
            folder = Path(tmp)
            (folder / "data").mkdir()
            saved_flavor, options, native = self._save(model, source, folder / "data",
                                                       format, example, artifacts)
            if saved_flavor == "pyfunc":  # a loaded copy: load_context has run on it
                native = get_flavor("pyfunc").load(folder, options, trusted=True)
            signature = self._with_outputs(signature, saved_flavor, options, native, example)
            files = self._write_sidecars(folder, signature, input_example, reference_data)
            module = get_flavor(saved_flavor)
            versions = _versions(tuple(dict.fromkeys(
                (*get_flavor(source).MODULES, *module.MODULES))))
            if options.get("format") == "skops":
                versions.update(_versions(("skops",)))
            requirements = _requirements(versions, list(extra_requirements or []))
            (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
            run = self.tracking.get_run(run_id)
            manifest: dict[str, Any] = {
                "format_version": FORMAT_VERSION, "flavor": saved_flavor,
                "source_flavor": source, "flavor_options": options,
                "created_at": utc_now().isoformat(), "python_version": platform.python_version(),
                "shipyard_version": __version__, "library_versions": versions,
                "requirements": requirements,
                "source_run": {"run_id": run_id, "experiment_id": run.experiment_id,
                               "artifact_path": path},
                "pickle_based": bool(options.get("pickle")),
                "has_predict_proba": get_flavor(saved_flavor).adapter(
                    native, options).predict_proba is not None,
                "files": {},
            }
            for file in sorted(p for p in folder.rglob("*") if p.is_file()):
                digest, size = _sha256_file(file)
                manifest["files"][file.relative_to(folder).as_posix()] = {
                    "sha256": digest, "size": size}
            del files
            (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
            self.tracking.log_artifacts(run_id, folder, artifact_path=path)
        return ModelInfo(run_id=run_id, artifact_path=path, flavor=saved_flavor,
                         signature=signature, manifest=manifest)

    def _save(self, model: Any, source: str, folder: Path, fmt: str | None, example: Any,
              artifacts: dict[str, Any] | None) -> tuple[str, dict[str, Any], Any]:
        """Save with the flavor (or convert to ONNX); returns (flavor, options, native)."""
        if fmt == "onnx" and source != "onnx":
            onnx_flavor = get_flavor("onnx")
            proto = onnx_flavor.convert(model, source, example)
            options = onnx_flavor.save(proto, folder, format="onnx", example=example,
                                       converted_from=source)
            return "onnx", _prefixed(options), proto
        module = get_flavor(source)
        if fmt is not None and fmt not in module.FORMATS:
            formats = ", ".join([*module.FORMATS, "onnx"] if source in (
                "sklearn", "xgboost", "lightgbm") else module.FORMATS)
            msg = f"The {source} flavor has no format {fmt!r}; choose one of: {formats}."
            raise InvalidArgumentError(msg)
        if source == "pyfunc":
            options = module.save(model, folder, format=fmt, example=example,
                                  artifacts={k: str(v) for k, v in (artifacts or {}).items()})
        else:
            options = module.save(model, folder, format=fmt, example=example)
        return source, _prefixed(options), model

    @staticmethod
    def _with_outputs(signature: Signature | None, flavor: str, options: dict[str, Any],
                      native: Any, example: Any) -> Signature | None:
        if signature is None or signature.outputs is not None or example is None:
            return signature
        adapter = get_flavor(flavor).adapter(native, options)
        x = example
        if adapter.wants == "array" and hasattr(x, "to_numpy"):
            x = x.to_numpy()
        try:
            out = adapter.predict(x)
            return Signature(inputs=signature.inputs, outputs=infer_spec(out))
        except (ValueError, TypeError, InvalidArgumentError):
            return signature  # outputs stay unknown; inputs are what validation needs

    @staticmethod
    def _write_sidecars(folder: Path, signature: Signature | None, input_example: Any,
                        reference_data: Any) -> list[str]:
        written = []
        if signature is not None:
            (folder / "signature.json").write_text(
                json.dumps(signature_to_dict(signature), indent=2))
            written.append("signature.json")
        if input_example is not None:
            (folder / "input_example.json").write_text(
                json.dumps(_example_to_json(input_example)))
            written.append("input_example.json")
        data = reference_data if reference_data is not None else input_example
        if data is not None:
            profile = compute_profile(data)
            profile["source"] = "reference_data" if reference_data is not None else \
                "input_example"
            (folder / "reference_profile.json").write_text(json.dumps(profile))
            written.append("reference_profile.json")
        return written

    # -- loading ----------------------------------------------------------------------
    def resolve(self, uri: str | ModelUri) -> ModelUri:
        """A ``runs:``- or ``path``-kind URI for any model URI (``models:/`` through the
        registry)."""
        parsed = parse_model_uri(uri) if isinstance(uri, str) else uri
        if parsed.kind != "registry":
            return parsed
        if self.store is None:
            msg = "This client's metadata backend has no model registry; models:/ URIs need one."
            raise ConfigError(msg, hint="use a runs:/ URI, or a SQLite/PostgreSQL metadata store")
        assert parsed.name is not None
        if parsed.alias is not None:
            version = self.store.get_alias(parsed.name, parsed.alias).version
        elif parsed.latest:
            latest = self.store.get_registered_model(parsed.name).latest_version
            if latest is None:
                from shipyard.errors import ModelVersionNotFoundError

                msg = f"Model {parsed.name!r} has no versions yet."
                raise ModelVersionNotFoundError(msg)
            version = latest
        else:
            assert parsed.version is not None
            version = parsed.version
        mv = self.store.get_model_version(parsed.name, version)
        if mv.status != "ready":
            from shipyard.errors import ModelVersionNotFoundError

            msg = f"Version {version} of model {parsed.name!r} is deleted."
            raise ModelVersionNotFoundError(msg)
        if mv.run_id is None:
            msg = f"Version {version} of model {parsed.name!r} does not point at a run."
            raise ArtifactNotFoundError(msg)
        return ModelUri(kind="run", run_id=mv.run_id, path=mv.artifact_path)

    def read_manifest(self, run_id: str, path: str) -> dict[str, Any]:
        """The package manifest, checked against the hash recorded at upload."""
        records = {a.path: a for a in self.tracking.list_artifacts(run_id, f"{path}/")}
        rec = records.get(f"{path}/{MANIFEST}")
        if rec is None:
            msg = f"Run {run_id!r} has no model package at {path!r} (no {MANIFEST})."
            raise ArtifactNotFoundError(msg, hint=f"see `shipyard runs show {run_id}`")
        data = self.tracking.read_artifact(run_id, rec.path)
        if hashlib.sha256(data).hexdigest() != rec.sha256:
            msg = f"{rec.path!r} of run {run_id!r} does not match the hash recorded at upload."
            raise ModelIntegrityError(msg)
        return json.loads(data)  # type: ignore[no-any-return]

    def download(self, run_id: str, path: str, dest: Path,
                 manifest: dict[str, Any] | None = None) -> dict[str, Any]:
        """Copy a package into ``dest``, verifying every file on the way; returns the
        manifest."""
        manifest = manifest or self.read_manifest(run_id, path)
        records = {a.path: a for a in self.tracking.list_artifacts(run_id, f"{path}/")}
        for rel, meta in manifest["files"].items():
            clean = validate_artifact_path(rel)
            rec = records.get(f"{path}/{clean}")
            if rec is None:
                msg = f"The package at {path!r} lists {clean!r}, which the run does not have."
                raise ModelIntegrityError(msg)
            if rec.sha256 != meta["sha256"]:
                msg = f"{clean!r}: the manifest's hash differs from the one recorded at upload."
                raise ModelIntegrityError(msg)
            target = dest / clean
            target.parent.mkdir(parents=True, exist_ok=True)
            h = hashlib.sha256()
            with self.tracking.open_artifact(run_id, rec.path) as src, target.open("wb") as out:
                while chunk := src.read(1 << 20):
                    h.update(chunk)
                    out.write(chunk)
            if h.hexdigest() != rec.sha256:
                msg = f"{clean!r} of the package at {path!r} was changed after it was logged."
                raise ModelIntegrityError(msg)
        (dest / MANIFEST).write_text(json.dumps(manifest))
        return manifest

    def load_model(self, uri: str, *, trust_pickle: bool | None = None,
                   lazy: bool = False) -> PyFuncModel:
        """Load a package as a `PyFuncModel` (``.native`` is the flavor's own object).

        Pickle-based packages need ``trust_pickle=True`` unless `store_is_trusted`.
        ``lazy``: for a package with compiled arrays (``flavor_options["compiled"]``), leave
        the native object on disk until something needs it (the model server predicts from
        the arrays; the trust check still happens now)."""
        where = self.resolve(uri)
        if where.kind == "path":
            assert where.path is not None
            folder = Path(where.path)
            manifest = _verify_folder(folder)
            trusted = trust_pickle if trust_pickle is not None else bool(
                self.settings.trust_pickle)
            _check_trust(manifest, trusted, uri)
            return _open(folder, manifest, uri=uri, trusted=trusted, owns_folder=False,
                         lazy=lazy)
        assert where.run_id is not None
        assert where.path is not None
        manifest = self.read_manifest(where.run_id, where.path)
        trusted = trust_pickle if trust_pickle is not None else self.store_is_trusted()
        _check_trust(manifest, trusted, uri)
        folder = Path(tempfile.mkdtemp(prefix="shipyard-model-"))
        try:
            self.download(where.run_id, where.path, folder, manifest)
            return _open(folder, manifest, uri=uri, trusted=trusted, owns_folder=True,
                         lazy=lazy)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise


def _prefixed(options: dict[str, Any]) -> dict[str, Any]:
    """Flavor files live under ``data/`` in the package."""
    out = {**options, "file": f"data/{options['file']}"} if "file" in options else dict(options)
    if "artifacts" in out:
        out["artifacts"] = {k: f"data/{v}" for k, v in out["artifacts"].items()}
    if "compiled" in out:
        out["compiled"] = {**out["compiled"], "file": f"data/{out['compiled']['file']}"}
    return out


def _check_trust(manifest: dict[str, Any], trusted: bool, uri: str) -> None:
    if manifest.get("pickle_based") and not trusted:
        fmt = manifest["flavor_options"].get("format")
        msg = (f"Model {uri!r} is stored as {fmt!r} ({manifest['flavor']} flavor), which runs "
               "code when loaded, and it comes from a store this client does not trust.")
        raise UntrustedModelError(msg)


def _verify_folder(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        msg = f"{str(folder)!r} is not a model package (no {MANIFEST})."
        raise ArtifactNotFoundError(msg)
    manifest: dict[str, Any] = json.loads(path.read_text())
    for rel, meta in manifest["files"].items():
        file = folder / validate_artifact_path(rel)
        if not file.is_file() or _sha256_file(file)[0] != meta["sha256"]:
            msg = f"{rel!r} in {str(folder)!r} is missing or differs from the manifest's hash."
            raise ModelIntegrityError(msg)
    return manifest


def _open(folder: Path, manifest: dict[str, Any], *, uri: str, trusted: bool,
          owns_folder: bool, lazy: bool = False) -> PyFuncModel:
    options = dict(manifest["flavor_options"])
    sig_path = folder / "signature.json"
    signature = signature_from_dict(json.loads(sig_path.read_text())) if sig_path.is_file() \
        else None

    def adapter() -> Adapter:
        module = get_flavor(manifest["flavor"])
        return module.adapter(module.load(folder, options, trusted=trusted), options)

    return PyFuncModel(adapter=adapter if lazy and options.get("compiled") else adapter(),
                       signature=signature, manifest=manifest, folder=folder, uri=uri,
                       owns_folder=owns_folder)
