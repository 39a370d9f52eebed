"""``shipyard serve --workers N``: load once, then fork N workers (gunicorn's ``preload_app``).

uvicorn's own ``workers=N`` spawns N fresh interpreters, each importing everything and
loading every model again: N whole processes. Here the parent resolves, loads and warms up
the models, imports what a worker will need, binds the port and freezes the garbage
collector; then it forks. A worker starts from the parent's memory and copies a page only
when it writes to it, so the models and libraries are in memory once.

The parent starts no thread before forking: a fork copies only the calling thread, and a
lock another thread held would stay held in the child. The workers start their own threads
(prediction log writer, deployment agent, model threads) when their app starts up. After
forking, the parent only supervises: SIGTERM or SIGINT stops every worker; a worker that
dies is forked again from the same preloaded state.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import select
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipyard.entities._ids import new_id
from shipyard.server.serving import build_host, create_serving_app

if TYPE_CHECKING:
    import socket

    from shipyard.client import Client

log = logging.getLogger("shipyard.serving")

BACKLOG = 2048  # uvicorn's default: connections wait in the kernel while a worker restarts
GIVE_UP_DEATHS = 5
GIVE_UP_WINDOW = 10.0  # seconds: GIVE_UP_DEATHS deaths within this window and the parent exits
SHUTDOWN_MARGIN = 5.0
"""Seconds past uvicorn's graceful timeout before SIGKILL: after draining connections a
worker still runs its app's shutdown (the last prediction log file, the deployment record)."""
_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGUSR1)
_PR_SET_PDEATHSIG = 1


async def _no_app(scope: Any, receive: Any, send: Any) -> None:
    """Stands in for the app while the parent makes uvicorn import its modules."""


def serve_prefork(client: Client, targets: list[str], *, workers: int, url: str,
                  options: dict[str, Any]) -> int:
    """Load ``targets`` here, fork ``workers`` uvicorn servers sharing one socket, supervise
    them until SIGTERM/SIGINT; returns the exit code (0 stopped, 1 workers kept dying).
    ``options`` are `uvicorn.Config`'s (host, port, timeout_graceful_shutdown...)."""
    with client:
        settings = client.settings
        host, logger, metrics, agent = build_host(client, targets, url=url)
        for served in host.models.values():  # an unknown model or alias fails here, at once
            host.resolve(served)
        host.load()
        auth = client.auth if settings.auth else None
        sock = _preload(options, prediction_log=logger is not None)
        _check_threads()
        # the imports' young garbage goes now; what is left is moved out of the collector's
        # sight, so a worker's collections never write to (and so copy) the shared pages
        gc.collect(1)
        gc.freeze()

        def worker(deployment_id: str, replacement: bool) -> None:
            import uvicorn

            client.after_fork()
            agent.after_fork(deployment_id)
            if replacement:
                # a replacement starts from the models loaded at start-up: an alias may have
                # moved since (the other workers reloaded); catch up before serving
                host.reload()
            # SIGUSR1 from the parent: another worker answered POST /admin/reload; check the
            # aliases here too (in a thread: a reload downloads and warms up a model)
            signal.signal(signal.SIGUSR1, lambda *_: threading.Thread(
                target=host.reload, name="shipyard-reload", daemon=True).start())
            app = create_serving_app(host, settings=settings, logger=logger, metrics=metrics,
                                     agent=agent, auth=auth, on_close=client.close,
                                     load_in_background=False, freeze_gc=True,
                                     on_reload=lambda: os.kill(os.getppid(), signal.SIGUSR1))
            uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])

        grace = float(options.get("timeout_graceful_shutdown") or 10) + SHUTDOWN_MARGIN
        with sock:
            # the deployment ids are chosen by the parent, so it can mark a worker's record
            # stopped if the worker dies without doing so itself
            return Supervisor(worker, workers, grace=grace, new_token=new_id,
                              on_death=agent.mark_stopped).run()


def _preload(options: dict[str, Any], *, prediction_log: bool) -> socket.socket:
    """Import in the parent what each worker would otherwise import on its own (then it is
    shared), and bind the listening socket the workers inherit."""
    import ctypes  # noqa: F401  (for PR_SET_PDEATHSIG in the workers)

    import uvicorn

    config = uvicorn.Config(_no_app, **options)
    config.load()  # the HTTP protocol, websockets and lifespan modules
    config.get_loop_factory()  # uvloop, when installed
    if prediction_log:  # the log writer imports it when it starts: do it once, here
        with contextlib.suppress(ImportError):
            import pyarrow.parquet  # noqa: F401
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # multiprocess: for mark_process_dead, after the fork
        from prometheus_client import multiprocess, values  # noqa: F401

        if not getattr(values.ValueClass, "_multiprocess", False):
            log.warning("prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was "
                        "set: /metrics shows only the worker that answers")
    sock = config.bind_socket()  # SO_REUSEADDR, inheritable; exits 3 if the port is taken
    sock.listen(BACKLOG)  # connections queue from now on, even before a worker accepts
    return sock


def _check_threads() -> None:
    others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    if others:
        log.warning("forking workers while threads run (%s): a lock one of them holds "
                    "stays held in every worker", ", ".join(others))


class Supervisor:
    """Forks ``count`` processes running ``target`` and keeps that many alive."""

    def __init__(self, target: Callable[[str, bool], None], count: int, *, grace: float,
                 new_token: Callable[[], str] = str,
                 on_death: Callable[[str], None] | None = None) -> None:
        """Each worker runs ``target(token, replacement)``: a token from ``new_token()``
        (its deployment id) and whether it replaces a worker that died. ``on_death(token)``
        runs in the parent for a worker that died unexpectedly or was killed at shutdown
        (not for one that exited after SIGTERM)."""
        self.target = target
        self.count = count
        self.grace = grace
        self.new_token = new_token
        self.on_death = on_death
        self.children: dict[int, str] = {}  # pid -> token
        self.forked = 0
        self.deaths: deque[float] = deque()
        self.stopping = False
        self._wake_r, self._wake_w = os.pipe()
        self.parent = os.getpid()

    # -- the parent -------------------------------------------------------------------
    def run(self) -> int:
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self._wake_w)  # a signal wakes the select below at once
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGUSR1, self._reload_all)
        try:
            for _ in range(self.count):
                self.fork()
            while not self.stopping:
                self._wait(1.0)
                for pid, status, token in self.reap():
                    if self.stopping:
                        break
                    self._died(pid, token)
                    if not self._replace(pid, status):
                        self.stop_all()
                        return 1
            self.stop_all()
            return 0
        finally:
            signal.set_wakeup_fd(-1)
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _stop(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def _reload_all(self, signum: int, frame: Any) -> None:
        """A worker answered ``POST /admin/reload``: pass it on to every worker (the one that
        asked finds its aliases unchanged)."""
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1)

    def _wait(self, timeout: float) -> None:
        with contextlib.suppress(InterruptedError):
            select.select([self._wake_r], [], [], timeout)
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake_r, 512):
                pass

    def fork(self) -> int:
        token, replacement = self.new_token(), self.forked >= self.count
        self.forked += 1
        # signals wait until the child has put its own handlers in place
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        pid = os.fork()
        if pid == 0:
            self._child(token, replacement)  # never returns
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        self.children[pid] = token
        return pid

    def _died(self, pid: int, token: str) -> None:
        if token and self.on_death is not None:
            try:
                self.on_death(token)
            except Exception:  # the parent must keep supervising whatever the store says
                log.exception("after worker %d died", pid)

    def reap(self) -> list[tuple[int, int, str]]:
        """The children that exited since the last call, as (pid, exit code or -signal,
        token)."""
        out = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            token = self.children.pop(pid, None)
            if token is not None:
                _forget_metrics(pid)
                out.append((pid, os.waitstatus_to_exitcode(status), token))
        return out

    def _replace(self, pid: int, code: int) -> bool:
        """Fork a new worker for one that died; False when they keep dying (give up)."""
        now = time.monotonic()
        self.deaths.append(now)
        while self.deaths and now - self.deaths[0] > GIVE_UP_WINDOW:
            self.deaths.popleft()
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        if len(self.deaths) >= GIVE_UP_DEATHS:
            log.error("worker %d died (%s); %d workers died within %gs: stopping", pid, how,
                      len(self.deaths), GIVE_UP_WINDOW)
            return False
        log.warning("worker %d died (%s); starting another", pid, how)
        time.sleep(0.1 * (len(self.deaths) - 1))  # back off when they keep dying
        if not self.stopping:
            self.fork()
        return True

    def stop_all(self) -> None:
        """SIGTERM to every worker (uvicorn's graceful shutdown), SIGKILL past ``grace``."""
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        while self.children and time.monotonic() < deadline:
            self.reap()
            if self.children:
                self._wait(min(0.1, max(0.0, deadline - time.monotonic())))
        for pid in list(self.children):
            log.warning("worker %d did not stop within %gs: killing it", pid, self.grace)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            _forget_metrics(pid)
            self._died(pid, self.children.pop(pid))

    # -- a worker ---------------------------------------------------------------------
    def _child(self, token: str, replacement: bool) -> None:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for signum in _SIGNALS:
                # SIGUSR1 ignored until the worker sets its handler (its default kills)
                signal.signal(signum, signal.SIG_IGN if signum == signal.SIGUSR1
                              else signal.SIG_DFL)
            os.close(self._wake_r)
            os.close(self._wake_w)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
            _die_with_parent(self.parent)
            self.target(token, replacement)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            # never back into the parent's stack (click, atexit handlers, the metrics folder)
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel sends this worker SIGTERM when the parent dies (even by SIGKILL),
    so no orphan keeps the port."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(0)


def _forget_metrics(pid: int) -> None:
    """A dead worker's live gauges (requests in flight) leave the sums; its counters stay."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
