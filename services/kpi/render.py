"""The quality report page: server-rendered HTML with inline SVG plots (no script, no CDN),
in the user's language (services/i18n), times in the user's zone.

Per interval indicator: the distribution of the measured intervals (histogram, bars past the
target in red, the target as a dashed line, each bar's count on it), compliance per month
against the standard's compliance target (value and n on each bar), and compliance per
group of the chosen dimension (station, clinic, ...) as bars and as a table with a row per
group, groups named from the registry. A figure that cannot be right (a median interval
over a day, intervals ending before they start, a compliance from a handful of cases) is
flagged beside it. Everything is escaped here; the page's style sheet is `STYLE`, served at
/kpi/report.css so the Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from services import i18n
from services.i18n import N_, _
from services.web_assets import Head, head_html
from stream_processors.quality_kpis import published as d
from stream_processors.quality_kpis.published import ALL, Figure, KpiReport, aggregate
from stream_processors.registry.published import display_name
from viewstore.base import ViewStore

HEAD = Head("/kpi/report.css")  # no script on the report (its CSP allows none)
MAX_BINS = 30
W, H = 560, 200  # plot size in CSS px
PAD_L, PAD_B, PAD_T = 40, 40, 22
IMPLAUSIBLE_MEDIAN_MIN = 24 * 60  # no indicator here is measured in days: a clock or data problem
SMALL_N = 5  # a compliance from fewer measured cases is shown, but flagged
LABEL_CHAR_PX = 11  # width of one CJK character at the label size: labels cut to fit a bar
DIMENSION_LABEL = {
    "station": N_("station"),
    "clinic": N_("clinic"),
    "hospital": N_("hospital"),
    "centre": N_("reading centre"),
    "month": N_("month"),
}
NAMED_DIMENSIONS = ("station", "clinic", "hospital", "centre")

STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .3rem; border-top: 1px solid #ccc; padding-top: .8rem; }
p.def { color: #555; font-size: .85rem; margin: .2rem 0; max-width: 70rem; }
form { margin: .6rem 0 1rem; display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; }
form input, form select, form button { font-size: 1rem; padding: .25rem .4rem; }
table.summary, table.groups { border-collapse: collapse; font-size: .9rem; margin: .4rem 0; }
table.summary td, table.summary th, table.groups td, table.groups th { border: 1px solid #ccc; padding: .25rem .5rem; text-align: right; }
td.name, th.name { text-align: left; }
td.bad { color: #c62828; font-weight: 600; } td.good { color: #2e7d32; font-weight: 600; }
td.na { color: #777; font-style: italic; text-align: left; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; } figcaption { font-size: .8rem; color: #444; }
svg text { font-size: 10px; fill: #333; }
svg text.value { font-size: 10px; font-weight: 600; fill: #111; }
rect.within { fill: #4f83c4; } rect.over { fill: #d9534f; } rect.compliance { fill: #5c9e5c; }
rect.compliance.below { fill: #d9534f; }
line.target { stroke: #222; stroke-dasharray: 4 3; stroke-width: 1.5; }
line.axis { stroke: #888; }
ul.warnings { margin: .3rem 0; padding: .4rem .8rem .4rem 1.8rem; background: #fff8e1; border-left: 4px solid #f9a825; max-width: 70rem; }
ul.warnings li { margin: .1rem 0; }
.error { background: #ffebee; border: 2px solid #c62828; padding: .6rem 1rem; font-weight: 600; max-width: 60rem; }
"""


@dataclass(frozen=True)
class Query:
    """The page's parameters as typed (shown back in its form and links)."""

    as_of: str = ""
    by: str = ""
    start: str = ""
    end: str = ""

    def encoded(self) -> str:
        pairs = (("as_of", self.as_of), ("by", self.by), ("from", self.start), ("to", self.end))
        return urlencode({k: v for k, v in pairs if v})


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def group_names(store: ViewStore, report: KpiReport) -> dict[str, str]:
    """Group value -> what a person reads: the registry's name for a station, clinic,
    hospital or centre id (the id where it is unknown); months as they are."""
    groups = {f.group for f in report.figures if f.group != ALL}
    if report.by not in NAMED_DIMENSIONS:
        return {g: g for g in groups}
    return {g: display_name(store, g, i18n.locale()) for g in groups}


def _svg(cls: str, kpi: d.Kpi, body: list[str], title: str) -> str:
    return (
        f'<svg class="{cls}" data-kpi="{_e(kpi.code)}" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img" aria-label="{_e(title)}">'
        f"<title>{_e(title)}</title>"
        f'<line class="axis" x1="{PAD_L}" y1="{H - PAD_B}" x2="{W}" y2="{H - PAD_B}"/>'
        f'<line class="axis" x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{H - PAD_B}"/>'
        + "".join(body)
        + "</svg>"
    )


def histogram(kpi: d.Kpi, minutes: Sequence[float]) -> str:
    """Counts of intervals per bin of `width` minutes; the last bin holds everything beyond.
    Each bar carries its count."""
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
        last = i == bins - 1
        low, high = f"{i * width:g}", f"{(i + 1) * width:g}"
        span = _("{low}+ min", low=low) if last else _("{low}-{high} min", low=low, high=high)
        body.append(
            f'<rect class="bar {cls}" data-count="{n}" x="{x:.1f}" y="{H - PAD_B - h:.1f}" '
            f'width="{bar_w - 1:.1f}" height="{h:.1f}"><title>{_e(span)}: {n}</title></rect>'
        )
        if n:
            body.append(
                f'<text class="value" x="{x + bar_w / 2:.1f}" y="{H - PAD_B - h - 3:.1f}"'
                f' text-anchor="middle">{n}</text>'
            )
        if i % max(1, bins // 10) == 0:
            body.append(f'<text x="{x:.1f}" y="{H - PAD_B + 12}">{i * width:g}</text>')
    tx = PAD_L + plot_w * min(1.0, target / (bins * width))
    body.append(f'<line class="target" x1="{tx:.1f}" y1="{PAD_T}" x2="{tx:.1f}" y2="{H - PAD_B}"/>')
    body.append(
        f'<text x="{tx + 3:.1f}" y="{PAD_T - 8}">{_e(_("target {n} min", n=f"{target:g}"))}</text>'
    )
    body.append(f'<text x="{W - 60}" y="{H - 8}">{_e(_("minutes"))}</text>')
    body.append(f'<text x="2" y="{PAD_T + 8}">{peak}</text>')
    title = _("{title}: distribution against target", title=_(kpi.title))
    return _svg("histogram", kpi, body, title)


def _cut(label: str, px: float) -> str:
    """A label cut to what fits under a bar `px` wide (the full name is in the bar's title)."""
    fits = max(2, int(px // LABEL_CHAR_PX))
    return label if len(label) <= fits else label[: fits - 1] + "…"


def compliance_bars(
    cls: str, kpi: d.Kpi, figures: Sequence[Figure], what: str, names: Mapping[str, str]
) -> str:
    """One bar per group (month or unit): its compliance with the value and n on it, the
    group's name under it, and the compliance target line."""
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
        name = names.get(f.group, f.group)
        body.append(
            f'<rect class="bar compliance{below}" data-group="{_e(f.group)}" data-n="{f.measured}" '
            f'data-compliance="{value:.4f}" x="{x + 1:.1f}" y="{H - PAD_B - h:.1f}" '
            f'width="{max(1.0, bar_w - 2):.1f}" height="{h:.1f}"><title>{_e(name)}: '
            f"{_e(_('{pct} of {n}', pct=_pct(value), n=f.measured))}</title></rect>"
        )
        mid = x + bar_w / 2
        top = H - PAD_B - h
        body.append(
            f'<text class="value" x="{mid:.1f}" y="{max(PAD_T - 2, top - 13):.1f}" text-anchor="middle">'
            f"{_pct(value)}</text>"
            f'<text class="n" x="{mid:.1f}" y="{max(PAD_T + 8, top - 3):.1f}" text-anchor="middle">'
            f"n={f.measured}</text>"
        )
        body.append(
            f'<text class="group" x="{mid:.1f}" y="{H - PAD_B + 13}" text-anchor="middle">'
            f"{_e(_cut(name, bar_w))}</text>"
        )
    if goal is not None:
        y = H - PAD_B - plot_h * goal
        body.append(f'<line class="target" x1="{PAD_L}" y1="{y:.1f}" x2="{W}" y2="{y:.1f}"/>')
        body.append(
            f'<text x="{W - 80}" y="{y - 3:.1f}">{_e(_("target {pct}", pct=_pct(goal)))}</text>'
        )
    title = _("{title}: compliance per {what}", title=_(kpi.title), what=what)
    return _svg(cls, kpi, body, title)


def warnings(kpi: d.Kpi, f: Figure) -> list[str]:
    """What makes a figure implausible or fragile, said in words."""
    out = []
    if f.median_min is not None and f.median_min > IMPLAUSIBLE_MEDIAN_MIN:
        out.append(
            _(
                "median {median} min is over 24 hours: implausible for this indicator; check device clocks and missing end events",
                median=_num(f.median_min),
            )
        )
    if f.invalid:
        out.append(
            _("{n} cases end before they start (a clock problem) and are not counted", n=f.invalid)
        )
    has_target = kpi.compliance_target is not None or kpi.target_minutes is not None
    if has_target and 0 < f.measured < SMALL_N:
        out.append(_("only {n} measured cases: the compliance is not reliable", n=f.measured))
    return out


def _warnings_html(kpi: d.Kpi, f: Figure) -> str:
    items = "".join(f"<li>{_e(w)}</li>" for w in warnings(kpi, f))
    return f'<ul class="warnings" data-kpi="{_e(kpi.code)}">{items}</ul>' if items else ""


def _target(kpi: d.Kpi) -> str:
    parts = [f"≤ {kpi.target_minutes:g} {_('min')}"] if kpi.target_minutes else []
    parts += [f"≥ {_pct(kpi.compliance_target)}"] if kpi.compliance_target is not None else []
    return ", ".join(parts)


def _figure_cells(kpi: d.Kpi, f: Figure) -> str:
    goal = kpi.compliance_target
    mark = (
        "" if goal is None or f.compliance is None else ("good" if f.compliance >= goal else "bad")
    )
    implausible = " bad" if warnings(kpi, f) else ""
    return (
        f"<td>{f.cases}</td><td>{f.measured}</td><td>{f.missing}</td>"
        f'<td class="median{implausible}">{_num(f.median_min)}</td>'
        f'<td>{_num(f.p90_min)}</td><td class="{mark}">{_pct(f.compliance)}</td>'
    )


def _summary_row(kpi: d.Kpi, f: Figure) -> str:
    if not kpi.available:
        return (
            f'<tr data-kpi="{kpi.code}"><td class="name">{_e(_(kpi.title))}</td>'
            f'<td class="na" colspan="7">{_e(_(kpi.unavailable_reason))}</td></tr>'
        )
    flag = (
        ' <span title="{}">⚠</span>'.format(_e("; ".join(warnings(kpi, f))))
        if warnings(kpi, f)
        else ""
    )
    return (
        f'<tr data-kpi="{kpi.code}"><td class="name">{_e(_(kpi.title))}{flag}</td>'
        f"{_figure_cells(kpi, f)}<td>{_e(_target(kpi))}</td></tr>"
    )


FIGURE_HEADS = (
    N_("cases"),
    N_("measured"),
    N_("missing"),
    N_("median (min)"),
    N_("p90 (min)"),
    N_("compliance"),
)


def _heads(first: str) -> str:
    return f'<th class="name">{_e(first)}</th>' + "".join(
        f"<th>{_e(_(h))}</th>" for h in FIGURE_HEADS
    )


def _groups_table(kpi: d.Kpi, groups: Sequence[Figure], what: str, names: Mapping[str, str]) -> str:
    """One row per group of the chosen dimension (every group, also those without a
    compliance to draw)."""
    if not groups:
        return f'<p class="def">{_e(_("No case has a {what}.", what=what))}</p>'
    rows = "".join(
        f'<tr data-group="{_e(f.group)}"><td class="name" title="{_e(f.group)}">'
        f"{_e(names.get(f.group, f.group))}</td>{_figure_cells(kpi, f)}</tr>"
        for f in groups
    )
    return (
        f'<table class="groups" data-kpi="{_e(kpi.code)}"><thead><tr>{_heads(what)}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _section(
    kpi: d.Kpi, report: KpiReport, monthly: Sequence[Figure], names: Mapping[str, str]
) -> str:
    defs = (
        f'<p class="def"><b>{_e(_("Start"))}</b>: {_e(_(kpi.start))}. <b>{_e(_("End"))}</b>: {_e(_(kpi.end))}. '
        f"<b>{_e(_('Cases'))}</b>: {_e(_(kpi.population))}. <b>{_e(_('Target source'))}</b>: {_e(_(kpi.source))}.</p>"
    )
    head = f'<section id="kpi-{kpi.code}"><h2>{_e(_(kpi.title))}</h2>{defs}'
    if not kpi.available:
        return head + f'<p class="na">{_e(_(kpi.unavailable_reason))}</p></section>'
    total = next(f for f in report.figures if f.kpi == kpi.code and f.group == ALL)
    plots = []
    if kpi.kind == d.INTERVAL:
        minutes = [
            c.minutes
            for c in report.case_list
            if c.kpi == kpi.code and c.minutes is not None and c.minutes >= 0
        ]
        plots.append(_figure(histogram(kpi, minutes), _("distribution (minutes)")))
    month = _(DIMENSION_LABEL["month"])
    plots.append(
        _figure(compliance_bars("monthly", kpi, monthly, month, {}), _("per {what}", what=month))
    )
    table = ""
    if report.by:
        what = _(DIMENSION_LABEL.get(report.by, report.by))
        groups = [f for f in report.figures if f.kpi == kpi.code and f.group != ALL]
        bars = compliance_bars("groups", kpi, groups, what, names)
        plots.append(_figure(bars, _("per {what}", what=what)))
        table = _groups_table(kpi, groups, what, names)
    return (
        head + _warnings_html(kpi, total) + f'<div class="plots">{"".join(plots)}</div>'
        f"{table}</section>"
    )


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def _form(query: Query, bad: str = "") -> str:
    by_options = "".join(
        f'<option value="{v}"{" selected" if v == (query.by or "all") else ""}>'
        f"{_e(_('all') if v == 'all' else _(DIMENSION_LABEL.get(v, v)))}</option>"
        for v in ("all", *d.DIMENSIONS)
    )
    invalid = {
        p: ' aria-invalid="true" autofocus' if p == bad else "" for p in ("as_of", "from", "to")
    }
    links = (
        f'<a href="/kpi?{_e(query.encoded())}">JSON</a> · '
        f'<a href="/kpi/export.csv?{_e(query.encoded())}">CSV</a> · '
        f'<a href="/kpi/MeasureReport?{_e(query.encoded())}">FHIR MeasureReport</a>'
    )
    return (
        '<form method="get" action="/kpi/report">'
        f'<label>{_e(_("as of"))} <input name="as_of" value="{_e(query.as_of)}"'
        f' placeholder="2026-03-01"{invalid["as_of"]}></label>'
        f'<label>{_e(_("cases from"))} <input type="date" name="from" value="{_e(query.start)}"{invalid["from"]}></label>'
        f'<label>{_e(_("to"))} <input type="date" name="to" value="{_e(query.end)}"{invalid["to"]}></label>'
        f'<label>{_e(_("by"))} <select name="by">{by_options}</select></label>'
        f'<button type="submit">{_e(_("Show"))}</button> {links}</form>'
    )


def _page(title: str, body: str) -> str:
    return f"""{head_html(HEAD, title)}
<body>
<p><a href="/">{_e(_("Home"))}</a></p>
<h1>{_e(_("Chest-pain centre and 120 quality indicators"))}</h1>
{body}
</body></html>
"""


def _as_of_label(report: KpiReport) -> str:
    if report.as_of is None:
        return _("now (the whole log)")
    return f"{i18n.format_datetime(report.as_of)} ({i18n.zone_label()})"


def report_page(report: KpiReport, query: Query, names: Mapping[str, str] | None = None) -> str:
    names = names or {}
    monthly = aggregate(report.case_list, "month")
    totals = {f.kpi: f for f in report.figures if f.group == ALL}
    rows = "".join(_summary_row(k, totals[k.code]) for k in d.KPIS)
    sections = "".join(
        _section(k, report, [f for f in monthly if f.kpi == k.code and f.group != ALL], names)
        for k in d.KPIS
    )
    as_of = _e(_as_of_label(report))
    period = (
        f' <span id="period">{_e(_("Cases that started from {start} to {end}.", start=query.start or "…", end=query.end or "…"))}</span>'
        if query.start or query.end
        else ""
    )
    explained = _(
        "from the {counted} events the platform had recorded by then ({read} in the log). Intervals are measured between event times, never processing time.",
        counted=report.events_counted,
        read=report.events_read,
    )
    body = (
        f'<p class="def" id="as-of" data-as-of="{_e(report.as_of.isoformat() if report.as_of else "")}">'
        f"{_e(_('As of'))} <b>{as_of}</b>: {_e(explained)}{period}</p>"
        f"{_form(query)}"
        f'<table class="summary" id="summary"><thead><tr>{_heads(_("indicator"))}'
        f"<th>{_e(_('target'))}</th></tr></thead><tbody>{rows}</tbody></table>"
        f"{sections}{_triage_section(report)}"
    )
    return _page(_("Quality indicators as of {when}", when=_as_of_label(report)), body)


TRIAGE_COLUMNS = (
    N_("true positives"),
    N_("false positives"),
    N_("false negatives"),
    N_("true negatives"),
    N_("pending"),
    N_("PPV"),
    N_("sensitivity"),
)


def _triage_section(report: KpiReport) -> str:
    """The triage outcome loop (issue 12): the ambulance's STEMI calls against the
    hospitals' final diagnoses, per month of the call."""
    heads = "".join(f"<th>{_e(_(c))}</th>" for c in ("month", *TRIAGE_COLUMNS))
    rows = "".join(
        f'<tr data-month="{_e(r.month)}"><td>{_e(_("all") if r.month == ALL else r.month)}</td>'
        f"<td>{r.tp}</td><td>{r.fp}</td><td>{r.fn}</td><td>{r.tn}</td><td>{r.pending}</td>"
        f"<td>{_pct(r.ppv)}</td><td>{_pct(r.sensitivity)}</td></tr>"
        for r in report.triage
    )
    return (
        '<section id="triage-outcome">'
        f"<h2>{_e(_('Triage outcome: the ambulance STEMI call against the final diagnosis'))}</h2>"
        f'<p class="def">{_e(_(TRIAGE_NOTE))}</p>'
        f'<table class="groups"><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>'
        "</section>"
    )


TRIAGE_NOTE = N_(
    "A call is a STEMI pre-alert or an ambulance ECG triaged critical; the final diagnosis is "
    "the Condition the hospital reported (SNOMED CT 401303003 confirmed, or refuted). Counted "
    "per month of the call; pending: no final diagnosis reported yet."
)


def error_page(query: Query, message: str, parameter: str) -> str:
    """The report's form with what is wrong, instead of the figures (HTTP 400)."""
    body = (
        f'<p class="error" role="alert" id="error" data-parameter="{_e(parameter)}">{_e(message)}</p>'
        f"{_form(query, parameter)}"
    )
    return _page(_("Quality indicators: check the query"), body)
