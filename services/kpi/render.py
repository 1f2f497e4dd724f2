"""The quality report page: server-rendered HTML with inline SVG plots (no script, no CDN).

Per interval indicator: the distribution of the measured intervals (histogram, bars past the
target in red, the target as a dashed line), compliance per month against the standard's
compliance target, and compliance per group of the chosen dimension (station, clinic, ...).
Everything is escaped here; the page's style sheet is `STYLE`, served at /kpi/report.css so
the Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from urllib.parse import urlencode

from stream_processors.quality_kpis import definitions as d
from stream_processors.quality_kpis.aggregate import ALL, Figure, KpiReport, aggregate

MAX_BINS = 30
W, H = 520, 180  # plot size in CSS px
PAD_L, PAD_B, PAD_T = 40, 28, 12

STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .3rem; border-top: 1px solid #ccc; padding-top: .8rem; }
p.def { color: #555; font-size: .85rem; margin: .2rem 0; max-width: 70rem; }
form { margin: .6rem 0 1rem; }
table.summary { border-collapse: collapse; font-size: .9rem; }
table.summary td, table.summary th { border: 1px solid #ccc; padding: .25rem .5rem; text-align: right; }
table.summary td.name, table.summary th.name { text-align: left; }
td.bad { color: #c62828; font-weight: 600; } td.good { color: #2e7d32; font-weight: 600; }
td.na { color: #777; font-style: italic; text-align: left; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; } figcaption { font-size: .8rem; color: #444; }
svg text { font-size: 10px; fill: #333; }
rect.within { fill: #4f83c4; } rect.over { fill: #d9534f; } rect.compliance { fill: #5c9e5c; }
rect.compliance.below { fill: #d9534f; }
line.target { stroke: #222; stroke-dasharray: 4 3; stroke-width: 1.5; }
line.axis { stroke: #888; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _svg(cls: str, kpi: str, body: list[str], title: str) -> str:
    return (
        f'<svg class="{cls}" data-kpi="{_e(kpi)}" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img" aria-label="{_e(title)}">'
        f"<title>{_e(title)}</title>"
        f'<line class="axis" x1="{PAD_L}" y1="{H - PAD_B}" x2="{W}" y2="{H - PAD_B}"/>'
        f'<line class="axis" x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{H - PAD_B}"/>'
        + "".join(body)
        + "</svg>"
    )


def histogram(kpi: d.Kpi, minutes: Sequence[float]) -> str:
    """Counts of intervals per bin of `width` minutes; the last bin holds everything beyond."""
    target = kpi.target_minutes or 10
    width = max(1.0, target / 5)
    top = max([3 * target, *minutes]) if minutes else 3 * target
    bins = min(MAX_BINS, math.ceil(top / width) or 1)
    counts = [0] * bins
    for m in minutes:
        counts[min(bins - 1, max(0, int(m // width)))] += 1
    peak = max(counts) or 1
    plot_w, plot_h = W - PAD_L - 4, H - PAD_B - PAD_T
    bar_w = plot_w / bins
    body = []
    for i, n in enumerate(counts):
        h = plot_h * n / peak
        cls = "within" if (i + 1) * width <= target else "over"
        x = PAD_L + i * bar_w
        body.append(
            f'<rect class="bar {cls}" data-count="{n}" x="{x:.1f}" y="{H - PAD_B - h:.1f}" '
            f'width="{bar_w - 1:.1f}" height="{h:.1f}"><title>{i * width:g}-{(i + 1) * width:g} '
            f"min: {n}</title></rect>"
        )
        if i % max(1, bins // 10) == 0:
            body.append(f'<text x="{x:.1f}" y="{H - PAD_B + 12}">{i * width:g}</text>')
    tx = PAD_L + plot_w * min(1.0, target / (bins * width))
    body.append(f'<line class="target" x1="{tx:.1f}" y1="{PAD_T}" x2="{tx:.1f}" y2="{H - PAD_B}"/>')
    body.append(f'<text x="{tx + 3:.1f}" y="{PAD_T + 8}">target {target:g} min</text>')
    body.append(f'<text x="{W - 60}" y="{H - 4}">minutes</text>')
    body.append(f'<text x="2" y="{PAD_T + 8}">{peak}</text>')
    return _svg("histogram", kpi.code, body, f"{kpi.title}: distribution against target")


def compliance_bars(cls: str, kpi: d.Kpi, figures: Sequence[Figure], what: str) -> str:
    """One bar per group (month or unit): its compliance, with the compliance target line."""
    shown = [f for f in figures if f.compliance is not None][:MAX_BINS]
    plot_w, plot_h = W - PAD_L - 4, H - PAD_B - PAD_T
    bar_w = plot_w / max(1, len(shown))
    goal = kpi.compliance_target
    body = [f'<text x="2" y="{PAD_T + 8}">100%</text>', f'<text x="2" y="{H - PAD_B}">0%</text>']
    for i, f in enumerate(shown):
        value = f.compliance or 0.0
        h = plot_h * value
        x = PAD_L + i * bar_w
        below = " below" if goal is not None and value < goal else ""
        body.append(
            f'<rect class="bar compliance{below}" data-group="{_e(f.group)}" '
            f'data-compliance="{value:.4f}" x="{x + 1:.1f}" y="{H - PAD_B - h:.1f}" '
            f'width="{max(1.0, bar_w - 2):.1f}" height="{h:.1f}"><title>{_e(f.group)}: '
            f"{_pct(value)} of {f.measured}</title></rect>"
        )
        body.append(f'<text x="{x + 2:.1f}" y="{H - PAD_B + 12}">{_e(f.group[-10:])}</text>')
    if goal is not None:
        y = H - PAD_B - plot_h * goal
        body.append(f'<line class="target" x1="{PAD_L}" y1="{y:.1f}" x2="{W}" y2="{y:.1f}"/>')
        body.append(f'<text x="{W - 70}" y="{y - 3:.1f}">target {_pct(goal)}</text>')
    return _svg(cls, kpi.code, body, f"{kpi.title}: compliance per {what}")


def _summary_row(kpi: d.Kpi, f: Figure) -> str:
    if not kpi.available:
        return (
            f'<tr data-kpi="{kpi.code}"><td class="name">{_e(kpi.title)}</td>'
            f'<td class="na" colspan="7">{_e(kpi.unavailable_reason)}</td></tr>'
        )
    goal = kpi.compliance_target
    mark = (
        "" if goal is None or f.compliance is None else ("good" if f.compliance >= goal else "bad")
    )
    parts = [f"≤ {kpi.target_minutes:g} min"] if kpi.target_minutes else []
    parts += [f"≥ {_pct(goal)}"] if goal is not None else []
    target = ", ".join(parts)
    return (
        f'<tr data-kpi="{kpi.code}"><td class="name">{_e(kpi.title)}</td><td>{f.cases}</td>'
        f"<td>{f.measured}</td><td>{f.missing}</td><td>{_num(f.median_min)}</td>"
        f'<td>{_num(f.p90_min)}</td><td class="{mark}">{_pct(f.compliance)}</td>'
        f"<td>{_e(target)}</td></tr>"
    )


def _section(kpi: d.Kpi, report: KpiReport, monthly: Sequence[Figure]) -> str:
    defs = (
        f'<p class="def"><b>Start</b>: {_e(kpi.start)}. <b>End</b>: {_e(kpi.end)}. '
        f"<b>Cases</b>: {_e(kpi.population)}. <b>Target source</b>: {_e(kpi.source)}.</p>"
    )
    head = f'<section id="kpi-{kpi.code}"><h2>{_e(kpi.title)}</h2>{defs}'
    if not kpi.available:
        return head + f'<p class="na">{_e(kpi.unavailable_reason)}</p></section>'
    plots = []
    if kpi.kind == d.INTERVAL:
        minutes = [
            c.minutes
            for c in report.case_list
            if c.kpi == kpi.code and c.minutes is not None and c.minutes >= 0
        ]
        plots.append(_figure(histogram(kpi, minutes), "distribution (minutes)"))
    plots.append(_figure(compliance_bars("monthly", kpi, monthly, "month"), "per month"))
    if report.by:
        groups = [f for f in report.figures if f.kpi == kpi.code and f.group != ALL]
        plots.append(_figure(compliance_bars("groups", kpi, groups, report.by), f"per {report.by}"))
    return head + f'<div class="plots">{"".join(plots)}</div></section>'


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def report_page(report: KpiReport, as_of_text: str) -> str:
    monthly = aggregate(report.case_list, "month")
    totals = {f.kpi: f for f in report.figures if f.group == ALL}
    rows = "".join(_summary_row(k, totals[k.code]) for k in d.KPIS)
    query = urlencode({k: v for k, v in (("as_of", as_of_text), ("by", report.by)) if v})
    by_options = "".join(
        f'<option value="{v}"{" selected" if v == (report.by or "all") else ""}>{v}</option>'
        for v in ("all", *d.DIMENSIONS)
    )
    sections = "".join(
        _section(k, report, [f for f in monthly if f.kpi == k.code and f.group != ALL])
        for k in d.KPIS
    )
    as_of_label = report.as_of.isoformat() if report.as_of else "now (the whole log)"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Quality indicators as of {_e(as_of_label)}</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/kpi/report.css"></head>
<body>
<h1>Chest-pain centre and 120 quality indicators</h1>
<p class="def" id="as-of">As of <b>{_e(as_of_label)}</b>: from the {report.events_counted} events
the platform had recorded by then (recorded_at ≤ as of; {report.events_read} in the log).
Intervals are measured between event times (occurred_at), never processing time.</p>
<form method="get" action="/kpi/report">
<label>as of <input name="as_of" value="{_e(as_of_text)}" placeholder="2026-03-01T00:00+08:00"></label>
<label>by <select name="by">{by_options}</select></label> <button type="submit">Show</button>
<a href="/kpi?{_e(query)}">JSON</a> · <a href="/kpi/export.csv?{_e(query)}">CSV</a> ·
<a href="/kpi/MeasureReport?{_e(query)}">FHIR MeasureReport</a></form>
<table class="summary" id="summary"><thead><tr><th class="name">indicator</th><th>cases</th>
<th>measured</th><th>missing</th><th>median min</th><th>p90 min</th><th>compliance</th>
<th>target</th></tr></thead><tbody>{rows}</tbody></table>
{sections}
</body></html>
"""
