"""Model serving benchmark: Shipyard, ``mlflow models serve`` and BentoML on the same models
and the same load, in one run, with ``wrk`` as the load generator.

    .venv/bin/python bench/serving.py                     # the full grid (~25 min on 2 cores)
    .venv/bin/python bench/serving.py --quick             # 3 s per case, a smoke run
    .venv/bin/python bench/serving.py --only shipyard     # one tool
    .venv/bin/python bench/serving.py --json out.json     # also every figure as JSON
    .venv/bin/python bench/serving.py --batch-rows 10000000   # also batch scoring (1.6 GB)

Models: a scikit-learn LogisticRegression and a RandomForestClassifier (100 trees, depth 10),
trained on the same 20-float-feature DataFrame (seeded, so every tool's copy is identical)
in each tool's own environment. Each tool serves the model the way its documentation shows:
Shipyard ``shipyard serve models:/NAME@champion`` (the registry, pickle flavor), MLflow
``mlflow models serve -m <saved model> --env-manager local`` (a saved sklearn model with its
signature, cloudpickle format: MLflow 3's default skops format refuses tree models unless
their types are listed as trusted), BentoML ``bentoml serve`` of a service with a batchable
``predict`` API (``max_batch_size`` 1000, ``max_latency_ms`` 200: with 10 BentoML answered
most requests at concurrency 32 with 503 "process is overloaded" on this 2-core machine).
MLflow and BentoML are installed on first use into their own virtual environments
(``.bench/mlflow-venv``, ``.bench/bentoml-venv``); an existing one is reused.

``shipyard-onnx`` is Shipyard serving the same two models logged with ``format="onnx"``
(converted by skl2onnx at logging time, run by ONNX Runtime: no scikit-learn in the server).

Grid: 2 models x {1 row, 100 rows per request} x {concurrency 1, 32} x {1, 2 workers}.
Per case: requests/s (wrk's figure, which counts error answers too, and "ok req/s", the
successful ones), rows/s, p50 and p99 latency (wrk --latency), errors (non-2xx responses
and socket errors), CPU per request (CPU seconds of the server's process tree over the case,
divided by the requests it answered), the 1-minute load average after the case; per server:
start-up time from launch to the first answered prediction, and memory after the load: the
process tree's RSS (every process's resident pages added up) and PSS (pages shared between
processes, such as the libraries every worker maps, counted once). Then each
tool gets the same bad inputs and the status codes it answered are printed.

Shipyard's own modules are compiled to bytecode first (``compileall``), as installing the
package does; MLflow and BentoML come compiled from pip.

Request bodies carry the same values: Shipyard ``{"columns": [...], "data": [[...]]}``,
MLflow ``{"dataframe_split": {...}}`` (the same object), BentoML ``{"input": [[...]]}``
(BentoML's service takes a bare array: it checks no column names, a lighter job).
The load generator runs on the same machine as the servers, with one thread (its CPU is
taken from the same 2 cores the servers use); the load average is printed with each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / ".bench"
SHIPYARD_PY = ROOT / ".venv" / "bin" / "python"
MLFLOW_VENV = VENVS / "mlflow-venv"
BENTO_VENV = VENVS / "bentoml-venv"
FEATURES = [f"f{i}" for i in range(20)]
MODELS = ("lr", "rf")
TARGETS = {"rps_single": 2000.0, "p99_single_ms": 25.0, "rows_per_s_100": 100_000.0,
           "startup_s": 2.0, "rss_mb": 250.0, "p50_c1_lr_ms": 2.0}

TRAIN = textwrap.dedent('''
    import sys, numpy as np, pandas as pd, joblib
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    X, y = make_classification(n_samples=5000, n_features=20, n_informative=10,
                               random_state=7)
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
    lr = LogisticRegression(max_iter=1000).fit(X, y)
    rf = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=7).fit(X, y)
    out = sys.argv[1]
    joblib.dump((X.head(50), lr, rf), out)
    joblib.dump((None, lr, rf), out.replace(".joblib", "-only.joblib"))  # no pandas needed
''')

SHIPYARD_SETUP = textwrap.dedent('''
    import sys, joblib
    from shipyard.client import Client
    example, lr, rf = joblib.load(sys.argv[2])
    with Client(home=sys.argv[1]) as client:
        for name, model, fmt in (("lr", lr, None), ("rf", rf, None), ("lr_onnx", lr, "onnx"),
                                 ("rf_onnx", rf, "onnx")):
            run = client.tracking.create_run(experiment="bench")
            info = client.models.log_model(run.id, model, input_example=example, format=fmt)
            mv = client.registry.create_model_version(name, run_id=run.id,
                                                      artifact_path=info.artifact_path)
            client.registry.set_alias(name, "champion", mv.version)
''')

MLFLOW_SETUP = textwrap.dedent('''
    import sys, joblib, mlflow.sklearn
    from mlflow.models import infer_signature
    example, lr, rf = joblib.load(sys.argv[2])
    for name, model in (("lr", lr), ("rf", rf)):
        sig = infer_signature(example, model.predict(example))
        mlflow.sklearn.save_model(model, f"{sys.argv[1]}/{name}", signature=sig,
                                  input_example=example.head(2),
                                  serialization_format="cloudpickle")
''')

BENTO_SERVICE = textwrap.dedent('''
    import os
    import warnings

    import bentoml
    import joblib
    import numpy as np

    # the estimators were fitted on a DataFrame; this service takes a bare array, so
    # scikit-learn would warn on every call about the missing feature names
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    _, LR, RF = joblib.load(os.environ["BENCH_MODELS"])
    MODEL = {"lr": LR, "rf": RF}[os.environ["BENCH_MODEL"]]


    @bentoml.service(workers=int(os.environ["BENCH_WORKERS"]), traffic={"timeout": 60})
    class Bench:
        def __init__(self) -> None:
            self.model = MODEL

        @bentoml.api(batchable=True, max_batch_size=1000, max_latency_ms=200)
        def predict(self, input: np.ndarray) -> np.ndarray:
            return self.model.predict(input)
''')


# -- environments -----------------------------------------------------------------------------
def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def venv(path: Path, packages: list[str]) -> Path | None:
    """The venv's python, created and installed on first use; None when that fails.

    A marker file written after a successful install tells a finished venv from one whose
    install was interrupted (that one is installed again)."""
    python = path / "bin" / "python"
    marker = path / ".bench-installed"
    if python.exists() and marker.exists():
        return python
    log(f"installing {' '.join(packages)} into {path} (first run only) ...")
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    except subprocess.CalledProcessError as exc:
        log(f"  could not install {packages}: {exc}")
        return None
    marker.write_text(" ".join(packages) + "\n")
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- servers ----------------------------------------------------------------------------------
class Server:
    def __init__(self, tool: str, argv: list[str], env: dict[str, str], url: str,
                 path: str, body: bytes, cwd: Path | None = None) -> None:
        self.tool, self.url, self.path, self.body = tool, url, path, body
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{tool}-", suffix=".log",  # noqa: SIM115
                                               delete=False)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.startup = self._first_prediction()

    def _first_prediction(self, timeout: float = 180.0) -> float:
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            req = urllib.request.Request(self.url + self.path, data=self.body,
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - self.started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        self.stop()
        text = Path(self.log.name).read_text()[-3000:]
        msg = f"{self.tool} never answered a prediction:\n{text}"
        raise RuntimeError(msg)

    def tree(self) -> list[Any]:
        import psutil

        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def _tree_sum(self, read: Callable[[Any], float]) -> float:
        """``read`` summed over the server's live process tree (gone processes skipped)."""
        total = 0.0
        for p in self.tree():
            try:
                total += read(p)
            except Exception:
                continue
        return total

    def cpu(self) -> float:
        return self._tree_sum(lambda p: (t := p.cpu_times()).user + t.system)

    def rss_mb(self) -> float:
        return self._tree_sum(lambda p: p.memory_info().rss) / 2**20

    def pss_mb(self) -> float:
        """Proportional set size of the tree: pages shared by several processes (the
        libraries every worker maps) counted once, split between them."""
        return self._tree_sum(lambda p: p.memory_full_info().pss) / 2**20

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with _suppress():
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


def body_for(tool: str, rows: list[list[float]]) -> bytes:
    split = {"columns": FEATURES, "data": rows}
    if tool.startswith("shipyard"):
        return json.dumps(split).encode()
    if tool == "mlflow":
        return json.dumps({"dataframe_split": split}).encode()
    return json.dumps({"input": rows}).encode()


def start(tool: str, model: str, workers: int, work: Path, body: bytes) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPYARD_", "MLFLOW_"))}
    venv_bin = {"mlflow": MLFLOW_VENV, "bentoml": BENTO_VENV}.get(tool)
    if venv_bin is not None:  # mlflow runs `uvicorn` from PATH
        base["PATH"] = f"{venv_bin / 'bin'}:{base.get('PATH', '')}"
    if tool in ("shipyard", "shipyard-onnx"):
        name = model if tool == "shipyard" else f"{model}_onnx"
        env = {**base, "SHIPYARD_HOME": str(work / "shipyard")}
        argv = [str(ROOT / ".venv" / "bin" / "shipyard"), "serve", f"models:/{name}@champion",
                "--port", str(port), "--workers", str(workers), "--no-access-log"]
        return Server(tool, argv, env, url, f"/v1/models/{name}/predict", body)
    if tool == "mlflow":
        argv = [str(MLFLOW_VENV / "bin" / "mlflow"), "models", "serve", "-m",
                str(work / "mlflow" / model), "--env-manager", "local", "-h", "127.0.0.1",
                "-p", str(port), "-w", str(workers)]
        return Server(tool, argv, base, url, "/invocations", body)
    env = {**base, "BENCH_MODELS": str(work / "models-only.joblib"), "BENCH_MODEL": model,
           "BENCH_WORKERS": str(workers), "BENTOML_HOME": str(work / "bentoml-home")}
    argv = [str(BENTO_VENV / "bin" / "bentoml"), "serve", "service:Bench", "--host",
            "127.0.0.1", "--port", str(port)]
    return Server(tool, argv, env, url, "/predict", body, cwd=work / "bento")


def _loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else (
        " ".join(f"{v:.2f}" for v in os.getloadavg()))


# -- load -------------------------------------------------------------------------------------
def wrk(server: Server, body: bytes, conc: int, seconds: float) -> dict[str, Any]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      f"wrk.body = {json.dumps(body.decode())}\n")
    cpu0 = server.cpu()
    # one wrk thread: wrk shares the 2 cores with the server, and a second thread only takes
    # CPU from it (wrk's event loop drives 32 connections easily)
    out = subprocess.run(["wrk", "-t1", f"-c{conc}", f"-d{seconds:g}s",
                          "--latency", "--timeout", "10s", "-s", str(script),
                          server.url + server.path], capture_output=True, text=True,
                         check=False).stdout
    cpu = server.cpu() - cpu0
    script.unlink()
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                     out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(g) for g in sock.groups())
                                                        if sock else 0)

    def ms(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m is None:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50_ms": ms("50"), "p99_ms": ms("99"), "errors": errors,
            "requests": done, "cpu_ms_per_req": 1000 * cpu / max(done, 1),
            "ok_rps": rps * max(done - errors, 0) / max(done, 1),
            "load1": os.getloadavg()[0]}


BAD = {
    "missing column": lambda rows: {"columns": FEATURES[:-1], "data": [r[:-1] for r in rows]},
    "extra column": lambda rows: {"columns": [*FEATURES, "zz"], "data": [[*r, 1.0]
                                                                         for r in rows]},
    "wrong type": lambda rows: {"columns": FEATURES, "data": [["x", *r[1:]] for r in rows]},
    "malformed JSON": None,
    "empty body": None,
    "huge body (80 MB)": None,
}


def bad_inputs(server: Server, tool: str, row: list[float]) -> dict[str, str]:
    import urllib.error
    import urllib.request

    out = {}
    for name, make in BAD.items():
        if name == "malformed JSON":
            data = b'{"columns": [1, 2'
        elif name == "empty body":
            data = b""
        elif name == "huge body (80 MB)":
            data = body_for(tool, [row] * 200_000)
        else:
            doc = make([row])  # type: ignore[misc]
            data = (json.dumps({"dataframe_split": doc}) if tool == "mlflow" else json.dumps(
                doc) if tool.startswith("shipyard") else json.dumps({"input": doc["data"]})
                    ).encode()
        req = urllib.request.Request(server.url + server.path, data=data,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                out[name] = str(resp.status)
        except urllib.error.HTTPError as exc:
            text = exc.read()[:160].decode(errors="replace").replace("\n", " ")
            out[name] = f"{exc.code} {text}"
        except (urllib.error.URLError, OSError) as exc:
            out[name] = f"connection failed ({exc})"
    return out


# -- batch scoring ----------------------------------------------------------------------------
def batch(work: Path, rows: int) -> dict[str, Any]:
    import numpy as np
    import psutil
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = work / "batch.parquet"
    log(f"writing {rows:,} rows x 20 features to {path} ...")
    rng = np.random.default_rng(1)
    with pq.ParquetWriter(path, pa.schema([(c, pa.float64()) for c in FEATURES])) as w:
        left = rows
        while left:
            n = min(left, 250_000)
            w.write_table(pa.table(dict(zip(FEATURES, rng.normal(size=(n, 20)).T,
                                            strict=True))), row_group_size=n)
            left -= n
    env = {**os.environ, "SHIPYARD_HOME": str(work / "shipyard")}
    argv = [str(ROOT / ".venv" / "bin" / "shipyard"), "predict", "models:/rf@champion",
            "--input", str(path), "--output", str(work / "scores.parquet"), "--workers", "2",
            "--json", "--no-progress"]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak_one = peak_sum = 0
    while proc.poll() is None:
        with _suppress():
            sizes = [p.memory_info().rss for p in [root, *root.children(recursive=True)]]
            peak_one, peak_sum = max(peak_one, *sizes), max(peak_sum, sum(sizes))
        time.sleep(0.05)
    summary = json.loads(proc.communicate()[0])
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds,
            "peak_rss_mb_one_process": peak_one / 2**20, "peak_rss_mb_all": peak_sum / 2**20,
            "file_mb": path.stat().st_size / 2**20, "scored": summary["scored"]}


# -- main -------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 s per case")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per wrk case")
    ap.add_argument("--only", default="shipyard,shipyard-onnx,mlflow,bentoml")
    ap.add_argument("--models", default="lr,rf")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--json", dest="json_path")
    ap.add_argument("--batch-rows", type=int, default=0,
                    help="also score a Parquet file of this many rows with shipyard predict")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk  (Debian/Ubuntu), brew install wrk "
              "(macOS)", file=sys.stderr)
        return 2
    seconds = 3.0 if args.quick else args.duration
    tools = [t.strip() for t in args.only.split(",") if t.strip()]
    pythons: dict[str, Path | None] = {"shipyard": SHIPYARD_PY, "shipyard-onnx": SHIPYARD_PY}
    notes: list[str] = []
    if "mlflow" in tools:
        pythons["mlflow"] = venv(MLFLOW_VENV, ["mlflow==3.*", "scikit-learn==1.9.1"])
    if "bentoml" in tools:
        pythons["bentoml"] = venv(BENTO_VENV, ["bentoml>=1.3", "scikit-learn==1.9.1",
                                                "pandas"])
    for tool in list(tools):
        if pythons.get(tool) is None:
            notes.append(f"{tool}: could not be installed here; skipped")
            tools.remove(tool)
    work = Path(tempfile.mkdtemp(prefix="shipyard-bench-serving-"))
    results: list[dict[str, Any]] = []
    bad: dict[str, dict[str, str]] = {}
    try:
        # an installed package (pip install shipyard) starts from compiled bytecode, as the
        # peers' venvs do; a source checkout run with PYTHONDONTWRITEBYTECODE=1 would compile
        # every shipyard module on each start instead, so compile them once here
        subprocess.run([str(SHIPYARD_PY), "-m", "compileall", "-q", str(ROOT / "src" /
                                                                         "shipyard")],
                       env={k: v for k, v in os.environ.items()
                            if k != "PYTHONDONTWRITEBYTECODE"}, check=False,
                       stdout=subprocess.DEVNULL)
        log("training the models ...")
        subprocess.run([str(SHIPYARD_PY), "-c", TRAIN, str(work / "models.joblib")],
                       check=True)
        import joblib

        example, _, _ = joblib.load(work / "models.joblib")
        rows_1 = example.head(1).to_numpy().tolist()
        rows_100 = (example.to_numpy().tolist() * 2)[:100]
        for tool in tools:
            python = str(pythons[tool])
            if tool.startswith("shipyard"):
                if not (work / "shipyard").exists():
                    subprocess.run([python, "-c", SHIPYARD_SETUP, str(work / "shipyard"),
                                    str(work / "models.joblib")], check=True)
            elif tool == "mlflow":
                subprocess.run([python, "-c", MLFLOW_SETUP, str(work / "mlflow"),
                                str(work / "models.joblib")], check=True)
            else:
                (work / "bento").mkdir()
                (work / "bento" / "service.py").write_text(BENTO_SERVICE)
        for tool in tools:
            for model in args.models.split(","):
                for workers in (int(w) for w in args.workers.split(",")):
                    log(f"{tool} {model} workers={workers}: starting ...")
                    try:
                        server = start(tool, model, workers, work, body_for(tool, rows_1))
                    except RuntimeError as exc:
                        notes.append(f"{tool} {model} workers={workers}: {exc}"[:600])
                        log(str(exc)[:2000])
                        continue
                    rss_idle = server.rss_mb()
                    rss, pss = rss_idle, server.pss_mb()
                    log(f"  started in {server.startup:.2f} s, RSS {rss_idle:.0f} MB; "
                        f"load average {_loadavg()}")
                    try:
                        for nrows, rows in ((1, rows_1), (100, rows_100)):
                            body = body_for(tool, rows)
                            for conc in (1, 32):
                                log(f"  {nrows} row(s), concurrency {conc} ...")
                                r = wrk(server, body, conc, seconds)
                                rss = max(rss, server.rss_mb())
                                pss = max(pss, server.pss_mb())
                                log(f"    {r['rps']:.0f} req/s, p50 {r['p50_ms']:.2f} ms, "
                                    f"p99 {r['p99_ms']:.2f} ms, errors {r['errors']}; "
                                    f"load average {_loadavg()}")
                                results.append({
                                    "tool": tool, "model": model, "workers": workers,
                                    "rows": nrows, "concurrency": conc, **r,
                                    "rows_per_s": r["ok_rps"] * nrows,
                                    "startup_s": server.startup, "rss_idle_mb": rss_idle})
                        if model == "lr" and workers == 1 and tool != "shipyard-onnx":
                            bad[tool] = bad_inputs(server, tool, rows_1[0])
                    finally:
                        for r in results:
                            if (r["tool"], r["model"], r["workers"]) == (tool, model, workers):
                                r["rss_mb"], r["pss_mb"] = rss, pss
                        server.stop()
        batch_result = batch(work, args.batch_rows) if args.batch_rows else None
    finally:
        shutil.rmtree(work, ignore_errors=True)

    load = os.getloadavg()
    print(f"\nModel serving benchmark ({seconds:g} s per case; wrk on the same 2-core machine;"
          f" load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})\n")
    head = (f"{'tool':13} {'model':5} {'wk':>2} {'rows':>4} {'conc':>4} {'req/s':>8} "
            f"{'ok req/s':>8} {'rows/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
            f"{'cpu ms/req':>10} {'start s':>7} {'RSS MB':>7} {'PSS MB':>7} {'load1':>5}")
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r['tool']:13} {r['model']:5} {r['workers']:>2} {r['rows']:>4} "
              f"{r['concurrency']:>4} {r['rps']:>8.0f} {r['ok_rps']:>8.0f} {r['rows_per_s']:>9.0f} "
              f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['errors']:>6} "
              f"{r['cpu_ms_per_req']:>10.3f} {r['startup_s']:>7.2f} {r['rss_mb']:>7.0f} "
              f"{r['pss_mb']:>7.0f} {r['load1']:>5.1f}")
    if bad:
        print("\nBad inputs (status and the start of the answer), LogisticRegression, 1 worker:")
        for tool, answers in bad.items():
            for case, answer in answers.items():
                print(f"  {tool:9} {case:18} {answer[:150]}")
    ship = [r for r in results if r["tool"].startswith("shipyard")]
    if ship:
        print("\nShipyard against the targets:")

        def check(label: str, value: float, ok: bool) -> None:
            print(f"  {'PASS' if ok else 'MISS'}  {label}: {value:,.2f}")

        for r in ship:
            case = (f"{r['tool']} {r['model']} {r['workers']}w {r['rows']} row(s) "
                    f"c{r['concurrency']}")
            if r["rows"] == 1 and r["concurrency"] == 32:
                check(f"{case} req/s >= 2,000", r["rps"], r["rps"] >= TARGETS["rps_single"])
                check(f"{case} p99 ms < 25", r["p99_ms"], r["p99_ms"] < TARGETS["p99_single_ms"])
            if r["rows"] == 100 and r["concurrency"] == 32:
                check(f"{case} rows/s >= 100,000", r["rows_per_s"],
                      r["rows_per_s"] >= TARGETS["rows_per_s_100"])
            if r["model"] == "lr" and r["rows"] == 1 and r["concurrency"] == 1:
                check(f"{case} p50 ms < 2", r["p50_ms"], r["p50_ms"] < TARGETS["p50_c1_lr_ms"])
        seen = set()
        for r in ship:
            key = (r["tool"], r["model"], r["workers"])
            if key not in seen:
                seen.add(key)
                who = f"{r['tool']} {r['model']} {r['workers']}w"
                check(f"{who} start-up s < 2", r["startup_s"],
                      r["startup_s"] < TARGETS["startup_s"])
                check(f"{who} RSS MB < 250 (all processes)", r["rss_mb"],
                      r["rss_mb"] < TARGETS["rss_mb"])
                check(f"{who} PSS MB < 250 (all processes, shared pages once)", r["pss_mb"],
                      r["pss_mb"] < TARGETS["rss_mb"])
    if batch_result:
        print(f"\nBatch scoring (shipyard predict, RandomForest, 2 workers): "
              f"{batch_result['rows']:,} rows ({batch_result['file_mb']:.0f} MB Parquet) in "
              f"{batch_result['seconds']:.1f} s = {batch_result['rows_per_s']:,.0f} rows/s; "
              f"peak RSS {batch_result['peak_rss_mb_one_process']:.0f} MB in one process, "
              f"{batch_result['peak_rss_mb_all']:.0f} MB in all")
    for note in notes:
        print(f"note: {note}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(
            {"results": results, "bad_inputs": bad, "batch": batch_result, "notes": notes,
             "load_average": load, "seconds_per_case": seconds}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
