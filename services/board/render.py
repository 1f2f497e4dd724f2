"""HTML fragments of the board and the region view. Every value is escaped here, once;
the first page load and the live updates render through the same functions.

Times are `<time datetime=... data-local>` elements the page script shows in the browser's
local time (UTC until it does); countdowns (`data-eta`) and ages (`data-age`) are
refreshed by the script between pushes, so a push is needed only when the data changed.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from typing import Any

from services.board.thumbnail import lead_strip_svg
from services.system import System
from stream_processors.diagnosis_queue.item import parse_instant
from stream_processors.ids import ecg_observation_id

Json = dict[str, Any]

PREALERT_LABEL = {
    "STEMI": "STEMI",
    "STROKE": "Stroke",
    "TRAUMA": "Trauma",
    "SEPSIS": "Sepsis",
    "CARDIAC_ARREST": "Cardiac arrest",
    "OTHER": "Pre-alert",
}
STATUS_LABEL = {"en_route": "En route", "arrived": "Arrived", "handed_over": "Handed over"}
UNIT_STATUS_LABEL = {
    "CALL_RECEIVED": "call received",
    "DISPATCHED": "dispatched",
    "EN_ROUTE": "en route",
    "ON_SCENE": "on scene",
    "AT_PATIENT": "at patient",
    "LEFT_SCENE": "transporting",
    "AT_DESTINATION": "at hospital",
    "TRANSFER_OF_CARE": "transfer of care",
    "BACK_IN_SERVICE": "available",
    "UNKNOWN": "unknown",
}
# (label, LOINC codes (first present wins; two for a blood pressure), shown unit)
VITAL_ROWS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("HR", ("8867-4",), "/min"),
    ("BP", ("8480-6", "8462-4"), "mmHg"),
    ("SpO₂", ("59408-5", "2708-6"), "%"),
    ("RR", ("9279-1",), "/min"),
    ("Temp", ("8310-5",), "°C"),
    ("GCS", ("9269-2",), ""),
    ("Glucose", ("15074-8",), "mmol/L"),
    ("EtCO₂", ("19889-5",), "mmHg"),
    ("Pain", ("72514-3",), "/10"),
)
ATMIST = (
    ("age", "A", "Age"),
    ("time", "T", "Time of onset"),
    ("mechanism", "M", "Mechanism / complaint"),
    ("injuries", "I", "Injuries / findings"),
    ("signs", "S", "Signs"),
    ("treatment", "T", "Treatment"),
)
NO_WAVEFORM = '<span class="none">waveform arriving…</span>'
NONE_COMING = '<p class="empty">No ambulance on its way.</p>'
NONE_GONE = '<p class="empty">None yet.</p>'
NO_UNITS = '<tr class="empty"><td colspan="5">No unit seen yet.</td></tr>'
MAP_W, MAP_H = 640.0, 420.0  # px of the region map's drawing
MAP_PAD_DEG = 0.01  # around the units, so one unit alone is not a degenerate box


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _time(instant: str) -> str:
    if not instant:
        return ""
    text = parse_instant(instant).strftime("%H:%M UTC")
    return f'<time datetime="{_e(instant)}" data-local="time">{_e(text)}</time>'


def _minutes(seconds: float) -> int:
    return math.floor(seconds / 60) if seconds >= 0 else -math.floor(-seconds / 60)


def _eta(eta: str, at: dt.datetime) -> str:
    if not eta:
        return '<span class="eta none">ETA not given</span>'
    minutes = _minutes((parse_instant(eta) - at).total_seconds())
    left = (
        f"in {minutes} min"
        if minutes > 0
        else "due now"
        if minutes == 0
        else f"{-minutes} min late"
    )
    return (
        f'<span class="eta" data-eta="{_e(eta)}">ETA {_time(eta)} '
        f'<b class="eta-minutes">{_e(left)}</b></span>'
    )


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"


# --- a card ---------------------------------------------------------------------------------


def _prealert(card: Json) -> str:
    p = card["prealert"]
    if not p:
        return '<span class="kind kind-NONE">Handover</span>'
    return f'<span class="kind kind-{_e(p["kind"])}">{_e(PREALERT_LABEL.get(p["kind"], p["kind"]))}</span>'


def _patient(card: Json) -> str:
    p = card["patient"]
    if not p:
        return '<span class="patient unknown">patient not recorded</span>'
    age = p.get("age_years")
    facts = [
        f"{'~' if p.get('age_estimated') else ''}{age} y" if age is not None else "",
        {"male": "M", "female": "F"}.get(p.get("gender", ""), p.get("gender", "")),
    ]
    who = p.get("name") or (
        f"unidentified ({p['temporary_id']})" if p.get("temporary_id") else "unidentified"
    )
    return (
        f'<span class="patient"><b lang="zh">{_e(who)}</b> '
        f'<span class="facts">{_e(" ".join(f for f in facts if f))}</span></span>'
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


def _vitals(card: Json) -> str:
    vitals = card["vitals"]
    cells = []
    for label, codes, unit in VITAL_ROWS:
        found = _vital_value(vitals, codes)
        if found is None:
            continue
        text, v = found
        cells.append(
            f'<div class="vital" data-loinc="{_e(codes[0])}"><span class="label">{_e(label)}</span>'
            f' <span class="value">{_e(text)}</span> <span class="unit">{_e(unit)}</span>'
            f"{_trend(v)}</div>"
        )
    if not cells:
        return '<p class="none">No vital signs yet.</p>'
    return (
        f'<div class="vitals"><h4>Vitals <small>at {_time(card["vitals_at"])}</small></h4>'
        f"{''.join(cells)}</div>"
    )


def _atmist(card: Json) -> str:
    h = card["handover"]
    if not h:
        note = card["prealert"].get("note") if card["prealert"] else ""
        return f'<p class="none">Handover not submitted yet.</p>{_note(note)}'
    rows = "".join(
        f'<div class="atmist-row" data-part="{_e(key)}"><dt title="{_e(title)}">{letter}</dt>'
        f"<dd>{_e(h['atmist'][key])}</dd></div>"
        for key, letter, title in ATMIST
        if h["atmist"].get(key)
    )
    narrative = f'<p class="narrative">{_e(h["narrative"])}</p>' if h.get("narrative") else ""
    note = card["prealert"].get("note") if card["prealert"] else ""
    return (
        f'<div class="atmist"><h4>ATMIST <small>{_time(h["submitted_at"])}</small></h4>'
        f"<dl>{rows}</dl>{narrative}</div>{_note(note)}"
    )


def _note(note: str | None) -> str:
    return f'<p class="prealert-note">{_e(note)}</p>' if note else ""


def _treatments(card: Json) -> str:
    if not card["treatments"]:
        return ""
    items = "".join(
        f'<li class="{_e(t["kind"])}">{_time(t["at"])} <b>{_e(t["display"])}</b> {_e(t["detail"])}</li>'
        for t in card["treatments"]
    )
    return f'<div class="treatments"><h4>Treatment</h4><ul>{items}</ul></div>'


def _ecg(system: System, ecg: Json) -> str:
    cls = ecg["automatic_class"]
    badge = (
        f'<span class="badge {_e(cls)}">auto: {_e(cls)}</span>'
        if cls
        else '<span class="badge pending">measuring…</span>'
    )
    hr = f" {ecg['heart_rate_bpm']:.0f} /min" if ecg.get("heart_rate_bpm") else ""
    findings = "".join(f"<li>{_e(f)}</li>" for f in ecg["findings"][:3])
    strip = thumbnail(system, ecg["ecg_id"]) if ecg["observation"] else ""
    return (
        f'<figure class="ecg" data-ecg-id="{_e(ecg["ecg_id"])}" data-class="{_e(cls)}">'
        f'<a href="/reading/ecg/{_e(ecg["ecg_id"])}" title="Open the 12 leads">'
        f"{strip or NO_WAVEFORM}</a>"
        f"<figcaption>ECG {_time(ecg['acquired_at'])} {badge}{_e(hr)}"
        f'<ul class="findings">{findings}</ul></figcaption></figure>'
    )


def _accept(card: Json, hospital_id: str) -> str:
    if card["status"] == "handed_over":
        a = card["accepted"]
        return (
            f'<p class="accepted">Care transferred at <b>{_time(a["at"])}</b> to '
            f'<b class="accepted-by">{_e(a["by"])}</b></p>'
        )
    if not card["handover"]:
        return '<p class="accept-wait">Accept once the crew submits the handover.</p>'
    action = f"/board/{_e(hospital_id)}/incidents/{_e(card['incident_id'])}/accept"
    return (
        f'<form class="accept" method="post" action="{action}" data-incident-id="{_e(card["incident_id"])}">'
        f'<label>Receiving clinician <input name="accepted_by" required maxlength="100"'
        f' autocomplete="name" placeholder="name"></label>'
        f'<button type="submit" class="primary">Accept handover</button></form>'
    )


def card_html(system: System, card: Json, hospital_id: str, at: dt.datetime) -> str:
    kind = card["prealert"].get("kind", "NONE") if card["prealert"] else "NONE"
    unit = " · ".join(x for x in (card["unit_id"], card["station_id"]) if x)
    ecgs = "".join(_ecg(system, e) for e in card["ecgs"])
    eta = _eta(card["prealert"].get("eta", ""), at) if card["status"] == "en_route" else ""
    return (
        f'<article class="card kind-{_e(kind)} status-{_e(card["status"])}"'
        f' data-incident-id="{_e(card["incident_id"])}" data-status="{_e(card["status"])}"'
        f' data-version="{_e(card.get("meta", {}).get("versionId", ""))}">'
        f'<header>{_prealert(card)} <span class="status">{_e(STATUS_LABEL[card["status"]])}</span>'
        f" {eta}</header>"
        f'<p class="who">{_patient(card)} <span class="unit">{_e(unit)}</span>'
        f' <span class="reason">{_e(card["dispatch_reason"])}</span></p>'
        f'<div class="body"><div class="col">{_atmist(card)}{_treatments(card)}</div>'
        f'<div class="col">{_vitals(card)}{ecgs}</div></div>'
        f"<footer>{_accept(card, hospital_id)}</footer></article>"
    )


def board_html(system: System, board: Json, at: dt.datetime) -> str:
    """The two sections of the board: incoming, then handed over."""
    h = board["hospital_id"]
    coming = "".join(card_html(system, c, h, at) for c in board["incoming"])
    gone = "".join(card_html(system, c, h, at) for c in board["handed_over"])
    return (
        f'<section id="incoming"><h2>Incoming <span class="count">{len(board["incoming"])}</span></h2>'
        f"{coming or NONE_COMING}</section>"
        f'<section id="handed-over"><h2>Handed over <span class="count">{len(board["handed_over"])}</span></h2>'
        f"{gone or NONE_GONE}</section>"
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


# --- the region -------------------------------------------------------------------------------


def _ago(instant: str, at: dt.datetime) -> str:
    if not instant:
        return ""
    s = max(0, int((at - parse_instant(instant)).total_seconds()))
    text = f"{s} s" if s < 120 else f"{s // 60} min" if s < 7200 else f"{s // 3600} h"
    return f'<span class="age" data-age="{_e(instant)}">{_e(text)} ago</span>'


def _position(u: Json, at: dt.datetime) -> str:
    if u.get("latitude") is None:
        return '<span class="none">no fix</span>'
    motion = ""
    if u.get("speed_kmh") is not None:
        heading = f" {u['heading_deg']:.0f}°" if u.get("heading_deg") is not None else ""
        motion = f' <span class="motion">{u["speed_kmh"]:.0f} km/h{heading}</span>'
    return (
        f'<span class="latlon">{u["latitude"]:.5f}, {u["longitude"]:.5f}</span>'
        f"{motion} {_ago(u['position_at'], at)}"
    )


def unit_row(u: Json, at: dt.datetime) -> str:
    status = u.get("status") or "UNKNOWN"
    return (
        f'<tr data-unit-id="{_e(u["unit_id"])}" data-status="{_e(status)}" class="st-{_e(status)}">'
        f'<td class="unit">{_e(u["unit_id"])}</td><td>{_e(u.get("station_id", ""))}</td>'
        f'<td><span class="ustatus">{_e(UNIT_STATUS_LABEL.get(status, status))}</span>'
        f" {_ago(u.get('status_at', ''), at)}</td>"
        f'<td class="incident">{_e(u.get("incident_id", ""))}</td><td>{_position(u, at)}</td></tr>'
    )


def _bounds(units: list[Json]) -> tuple[float, float, float, float]:
    lats = [u["latitude"] for u in units]
    lons = [u["longitude"] for u in units]
    return (
        min(lats) - MAP_PAD_DEG,
        max(lats) + MAP_PAD_DEG,
        min(lons) - MAP_PAD_DEG,
        max(lons) + MAP_PAD_DEG,
    )


def region_map(units: list[Json]) -> str:
    """Units by latitude/longitude, equirectangular with the mid-latitude's cosine (true
    enough over a county), north up. No tiles: nothing leaves the site."""
    placed = [u for u in units if u.get("latitude") is not None and u.get("longitude") is not None]
    if not placed:
        return '<p class="none">No unit has reported a position yet.</p>'
    lat0, lat1, lon0, lon1 = _bounds(placed)
    x_scale = math.cos(math.radians((lat0 + lat1) / 2))
    k = min(MAP_W / ((lon1 - lon0) * x_scale), MAP_H / (lat1 - lat0))
    dx = (MAP_W - (lon1 - lon0) * x_scale * k) / 2  # centre the units' box on the drawing
    dy = (MAP_H - (lat1 - lat0) * k) / 2
    dots = "".join(
        f'<g class="dot st-{_e(u.get("status") or "UNKNOWN")}" data-unit-id="{_e(u["unit_id"])}"'
        f' transform="translate({dx + (u["longitude"] - lon0) * x_scale * k:.1f}'
        f' {dy + (lat1 - u["latitude"]) * k:.1f})">'
        f'<circle r="7"/><text x="10" y="4">{_e(u["unit_id"])}</text>'
        f"<title>{_e(u['unit_id'])}: {_e(u.get('status', ''))}</title></g>"
        for u in placed
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="region-map" class="map" viewBox="-20 -20'
        f' {MAP_W + 80:g} {MAP_H + 40:g}" role="img" aria-label="Units by position, north up">'
        f'<rect x="-20" y="-20" width="{MAP_W + 80:g}" height="{MAP_H + 40:g}" class="land"/>'
        f"{dots}</svg>"
    )


def region_html(units: list[Json], at: dt.datetime) -> str:
    rows = "".join(unit_row(u, at) for u in units)
    table = (
        '<table id="units" class="units"><thead><tr><th>Unit</th><th>Station</th><th>Status</th>'
        "<th>Incident</th><th>Last position</th></tr></thead>"
        f"<tbody>{rows or NO_UNITS}"
        "</tbody></table>"
    )
    return f'<div class="region">{region_map(units)}{table}</div>'
