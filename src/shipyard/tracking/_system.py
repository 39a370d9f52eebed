"""Background sampling of system metrics (CPU, memory, GPU when NVML is present)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from shipyard.entities._ids import utc_now
from shipyard.entities.tracking import Metric
from shipyard.errors import MissingDependencyError


class SystemMetricsSampler:
    """Samples every ``interval`` seconds into ``sink`` as ``system/*`` metrics."""

    def __init__(self, sink: Callable[[list[Metric]], None], *, interval: float = 10.0) -> None:
        try:
            import psutil
        except ImportError as exc:
            msg = "System metrics need psutil, which is not installed."
            raise MissingDependencyError(msg, hint="pip install 'shipyard[system]'") from exc
        self._psutil = psutil
        self._proc = psutil.Process()
        self._sink = sink
        self._interval = interval
        self._stop = threading.Event()
        self._step = 0
        self._gpu = self._init_gpu()
        psutil.cpu_percent(None)
        self._thread = threading.Thread(target=self._loop, name="shipyard-sysmetrics",
                                        daemon=True)
        self._thread.start()

    @staticmethod
    def _init_gpu() -> object | None:
        try:
            import pynvml  # type: ignore[import-not-found]

            pynvml.nvmlInit()
        except Exception:
            return None
        return pynvml

    def sample(self) -> list[Metric]:
        ps, now = self._psutil, utc_now()
        vm = ps.virtual_memory()
        values = {
            "system/cpu_percent": ps.cpu_percent(None),
            "system/memory_percent": vm.percent,
            "system/memory_used_mb": vm.used / 2**20,
            "system/process_rss_mb": self._proc.memory_info().rss / 2**20,
        }
        if self._gpu is not None:
            nv = self._gpu
            for i in range(nv.nvmlDeviceGetCount()):  # type: ignore[attr-defined]
                h = nv.nvmlDeviceGetHandleByIndex(i)  # type: ignore[attr-defined]
                values[f"system/gpu{i}_utilization"] = nv.nvmlDeviceGetUtilizationRates(h).gpu  # type: ignore[attr-defined]
                mem = nv.nvmlDeviceGetMemoryInfo(h)  # type: ignore[attr-defined]
                values[f"system/gpu{i}_memory_percent"] = 100 * mem.used / mem.total
        points = [Metric(key=k, value=float(v), step=self._step, timestamp=now)
                  for k, v in values.items()]
        self._step += 1
        return points

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._sink(self.sample())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sink(self.sample())
