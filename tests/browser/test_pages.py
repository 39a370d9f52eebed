"""Every page renders in Chromium with no console error, its charts draw, and a screenshot
of it is saved (test-artifacts/screenshots/, the source of docs/screenshots/)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests.browser.conftest import Tab, World

from shipyard.entities._ids import utc_now

pytestmark = pytest.mark.browser


def drawn(tab: Tab, container: str) -> int:
    """Charts drawn by charts.js in a container (it sets data-drawn once done)."""
    tab.page.wait_for_selector(f"{container}[data-drawn]")
    count = int(tab.page.get_attribute(container, "data-drawn") or 0)
    canvases = tab.page.locator(f"{container} .uplot canvas").count()
    assert canvases == count
    return count


def test_experiments_page(tab: Tab) -> None:
    tab.go("/")
    assert tab.page.locator("#experiments-table tbody tr").count() >= 3
    tab.shot("experiments")


def test_runs_page(tab: Tab, world: World) -> None:
    tab.go(f"/experiments/{world.seeded.experiment_id}")
    assert tab.page.locator("#runs-table tbody tr").count() == 26
    assert tab.page.locator("#runs-table thead th[data-field='metrics.auc']").count() == 1
    tab.shot("runs", full_page=False)


def test_run_page_draws_metric_and_system_charts(tab: Tab, world: World) -> None:
    tab.go(f"/runs/{world.seeded.best_run_id}")
    assert drawn(tab, "#run-charts") >= 2
    assert drawn(tab, "#system-charts") == 2
    assert tab.page.locator("#datasets-table tbody tr").count() == 2
    assert tab.page.locator("#family a").first.inner_text() == "sweep-2026-11"
    tab.shot("run")


def test_run_chart_controls_redraw(tab: Tab, world: World) -> None:
    """Log scale, wall-time axis and smoothing each redraw every chart."""
    tab.go(f"/runs/{world.seeded.best_run_id}?charts=train/loss,val/loss")
    assert drawn(tab, "#run-charts") == 2
    controls = "[data-controls-for='run-charts']"
    tab.page.check(f"{controls} [data-log]")
    tab.page.select_option(f"{controls} [data-x]", "time")
    tab.page.fill(f"{controls} [data-smooth]", "0.6")
    tab.page.dispatch_event(f"{controls} [data-smooth]", "input")
    assert tab.page.inner_text(f"{controls} [data-smooth-value]") == "0.6"
    assert tab.page.locator("#run-charts .uplot").count() == 2
    assert "time" in tab.page.locator("#run-charts .u-legend").first.inner_text()


def test_chart_zoom_by_dragging(tab: Tab, world: World) -> None:
    tab.go(f"/runs/{world.seeded.best_run_id}?charts=val/loss")
    drawn(tab, "#run-charts")
    over = tab.page.locator("#run-charts .u-over").first
    box = over.bounding_box()
    assert box is not None
    before = tab.page.evaluate("window.shipyardCharts[0].plots[0].scales.x.max")
    tab.page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2)
    tab.page.mouse.down()
    tab.page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2, steps=5)
    tab.page.mouse.up()
    after = tab.page.evaluate("window.shipyardCharts[0].plots[0].scales.x.max")
    assert after < before


@pytest.mark.parametrize(("artifact", "selector", "shot"), [
    ("plots/loss.png", ".preview img", "artifact-image"),
    ("eval/confusion.csv", ".preview-table tbody tr", None),
    ("eval/predictions.parquet", ".preview-table tbody tr", "artifact-table"),
    ("metrics.json", "pre.json", None),
    ("logs/train.log", "pre.text", None),
    ("eval/report.html", ".preview iframe", None),
    ("model/manifest.json", ".preview dl.kv", "artifact-model"),
])
def test_artifact_previews(tab: Tab, world: World, artifact: str, selector: str,
                           shot: str | None) -> None:
    tab.go(f"/runs/{world.seeded.best_run_id}?artifact={artifact}")
    element = tab.page.locator(selector).first
    element.wait_for()
    if artifact.endswith(".png"):
        assert tab.page.evaluate("document.querySelector('.preview img').naturalWidth") > 0
    if artifact.endswith(".parquet"):
        assert "of 500" in tab.page.inner_text(".preview")
    if shot:
        tab.page.locator("#artifacts").scroll_into_view_if_needed()
        tab.shot(shot, full_page=False)


def test_artifact_tree_swaps_the_preview_in_place(tab: Tab, world: World) -> None:
    tab.go(f"/runs/{world.seeded.best_run_id}")
    tab.page.click("summary:has-text('eval/')")
    tab.page.click("#artifact-tree a[data-path='eval/confusion.csv']")
    tab.page.wait_for_selector(".preview-table")
    assert "artifact=eval%2Fconfusion.csv" in tab.page.url or "confusion.csv" in tab.page.url


def test_models_pages(tab: Tab) -> None:
    tab.go("/models")
    assert tab.page.locator("#models-table tbody tr").count() == 1
    tab.shot("models", full_page=False)
    tab.go("/models/churn")
    assert tab.page.locator("#versions-table tbody tr").count() == 4
    outcomes = tab.page.locator("[data-promotion]").evaluate_all(
        "els => els.map(e => e.dataset.promotion)")
    assert sorted(outcomes) == ["moved", "moved", "rejected"]
    tab.shot("model")
    tab.go("/models/churn/versions/4")
    lineage = tab.page.inner_text("#lineage")
    assert "churn-train" in lineage
    assert "3f9c2e1a7b5d" in lineage
    tab.shot("model-version")


def test_deployments_page(tab: Tab, library: Any) -> None:
    library.serving.store.heartbeat_deployment("a" * 32, at=utc_now())
    tab.go("/deployments")
    states = tab.page.locator("#deployments-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.state)")
    assert states == ["live", "stale"]
    assert drawn(tab, "#dep-charts-1") == 3
    tab.shot("deployments")


def test_monitoring_pages(tab: Tab, world: World) -> None:
    tab.go("/monitors")
    assert tab.page.locator("#monitors-table tbody tr").count() == 1
    assert "1 firing" in tab.page.inner_text("#monitors-table")
    tab.shot("monitors", full_page=False)
    tab.go(f"/monitors/{world.seeded.monitor}")
    assert drawn(tab, "#monitor-charts") == 5
    assert tab.page.locator("#drift-table tbody tr").count() == 4
    assert tab.page.locator(".bars").count() == 4
    assert tab.page.locator("#alerts-table tbody tr").count() == 2
    assert "missing" in tab.page.inner_text("#quality-issues")
    tab.shot("monitor")
    # An earlier window, picked from the list.
    first = tab.page.locator("select[name=window] option").last.get_attribute("value")
    tab.page.select_option("select[name=window]", first)
    tab.page.click("form:has(select[name=window]) button")
    tab.page.wait_for_load_state("load")
    assert f"window={first}" in tab.page.url
    assert "0 of 4 features drifted" in tab.page.inner_text("#drift-summary")


def test_monitor_report_link_opens_the_html_report(tab: Tab, world: World) -> None:
    tab.go(f"/monitors/{world.seeded.monitor}")
    href = tab.page.get_attribute("#report-link", "href")
    assert href is not None
    tab.console.allow("Content Security Policy")  # the report is sandboxed on purpose
    tab.go(href)
    assert "churn-drift" in tab.page.inner_text("h1")
    assert tab.page.locator("table").count() >= 2
    tab.shot("monitor-report", full_page=False)


def test_compare_page_from_the_runs_table(tab: Tab, world: World) -> None:
    tab.go(f"/experiments/{world.seeded.experiment_id}?filter=attributes.parent_id+%3D+'"
           f"{world.seeded.parent_id}'&order=params.learning_rate+ASC")
    boxes = tab.page.locator("#runs-table tbody input[name=run_ids]")
    for i in range(6):
        boxes.nth(i * 4).check()
    assert tab.page.inner_text("[data-selected-count]") == "6 selected"
    tab.page.click("button[value=compare]")
    tab.page.wait_for_url("**/compare?runs=*")
    assert drawn(tab, "#compare-charts") >= 2
    legend = tab.page.locator("#compare-charts .u-legend").first.inner_text()
    assert legend.count("lr") == 6  # one line a run
    differing = tab.page.locator("#diff-table tr.differs").evaluate_all(
        "rows => rows.map(r => r.dataset.key)")
    assert "params.learning_rate" in differing
    assert "params.subsample" not in differing
    tab.page.check("[data-only-diff]")
    assert tab.page.locator("#diff-table tr[data-key='params.subsample']").is_hidden()
    lines = tab.page.locator("#parcoords polyline.line")
    assert lines.count() == 6
    tab.shot("compare")
    # Brush the last axis: keep only the runs at its top.
    axis = tab.page.locator("#parcoords rect[data-axis]").last
    box = axis.bounding_box()
    assert box is not None
    tab.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 2)
    tab.page.mouse.down()
    tab.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.3, steps=4)
    tab.page.mouse.up()
    kept = int(tab.page.get_attribute("#parcoords", "data-kept") or 0)
    assert 0 < kept < 6


def test_dark_theme_toggle(tab: Tab, world: World) -> None:
    tab.go(f"/runs/{world.seeded.best_run_id}")
    drawn(tab, "#run-charts")
    tab.page.click("#theme-toggle")
    assert tab.page.get_attribute("html", "data-theme") == "dark"
    background = tab.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 19, 25)"
    tab.shot("run-dark", full_page=False)
    tab.go("/")  # the choice is remembered
    assert tab.page.get_attribute("html", "data-theme") == "dark"
    tab.shot("experiments-dark", full_page=False)


def test_print_layout_hides_the_chrome(tab: Tab, world: World) -> None:
    tab.go(f"/experiments/{world.seeded.experiment_id}")
    tab.page.emulate_media(media="print")
    assert tab.page.locator("header.top").is_hidden()
    assert tab.page.locator("#filter-form").is_hidden()
    assert tab.page.locator("#runs-table").is_visible()


def test_laptop_width_has_no_horizontal_scroll(tab: Tab, world: World) -> None:
    tab.page.set_viewport_size({"width": 1280, "height": 800})
    for path in ("/", f"/runs/{world.seeded.best_run_id}", "/models/churn",
                 f"/monitors/{world.seeded.monitor}", "/deployments"):
        tab.go(path)
        overflow = tab.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, path


def test_stale_heartbeat_is_listed_as_stale(tab: Tab, library: Any) -> None:
    library.serving.store.heartbeat_deployment("a" * 32, at=utc_now() - timedelta(hours=1))
    try:
        tab.go("/deployments")
        states = tab.page.locator("#deployments-table tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.state)")
        assert states == ["stale", "stale"]
    finally:
        library.serving.store.heartbeat_deployment("a" * 32, at=utc_now())
