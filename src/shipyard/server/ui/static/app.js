// Shipyard UI: small progressive enhancements. Every page works without this file; with it,
// selections, filters and toggles react at once. Event delegation, so htmx swaps need no re-init.
(function () {
  "use strict";

  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // -- theme ------------------------------------------------------------------------------
  function currentTheme() {
    var set = document.documentElement.getAttribute("data-theme");
    if (set) return set;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  document.addEventListener("click", function (ev) {
    var t = ev.target.closest && ev.target.closest("#theme-toggle");
    if (!t) return;
    var next = currentTheme() === "dark" ? "light" : "dark";
    document.documentElement.setAttribute("data-theme", next);
    try { localStorage.setItem("shipyard-theme", next); } catch (e) { /* ignore */ }
    document.dispatchEvent(new CustomEvent("shipyard:theme", { detail: next }));
  });

  // -- run selection (runs table) -------------------------------------------------------------
  function syncSelection(form) {
    if (!form) return;
    var boxes = $all("input[name=run_ids]", form);
    var n = boxes.filter(function (b) { return b.checked; }).length;
    boxes.forEach(function (b) { var tr = b.closest("tr"); if (tr) tr.classList.toggle("sel", b.checked); });
    $all("[data-needs]", form).forEach(function (btn) {
      var need = parseInt(btn.getAttribute("data-needs"), 10) || 1;
      btn.disabled = n < need;
    });
    var count = form.querySelector("[data-selected-count]");
    if (count) count.textContent = n ? n + " selected" : "";
    var all = form.querySelector("input[data-select-all]");
    if (all) { all.checked = n > 0 && n === boxes.length; all.indeterminate = n > 0 && n < boxes.length; }
  }
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("input[data-select-all]")) {
      var form = el.form || el.closest("form");
      $all("input[name=run_ids]", form).forEach(function (b) { b.checked = el.checked; });
      syncSelection(form);
    } else if (el.matches && el.matches("input[name=run_ids]")) {
      syncSelection(el.form || el.closest("form"));
    } else if (el.matches && el.matches("input[data-only-diff]")) {
      var table = document.getElementById(el.getAttribute("data-only-diff"));
      if (table) table.classList.toggle("only-diff", el.checked);
    }
  });
  // Confirm destructive buttons.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("button[data-confirm]");
    if (btn && !window.confirm(btn.getAttribute("data-confirm"))) ev.preventDefault();
  });

  // -- quick filters: an input with data-filter-rows="<table id>" hides rows not matching --------
  document.addEventListener("input", function (ev) {
    var el = ev.target;
    var target = el.getAttribute && el.getAttribute("data-filter-rows");
    if (target) {
      var q = el.value.toLowerCase();
      $all("#" + target + " tbody tr").forEach(function (tr) {
        tr.style.display = !q || tr.textContent.toLowerCase().indexOf(q) >= 0 ? "" : "none";
      });
    }
    var keys = el.getAttribute && el.getAttribute("data-filter-keys");
    if (keys) {
      var k = el.value.toLowerCase();
      $all("#" + keys + " label").forEach(function (lab) {
        lab.style.display = !k || lab.textContent.toLowerCase().indexOf(k) >= 0 ? "" : "none";
      });
    }
  });
  // Column chooser: check / clear every visible key.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-check-keys]");
    if (!btn) return;
    ev.preventDefault();
    var on = btn.getAttribute("data-value") === "on";
    $all("#" + btn.getAttribute("data-check-keys") + " label").forEach(function (lab) {
      if (lab.style.display !== "none") lab.querySelector("input").checked = on;
    });
  });

  function init(root) {
    $all("form[data-selection]", root).forEach(syncSelection);
    $all("input[data-only-diff]", root).forEach(function (el) {
      var table = document.getElementById(el.getAttribute("data-only-diff"));
      if (table) table.classList.toggle("only-diff", el.checked);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (ev) { init(ev.target); });
})();
