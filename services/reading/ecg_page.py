"""The ECG page of the workstation (GET /reading/ecg/{ecg_id}, routed in web.py): the
print-out on grid paper, summary and patient, measurements (the device's and ours), triage,
ST deviations, the previous ECG of the patient, and the report form or the signed report.
Every fragment is HTML escaped here; web.py fills `ecg.html` with them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kernel.codes import (
    ECG_CODE,
    ECG_ID,
    ECG_MEASUREMENTS,
    LOINC,
    MDC,
    STANDARD_LEAD_ORDER,
)
from kernel.jsontypes import Json
from kernel.time import instant, now, parse_instant
from services.i18n import N_, _
from services.i18n.reasons import reason_text
from services.reading.ecg_svg import GAIN_MM_PER_MV, ecg_svg, sampling_rate_hz
from services.reading.html_parts import ASSETS, esc, marks, read_view, time_html
from services.reading.serial import changes, measurement_set
from services.system import System
from stream_processors.diagnosis_queue.published import (
    QueueItem,
    diagnostic_report_id,
    queue_item_id,
)

SNOMED = "http://snomed.info/sct"
DEVICE_STATEMENT = "Device statement: "
CLINICAL_QUESTION = "Clinical question: "
ST_NOTABLE_UV = 100  # 1 mm at 10 mm/mV: the smallest ST deviation the STEMI criteria count

# The statements a reader codes most often, as SNOMED CT findings. Codes as used by the
# PhysioNet/CinC Challenge 2020 ECG label mapping (dx_mapping_scored/unscored.csv), except
# 401303003, the disorder "Acute ST segment elevation myocardial infarction".
CODED_STATEMENTS: tuple[tuple[str, str], ...] = (
    ("426783006", N_("Sinus rhythm")),
    ("427084000", N_("Sinus tachycardia")),
    ("426177001", N_("Sinus bradycardia")),
    ("164889003", N_("Atrial fibrillation")),
    ("164890007", N_("Atrial flutter")),
    ("270492004", N_("First degree atrioventricular block")),
    ("27885002", N_("Complete atrioventricular block")),
    ("164909002", N_("Left bundle branch block")),
    ("59118001", N_("Right bundle branch block")),
    ("164873001", N_("Left ventricular hypertrophy")),
    ("164931005", N_("ST elevation")),
    ("429622005", N_("ST depression")),
    ("59931005", N_("T wave inversion")),
    ("111975006", N_("Prolonged QT interval")),
    ("164865005", N_("ECG: myocardial infarction")),
    ("401303003", N_("Acute ST segment elevation myocardial infarction")),
)
CODED_DISPLAY = dict(CODED_STATEMENTS)  # code -> its SNOMED CT display (a catalogue id)


def ecg_fragments(
    system: System, ecg_id: str, item: QueueItem | None, obs: Json, at: dt.datetime
) -> dict[str, str]:
    """Every fragment of the ECG page template, escaped."""
    patient_ref = (item.patient_ref if item else "") or obs.get("subject", {}).get("reference", "")
    patient = read_view(system, *patient_ref.split("/", 1)) if "/" in patient_ref else None
    return {
        "ecg_id": esc(ecg_id),
        "observation_id": esc(obs.get("id", "")),
        "summary": _summary(item, obs),
        "patient": _patient_html(item, patient, obs),
        "question": esc(_clinical_question(item, obs) or "—"),
        "svg": ecg_svg(obs, id_prefix="ecg-current"),
        "filter_label": esc(_filter_label(obs)),
        "measurements": _measurements_html(obs, item),
        "previous": _previous_html(system, obs, item),
        "report": _report_html(ecg_id, item, obs, at),
    }


def _filter_label(obs: Json) -> str:
    """What the reader sees is the recording as sent: the viewer applies no filter, so the
    label says so with the sampling rate (a cart's own filters are not stated in the
    Observation)."""
    rate = sampling_rate_hz(obs)
    if rate is None:
        return _("Filter: none (as recorded)")
    return _("Filter: none (as recorded) · {rate} Hz", rate=f"{rate:g}")


def _summary(item: QueueItem | None, obs: Json) -> str:
    site = (obs.get("performer") or [{}])[0].get("display", "")
    device = obs.get("device", {}).get("display", "")
    cls = (
        f'<span class="badge {esc(item.triage_class)}">{esc(_(TRIAGE_LABEL.get(item.triage_class, item.triage_class)))}</span> '
        if item
        else ""
    )
    badges = marks(item.overdue(instant(now())), item.escalated) if item else ""
    return (
        f"{cls}{badges} {esc(_('acquired'))} {time_html(obs.get('effectiveDateTime', ''), full=True)}"
        f" · {esc(site)} · {esc(device)}"
    )


def _patient_html(item: QueueItem | None, patient: Json | None, obs: Json) -> str:
    name = (item.patient_name if item else "") or _patient_name(patient) or _("unknown")
    gender = (patient or {}).get("gender", "")
    sex = {"male": _("male"), "female": _("female")}.get(gender, gender)
    birth = (patient or {}).get("birthDate", "")
    age = _age(birth, obs.get("effectiveDateTime", ""))
    born = _("born {date}", date=birth) if birth else ""
    facts = [f for f in (sex, born, _("{n} y", n=age) if age else "") if f]
    ref = (patient or {}).get("id", "")
    link = f' <a class="fhir" href="/fhir/Patient/{esc(ref)}">FHIR</a>' if ref else ""
    return (
        f'<span class="patient-name" lang="zh">{esc(name)}</span> '
        f'<span class="facts">{esc(", ".join(facts))}</span>{link}'
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
    ("heart_rate_bpm", N_("HR"), "/min"),
    ("pr_ms", "PR", "ms"),
    ("qrs_ms", "QRS", "ms"),
    ("qt_ms", "QT", "ms"),
    ("qtc_ms", "QTc", "ms"),
    ("p_axis_deg", N_("P axis"), "°"),
    ("qrs_axis_deg", N_("QRS axis"), "°"),
    ("t_axis_deg", N_("T axis"), "°"),
)
TRIAGE_LABEL = {"critical": N_("critical"), "urgent": N_("urgent"), "routine": N_("routine")}


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
        return f"<p>{esc(_('No measurements stated.'))}</p>" + _triage_html(item)
    edited = {f: e["value"] for f, e in (item.edits if item else {}).items()}
    shown = [
        r for r in MEASURED_ROWS if r[0] in device or auto.get(r[0]) is not None or r[0] in edited
    ]
    sources = (
        [(_("device"), device)]
        + ([(_("automatic"), auto)] if any(auto.get(f) is not None for f, _l, _u in shown) else [])
        + ([(_("reader"), edited)] if edited else [])
    )
    head = "".join(f"<th>{esc(name)}</th>" for name, _v in sources)
    rows = "".join(
        f"<tr><th>{esc(_(label))}</th>"
        + "".join(f"<td>{_value(values.get(field), unit)}</td>" for _n, values in sources)
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
    return f"{esc(number)} {esc(unit)}"


def _triage_html(item: QueueItem | None) -> str:
    if item is None:
        return ""
    auto = item.measurements
    facts = []
    if "analysable" in auto:
        facts.append(_("analysable: yes") if auto["analysable"] else _("analysable: no"))
    if auto.get("irregular"):
        facts.append(_("irregular rhythm"))
    facts += [_("problem: {problem}", problem=reason_text(p)) for p in auto.get("problems") or []]
    # Stored in English (the record, as FHIR and HL7 send it); shown in the reader's language.
    reasons = "".join(f"<li>{esc(reason_text(r))}</li>" for r in item.reasons)
    label = _(TRIAGE_LABEL.get(item.triage_class, item.triage_class))
    return (
        f'<p class="triage">{esc(_("triage"))} <span class="badge {esc(item.triage_class)}">'
        f"{esc(label)}</span> {esc('; '.join(facts))}</p>"
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
        f'<table class="st"><caption>{esc(_("ST deviation at J+60 ms (mm at 10 mm/mV)"))}</caption>'
        f"{lines}</table>"
    )


def _st_cell(lead: str, uv: float) -> str:
    cls = "st-up" if uv >= ST_NOTABLE_UV else "st-down" if uv <= -ST_NOTABLE_UV else ""
    mm = uv / 1000 * GAIN_MM_PER_MV
    return (
        f'<td class="{cls}" data-lead="{esc(lead)}"><b>{esc(lead)}</b> {mm:+.1f}'
        f"<small>{uv:+.0f} µV</small></td>"
    )


# --- previous ECG -------------------------------------------------------------------------


@dataclass(frozen=True)
class Previous:
    ecg_id: str
    obs: Json


def previous_ecgs(system: System, obs: Json) -> list[Previous]:
    """The patient's other ECGs acquired no later than this one, most recent first."""
    subject = obs.get("subject", {}).get("reference", "")
    if not subject:
        return []
    when = obs.get("effectiveDateTime", "")
    others = [
        o
        for o in (
            read_view(system, t, i)
            for t, i in system.store.lookup("Observation.subject", subject)
            if t == "Observation" and i != obs.get("id")
        )
        if o is not None and _is_ecg(o) and o.get("effectiveDateTime", "") <= when
    ]
    others.sort(key=lambda o: (o.get("effectiveDateTime", ""), o.get("id", "")), reverse=True)
    return [Previous(_ecg_id(o), o) for o in others]


def previous_ecg(system: System, obs: Json) -> Previous | None:
    """The patient's most recent other ECG acquired no later than this one, if any."""
    return next(iter(previous_ecgs(system, obs)), None)


def _is_ecg(obs: Json) -> bool:
    return any(
        c.get("system") == MDC and c.get("code") == ECG_CODE[0]
        for c in obs.get("code", {}).get("coding", [])
    )


def _ecg_id(obs: Json) -> str:
    return next((i["value"] for i in obs.get("identifier", []) if i.get("system") == ECG_ID), "")


def _measurement_set(system: System, ecg_id: str, item: QueueItem | None = None) -> Json:
    """An ECG's automatic measurements with its reader's corrections, from its queue item."""
    if item is None:
        doc = read_view(system, "QueueItem", queue_item_id(ecg_id))
        item = QueueItem.from_json(doc) if doc else None
    return measurement_set(item.measurements, item.edits) if item else {}


def _changes_html(system: System, prev: Previous, item: QueueItem | None) -> str:
    """The serial comparison's statements, from both ECGs' measurement sets."""
    before = _measurement_set(system, prev.ecg_id)
    after = _measurement_set(system, item.ecg_id, item) if item else {}
    if not before or not after:
        return f'<p class="none">{esc(_("No measurements to compare."))}</p>'
    lines = "".join(f"<li>{esc(_(c.msgid, **c.params))}</li>" for c in changes(before, after))
    return f'<ul id="serial-changes" class="serial-changes">{lines}</ul>'


def _earlier_html(earlier: list[Previous]) -> str:
    if not earlier:
        return ""
    links = "".join(
        f'<li><a href="/reading/ecg/{esc(p.ecg_id)}">{esc(p.ecg_id)}</a> '
        f"{time_html(p.obs.get('effectiveDateTime', ''), full=True)}</li>"
        for p in earlier
    )
    return f'<details class="earlier"><summary>{esc(_("Earlier ECGs"))}</summary><ul>{links}</ul></details>'


def _previous_html(system: System, obs: Json, item: QueueItem | None = None) -> str:
    """The most recent previous ECG at the same scale as this one, directly under it so the
    leads line up column by column (the tool bar's gain, speed and zoom drive both), with
    the change statements; older ECGs as links."""
    found = previous_ecgs(system, obs)
    if not found:
        return f'<p class="none">{esc(_("No previous ECG of this patient."))}</p>'
    prev = found[0]
    report = read_view(system, "DiagnosticReport", diagnostic_report_id(prev.ecg_id))
    read = (
        f'<p class="prev-read">{esc(_("Read: {conclusion}", conclusion=report.get("conclusion", "")))}</p>'
        if report
        else f'<p class="prev-read">{esc(_("Not read."))}</p>'
    )
    return (
        f'<p><a id="previous-link" href="/reading/ecg/{esc(prev.ecg_id)}">{esc(_("ECG"))} {esc(prev.ecg_id)}'
        f"</a>, {esc(_('acquired'))} {time_html(prev.obs.get('effectiveDateTime', ''), full=True)}"
        f"</p>{read}{_changes_html(system, prev, item)}"
        f'<div class="ecg-scroll">{ecg_svg(prev.obs, id_prefix="ecg-previous")}</div>'
        f"{_earlier_html(found[1:])}"
    )


# --- report form --------------------------------------------------------------------------


def computer_statements(obs: Json, item: QueueItem | None) -> list[str]:
    """What the device and the automatic analysis said, for the reader to confirm.
    The queue's "sender: ..." reasons say why it was triaged, not what the ECG shows."""
    reasons = [r for r in (item.reasons if item else ()) if not r.startswith("sender:")]
    return list(dict.fromkeys([*_notes(obs, DEVICE_STATEMENT), *map(_finding, reasons)]))


def _finding(reason: str) -> str:
    """A triage reason as a statement: "critical: ST elevation ..." -> "ST elevation ..."
    (the class is the queue's business; the statement is what the ECG shows)."""
    head, sep, rest = reason.partition(": ")
    return rest if sep and head in ("critical", "urgent", "routine") else reason


def _report_html(ecg_id: str, item: QueueItem | None, obs: Json, at: dt.datetime) -> str:
    if item is None or not item.requested:
        return f'<p class="none">{esc(_("This ECG was not sent for a read."))}</p>'
    if item.status == "reported":
        return _signed_html(ecg_id, item.report, addenda=item.addenda)
    stamp = instant(at)
    attrs = (
        f'data-ecg-id="{esc(ecg_id)}" data-status="{esc(item.status)}" '
        f'data-holder="{esc(item.holder)}" data-lease-until="{esc(item.lease_until)}" '
        f'data-available="{"true" if item.available(stamp) else "false"}" '
        f'data-server-now="{esc(stamp)}"'
    )
    return ASSETS.template("report_form.html").substitute(
        attrs=attrs,
        statements=_statement_boxes(computer_statements(obs, item)),
        coded=_coded_boxes(),
        signed=_signed_html(ecg_id, {}, hidden=True),
        corrections=_correction_options(),
    )


def _statement_boxes(statements: list[str]) -> str:
    """A box per computer statement: its value the stored English statement (the record a
    signature keeps), its label in the reader's language. `data-label` is that label: an
    interpretation left empty is built from the ticked labels (workstation.js `reportBody`),
    so the signed text is the text the reader saw."""
    if not statements:
        return f'<p class="none">{esc(_("No computer statements."))}</p>'
    return "".join(_statement_box(s, statement_label(s)) for s in statements)


def statement_label(statement: str) -> str:
    """A computer statement in the reader's language: a triage reason by its declaration
    (services/i18n/reasons.py); a device statement the coded list names ("Sinus rhythm") by
    the catalogue; any other device text as the device wrote it."""
    shown = reason_text(statement)
    if shown == statement and statement in CODED_DISPLAY.values():
        return _(statement)
    return shown


def _statement_box(statement: str, label: str) -> str:
    return (
        f'<label><input type="checkbox" data-label="{esc(label)}" name="confirmed"'
        f' value="{esc(statement)}"> {esc(label)}</label>'
    )


def _coded_boxes() -> str:
    """A box per SNOMED CT statement: the coding (code, the code system's English display)
    is what the report keeps; `data-label`, the text shown, is what an empty interpretation
    is built from."""
    return "".join(
        f'<label><input type="checkbox" name="code" value="{code}" data-system="{SNOMED}"'
        f' data-display="{esc(display)}" data-label="{esc(_(display))}">'
        f" {esc(_(display))} <code>{code}</code></label>"
        for code, display in CODED_STATEMENTS
    )


def coded_label(coding: Json) -> str:
    """A signed coding as the reader's page shows it: a display the form offers, in the
    reader's language; any other display (a client's own) as sent, else the code."""
    display = str(coding.get("display") or coding.get("code") or "")
    offered = (
        coding.get("system") == SNOMED and CODED_DISPLAY.get(str(coding.get("code"))) == display
    )
    return _(display) if offered else display


def _correction_options() -> str:
    """The measurements a reader may correct, as `<option>`s (value: the event's field)."""
    return "".join(
        f'<option value="{esc(field)}">{esc(_(label))} ({esc(unit)})</option>'
        for field, label, unit in MEASURED_ROWS
    )


def _addenda_html(addenda: tuple[Json, ...]) -> str:
    items = "".join(
        f"<li><b>{esc(a['reader_id'])}</b> {time_html(a['signed_at'])}: "
        f'<span class="addendum-text">{esc(a["addendum"])}</span></li>'
        for a in addenda
    )
    return f'<ol id="addenda" class="addenda">{items}</ol>'


def _addendum_form() -> str:
    """Amending a signed read: the text goes after the signed one, never over it."""
    return (
        f'<form id="addendum-form"><label for="addendum">{esc(_("Addendum"))}</label>'
        '<textarea id="addendum" rows="3" maxlength="4000"></textarea>'
        '<div id="addendum-error" class="error" role="alert" hidden></div>'
        f'<button type="submit" id="add-addendum">{esc(_("Add addendum"))}</button></form>'
    )


def _signed_html(
    ecg_id: str, report: Json, hidden: bool = False, addenda: tuple[Json, ...] = ()
) -> str:
    """The signed state; rendered empty and hidden under the form, filled by the script."""
    ref = f"DiagnosticReport/{diagnostic_report_id(ecg_id)}"
    codes = "".join(
        f"<li>{esc(coded_label(c))} <code>{esc(c.get('code'))}</code></li>"
        for c in report.get("codes", [])
    )
    return (
        f'<section id="signed" class="signed" data-report="{esc(ref)}" data-ecg-id="{esc(ecg_id)}"'
        f"{' hidden' if hidden else ''}>"
        f'<h3>{esc(_("Signed"))}</h3><p>{esc(_("by"))} <span id="signed-by">{esc(report.get("reader_id", ""))}</span>'
        f' {esc(_("at"))} <span id="signed-at">{time_html(report.get("signed_at", ""))}</span></p>'
        f'<blockquote id="signed-text">{esc(report.get("interpretation", ""))}</blockquote>'
        f'<ul id="signed-codes">{codes}</ul>'
        f'<p><a id="report-link" href="/fhir/{esc(ref)}">{esc(ref)}</a></p>'
        f"{_addenda_html(addenda)}{_addendum_form()}</section>"
    )
