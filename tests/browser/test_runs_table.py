"""The runs table in Chromium: server-side filtering (errors inline), sorting, paging, the
column chooser and bulk delete/restore, each swapped in place by htmx with the URL kept in
step (so reload and back work)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser.conftest import SHOTS, Tab, World

pytestmark = pytest.mark.browser


def run_names(tab: Tab) -> list[str]:
    return tab.page.locator("#runs-table tbody tr[data-run-id] td:nth-child(2) a").evaluate_all(
        "links => links.map(a => a.textContent)")


def column(tab: Tab, field: str) -> list[str]:
    index = tab.page.locator("#runs-table thead th").evaluate_all(
        f"ths => ths.findIndex(th => th.dataset.field === {field!r})")
    assert index >= 0, field
    return tab.page.locator(f"#runs-table tbody tr[data-run-id] td:nth-child({index + 1})"
                            ).evaluate_all("tds => tds.map(td => td.textContent.trim())")


def search(tab: Tab, text: str) -> None:
    box = tab.page.locator("#filter-form input[name=filter]")
    box.fill(text)
    with tab.page.expect_response(lambda r: "/experiments/" in r.url):
        box.press("Enter")
    tab.page.wait_for_selector("#runs-view")


def test_filter_runs_with_the_search_language(tab: Tab, world: World) -> None:
    tab.go(f"/experiments/{world.seeded.experiment_id}")
    search(tab, "params.model = 'rf' and metrics.auc > 0.9")
    names = run_names(tab)
    assert names
    assert all(n.startswith("rf-") for n in names)
    assert all(float(v) > 0.9 for v in column(tab, "metrics.auc"))
    assert "filter=params.model" in tab.page.url  # pushed, so reload keeps it
    tab.page.reload()
    assert run_names(tab) == names


def test_invalid_filter_shows_the_message_and_caret_inline(tab: Tab, world: World) -> None:
    tab.go(f"/experiments/{world.seeded.experiment_id}")
    search(tab, "metrics.auc >> 0.5")
    error = tab.page.inner_text("#error-box")
    assert "Invalid filter at column" in error
    assert "metrics.auc >> 0.5" in error
    assert "^" in error
    assert run_names(tab) == []
    tab.shot("runs-filter-error", full_page=False)


def test_sort_by_a_metric_column_both_ways(tab: Tab, world: World) -> None:
    tab.go(f"/experiments/{world.seeded.experiment_id}?filter=metrics.auc+IS+NOT+NULL")
    tab.page.click("#runs-table thead th[data-field='metrics.auc'] a")
    tab.page.wait_for_selector("th[data-field='metrics.auc'][aria-sort='descending']")
    down = [float(v) for v in column(tab, "metrics.auc")]
    assert down == sorted(down, reverse=True)
    assert len(down) == 24
    tab.page.click("#runs-table thead th[data-field='metrics.auc'] a")
    tab.page.wait_for_selector("th[data-field='metrics.auc'][aria-sort='ascending']")
    up = [float(v) for v in column(tab, "metrics.auc")]
    assert up == sorted(up)
    assert "order=metrics.auc+ASC" in tab.page.url


def test_paginate_with_next_and_previous(tab: Tab, world: World) -> None:
    tab.go(f"/experiments/{world.seeded.experiment_id}?size=10&order=name+ASC")
    first = run_names(tab)
    assert len(first) == 10
    assert first == sorted(first)
    tab.page.click(".pager a.next")
    tab.page.wait_for_selector("#runs-range:has-text('Runs 11\u201320')")
    second = run_names(tab)
    tab.page.click(".pager a.next")
    tab.page.wait_for_selector("#runs-range:has-text('Runs 21\u201326')")
    third = run_names(tab)
    assert len(third) == 6
    assert tab.page.locator(".pager a.next").count() == 0
    assert sorted(first + second + third) == first + second + third
    tab.page.click(".pager a.prev")
    tab.page.wait_for_selector("#runs-range:has-text('Runs 11\u201320')")
    assert run_names(tab) == second
    tab.page.go_back()
    tab.page.wait_for_selector("#runs-range:has-text('Runs 21\u201326')")


def test_column_chooser_shows_only_the_chosen_keys(tab: Tab, world: World) -> None:
    tab.go(f"/experiments/{world.seeded.experiment_id}")
    tab.page.click("#column-chooser summary")
    tab.page.fill("[data-filter-keys=chooser-keys]", "flag")
    visible = tab.page.locator("#chooser-keys label:visible")
    assert visible.count() == 12
    tab.page.click("[data-check-keys=chooser-keys][data-value=off]")
    tab.page.fill("[data-filter-keys=chooser-keys]", "")
    for key in ("metrics.f1", "params.max_depth", "params.feature_flag_03"):
        tab.page.locator(f"#chooser-keys input[value='{key}']").check()
    for key in ("metrics.accuracy", "metrics.auc", "metrics.train/loss", "metrics.val/loss",
                "params.class_weight", "params.early_stopping", "params.feature_flag_00",
                "params.feature_flag_01"):
        tab.page.locator(f"#chooser-keys input[value='{key}']").uncheck()
    tab.page.click("#column-chooser button[type=submit]")
    tab.page.wait_for_selector("#runs-table th[data-field='params.feature_flag_03']")
    fields = tab.page.locator("#runs-table thead th[data-field]").evaluate_all(
        "ths => ths.map(th => th.dataset.field)")
    assert fields[4:] == ["metrics.f1", "params.feature_flag_03", "params.max_depth"]
    assert "cols=" in tab.page.url


def test_bulk_delete_then_restore(tab: Tab, world: World, library: Any) -> None:
    base = f"/experiments/{world.seeded.other_experiment_id}"
    tab.go(base)
    assert len(run_names(tab)) == 3
    tab.page.on("dialog", lambda dialog: dialog.accept())
    tab.page.locator("#runs-table tbody input[name=run_ids]").first.check()
    victim = tab.page.locator("#runs-table tbody tr[data-run-id]").first.get_attribute(
        "data-run-id")
    tab.page.click("button[value=delete]")
    tab.page.wait_for_load_state("load")
    assert len(run_names(tab)) == 2
    assert library.tracking.get_run(victim).lifecycle == "deleted"
    tab.page.select_option("#filter-form select[name=show]", "deleted")
    tab.page.click("#filter-form button[type=submit]")
    tab.page.wait_for_selector("button[value=restore]")
    tab.page.locator("input[data-select-all]").check()
    tab.page.click("button[value=restore]")
    tab.page.wait_for_load_state("load")
    assert library.tracking.get_run(victim).lifecycle == "active"


def test_column_chooser_offers_keys_of_runs_on_other_pages(tab: Tab, world: World,
                                                           library: Any) -> None:
    """The chooser lists every key of the experiment (one store query), so a key logged
    only by a run on the last page can be chosen from the first."""
    exp = world.seeded.experiment_id
    runs = library.tracking.search_runs(exp, max_results=1000).items
    oldest = runs[-1]
    if "zz_archive_note" not in oldest.params:
        library.tracking.log_batch(oldest.id, params={"zz_archive_note": "kept for audit"})
    tab.go(f"/experiments/{exp}?size=25")
    assert oldest.name not in run_names(tab)
    tab.page.click("#column-chooser summary")
    tab.page.fill("[data-filter-keys=chooser-keys]", "archive")
    visible = tab.page.locator("#chooser-keys label:visible")
    assert [t.strip() for t in visible.all_inner_texts()] == ["param zz_archive_note"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=str(SHOTS / "runs-column-chooser.png"))
    tab.page.locator("#chooser-keys input[value='params.zz_archive_note']").check()
    tab.page.click("#column-chooser button[type=submit]")
    tab.page.wait_for_selector("#runs-table th[data-field='params.zz_archive_note']")
    assert set(column(tab, "params.zz_archive_note")) == {""}
    last = (len(runs) + 24) // 25
    tab.go(f"/experiments/{exp}?size=25&page={last}&cols=params.zz_archive_note")
    assert "kept for audit" in column(tab, "params.zz_archive_note")
