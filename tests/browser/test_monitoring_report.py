"""The monitoring HTML report opens in headless Chromium (Debian's, driven by Playwright)
with no network, no console errors, and working charts and controls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.monitoring import monitoring_report, performance_report

pytestmark = pytest.mark.browser
# ``browser`` is the one shared fixture in tests/browser/conftest.py (Debian's chromium).


def _report(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 5000
    ref = pd.DataFrame({"age": rng.normal(40, 10, n), "income": rng.lognormal(10, 0.5, n),
                        "city": rng.choice(["a", "b", "c"], n),
                        "name <script>": rng.choice(["x", "y"], n)})
    cur = ref.sample(n, random_state=1).assign(
        age=rng.normal(48, 10, n), city=rng.choice(["a", "b", "new"], n))
    hours = np.repeat(np.arange(6), 200) * 3_600_000
    preds = pd.DataFrame({"request_id": [f"r{i}" for i in range(1200)], "timestamp": hours,
                          "output.prediction": rng.integers(0, 2, 1200),
                          "output.proba_0": rng.random(1200)})
    preds["output.proba_1"] = 1 - preds["output.proba_0"]
    fb = preds.sample(700, random_state=2)[["request_id"]].assign(
        label=rng.integers(0, 2, 700), timestamp=9e12)
    perf = performance_report(preds, fb, window=3600, validation={"val_auc": 0.8})
    rep = monitoring_report(ref, cur, performance=perf, prediction_reference=preds.iloc[:600][
        ["output.proba_1"]], prediction_current=preds.iloc[600:][["output.proba_1"]])
    return rep.save(tmp_path / "report.html")


def test_report_renders_offline_without_console_errors(browser: Any, tmp_path: Path) -> None:
    path = _report(tmp_path)
    page = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        ("file:", "data:")) else route.abort())
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    assert page.title() == "Shipyard monitoring report"
    assert page.locator("svg").count() >= 4 + 1 + 1  # columns, prediction, performance
    assert page.locator("#drift tbody tr").count() == 4
    assert page.locator("#drift tr.drifted").count() >= 2
    # the column named like a tag is text, not markup
    assert page.locator("#drift tbody td:has-text('name <script>')").count() == 1
    page.check("#only-drifted")
    visible = [r for r in page.locator("#drift tbody tr").all() if r.is_visible()]
    assert len(visible) == page.locator("#drift tr.drifted").count()
    page.uncheck("#only-drifted")
    page.locator("#drift th", has_text="score").click()
    assert page.locator("#drift tbody tr").count() == 4
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert errors == []
    page.close()
