// Parallel coordinates in plain SVG (Shipyard's own; no library).
//
// <div data-parcoords="ID"> reads <script id="ID" type="application/json">:
//   {runs: [{id, name}], axes: [{name, kind: "number"|"category", values: [...], categories?}]}
// One polyline a run; the last axis colours the lines (blue = low, red = high). Dragging
// vertically on an axis keeps the runs inside that range (a brush); a click clears it.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var H = 380, TOP = 48, BOTTOM = 24, LEFT = 48, RIGHT = 48;

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v) {
    if (typeof v !== "number") return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
    return String(Math.round(v * 1e4) / 1e4);
  }
  function ramp(t) {  // blue -> purple -> red
    t = Math.max(0, Math.min(1, t));
    var r = Math.round(40 + 200 * t), g = Math.round(110 - 70 * Math.abs(t - 0.5) * 2), b = Math.round(235 - 200 * t);
    return "rgb(" + r + "," + g + "," + b + ")";
  }

  function scaleFor(axis) {
    if (axis.kind === "category") {
      var cats = axis.categories, n = Math.max(1, cats.length - 1);
      return { pos: function (v) { var i = cats.indexOf(v); return i < 0 ? null : (cats.length === 1 ? 0.5 : i / n); },
        ticks: cats.map(function (c, i) { return { v: c, t: cats.length === 1 ? 0.5 : i / n }; }) };
    }
    var vals = axis.values.filter(function (v) { return v !== null && isFinite(v); });
    var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
    if (!vals.length) { lo = 0; hi = 1; }
    if (lo === hi) { lo -= 0.5; hi += 0.5; }
    var ticks = [0, 0.25, 0.5, 0.75, 1].map(function (t) { return { v: lo + t * (hi - lo), t: t }; });
    return { pos: function (v) { return v === null || !isFinite(v) ? null : (v - lo) / (hi - lo); }, ticks: ticks };
  }

  function draw(root, data) {
    root.innerHTML = "";
    var axes = data.axes, runs = data.runs;
    var width = Math.max(root.clientWidth, 140 * axes.length);
    var step = (width - LEFT - RIGHT) / Math.max(1, axes.length - 1);
    var svg = el("svg", { width: width, height: H, role: "img", "aria-label": "parallel coordinates of " + runs.length + " runs" }, root);
    var scales = axes.map(scaleFor);
    var y = function (t) { return TOP + (1 - t) * (H - TOP - BOTTOM); };
    var colourScale = scales[scales.length - 1];
    var brushes = axes.map(function () { return null; });
    var lines = runs.map(function (run, r) {
      var pts = [];
      axes.forEach(function (axis, a) {
        var t = scales[a].pos(axis.values[r]);
        if (t !== null) pts.push((LEFT + a * step).toFixed(1) + "," + y(t).toFixed(1));
      });
      var c = colourScale.pos(axes[axes.length - 1].values[r]);
      var line = el("polyline", { points: pts.join(" "), class: "line", stroke: c === null ? "#888" : ramp(c) }, svg);
      var title = el("title", {}, line);
      title.textContent = run.name;
      return line;
    });
    function applyBrushes() {
      runs.forEach(function (_, r) {
        var keep = brushes.every(function (b, a) {
          if (!b) return true;
          var t = scales[a].pos(axes[a].values[r]);
          return t !== null && t >= b[0] && t <= b[1];
        });
        lines[r].classList.toggle("dim", !keep);
      });
      root.setAttribute("data-kept", String(lines.filter(function (l) { return !l.classList.contains("dim"); }).length));
    }
    axes.forEach(function (axis, a) {
      var x = LEFT + a * step;
      var g = el("g", { class: "axis" }, svg);
      el("line", { x1: x, x2: x, y1: y(0), y2: y(1) }, g);
      scales[a].ticks.forEach(function (tk) {
        el("line", { x1: x - 4, x2: x, y1: y(tk.t), y2: y(tk.t) }, g);
        var label = el("text", { x: x - 6, y: y(tk.t) + 3, "text-anchor": "end" }, g);
        label.textContent = fmt(tk.v).slice(0, 14);
      });
      // Names alternate between two rows so neighbours never overlap; the full name is the tooltip.
      var name = el("text", { x: x, y: TOP - (a % 2 ? 10 : 26), "text-anchor": a === 0 ? "start" : a === axes.length - 1 ? "end" : "middle", "font-weight": "600" }, g);
      var short = axis.name.replace(/^params\./, "").replace(/^metrics\./, "");
      name.textContent = short.length > 24 ? "…" + short.slice(-23) : short;
      el("title", {}, name).textContent = axis.name;
      var rect = el("rect", { class: "brush", x: x - 8, width: 16, y: 0, height: 0 }, g);
      var hit = el("rect", { x: x - 10, width: 20, y: y(1), height: y(0) - y(1), fill: "transparent", cursor: "ns-resize", "data-axis": axis.name }, g);
      var start = null;
      function toT(ev) {
        var box = svg.getBoundingClientRect();
        return Math.max(0, Math.min(1, 1 - (ev.clientY - box.top - TOP) / (H - TOP - BOTTOM)));
      }
      hit.addEventListener("pointerdown", function (ev) { start = toT(ev); hit.setPointerCapture(ev.pointerId); });
      hit.addEventListener("pointermove", function (ev) {
        if (start === null) return;
        var now = toT(ev), lo = Math.min(start, now), hi = Math.max(start, now);
        rect.setAttribute("y", y(hi)); rect.setAttribute("height", Math.max(0, y(lo) - y(hi)));
      });
      hit.addEventListener("pointerup", function (ev) {
        if (start === null) return;
        var now = toT(ev), lo = Math.min(start, now), hi = Math.max(start, now);
        start = null;
        if (hi - lo < 0.01) { brushes[a] = null; rect.setAttribute("height", 0); }
        else brushes[a] = [lo, hi];
        applyBrushes();
      });
    });
    applyBrushes();
  }

  function init() {
    Array.prototype.slice.call(document.querySelectorAll("[data-parcoords]")).forEach(function (root) {
      var src = document.getElementById(root.getAttribute("data-parcoords"));
      if (!src) return;
      var data = JSON.parse(src.textContent);
      draw(root, data);
      var w = window.innerWidth;
      window.addEventListener("resize", function () { if (Math.abs(window.innerWidth - w) > 40) { w = window.innerWidth; draw(root, data); } });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
