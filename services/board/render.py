"""HTML fragments of the board and the region view. Every value is escaped here, once;
the first page load and the live updates render through the same functions.

Every text is in the request's language (services/i18n) and every time in the user's zone
(Asia/Shanghai by default), rendered here, so the page reads the same with its script
off. Countdowns (`data-eta`) and ages (`data-age`) are refreshed by the page script
between pushes with the same wording (the page's `#messages` block), so a push is needed
only when the data changed. Parties are shown by their registry names (the id where the
registry does not know them).

What an ED nurse needs at a glance: incoming cards first, expanded; handed-over cards
collapsed to one line (open on a click); and cards nobody acts on any more aged out: an
ambulance that arrived, or a handover accepted, more than `STALE_AFTER` ago is not shown
(the JSON keeps it; the page says how many were left out).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math

from kernel.ids import ecg_observation_id
from kernel.jsontypes import Json
from kernel.time import parse_instant
from services import i18n
from services.board import basemap
from services.board.thumbnail import lead_strip_svg
from services.command.page import COLOUR_LABELS
from services.i18n import N_, _
from services.i18n.reasons import reason_text
from services.system import System
from stream_processors.registry.published import display_name

STALE_AFTER = dt.timedelta(hours=12)  # an arrival or acceptance older than this is done
PREALERT_LABEL = {
    "STEMI": N_("STEMI"),
    "STROKE": N_("Stroke"),
    "TRAUMA": N_("Trauma"),
    "SEPSIS": N_("Sepsis"),
    "CARDIAC_ARREST": N_("Cardiac arrest"),
    "OTHER": N_("Pre-alert"),
}
STATUS_LABEL = {
    "en_route": N_("En route"),
    "arrived": N_("Arrived"),
    "handed_over": N_("Handed over"),
}
UNIT_STATUS_LABEL = {
    "CALL_RECEIVED": N_("call received"),
    "DISPATCHED": N_("dispatched"),
    "EN_ROUTE": N_("en route"),
    "ON_SCENE": N_("on scene"),
    "AT_PATIENT": N_("at patient"),
    "LEFT_SCENE": N_("transporting"),
    "AT_DESTINATION": N_("at hospital"),
    "TRANSFER_OF_CARE": N_("transfer of care"),
    "BACK_IN_SERVICE": N_("available"),
    "UNKNOWN": N_("unknown"),
}
TRIAGE_LABEL = {
    "critical": N_("critical"),
    "urgent": N_("urgent"),
    "routine": N_("routine"),
}
# (label, LOINC codes (first present wins; two for a blood pressure), shown unit)
VITAL_ROWS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (N_("HR"), ("8867-4",), "/min"),
    (N_("BP"), ("8480-6", "8462-4"), "mmHg"),
    (N_("SpO₂"), ("59408-5", "2708-6"), "%"),
    (N_("RR"), ("9279-1",), "/min"),
    (N_("Temp"), ("8310-5",), "°C"),
    (N_("GCS"), ("9269-2",), ""),
    (N_("Glucose"), ("15074-8",), "mmol/L"),
    (N_("EtCO₂"), ("19889-5",), "mmHg"),
    (N_("Pain"), ("72514-3",), "/10"),
)
ATMIST = (
    ("age", "A", N_("Age")),
    ("time", "T", N_("Time of onset")),
    ("mechanism", "M", N_("Mechanism / complaint")),
    ("injuries", "I", N_("Injuries / findings")),
    ("signs", "S", N_("Signs")),
    ("treatment", "T", N_("Treatment")),
)
# What the page script says (ids of the catalogue; see board.js).
SCRIPT_MESSAGES = (
    "in {n} min",
    "due now",
    "{n} min late",
    "just now",
    "{n} min ago",
    "{n} h ago",
    "live",
    "reconnecting…",
    "Handover not accepted: {error}",
    "HTTP {status}",
)
MAP_W, MAP_H = 640.0, 420.0  # px of the region map's drawing


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def name_of(system: System, party_id: str) -> str:
    """The registry's name of a party in the user's language; the id when unknown."""
    return display_name(system.store, party_id, i18n.locale()) if party_id else ""


def _time(instant: str, at: dt.datetime) -> str:
    if not instant:
        return ""
    text = i18n.format_when(instant, at)
    title = i18n.format_datetime(instant)
    return f'<time datetime="{_e(instant)}" title="{_e(title)}">{_e(text)}</time>'


def _minutes(seconds: float) -> int:
    return math.floor(seconds / 60) if seconds >= 0 else -math.floor(-seconds / 60)


def eta_left(minutes: int) -> str:
    if minutes > 0:
        return _("in {n} min", n=minutes)
    return _("due now") if minutes == 0 else _("{n} min late", n=-minutes)


def _eta(eta: str, at: dt.datetime) -> str:
    if not eta:
        return f'<span class="eta none">{_e(_("ETA not given"))}</span>'
    minutes = _minutes((parse_instant(eta) - at).total_seconds())
    return (
        f'<span class="eta" data-eta="{_e(eta)}">{_e(_("ETA"))} {_time(eta, at)} '
        f'<b class="eta-minutes">{_e(eta_left(minutes))}</b></span>'
    )


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"


# --- a card ---------------------------------------------------------------------------------


def _prealert(card: Json) -> str:
    p = card["prealert"]
    if not p:
        return f'<span class="kind kind-NONE">{_e(_("Handover"))}</span>'
    label = _(PREALERT_LABEL[p["kind"]]) if p["kind"] in PREALERT_LABEL else p["kind"]
    return f'<span class="kind kind-{_e(p["kind"])}">{_e(label)}</span>'


def _patient(card: Json) -> str:
    p = card["patient"]
    if not p:
        return f'<span class="patient unknown">{_e(_("patient not recorded"))}</span>'
    age = p.get("age_years")
    years = ""
    if age is not None:
        years = _("about {n} y", n=age) if p.get("age_estimated") else _("{n} y", n=age)
    sex = {"male": _("male"), "female": _("female")}.get(p.get("gender", ""), p.get("gender", ""))
    who = p.get("name") or (
        _("unidentified ({temporary_id})", temporary_id=p["temporary_id"])
        if p.get("temporary_id")
        else _("unidentified")
    )
    return (
        f'<span class="patient"><b lang="zh">{_e(who)}</b> '
        f'<span class="facts">{_e(" ".join(f for f in (sex, years) if f))}</span></span>'
    )


def _vital_value(vitals: Json, codes: tuple[str, ...]) -> tuple[str, Json] | None:
    if len(codes) == 2 and codes[0] in vitals:  # blood pressure: systolic/diastolic
        sys_, dia = vitals[codes[0]], vitals.get(codes[1])
        text = _number(sys_["value"]) + (f"/{_number(dia['value'])}" if dia else "")
        return text, sys_
    for code in codes[:1] if len(codes) == 2 else codes:
        if code in vitals:
            return _number(vitals[code]["value"]), vitals[code]
    return None


def _trend(v: Json) -> str:
    values = [t["value"] for t in v.get("trend", [])]
    if len(values) < 2:
        return ""
    arrow = "↑" if values[-1] > values[-2] else "↓" if values[-1] < values[-2] else "→"
    history = " → ".join(_number(x) for x in values)
    return f' <span class="trend" title="{_e(history)}">{arrow} <small>{_e(history)}</small></span>'


def _vitals(card: Json, at: dt.datetime) -> str:
    vitals = card["vitals"]
    cells = []
    for label, codes, unit in VITAL_ROWS:
        found = _vital_value(vitals, codes)
        if found is None:
            continue
        text, v = found
        cells.append(
            f'<div class="vital" data-loinc="{_e(codes[0])}"><span class="label">{_e(_(label))}</span>'
            f' <span class="value">{_e(text)}</span> <span class="unit">{_e(unit)}</span>'
            f"{_trend(v)}</div>"
        )
    if not cells:
        return f'<p class="none">{_e(_("No vital signs yet."))}</p>'
    return (
        f'<div class="vitals"><h4>{_e(_("Vitals"))} <small>{_time(card["vitals_at"], at)}</small></h4>'
        f"{''.join(cells)}</div>"
    )


def _atmist(card: Json, at: dt.datetime) -> str:
    h = card["handover"]
    if not h:
        note = card["prealert"].get("note") if card["prealert"] else ""
        return f'<p class="none">{_e(_("Handover not submitted yet."))}</p>{_note(note)}'
    rows = "".join(
        f'<div class="atmist-row" data-part="{_e(key)}"><dt title="{_e(_(title))}">{letter}'
        f" <small>{_e(_(title))}</small></dt><dd>{_e(h['atmist'][key])}</dd></div>"
        for key, letter, title in ATMIST
        if h["atmist"].get(key)
    )
    narrative = f'<p class="narrative">{_e(h["narrative"])}</p>' if h.get("narrative") else ""
    note = card["prealert"].get("note") if card["prealert"] else ""
    return (
        f'<div class="atmist"><h4>ATMIST <small>{_e(_("submitted"))} {_time(h["submitted_at"], at)}'
        f"</small></h4><dl>{rows}</dl>{narrative}</div>{_note(note)}"
    )


def _note(note: str | None) -> str:
    return f'<p class="prealert-note">{_e(note)}</p>' if note else ""


def _treatments(card: Json, at: dt.datetime) -> str:
    if not card["treatments"]:
        return ""
    items = "".join(
        f'<li class="{_e(t["kind"])}">{_time(t["at"], at)} <b>{_e(t["display"])}</b> {_e(t["detail"])}</li>'
        for t in card["treatments"]
    )
    return f'<div class="treatments"><h4>{_e(_("Treatment"))}</h4><ul>{items}</ul></div>'


def _ecg(system: System, ecg: Json, at: dt.datetime) -> str:
    cls = str(ecg["automatic_class"] or "")
    triage = _(TRIAGE_LABEL[cls]) if cls in TRIAGE_LABEL else cls
    badge = (
        f'<span class="badge {_e(cls)}">{_e(_("auto: {triage}", triage=triage))}</span>'
        if cls
        else f'<span class="badge pending">{_e(_("measuring…"))}</span>'
    )
    hr = f" {ecg['heart_rate_bpm']:.0f} /min" if ecg.get("heart_rate_bpm") else ""
    findings = "".join(f"<li>{_e(reason_text(f))}</li>" for f in ecg["findings"][:3])
    strip = thumbnail(system, ecg["ecg_id"]) if ecg["observation"] else ""
    waiting = f'<span class="none">{_e(_("waveform arriving…"))}</span>'
    return (
        f'<figure class="ecg" data-ecg-id="{_e(ecg["ecg_id"])}" data-class="{_e(cls)}">'
        f'<a href="/reading/ecg/{_e(ecg["ecg_id"])}" title="{_e(_("Open the 12 leads"))}">'
        f"{strip or waiting}</a>"
        f"<figcaption>{_e(_('ECG'))} {_time(ecg['acquired_at'], at)} {badge}{_e(hr)}"
        f'<ul class="findings">{findings}</ul></figcaption></figure>'
    )


def _accept(system: System, card: Json, hospital_id: str, at: dt.datetime) -> str:
    if card["status"] == "handed_over":
        a = card["accepted"]
        return (
            f'<p class="accepted">{_e(_("Care transferred at"))} <b>{_time(a["at"], at)}</b> '
            f'{_e(_("to"))} <b class="accepted-by">{_e(name_of(system, a["by"]))}</b></p>'
        )
    if not card["handover"]:
        return f'<p class="accept-wait">{_e(_("Accept once the crew submits the handover."))}</p>'
    action = f"/board/{_e(hospital_id)}/incidents/{_e(card['incident_id'])}/accept"
    return (
        f'<form class="accept" method="post" action="{action}" data-incident-id="{_e(card["incident_id"])}">'
        f'<label>{_e(_("Receiving clinician"))} <input name="accepted_by" required maxlength="100"'
        f' autocomplete="name" placeholder="{_e(_("name"))}"></label>'
        f'<button type="submit" class="primary">{_e(_("Accept handover"))}</button></form>'
    )


def _card_head(system: System, card: Json, at: dt.datetime) -> str:
    eta = _eta(card["prealert"].get("eta", ""), at) if card["status"] == "en_route" else ""
    unit = " · ".join(name_of(system, x) for x in (card["unit_id"], card["station_id"]) if x)
    return (
        f'<header>{_prealert(card)} <span class="status">{_e(_(STATUS_LABEL[card["status"]]))}</span>'
        f" {eta}</header>"
        f'<p class="who">{_patient(card)} <span class="unit">{_e(unit)}</span>'
        f' <span class="reason">{_e(card["dispatch_reason"])}</span></p>'
    )


def _card_body(system: System, card: Json, hospital_id: str, at: dt.datetime) -> str:
    ecgs = "".join(_ecg(system, e, at) for e in card["ecgs"])
    body = (
        f'<div class="body"><div class="col">{_atmist(card, at)}{_treatments(card, at)}</div>'
        f'<div class="col">{_vitals(card, at)}{ecgs}</div></div>'
    )
    if card["status"] == "handed_over":  # the acceptance is on the summary line
        return body
    return body + f"<footer>{_accept(system, card, hospital_id, at)}</footer>"


def card_html(system: System, card: Json, hospital_id: str, at: dt.datetime) -> str:
    """One ambulance: expanded while it is coming; one line (a `<details>` the nurse can
    open) once handed over."""
    kind = card["prealert"].get("kind", "NONE") if card["prealert"] else "NONE"
    attrs = (
        f'class="card kind-{_e(kind)} status-{_e(card["status"])}"'
        f' data-incident-id="{_e(card["incident_id"])}" data-status="{_e(card["status"])}"'
        f' data-version="{_e(card.get("meta", {}).get("versionId", ""))}"'
    )
    head, body = _card_head(system, card, at), _card_body(system, card, hospital_id, at)
    if card["status"] == "handed_over":
        summary = f"<summary>{head}{_accept(system, card, hospital_id, at)}</summary>"
        return f"<article {attrs}><details>{summary}{body}</details></article>"
    return f"<article {attrs}>{head}{body}</article>"


def _stale(card: Json, at: dt.datetime) -> bool:
    """Done long ago: arrived, or accepted, more than STALE_AFTER before `at`."""
    done = (card.get("accepted") or {}).get("at") or card.get("arrived_at") or ""
    return bool(done) and at - parse_instant(done) > STALE_AFTER


def _expected_row(system: System, c: Json, at: dt.datetime) -> str:
    eta = _time(c["eta"], at) if c.get("eta") else _e(_("ETA not given"))
    colour = _(COLOUR_LABELS[c["tag"]]) if c.get("tag") in COLOUR_LABELS else c.get("tag") or ""
    return (
        f'<tr data-casualty="{_e(c["casualty_id"])}" data-colour="{_e(c.get("tag") or "")}">'
        f'<td class="tag-number">{_e(c["casualty_id"])}</td>'
        f'<td><span class="tag {_e(c.get("tag") or "")}">{_e(colour)}</span></td>'
        f"<td>{_e(c.get('title') or c['mci_id'])}</td>"
        f"<td>{_e(name_of(system, c.get('unit_id') or ''))}</td><td>{eta}</td></tr>"
    )


def expected_html(system: System, expected: Json, at: dt.datetime) -> str:
    """Casualties of an active mass-casualty incident assigned here: counts by tag colour,
    then each one (tag number, colour, incident, unit, ETA). Nothing when there are none."""
    casualties = expected["casualties"]
    if not casualties:
        return ""
    counts = "".join(
        f'<span class="tag {c}" data-colour="{c}"><b>{n}</b> {_e(_(COLOUR_LABELS[c]))}</span>'
        for c, n in expected["counts"].items()
    )
    heads = (N_("Tag number"), N_("Triage tag"), N_("Incident"), N_("Unit"), N_("ETA"))
    rows = "".join(_expected_row(system, c, at) for c in casualties)
    return (
        f'<section id="expected-mci"><h2>{_e(_("Expected mass casualties"))}'
        f' <span class="count">{len(casualties)}</span></h2><p class="tags">{counts}</p>'
        '<table class="expected"><thead><tr>'
        + "".join(f"<th>{_e(_(h))}</th>" for h in heads)
        + f"</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def board_html(system: System, board: Json, at: dt.datetime) -> str:
    """The two sections of the board: incoming, then handed over (collapsed), stale cards
    left out with a note saying how many."""
    h = board["hospital_id"]
    coming = [c for c in board["incoming"] if not _stale(c, at)]
    gone = [c for c in board["handed_over"] if not _stale(c, at)]
    hidden = len(board["incoming"]) + len(board["handed_over"]) - len(coming) - len(gone)
    none_coming = f'<p class="empty">{_e(_("No ambulance on its way."))}</p>'
    none_gone = f'<p class="empty">{_e(_("None in the last 12 hours."))}</p>'
    aged = (
        f'<p class="aged-out" id="aged-out">{_e(_("{n} older cards (arrived or handed over more than 12 h ago) are not shown.", n=hidden))}</p>'
        if hidden
        else ""
    )
    expected = expected_html(system, board.get("expected_mci") or {"casualties": []}, at)
    return (
        expected
        + f'<section id="incoming"><h2>{_e(_("Incoming"))} <span class="count">{len(coming)}</span></h2>'
        f"{''.join(card_html(system, c, h, at) for c in coming) or none_coming}</section>"
        f'<section id="handed-over"><h2>{_e(_("Handed over"))} <span class="count">{len(gone)}</span></h2>'
        f"{''.join(card_html(system, c, h, at) for c in gone) or none_gone}{aged}</section>"
    )


_thumbs: dict[tuple[int, str], str] = {}
THUMB_CACHE = 512  # ECG strips kept rendered (an ECG's waveform never changes)


def thumbnail(system: System, ecg_id: str) -> str:
    key = (id(system.store), ecg_id)
    if key not in _thumbs:
        stored = system.store.read("Observation", ecg_observation_id(ecg_id))
        if stored is None:
            return ""
        if len(_thumbs) >= THUMB_CACHE:
            _thumbs.pop(next(iter(_thumbs)))
        _thumbs[key] = lead_strip_svg(json.loads(stored.body), f"ECG {ecg_id}")
    return _thumbs[key]


def hospitals_html(hospitals: list[tuple[str, str]]) -> str:
    """The board index: one row per hospital (id, name), linking its board."""
    if not hospitals:
        return f'<p class="none" id="no-hospitals">{_e(_("The registry lists no hospital yet: enter the hospital id below."))}</p>'
    rows = "".join(
        f'<tr data-hospital-id="{_e(i)}"><td><a href="/board/{_e(i)}">{_e(name)}</a></td>'
        f"<td><code>{_e(i)}</code></td></tr>"
        for i, name in hospitals
    )
    return (
        f'<table class="hospitals" id="hospitals"><thead><tr><th>{_e(_("Hospital"))}</th>'
        f"<th>{_e(_('Id'))}</th></tr></thead><tbody>{rows}</tbody></table>"
    )


# --- the region -------------------------------------------------------------------------------


def _ago(instant: str, at: dt.datetime) -> str:
    if not instant:
        return ""
    seconds = (at - parse_instant(instant)).total_seconds()
    text = i18n.age_text(seconds, instant)
    return f'<span class="age" data-age="{_e(instant)}">{_e(text)}</span>'


def _heading(deg: float) -> str:
    """A compass word for a heading in degrees (0 = north, clockwise)."""
    names = (N_("N"), N_("NE"), N_("E"), N_("SE"), N_("S"), N_("SW"), N_("W"), N_("NW"))
    return _(names[round((deg % 360) / 45) % 8])


def _position(u: Json, at: dt.datetime) -> str:
    if u.get("latitude") is None:
        return f'<span class="none">{_e(_("no fix"))}</span>'
    motion = ""
    if u.get("speed_kmh") is not None:
        heading = ""
        if u.get("heading_deg") is not None:
            deg = u["heading_deg"]
            heading = f' <span class="heading" data-heading="{deg:.0f}">{_e(_heading(deg))} {deg:.0f}°</span>'
        motion = f' <span class="motion">{u["speed_kmh"]:.0f} km/h{heading}</span>'
    return (
        f'<span class="latlon">{u["latitude"]:.4f}, {u["longitude"]:.4f}</span>'
        f"{motion} {_ago(u['position_at'], at)}"
    )


def unit_row(system: System, u: Json, at: dt.datetime) -> str:
    status = u.get("status") or "UNKNOWN"
    label = _(UNIT_STATUS_LABEL[status]) if status in UNIT_STATUS_LABEL else status
    return (
        f'<tr data-unit-id="{_e(u["unit_id"])}" data-status="{_e(status)}" class="st-{_e(status)}">'
        f'<td class="unit" title="{_e(u["unit_id"])}">{_e(name_of(system, u["unit_id"]))}</td>'
        f'<td title="{_e(u.get("station_id", ""))}">{_e(name_of(system, u.get("station_id", "")))}</td>'
        f'<td><span class="ustatus">{_e(label)}</span>'
        f" {_ago(u.get('status_at', ''), at)}</td>"
        f'<td class="incident">{_e(u.get("incident_id", ""))}</td><td>{_position(u, at)}</td></tr>'
    )


def _marker(system: System, u: Json, xy: tuple[float, float], at: dt.datetime) -> str:
    """A unit: an arrow along its heading when it moves, a dot when it stands; its name and
    the age of its fix beside it."""
    status = u.get("status") or "UNKNOWN"
    moving = u.get("heading_deg") is not None and (u.get("speed_kmh") or 0) > 0
    shape = (
        f'<path class="arrow" d="M0,-11 L7,7 L0,3 L-7,7 Z" transform="rotate({u["heading_deg"]:.0f})"/>'
        if moving
        else '<circle r="7"/>'
    )
    name = name_of(system, u["unit_id"])
    age = (
        i18n.age_text((at - parse_instant(u["position_at"])).total_seconds(), u["position_at"])
        if u.get("position_at")
        else ""
    )
    label = _(UNIT_STATUS_LABEL.get(status, "unknown"))
    return (
        f'<g class="dot st-{_e(status)}" data-unit-id="{_e(u["unit_id"])}"'
        f' transform="translate({xy[0]:.1f} {xy[1]:.1f})">{shape}'
        f'<text x="11" y="4">{_e(name)}</text>'
        f'<text class="age" x="11" y="18" data-age="{_e(u.get("position_at", ""))}">{_e(age)}</text>'
        f"<title>{_e(name)}: {_e(label)}, {_e(age)}</title></g>"
    )


def region_map(system: System, units: list[Json], at: dt.datetime) -> str:
    """The shipped county base map (services/board/basemap.py) with the units on it, north
    up, equirectangular with the mid-latitude's cosine (true enough over a county). No
    tiles: nothing leaves the site."""
    placed = [u for u in units if u.get("latitude") is not None and u.get("longitude") is not None]
    view = basemap.view_for([(u["latitude"], u["longitude"]) for u in placed], MAP_W, MAP_H)
    dots = "".join(_marker(system, u, view.xy(u["latitude"], u["longitude"]), at) for u in placed)
    empty = (
        f'<text class="empty" x="{MAP_W / 2:g}" y="{MAP_H - 10:g}" text-anchor="middle">'
        f"{_e(_('No unit has reported a position yet.'))}</text>"
        if not placed
        else ""
    )
    note = _e(_("Illustrative base map (fictitious county outline, not survey data)"))
    return (
        f'<figure class="map-figure"><svg xmlns="http://www.w3.org/2000/svg" id="region-map" class="map"'
        f' viewBox="-20 -20 {MAP_W + 80:g} {MAP_H + 40:g}" role="img"'
        f' aria-label="{_e(_("Units by position, north up"))}">'
        f'<rect x="-20" y="-20" width="{MAP_W + 80:g}" height="{MAP_H + 40:g}" class="sea"/>'
        f"{basemap.svg(view, _e)}{dots}{empty}"
        f'<text class="north" x="{MAP_W + 40:g}" y="6" text-anchor="middle">↑ {_e(_("N"))}</text>'
        f"</svg><figcaption>{note}</figcaption></figure>"
    )


def region_html(system: System, units: list[Json], at: dt.datetime) -> str:
    rows = "".join(unit_row(system, u, at) for u in units)
    none = f'<tr class="empty"><td colspan="5">{_e(_("No unit seen yet."))}</td></tr>'
    heads = (N_("Unit"), N_("Station"), N_("Status"), N_("Incident"), N_("Last position"))
    table = (
        '<table id="units" class="units"><thead><tr>'
        + "".join(f"<th>{_e(_(h))}</th>" for h in heads)
        + f"</tr></thead><tbody>{rows or none}</tbody></table>"
    )
    return f'<div class="region">{region_map(system, units, at)}{table}</div>'
