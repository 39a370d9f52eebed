// Shipyard charts: uPlot line charts built from JSON embedded in the page.
//
// <div data-charts="ID" [data-overlay] [data-x="step|time|relative"]> reads <script id="ID"
// type="application/json">:
//   single:  {key: {step: [...], time: [...], value: [...], points, thinned}}   one chart a key
//   overlay: {key: [{run, name, step, time, value, ...}, ...]}                one chart a key,
//                                                                             one line a run
//   series:  {title: {x: [...], series: [{label, values: [...]}], unit}}      x is epoch seconds
// A sibling [data-controls-for=<container id>] holds the x-axis, log-scale and smoothing
// controls. Drag to zoom; double-click to reset (uPlot's own behaviour).
(function () {
  "use strict";
  var COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7b83",
    "#cf6b00", "#57606a", "#4c8dff", "#2da44e", "#e16f24", "#a475f9", "#ff80c8", "#3fb950"];
  var registry = [];

  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function color(i) { return COLORS[i % COLORS.length]; }

  // TensorBoard's debiased exponential moving average; nulls stay null.
  function smooth(values, weight) {
    if (!weight) return values;
    var last = 0, n = 0, out = new Array(values.length);
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (v === null || v === undefined) { out[i] = null; continue; }
      last = last * weight + (1 - weight) * v; n++;
      out[i] = last / (1 - Math.pow(weight, n));
    }
    return out;
  }

  function xs(s, mode) {
    if (mode === "time") return s.time;
    if (mode === "relative") { var t0 = s.time.length ? s.time[0] : 0; return s.time.map(function (t) { return t - t0; }); }
    return s.step;
  }

  function sortedPairs(x, y) {
    var idx = x.map(function (_, i) { return i; });
    idx.sort(function (a, b) { return x[a] - x[b]; });
    var xo = [], yo = [];
    var prev = null;
    idx.forEach(function (i) {
      if (prev !== null && x[i] === prev) { yo[yo.length - 1] = y[i]; return; }  // same x: keep the last
      xo.push(x[i]); yo.push(y[i]); prev = x[i];
    });
    return [xo, yo];
  }

  function fmtSecs(v) {
    var a = Math.abs(v);
    if (a < 120) return v.toFixed(a < 10 ? 1 : 0) + "s";
    if (a < 7200) return (v / 60).toFixed(0) + "m";
    return (v / 3600).toFixed(1) + "h";
  }

  function build(box, spec, opts) {
    // spec: {title, lines: [{label, x: [...], y: [...]}], xTime: bool, xLabel}
    var tables = spec.lines.map(function (l) {
      var y = smooth(l.y, opts.smooth);
      if (opts.log) y = y.map(function (v) { return v !== null && v > 0 ? v : null; });
      return sortedPairs(l.x, y);
    });
    var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    var fg = css("--fg") || "#222", grid = css("--border") || "#ddd";
    var axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    var xAxis = Object.assign({}, axis, { label: spec.xLabel, labelSize: 18 });
    if (opts.x === "relative") xAxis.values = function (u, vals) { return vals.map(fmtSecs); };
    var series = [{ label: spec.xLabel }];
    spec.lines.forEach(function (l, i) {
      series.push({ label: l.label, stroke: color(i), width: 1.5, spanGaps: true,
        points: { show: data[0].length < 60 } });
    });
    var width = Math.max(280, box.clientWidth - 4);
    var u = new uPlot({
      width: width, height: 240, series: series,
      scales: { x: { time: opts.x === "time" }, y: opts.log ? { distr: 3, log: 10 } : {} },
      axes: [xAxis, Object.assign({}, axis, { size: 60 })],
      cursor: { drag: { x: true, y: false }, sync: { key: opts.syncKey || "shipyard" } },
      legend: { show: spec.lines.length <= 12 },
    }, data, box);
    return u;
  }

  function chartsFor(container) {
    var dataEl = document.getElementById(container.getAttribute("data-charts"));
    if (!dataEl) return [];
    var raw = JSON.parse(dataEl.textContent);
    var overlay = container.hasAttribute("data-overlay");
    var seriesMode = container.hasAttribute("data-series");
    var specs = [];
    Object.keys(raw).forEach(function (key) {
      var v = raw[key];
      if (seriesMode) {
        specs.push({ title: key, fixedTime: true, unit: v.unit, lines: v.series.map(function (s) {
          return { label: s.label, x: v.x, y: s.values, fixedTime: true };
        }) });
      } else if (overlay) {
        specs.push({ title: key, lines: v.map(function (s) { return { label: s.name, src: s }; }),
          thinned: v.some(function (s) { return s.thinned; }) });
      } else {
        specs.push({ title: key, lines: [{ label: key, src: v }], thinned: v.thinned, points: v.points });
      }
    });
    return specs;
  }

  function render(entry) {
    var c = entry.container, opts = entry.opts;
    entry.plots.forEach(function (u) { u.destroy(); });
    entry.plots = [];
    c.innerHTML = "";
    entry.specs.forEach(function (spec, i) {
      var card = document.createElement("div");
      card.className = "chart";
      var h = document.createElement("h4");
      var title = document.createElement("span");
      title.textContent = spec.title + (spec.unit ? " (" + spec.unit + ")" : "");
      h.appendChild(title);
      if (spec.thinned) {
        var note = document.createElement("span");
        note.className = "muted small";
        note.textContent = "thinned for display";
        h.appendChild(note);
      }
      card.appendChild(h);
      var box = document.createElement("div");
      box.className = "plot";
      card.appendChild(box);
      c.appendChild(card);
      var mode = spec.lines[0] && spec.lines[0].fixedTime ? "time" : opts.x;
      var lines = spec.lines.map(function (l) {
        return l.fixedTime ? l : { label: l.label, x: xs(l.src, mode), y: l.src.value };
      });
      var label = mode === "time" ? "time" : mode === "relative" ? "seconds since start" : "step";
      try {
        entry.plots.push(build(box, { title: spec.title, lines: lines, xLabel: label },
          { x: mode, log: opts.log, smooth: opts.smooth, syncKey: c.id }));
      } catch (err) {
        box.textContent = "This chart could not be drawn: " + err.message;
      }
    });
    c.setAttribute("data-drawn", String(entry.plots.length));
  }

  function wireControls(entry) {
    var ctl = document.querySelector("[data-controls-for='" + entry.container.id + "']");
    if (!ctl) return;
    var x = ctl.querySelector("[data-x]"), log = ctl.querySelector("[data-log]");
    var sm = ctl.querySelector("[data-smooth]"), smv = ctl.querySelector("[data-smooth-value]");
    function update() {
      if (x) entry.opts.x = x.value;
      if (log) entry.opts.log = log.checked;
      if (sm) { entry.opts.smooth = parseFloat(sm.value) || 0; if (smv) smv.textContent = sm.value; }
      render(entry);
    }
    [x, log].forEach(function (el) { if (el) el.addEventListener("change", update); });
    if (sm) sm.addEventListener("input", update);
    if (x && entry.opts.x) x.value = entry.opts.x;
  }

  function init() {
    if (typeof uPlot === "undefined") return;
    Array.prototype.slice.call(document.querySelectorAll("[data-charts]")).forEach(function (c) {
      var entry = { container: c, specs: chartsFor(c), plots: [],
        opts: { x: c.getAttribute("data-x") || "step", log: false, smooth: 0 } };
      registry.push(entry);
      wireControls(entry);
      render(entry);
    });
    var width = window.innerWidth;
    window.addEventListener("resize", function () {
      if (Math.abs(window.innerWidth - width) < 40) return;
      width = window.innerWidth;
      registry.forEach(render);
    });
    document.addEventListener("shipyard:theme", function () { registry.forEach(render); });
    window.addEventListener("beforeprint", function () { registry.forEach(render); });
    window.shipyardCharts = registry;
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
