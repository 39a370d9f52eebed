"""Browser tests: Playwright drives Debian's Chromium against real ``shipyard server``
subprocesses (auth off, and auth on) on free loopback ports, over one seeded store.

They run in CI (``.ci/run`` installs chromium when missing); locally, a missing Playwright or
Chromium skips them with the reason. When a test fails, the servers' output is attached to
its report. Screenshots of every page land in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.browser._seed import PASSWORD, Seeded, seed
from tests.conftest import require_service

from shipyard.testing.server import clean_env, start_server_process

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    name: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-20_000:] if self.log.exists() else ""


@dataclass
class World:
    home: Path
    seeded: Seeded
    servers: list[Server] = field(default_factory=list)


_SERVERS: list[Server] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.rep_call_failed = report.failed  # type: ignore[attr-defined]
    if report.failed and Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
        for server in _SERVERS:
            report.sections.append((f"shipyard server ({server.name}) output",
                                    server.output()))


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """How Chromium is launched: Debian's build, no sandbox (tests run as root), nothing
    that talks to the network."""
    return {"executable_path": CHROMIUM, "headless": True,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     "--disable-dev-shm-usage"]}


@pytest.fixture(scope="session")
def browser(browser_type_launch_args: dict[str, Any]) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service("playwright is not installed (it is in the test dependency group)")
    if not Path(CHROMIUM).exists():
        require_service(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(**browser_type_launch_args)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A seeded store (in memory-backed /dev/shm when there is one: SQLite writes are
    much faster there) and two servers over it: auth off, and auth on."""
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="shipyard-ui-", dir=shm)) if shm.is_dir() else (
        tmp_path_factory.mktemp("ui"))
    home = root / "home"
    from shipyard.client import Client

    with Client(home=home) as client:
        seeded = seed(client)
    out = World(home=home, seeded=seeded)
    try:
        for name, args in (("open", ("--no-auth",)), ("auth", ("--auth",))):
            log = root / f"server-{name}.log"
            proc, url = start_server_process(clean_env(home=str(home)), args=args, log=log)
            server = Server(url=url, process=proc, log=log, name=name)
            out.servers.append(server)
            _SERVERS.append(server)
        yield out
    finally:
        for server in out.servers:
            server.process.terminate()
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()
            _SERVERS.remove(server)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def open_server(world: World) -> Server:
    return world.servers[0]


@pytest.fixture(scope="session")
def auth_server(world: World) -> Server:
    return world.servers[1]


class Console:
    """Console errors and uncaught exceptions of a page; a test fails on any it did not
    expect (``allow`` a substring, e.g. a deliberate 403)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[str] = []

    def allow(self, text: str) -> None:
        self.allowed.append(text)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


@dataclass
class Tab:
    page: Any
    console: Console
    base: str

    def go(self, path: str) -> Any:
        response = self.page.goto(self.base + path, wait_until="load")
        assert response is not None
        return response

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


def _tab(browser: Any, base: str, request: pytest.FixtureRequest,
         color_scheme: str = "light") -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1440, "height": 900},
                                  color_scheme=color_scheme, service_workers="block")
    page = context.new_page()
    page.set_default_timeout(15_000)
    console = Console()
    page.on("console", lambda m: console.errors.append(f"console.{m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda exc: console.errors.append(f"pageerror: {exc}"))
    tab = Tab(page=page, console=console, base=base)
    yield tab
    context.close()
    failed = getattr(request.node, "rep_call_failed", False)
    if not failed:
        assert console.unexpected() == [], "the page logged errors"


@pytest.fixture
def tab(browser: Any, open_server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A fresh browser context on the server without auth."""
    yield from _tab(browser, open_server.url, request)


@pytest.fixture
def auth_tab(browser: Any, auth_server: Server,
             request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A fresh browser context (no session yet) on the server with auth."""
    yield from _tab(browser, auth_server.url, request)


@pytest.fixture
def sign_in() -> Callable[[Tab, str], None]:
    def do(tab: Tab, username: str, password: str = PASSWORD) -> None:
        tab.go("/login")
        tab.page.fill("input[name=username]", username)
        tab.page.fill("input[name=password]", password)
        tab.page.click("button[type=submit]")
        tab.page.wait_for_load_state("load")

    return do


@pytest.fixture
def library(world: World) -> Iterator[Any]:
    """A Client on the seeded store, for checks and setup from the test process."""
    from shipyard.client import Client

    with Client(home=world.home) as client:
        yield client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
