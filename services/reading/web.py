"""The cardiologist's workstation: server-rendered HTML pages over the reading-centre API.

| route                          | what                                                     |
|--------------------------------|----------------------------------------------------------|
| GET /reading/                  | the open queue; refreshes every 5 s                      |
| GET /reading/queue-rows        | the queue table body alone (what the page polls)         |
| GET /reading/ecg/{ecg_id}      | one ECG on grid paper, measurements, previous ECG, report |
| GET /reading/static/{name}     | the page script and style sheet (no CDN, no build step)  |

Pages only read (the queue view, the FHIR views); every change goes through the JSON API
in `routes.py` from the page's script, so the one write path stays the API's. The queue
polls an HTML fragment rendered by the same function as the first page load, so rows are
formatted and escaped in one place. No auth yet: the reader id is typed once and kept in
the browser (localStorage).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from services.deps import SystemDep
from services.reading import queue
from services.reading.ecg_svg import GAIN_MM_PER_MV, ecg_svg
from services.system import System
from stream_processors.diagnosis_queue.item import QueueItem, format_instant, parse_instant
from stream_processors.diagnosis_queue.read_to_fhir import diagnostic_report_id
from stream_processors.fhir_projector.codes import (
    ECG_CODE,
    ECG_ID,
    ECG_MEASUREMENTS,
    LOINC,
    MDC,
    STANDARD_LEAD_ORDER,
)
from stream_processors.ids import ecg_observation_id

router = APIRouter(prefix="/reading", tags=["reading workstation"], include_in_schema=False)

HERE = Path(__file__).parent
STATIC_TYPES = {
    "workstation.js": "text/javascript; charset=utf-8",
    "workstation.css": "text/css; charset=utf-8",
}
# Everything is served from here: a clinical page must not depend on (or leak to) a CDN.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",  # patient data: never from a shared or back-button cache
}
QUEUE_POLL_S = 5
NOT_YET_REFRESH_S = 2  # an ECG page opened before the projector wrote the Observation
SNOMED = "http://snomed.info/sct"
DEVICE_STATEMENT = "Device statement: "
CLINICAL_QUESTION = "Clinical question: "
ST_NOTABLE_UV = 100  # 1 mm at 10 mm/mV: the smallest ST deviation the STEMI criteria count

# The statements a reader codes most often, as SNOMED CT findings. Codes as used by the
# PhysioNet/CinC Challenge 2020 ECG label mapping (dx_mapping_scored/unscored.csv), except
# 401303003, the disorder "Acute ST segment elevation myocardial infarction".
CODED_STATEMENTS: tuple[tuple[str, str], ...] = (
    ("426783006", "Sinus rhythm"),
    ("427084000", "Sinus tachycardia"),
    ("426177001", "Sinus bradycardia"),
    ("164889003", "Atrial fibrillation"),
    ("164890007", "Atrial flutter"),
    ("270492004", "First degree atrioventricular block"),
    ("27885002", "Complete atrioventricular block"),
    ("164909002", "Left bundle branch block"),
    ("59118001", "Right bundle branch block"),
    ("164873001", "Left ventricular hypertrophy"),
    ("164931005", "ST elevation"),
    ("429622005", "ST depression"),
    ("59931005", "T wave inversion"),
    ("111975006", "Prolonged QT interval"),
    ("164865005", "ECG: myocardial infarction"),
    ("401303003", "Acute ST segment elevation myocardial infarction"),
)

Json = dict[str, Any]


# --- routes -------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def queue_page(system: SystemDep) -> HTMLResponse:
    """The reading centre's open queue, most urgent first."""
    rows = queue_rows_html(system, queue.now())
    return _page(
        "queue.html",
        {
            "title": "Reading queue",
            "rows": rows,
            "poll_s": str(QUEUE_POLL_S),
            "centre": _e(system.settings.reading_centre_id),
        },
    )


@router.get("/queue-rows", response_class=HTMLResponse)
def queue_rows(system: SystemDep) -> HTMLResponse:
    """The queue's `<tbody>` content, polled by the queue page."""
    return HTMLResponse(queue_rows_html(system, queue.now()), headers=SECURITY_HEADERS)


@router.get("/ecg/{ecg_id}", response_class=HTMLResponse)
def ecg_page(ecg_id: str, system: SystemDep) -> HTMLResponse:
    """One ECG for reading: the print-out, measurements, previous ECG and the report form."""
    item = queue.current(system, ecg_id)
    obs = _read(system, "Observation", ecg_observation_id(ecg_id))
    if obs is None:
        return _not_yet(ecg_id, known=item is not None)
    return _page("ecg.html", ecg_fragments(system, ecg_id, item, obs, queue.now()))


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC_TYPES:  # a fixed list: no path ever reaches the file system
        return HTMLResponse("not found", status_code=404)
    return Response(
        _static(name),
        media_type=STATIC_TYPES[name],
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


# --- page plumbing ------------------------------------------------------------------------


def _e(value: object) -> str:
    """Escape for HTML text and attribute values (quotes included)."""
    return html.escape(str(value), quote=True)


@cache
def _template(name: str) -> string.Template:
    return string.Template((HERE / "templates" / name).read_text(encoding="utf-8"))


@cache
def _static(name: str) -> bytes:
    return (HERE / "static" / name).read_bytes()


def _page(template: str, fragments: dict[str, str], status: int = 200) -> HTMLResponse:
    """Fill a template with fragments that are already HTML (every caller escapes)."""
    body = _template(template).substitute(fragments)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def _not_yet(ecg_id: str, known: bool) -> HTMLResponse:
    if not known:
        return _page(
            "message.html",
            {"title": "Unknown ECG", "refresh": "", "message": f"No ECG {_e(ecg_id)} here."},
            status=404,
        )
    return _page(
        "message.html",
        {
            "title": "ECG arriving",
            "refresh": str(NOT_YET_REFRESH_S),
            "message": f"ECG {_e(ecg_id)} is queued; its waveform is still being stored. "
            "This page reloads by itself.",
        },
    )


def _read(system: System, rtype: str, rid: str) -> Json | None:
    stored = system.store.read(rtype, rid)
    return None if stored is None else dict(json.loads(stored.body))


# --- times --------------------------------------------------------------------------------


def _time(instant: str, text: str | None = None) -> str:
    """A `<time>` the page script shows in the reader's local time (UTC until it does)."""
    if not instant:
        return ""
    shown = text if text is not None else parse_instant(instant).strftime("%H:%M UTC")
    return f'<time datetime="{_e(instant)}" data-local="time">{_e(shown)}</time>'


def _span(seconds: float) -> str:
    """'40 s', '4 min', '2 h 5 min', '3 d'."""
    s = int(abs(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 48 * 3600:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d"


def _ago(instant: str, at: dt.datetime) -> str:
    return f"{_span((at - parse_instant(instant)).total_seconds())} ago" if instant else ""


def _due(instant: str, at: dt.datetime) -> str:
    seconds = (parse_instant(instant) - at).total_seconds()
    return f"in {_span(seconds)}" if seconds > 0 else f"{_span(seconds)} late"


# --- queue page ---------------------------------------------------------------------------


def queue_rows_html(system: System, at: dt.datetime) -> str:
    items = queue.open_items(system, system.settings.reading_centre_id)
    if not items:
        return '<tr class="empty"><td colspan="9">No ECG waiting to be read.</td></tr>'
    return "\n".join(_queue_row(i, at) for i in items)


def _queue_row(item: QueueItem, at: dt.datetime) -> str:
    stamp = format_instant(at)
    overdue, available = item.overdue(stamp), item.available(stamp)
    classes = f"cls-{item.triage_class}" + (" overdue" if overdue else "")
    link = f"/reading/ecg/{_e(item.ecg_id)}"
    action = (
        f'<button type="button" class="claim" data-ecg-id="{_e(item.ecg_id)}">Claim</button>'
        if available
        else ""
    )
    return (
        f'<tr class="{classes}" data-ecg-id="{_e(item.ecg_id)}" data-class="{_e(item.triage_class)}">'
        f'<td><span class="badge {_e(item.triage_class)}">{_e(item.triage_class)}</span></td>'
        f'<td title="{_e(item.site_id)}">{_e(item.site_name or item.site_id)}</td>'
        f'<td><a href="{link}">{_e(item.patient_name or item.patient_ref or "?")}</a></td>'
        f"<td>{_e(item.clinical_question)}</td>"
        f'<td>{_time(item.submitted_at)} <span class="ago">{_e(_ago(item.submitted_at, at))}</span></td>'
        f'<td>{_time(item.due_at)} <span class="due">{_e(_due(item.due_at, at))}</span></td>'
        f"<td>{_marks(overdue, item.escalated)}</td>"
        f"<td>{_lease(item, stamp)}</td>"
        f'<td class="actions">{action} <a href="{link}">Open</a></td></tr>'
    )


def _marks(overdue: bool, escalated: bool) -> str:
    marks = [("overdue", "OVERDUE")] if overdue else []
    marks += [("escalated", "ESCALATED")] if escalated else []
    return " ".join(f'<span class="mark {c}">{t}</span>' for c, t in marks)


def _lease(item: QueueItem, stamp: str) -> str:
    if item.status != "claimed":
        return '<span class="free">open</span>'
    state = "lease expired" if item.lease_expired(stamp) else "until"
    return (
        f'<span class="holder">{_e(item.holder)}</span> '
        f'<span class="lease">{state} {_time(item.lease_until)}</span>'
    )


# --- ECG page -----------------------------------------------------------------------------


def ecg_fragments(
    system: System, ecg_id: str, item: QueueItem | None, obs: Json, at: dt.datetime
) -> dict[str, str]:
    """Every fragment of the ECG page template, escaped."""
    patient_ref = (item.patient_ref if item else "") or obs.get("subject", {}).get("reference", "")
    patient = _read(system, *patient_ref.split("/", 1)) if "/" in patient_ref else None
    return {
        "title": _e(f"ECG {ecg_id}"),
        "ecg_id": _e(ecg_id),
        "observation_id": _e(obs.get("id", "")),
        "summary": _summary(item, obs),
        "patient": _patient_html(item, patient, obs),
        "question": _e(_clinical_question(item, obs) or "—"),
        "svg": ecg_svg(obs, id_prefix="ecg-current"),
        "measurements": _measurements_html(obs, item),
        "previous": _previous_html(system, obs),
        "report": _report_html(ecg_id, item, obs, at),
    }


def _summary(item: QueueItem | None, obs: Json) -> str:
    site = (obs.get("performer") or [{}])[0].get("display", "")
    device = obs.get("device", {}).get("display", "")
    cls = (
        f'<span class="badge {_e(item.triage_class)}">{_e(item.triage_class)}</span> '
        if item
        else ""
    )
    marks = _marks(item.overdue(format_instant(queue.now())), item.escalated) if item else ""
    return (
        f"{cls}{marks} acquired {_time(obs.get('effectiveDateTime', ''), _date_time(obs))}"
        f" · {_e(site)} · {_e(device)}"
    )


def _date_time(obs: Json) -> str:
    value = obs.get("effectiveDateTime", "")
    return parse_instant(value).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _patient_html(item: QueueItem | None, patient: Json | None, obs: Json) -> str:
    name = (item.patient_name if item else "") or _patient_name(patient) or "unknown"
    gender = (patient or {}).get("gender", "")
    birth = (patient or {}).get("birthDate", "")
    age = _age(birth, obs.get("effectiveDateTime", ""))
    facts = [f for f in (gender, f"born {birth}" if birth else "", f"{age} y" if age else "") if f]
    ref = (patient or {}).get("id", "")
    link = f' <a class="fhir" href="/fhir/Patient/{_e(ref)}">FHIR</a>' if ref else ""
    return (
        f'<span class="patient-name" lang="zh">{_e(name)}</span> '
        f'<span class="facts">{_e(", ".join(facts))}</span>{link}'
    )


def _patient_name(patient: Json | None) -> str:
    for name in (patient or {}).get("name", []):
        return str(name.get("family", "")) + "".join(name.get("given", []))
    return ""


def _age(birth: str, at: str) -> int | None:
    if not birth or not at or len(birth) < 10:
        return None
    born, on = dt.date.fromisoformat(birth[:10]), parse_instant(at).date()
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _clinical_question(item: QueueItem | None, obs: Json) -> str:
    if item and item.clinical_question:
        return item.clinical_question
    return next(iter(_notes(obs, CLINICAL_QUESTION)), "")


def _notes(obs: Json, prefix: str) -> list[str]:
    return [
        n["text"][len(prefix) :]
        for n in obs.get("note", [])
        if str(n.get("text", "")).startswith(prefix)
    ]


# --- measurements -------------------------------------------------------------------------

MEASURED_ROWS = (
    ("heart_rate_bpm", "HR", "/min"),
    ("pr_ms", "PR", "ms"),
    ("qrs_ms", "QRS", "ms"),
    ("qt_ms", "QT", "ms"),
    ("qtc_ms", "QTc", "ms"),
    ("p_axis_deg", "P axis", "°"),
    ("qrs_axis_deg", "QRS axis", "°"),
    ("t_axis_deg", "T axis", "°"),
)


def device_measurements(obs: Json) -> dict[str, float]:
    """Measurement field -> value, from the Observation's LOINC-coded components."""
    field_of = {code: field for field, (code, _, _) in ECG_MEASUREMENTS.items()}
    out: dict[str, float] = {}
    for component in obs.get("component", []):
        for coding in component.get("code", {}).get("coding", []):
            if coding.get("system") == LOINC and coding.get("code") in field_of:
                out[field_of[coding["code"]]] = component.get("valueQuantity", {}).get("value")
    return out


def _measurements_html(obs: Json, item: QueueItem | None) -> str:
    """Device (Observation LOINC components) beside automatic (queue item) values."""
    device = device_measurements(obs)
    auto = item.measurements if item else {}
    shown = [r for r in MEASURED_ROWS if r[0] in device or auto.get(r[0]) is not None]
    if not shown:
        return "<p>No measurements stated.</p>" + _triage_html(item)
    sources = [("device", device)] + (
        [("automatic", auto)] if any(auto.get(f) is not None for f, _, _ in shown) else []
    )
    head = "".join(f"<th>{name}</th>" for name, _ in sources)
    rows = "".join(
        f"<tr><th>{label}</th>"
        + "".join(f"<td>{_value(values.get(field), unit)}</td>" for _, values in sources)
        + "</tr>"
        for field, label, unit in shown
    )
    table = (
        f'<table class="measurements"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
    return table + _triage_html(item) + _st_html(auto.get("st_deviation_uv") or {})


def _value(value: Any, unit: str) -> str:
    if value is None:
        return '<span class="na">—</span>'
    number = f"{value:.0f}" if isinstance(value, float) else str(value)  # ms, /min, degrees
    return f"{_e(number)} {_e(unit)}"


def _triage_html(item: QueueItem | None) -> str:
    if item is None:
        return ""
    auto = item.measurements
    facts = []
    if "analysable" in auto:
        facts.append(f"analysable: {'yes' if auto['analysable'] else 'no'}")
    if auto.get("irregular"):
        facts.append("irregular rhythm")
    facts += [f"problem: {p}" for p in auto.get("problems") or []]
    reasons = "".join(f"<li>{_e(r)}</li>" for r in item.reasons)
    return (
        f'<p class="triage">triage <span class="badge {_e(item.triage_class)}">'
        f"{_e(item.triage_class)}</span> {_e('; '.join(facts))}</p>"
        f'<ul class="reasons">{reasons}</ul>'
    )


def _st_html(st: dict[str, float]) -> str:
    """ST deviation per lead in mm (as read off the paper) and µV; 1 mm or more
    highlighted. Limb leads on one line, chest leads on the next."""
    if not st:
        return ""
    lines = "".join(
        "<tr>" + "".join(_st_cell(lead, st[lead]) for lead in group if lead in st) + "</tr>"
        for group in (STANDARD_LEAD_ORDER[:6], STANDARD_LEAD_ORDER[6:])
    )
    return (
        f'<table class="st"><caption>ST deviation at J+60 ms (mm at 10 mm/mV)</caption>'
        f"{lines}</table>"
    )


def _st_cell(lead: str, uv: float) -> str:
    cls = "st-up" if uv >= ST_NOTABLE_UV else "st-down" if uv <= -ST_NOTABLE_UV else ""
    mm = uv / 1000 * GAIN_MM_PER_MV
    return (
        f'<td class="{cls}" data-lead="{_e(lead)}"><b>{_e(lead)}</b> {mm:+.1f}'
        f"<small>{uv:+.0f} µV</small></td>"
    )


# --- previous ECG -------------------------------------------------------------------------


@dataclass(frozen=True)
class Previous:
    ecg_id: str
    obs: Json


def previous_ecg(system: System, obs: Json) -> Previous | None:
    """The patient's most recent other ECG acquired no later than this one, if any."""
    subject = obs.get("subject", {}).get("reference", "")
    if not subject:
        return None
    when = obs.get("effectiveDateTime", "")
    others = [
        o
        for o in (
            _read(system, t, i)
            for t, i in system.store.lookup("Observation.subject", subject)
            if t == "Observation" and i != obs.get("id")
        )
        if o is not None and _is_ecg(o) and o.get("effectiveDateTime", "") <= when
    ]
    if not others:
        return None
    best = max(others, key=lambda o: (o.get("effectiveDateTime", ""), o.get("id", "")))
    return Previous(_ecg_id(best), best)


def _is_ecg(obs: Json) -> bool:
    return any(
        c.get("system") == MDC and c.get("code") == ECG_CODE[0]
        for c in obs.get("code", {}).get("coding", [])
    )


def _ecg_id(obs: Json) -> str:
    return next((i["value"] for i in obs.get("identifier", []) if i.get("system") == ECG_ID), "")


def _previous_html(system: System, obs: Json) -> str:
    prev = previous_ecg(system, obs)
    if prev is None:
        return '<p class="none">No previous ECG of this patient.</p>'
    report = _read(system, "DiagnosticReport", diagnostic_report_id(prev.ecg_id))
    read = (
        f'<p class="prev-read">Read: {_e(report.get("conclusion", ""))}</p>'
        if report
        else '<p class="prev-read">Not read.</p>'
    )
    return (
        f'<p><a id="previous-link" href="/reading/ecg/{_e(prev.ecg_id)}">ECG {_e(prev.ecg_id)}'
        f"</a>, acquired {_time(prev.obs.get('effectiveDateTime', ''), _date_time(prev.obs))}"
        f"</p>{read}"
        f'<div class="ecg-scroll small">{ecg_svg(prev.obs, scale=0.5, id_prefix="ecg-previous")}</div>'
    )


# --- report form --------------------------------------------------------------------------


def computer_statements(obs: Json, item: QueueItem | None) -> list[str]:
    """What the device and the automatic analysis said, for the reader to confirm.
    The queue's "sender: ..." reasons say why it was triaged, not what the ECG shows."""
    reasons = [r for r in (item.reasons if item else ()) if not r.startswith("sender:")]
    return list(dict.fromkeys([*_notes(obs, DEVICE_STATEMENT), *reasons]))


def _report_html(ecg_id: str, item: QueueItem | None, obs: Json, at: dt.datetime) -> str:
    if item is None or not item.requested:
        return '<p class="none">This ECG was not sent for a read.</p>'
    if item.status == "reported":
        return _signed_html(ecg_id, item.report)
    stamp = format_instant(at)
    attrs = (
        f'data-ecg-id="{_e(ecg_id)}" data-status="{_e(item.status)}" '
        f'data-holder="{_e(item.holder)}" data-lease-until="{_e(item.lease_until)}" '
        f'data-available="{"true" if item.available(stamp) else "false"}" '
        f'data-server-now="{_e(stamp)}"'
    )
    return _template("report_form.html").substitute(
        attrs=attrs,
        statements=_statement_boxes(computer_statements(obs, item)),
        coded=_coded_boxes(),
        signed=_signed_html(ecg_id, {}, hidden=True),
    )


def _statement_boxes(statements: list[str]) -> str:
    if not statements:
        return '<p class="none">No computer statements.</p>'
    return "".join(
        f'<label><input type="checkbox" name="confirmed" value="{_e(s)}"> {_e(s)}</label>'
        for s in statements
    )


def _coded_boxes() -> str:
    return "".join(
        f'<label><input type="checkbox" name="code" value="{code}" data-system="{SNOMED}"'
        f' data-display="{_e(display)}">'
        f" {_e(display)} <code>{code}</code></label>"
        for code, display in CODED_STATEMENTS
    )


def _signed_html(ecg_id: str, report: Json, hidden: bool = False) -> str:
    """The signed state; rendered empty and hidden under the form, filled by the script."""
    ref = f"DiagnosticReport/{diagnostic_report_id(ecg_id)}"
    codes = "".join(
        f"<li>{_e(c.get('display') or c.get('code'))} <code>{_e(c.get('code'))}</code></li>"
        for c in report.get("codes", [])
    )
    return (
        f'<section id="signed" class="signed" data-report="{_e(ref)}"{" hidden" if hidden else ""}>'
        f'<h3>Signed</h3><p>by <span id="signed-by">{_e(report.get("reader_id", ""))}</span>'
        f' at <span id="signed-at">{_time(report.get("signed_at", ""))}</span></p>'
        f'<blockquote id="signed-text">{_e(report.get("interpretation", ""))}</blockquote>'
        f'<ul id="signed-codes">{codes}</ul>'
        f'<p><a id="report-link" href="/fhir/{_e(ref)}">{_e(ref)}</a></p></section>'
    )
