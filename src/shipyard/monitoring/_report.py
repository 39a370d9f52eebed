"""Self-contained reports: one HTML file (inline CSS, inline SVG charts, a few lines of
inline JavaScript; no network, no CDN, a Content-Security-Policy that forbids fetching
anything) and the same content as JSON.

The report holds summaries and histograms, never raw rows, so it stays small whatever the
data size: per column the reference and current distributions (20 bins, or the 15 largest
categories), the drift table, the data-quality table and, when given, performance over time
with the label coverage of each window.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from shipyard.entities._ids import utc_now
from shipyard.monitoring._drift import DriftReport, _json_safe, drift_report
from shipyard.monitoring._performance import PerformanceReport
from shipyard.monitoring._quality import QualityReport, quality_report
from shipyard.monitoring._reference import ReferenceProfile

REF_COLOR = "#4c78a8"
CUR_COLOR = "#f58518"
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.muted{color:#59636e}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:12px 16px;min-width:150px}
.card b{display:block;font-size:22px}.bad{color:#cf222e}.ok{color:#1a7f37}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d1d9e0}
th,td{padding:6px 8px;border-bottom:1px solid #eef1f4;text-align:right;white-space:nowrap}
th{background:#f6f8fa;cursor:pointer;user-select:none}th:first-child,td:first-child{text-align:left}
tr.drifted td:first-child{border-left:3px solid #cf222e}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:12px}
figure{margin:0;background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:8px}
figcaption{font-weight:600;margin-bottom:4px}figcaption small{font-weight:400}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
label{margin-left:8px}.scroll{overflow-x:auto}
"""
_JS = """
(function(){
  var box=document.getElementById('only-drifted');
  function apply(){
    var only=box&&box.checked;
    document.querySelectorAll('[data-drifted]').forEach(function(el){
      el.style.display=(only&&el.getAttribute('data-drifted')!=='1')?'none':'';
    });
  }
  if(box){box.addEventListener('change',apply);}
  document.querySelectorAll('table.sortable th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var body=th.closest('table').tBodies[0];
      var rows=Array.prototype.slice.call(body.rows);
      var asc=th.getAttribute('data-asc')!=='1';
      th.setAttribute('data-asc',asc?'1':'0');
      rows.sort(function(a,b){
        var x=a.cells[i].getAttribute('data-v')||a.cells[i].textContent;
        var y=b.cells[i].getAttribute('data-v')||b.cells[i].textContent;
        var nx=parseFloat(x),ny=parseFloat(y);
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
        return asc?c:-c;
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
  document.body.setAttribute('data-ready','1');
})();
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "&ndash;"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
            return f"{value:.3g}"
        return f"{value:.{digits}g}"
    return _e(value)


def _pct(value: Any) -> str:
    return "&ndash;" if value is None else f"{100 * float(value):.1f}%"


def _td(value: Any, *, pct: bool = False) -> str:
    sort = "" if value is None or isinstance(value, bool) else f' data-v="{_e(value)}"'
    return f"<td{sort}>{_pct(value) if pct else _fmt(value)}</td>"


# -- SVG charts ------------------------------------------------------------------------------
def bar_chart(labels: Sequence[str], reference: Sequence[float], current: Sequence[float], *,
              width: int = 360, height: int = 150, title: str = "") -> str:
    """Grouped bars of two distributions (shares) over the same bins or categories."""
    n = max(len(labels), 1)
    top = max([*reference, *current, 1e-12])
    pad_l, pad_b, pad_t = 34, 34, 6
    plot_w, plot_h = width - pad_l - 6, height - pad_b - pad_t
    slot = plot_w / n
    bar = max(slot / 2 - 1, 0.5)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">']
    parts.append(f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - 6}" '
                 f'y2="{pad_t + plot_h}" stroke="#8c959f"/>')
    parts.append(f'<text x="{pad_l - 4}" y="{pad_t + 8}" font-size="9" text-anchor="end" '
                 f'fill="#59636e">{100 * top:.0f}%</text>')
    for i in range(len(labels)):
        x = pad_l + i * slot
        for j, (vals, color) in enumerate(((reference, REF_COLOR), (current, CUR_COLOR))):
            v = float(vals[i]) if i < len(vals) else 0.0
            h = plot_h * v / top
            parts.append(f'<rect x="{x + j * bar + 0.5:.1f}" y="{pad_t + plot_h - h:.1f}" '
                         f'width="{bar:.1f}" height="{h:.1f}" fill="{color}">'
                         f'<title>{_e(labels[i])}: {100 * v:.2f}%</title></rect>')
    step = max(1, math.ceil(n / 8))
    for i in range(0, len(labels), step):
        x = pad_l + (i + 0.5) * slot
        text = str(labels[i])
        text = text if len(text) <= 10 else text[:9] + "…"
        parts.append(f'<text x="{x:.1f}" y="{height - pad_b + 14}" font-size="9" '
                     f'text-anchor="middle" fill="#59636e">{_e(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(xs: Sequence[float], series: Mapping[str, Sequence[float | None]], *,
               width: int = 720, height: int = 200, bars: Sequence[float] | None = None,
               bars_label: str = "label coverage") -> str:
    """Lines over time (``xs`` epoch ms); ``bars`` (0..1) drawn behind, e.g. coverage."""
    colors = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2"]
    pad_l, pad_r, pad_t, pad_b = 40, 10, 8, 30
    pw, ph = width - pad_l - pad_r, height - pad_t - pad_b
    vals = [v for s in series.values() for v in s if v is not None and math.isfinite(v)]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    n = len(xs)

    def px(i: int) -> float:
        return pad_l + (pw * i / (n - 1) if n > 1 else pw / 2)

    def py(v: float) -> float:
        return pad_t + ph * (1 - (v - lo) / (hi - lo))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="performance over time">']
    if bars:
        bw = max(pw / max(n, 1) * 0.6, 1)
        for i, b in enumerate(bars):
            h = ph * max(0.0, min(1.0, b))
            out.append(f'<rect x="{px(i) - bw / 2:.1f}" y="{pad_t + ph - h:.1f}" '
                       f'width="{bw:.1f}" height="{h:.1f}" fill="#d0d7de" opacity="0.6">'
                       f'<title>{_e(bars_label)} {100 * b:.1f}%</title></rect>')
    out.append(f'<text x="{pad_l - 4}" y="{pad_t + 8}" font-size="9" text-anchor="end">'
               f'{_fmt(hi, 3)}</text><text x="{pad_l - 4}" y="{pad_t + ph}" font-size="9" '
               f'text-anchor="end">{_fmt(lo, 3)}</text>')
    for k, (name, ys) in enumerate(series.items()):
        pts = [(px(i), py(v)) for i, v in enumerate(ys) if v is not None and math.isfinite(v)]
        color = colors[k % len(colors)]
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                       'stroke-width="2"/>')
        out.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>'
                   for x, y in pts)
        out.append(f'<text x="{pad_l + 8 + 90 * k}" y="{height - 6}" font-size="10" '
                   f'fill="{color}">{_e(name)}</text>')
    if n:
        for i in (0, n - 1):
            stamp = datetime.fromtimestamp(xs[i] / 1000, tz=UTC).strftime("%m-%d %H:%M")
            out.append(f'<text x="{px(i):.1f}" y="{pad_t + ph + 12}" font-size="9" '
                       f'text-anchor="middle" fill="#59636e">{stamp}</text>')
    out.append("</svg>")
    return "".join(out)


def _column_chart(col: Mapping[str, Any]) -> str:
    chart = col.get("chart") or {}
    if chart.get("type") == "histogram" and chart.get("edges"):
        edges = chart["edges"]
        labels = [f"{edges[i]:.3g}" for i in range(len(edges) - 1)]
        ref, cur = list(chart["reference"]), list(chart["current"])
        if chart.get("current_below") or chart.get("current_above"):
            labels = ["< min", *labels, "> max"]
            ref = [0.0, *ref, 0.0]
            cur = [chart.get("current_below", 0.0), *cur, chart.get("current_above", 0.0)]
        return bar_chart(labels, ref, cur, title=col["column"])
    if chart.get("type") == "categories":
        return bar_chart(chart["labels"], chart["reference"], chart["current"],
                         title=col["column"])
    return '<p class="muted">no data</p>'


# -- the report ------------------------------------------------------------------------------
class ReportSection(Protocol):
    """What a report needs of a section: its JSON form (the HTML renders from it alone)."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class StoredSection:
    """A section as a monitor stored it (a window's summary keeps each report's
    ``to_dict()``), so a past window's report is rebuilt without recomputing anything."""

    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


HISTORY_METRICS = ("accuracy", "f1", "auc", "log_loss", "mae", "rmse", "r2")
HISTORY_KEYS = ("label_coverage", "labelled", "predictions", *HISTORY_METRICS)
"""The per-window values a report's performance history charts (`MonitoringReport.history`)."""

_SECTION_KEYS = (("drift", "columns"), ("quality", "columns"), ("prediction_drift", "columns"),
                 ("performance", "overall"))
"""Summary keys that hold a report section, and a key each complete section has."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitoringReport:
    """Drift, data quality, prediction drift and performance in one document.

    Sections are the report objects (`DriftReport`, ...) or, for a monitor's past window,
    `StoredSection` s read back from its summary (`from_summary`)."""

    title: str = "Shipyard monitoring report"
    drift: DriftReport | ReportSection | None = None
    quality: QualityReport | ReportSection | None = None
    prediction_drift: DriftReport | ReportSection | None = None
    performance: PerformanceReport | ReportSection | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    """Per-window values of a monitor (``window_start`` ms + values) for time charts."""
    created_at: datetime = field(default_factory=utc_now)

    def to_dict(self) -> dict[str, Any]:
        return _json_safe({
            "title": self.title, "created_at": self.created_at.isoformat(),
            "drift": None if self.drift is None else self.drift.to_dict(),
            "quality": None if self.quality is None else self.quality.to_dict(),
            "prediction_drift": None if self.prediction_drift is None
            else self.prediction_drift.to_dict(),
            "performance": None if self.performance is None else self.performance.to_dict(),
            "history": self.history,
        })  # type: ignore[no-any-return]

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any], *, title: str,
                     history: list[dict[str, Any]] | None = None) -> MonitoringReport:
        """The report of a window from the summary a monitor stored for it (sections it
        lacks, or that are incomplete, are left out)."""
        sections: dict[str, Any] = {}
        for key, needs in _SECTION_KEYS:
            value = summary.get(key)
            sections[key] = (StoredSection(dict(value)) if isinstance(value, Mapping)
                             and needs in value else None)
        return cls(title=title, history=list(history or []), **sections)

    def save(self, path: str | Path) -> Path:
        """Write HTML (or JSON when the name ends in .json)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.to_json(indent=1) if p.suffix.lower() == ".json" else self.to_html(),
                     encoding="utf-8")
        return p

    def to_html(self) -> str:
        data = self.to_dict()
        body: list[str] = [f"<h1>{_e(self.title)}</h1>",
                           f'<p class="muted">generated {_e(data["created_at"])}</p>']
        body.append(self._cards(data))
        if data["drift"]:
            body.append(_drift_section("Data drift", data["drift"], "drift", filter_box=True))
        if data["quality"]:
            body.append(_quality_section(data["quality"]))
        if data["prediction_drift"]:
            body.append(_drift_section("Prediction drift", data["prediction_drift"],
                                       "prediction"))
        if data["performance"] or data["history"]:
            body.append(_performance_section(data["performance"], data["history"]))
        return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
                f"<title>{_e(self.title)}</title><style>{_CSS}</style></head><body><main>"
                + "".join(body) + f"</main><script>{_JS}</script></body></html>")

    @staticmethod
    def _cards(data: Mapping[str, Any]) -> str:
        cards = []
        drift = data["drift"]
        if drift:
            cls = "bad" if drift["dataset_drift"] else "ok"
            cards.append(f'<div class="card">drift share<b class="{cls}">'
                         f'{_pct(drift["drift_share"])}</b>{len(drift["drifted_columns"])} of '
                         f'{drift["n_columns"]} columns</div>')
            cards.append(f'<div class="card">rows<b>{drift["n_current"]:,}</b>reference '
                         f'{drift["n_reference"]:,}</div>')
        quality = data["quality"]
        if quality:
            n = len(quality["issues"])
            cards.append(f'<div class="card">quality issues<b class="{"bad" if n else "ok"}">'
                         f'{n}</b>{quality["rows"]:,} rows checked</div>')
        perf = data["performance"]
        if perf:
            o = perf["overall"]
            main = "auc" if perf["task"] == "classification" else "rmse"
            value = o["metrics"].get(main)
            if value is None and perf["task"] == "classification":
                main, value = "accuracy", o["metrics"].get("accuracy")
            cards.append(f'<div class="card">{main}<b>{_fmt(value)}</b>on '
                         f'{o["labelled"]:,} labels ({_pct(o["coverage"])} coverage)</div>')
        return f'<div class="cards">{"".join(cards)}</div>'


def _drift_section(title: str, drift: Mapping[str, Any], anchor: str, *,
                   filter_box: bool = False) -> str:
    head = ("<tr><th>column</th><th>kind</th><th>method</th><th>score</th><th>threshold</th>"
            "<th>drifted</th><th>KS</th><th>Wasserstein (normed)</th><th>PSI</th><th>JS</th>"
            "<th>chi² p</th><th>missing ref</th><th>missing cur</th></tr>")
    rows, charts = [], []
    for i, col in enumerate(drift["columns"]):
        s = col["stats"]
        flag = "1" if col["drifted"] else "0"
        cid = f"{anchor}-{i}"
        rows.append(
            f'<tr class="{"drifted" if col["drifted"] else ""}" data-drifted="{flag}">'
            f'<td><a href="#{cid}">{_e(col["column"])}</a></td><td>{_e(col["kind"])}</td>'
            f'<td>{_e(col["method"])}</td>{_td(col["score"])}{_td(col["threshold"])}'
            f'<td class="{"bad" if col["drifted"] else "ok"}">{_fmt(col["drifted"])}</td>'
            f'{_td(s.get("ks"))}{_td(s.get("wasserstein_normed"))}{_td(s.get("psi"))}'
            f'{_td(s.get("js"))}{_td(s.get("chi2_pvalue"))}'
            f'{_td(col["missing_reference"], pct=True)}{_td(col["missing_current"], pct=True)}'
            "</tr>")
        charts.append(f'<figure id="{cid}" data-drifted="{flag}"><figcaption>'
                      f'{_e(col["column"])} <small class="muted">{_e(col["method"])} '
                      f'{_fmt(col["score"])}</small></figcaption>{_column_chart(col)}</figure>')
    box = ('<label><input type="checkbox" id="only-drifted"> only drifted columns</label>'
           if filter_box else "")
    legend = (f'<p class="legend muted"><span style="background:{REF_COLOR}"></span>reference'
              f'<span style="background:{CUR_COLOR}"></span>current</p>')
    return (f"<section id=\"{anchor}\"><h2>{_e(title)} {box}</h2>"
            f'<p class="muted">{len(drift["drifted_columns"])} of {drift["n_columns"]} columns '
            f'drifted (share {_pct(drift["drift_share"])}; the dataset drifts at '
            f'{_pct(drift["share_threshold"])}).</p>'
            f'<div class="scroll"><table class="sortable"><thead>{head}</thead><tbody>'
            f'{"".join(rows)}</tbody></table></div>{legend}<div class="grid">'
            f'{"".join(charts)}</div></section>')


def _quality_section(quality: Mapping[str, Any]) -> str:
    head = ("<tr><th>column</th><th>kind</th><th>missing</th><th>missing ref</th>"
            "<th>type errors</th><th>out of range</th><th>unseen</th><th>constant</th>"
            "<th>issues</th></tr>")
    rows = [f'<tr><td>{_e(c["column"])}</td><td>{_e(c["kind"])}</td>'
            f'{_td(c["missing"], pct=True)}{_td(c["missing_reference"], pct=True)}'
            f'{_td(c["type_errors"], pct=True)}{_td(c["out_of_range"], pct=True)}'
            f'{_td(c["unseen"], pct=True)}<td>{_fmt(c["constant"])}</td>'
            f'<td class="{"bad" if c["issues"] else ""}">{_e("; ".join(c["issues"]))}</td></tr>'
            for c in quality["columns"]]
    issues = "".join(f"<li>{_e(i)}</li>" for i in quality["issues"]) or "<li>none</li>"
    volume = ""
    if quality.get("expected_rows"):
        volume = (f' Expected about {quality["expected_rows"]:.0f} rows '
                  f'({_pct(quality["volume_ratio"])} of it arrived).')
    missing = (f' Missing columns: {_e(", ".join(quality["missing_columns"]))}.'
               if quality["missing_columns"] else "")
    return (f'<section id="quality"><h2>Data quality</h2><p class="muted">{quality["rows"]:,} '
            f"rows.{volume}{missing}</p><ul>{issues}</ul>"
            f'<div class="scroll"><table class="sortable"><thead>{head}</thead><tbody>'
            f'{"".join(rows)}</tbody></table></div></section>')


def _performance_section(perf: Mapping[str, Any] | None,
                         history: Sequence[Mapping[str, Any]]) -> str:
    parts = ['<section id="performance"><h2>Performance</h2>']
    windows = list((perf or {}).get("windows") or [])
    if not windows and history:
        windows = [{"start": h["window_start"], "coverage": h.get("label_coverage") or 0.0,
                    "labelled": h.get("labelled"), "predictions": h.get("predictions"),
                    "metrics": {k: h.get(k) for k in HISTORY_METRICS if k in h}}
                   for h in history]
    if perf:
        o = perf["overall"]
        parts.append(f'<p class="muted">{perf["task"]}: {o["labelled"]:,} labelled of '
                     f'{o["predictions"]:,} predictions ({_pct(o["coverage"])} coverage). '
                     "A metric on few labels is shown with its coverage; read it as such."
                     "</p>")
        metrics = sorted(set(o["metrics"]) | set(perf.get("validation", {})))
        rows = "".join(
            f"<tr><td>{_e(m)}</td>{_td(o['metrics'].get(m))}"
            f"{_td(perf.get('validation', {}).get(m))}{_td(perf.get('deltas', {}).get(m))}</tr>"
            for m in metrics)
        parts.append("<table><thead><tr><th>metric</th><th>current</th><th>validation</th>"
                     f"<th>difference</th></tr></thead><tbody>{rows}</tbody></table>")
    if windows:
        keys = [k for k in ("auc", "accuracy", "f1", "r2", "rmse", "mae")
                if any(w["metrics"].get(k) is not None for w in windows)][:3]
        xs = [float(w["start"] or 0) for w in windows]
        series = {k: [w["metrics"].get(k) for w in windows] for k in keys}
        parts.append("<h3>Over time (grey bars: label coverage)</h3>")
        parts.append(line_chart(xs, series, bars=[float(w.get("coverage") or 0.0)
                                                  for w in windows]))
        rows = "".join(
            f"<tr><td>{datetime.fromtimestamp((w['start'] or 0) / 1000, tz=UTC):%Y-%m-%d %H:%M}"
            f"</td>{_td(w.get('predictions'))}{_td(w.get('labelled'))}"
            f"{_td(w.get('coverage'), pct=True)}"
            + "".join(_td(w["metrics"].get(k)) for k in keys) + "</tr>" for w in windows)
        heads = "".join(f"<th>{_e(k)}</th>" for k in keys)
        parts.append("<table class=\"sortable\"><thead><tr><th>window</th><th>predictions</th>"
                     f"<th>labelled</th><th>coverage</th>{heads}</tr></thead><tbody>{rows}"
                     "</tbody></table>")
    parts.append("</section>")
    return "".join(parts)


def monitoring_report(reference: Any, current: Any, *, signature: Any = None,
                      performance: PerformanceReport | None = None,
                      prediction_reference: Any = None, prediction_current: Any = None,
                      title: str = "Shipyard monitoring report", expected_rows: float | None =
                      None, **drift_options: Any) -> MonitoringReport:
    """Drift and data quality of ``current`` against ``reference`` (plus prediction drift
    and performance when given) as a `MonitoringReport` (``.save("report.html")``)."""
    profile = ReferenceProfile.load(reference, categorical=list(
        drift_options.get("categorical", ())), numeric=list(drift_options.get("numeric", ())))
    drift = drift_report(profile, current, **drift_options)
    quality = quality_report(current, reference=profile, signature=signature,
                             expected_rows=expected_rows,
                             categorical=list(drift_options.get("categorical", ())))
    pred = None
    if prediction_reference is not None and prediction_current is not None:
        pred = drift_report(prediction_reference, prediction_current)
    return MonitoringReport(title=title, drift=drift, quality=quality, prediction_drift=pred,
                            performance=performance)
