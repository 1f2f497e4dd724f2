"""The live command page `/command/`: MCIs with their tag counts by colour, a map (the
region view's shipped base map, services/board/basemap.py) with scenes, hospitals and
units, hospital capacity against what was assigned, ambulances committed, escorts and
surveillance alerts. Server-rendered HTML; the page's script re-fetches `/command/panel`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from kernel.jsontypes import Json
from services.board import basemap
from services.command import queries
from services.i18n import N_, _
from services.system import System
from stream_processors.mci.published import ACTIVE, COLOURS
from stream_processors.unit_tracker.published import REGION_INDEX, REGION_KEY

MAP_W, MAP_H = 640.0, 400.0
COLOUR_LABELS = {
    "RED": N_("Immediate"),
    "YELLOW": N_("Delayed"),
    "GREEN": N_("Minor"),
    "BLACK": N_("Dead or expectant"),
}
ED_STATUS = {"normal": N_("normal"), "advisory": N_("advisory"), "closed": N_("closed")}
ESCORT_STATUS = {
    "requested": N_("requested"),
    "acknowledged": N_("acknowledged"),
    "planned": N_("planned"),
    "active": N_("active"),
    "completed": N_("completed"),
    "cancelled": N_("cancelled"),
}
IDLE = ("", "BACK_IN_SERVICE")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def page_context(system: System) -> dict[str, str]:
    return {"title": _e(_("Command centre")), "home": _e(_("Home")), "panel": panel_html(system)}


def units(system: System) -> list[Json]:
    out = []
    for rtype, rid in system.store.lookup(REGION_INDEX, REGION_KEY):
        stored = system.store.read(rtype, rid)
        if stored is not None:
            out.append(json.loads(stored.body))
    return sorted(out, key=lambda u: u["unit_id"])


def committed(all_units: list[Json]) -> list[Json]:
    """Units working an incident now (dispatched and not back in service)."""
    return [u for u in all_units if u.get("status") not in IDLE and u.get("incident_id")]


def panel_html(system: System) -> str:
    mcis = [m for m in queries.mcis(system) if m["status"] == ACTIVE]
    hospitals = queries.capacity_json(system, queries.mcis(system))
    all_units = units(system)
    busy = committed(all_units)
    alerts = queries.alerts(system)
    parts = [
        _summary(mcis, busy, alerts),
        _mci_section(mcis),
        _map(mcis, hospitals, busy),
        _hospitals(hospitals),
        _units(busy),
        _escorts(queries.escorts(system)),
        _alerts(alerts),
    ]
    return "".join(parts)


def _summary(mcis: list[Json], busy: list[Json], alerts: list[Json]) -> str:
    open_alerts = sum(1 for a in alerts if not a["acknowledged_by"])
    cells = [
        (_("Active incidents"), len(mcis), "active-mcis"),
        (_("Ambulances committed"), len(busy), "committed"),
        (_("Open alerts"), open_alerts, "open-alerts"),
    ]
    inner = "".join(f'<p>{_e(label)}<br><b id="{i}">{n}</b></p>' for label, n, i in cells)
    return f'<section class="summary">{inner}</section>'


def _tags(counts: dict[str, int]) -> str:
    return (
        '<div class="tags">'
        + "".join(
            f'<p class="tag {c}" data-colour="{c}"><b>{counts[c]}</b>{_e(_(COLOUR_LABELS[c]))}</p>'
            for c in COLOURS
        )
        + "</div>"
    )


def _one_mci(state: Json) -> str:
    m = queries.mci_json(state)
    dest = ", ".join(f"{_e(h)}: {n}" for h, n in m["by_destination"].items()) or "-"
    registered = _(
        "registered {n} of about {estimated}",
        n=m["registered"],
        estimated=m["estimated_casualties"],
    )
    scene = (m["scene"] or {}).get("address") or ""
    return (
        f'<article class="mci" data-mci="{_e(m["id"])}"><h3>{_e(m["title"])}</h3>'
        f"<p>{_e(_('Scene'))}: {_e(scene)} · {_e(registered)}</p>{_tags(m['triage'])}"
        f"<p>{_e(_('By destination'))}: {dest}</p>"
        f'<p>{_e(_("Unassigned"))}: <span class="unassigned">{len(m["unassigned"])}</span></p>'
        f"{_apply_form(m) if m['unassigned'] else ''}</article>"
    )


def _name_input(field: str) -> str:
    label = _e(_("Your name"))
    return f'<input name="{field}" maxlength="100" required placeholder="{label}" aria-label="{label}">'


def _apply_form(m: Json) -> str:
    """Apply the distribution plan (a CasualtyAssigned per suggested destination)."""
    action = _e(f"/command/incidents/{quote(m['id'], safe='')}/distribution")
    button = _e(_("Apply the distribution plan"))
    return (
        f'<form class="apply" method="post" action="{action}">'
        f"{_name_input('assigned_by')}<button>{button}</button></form>"
    )


def _ack_form(a: Json) -> str:
    action = _e(f"/command/alerts/{quote(a['alert_id'], safe='')}/acknowledge")
    return (
        f'<form class="ack" method="post" action="{action}">'
        f"{_name_input('acknowledged_by')}<button>{_e(_('Acknowledge'))}</button></form>"
    )


def _mci_section(mcis: list[Json]) -> str:
    body = (
        "".join(_one_mci(m) for m in mcis) or f"<p>{_e(_('No active mass-casualty incident.'))}</p>"
    )
    return f'<section id="mcis"><h2>{_e(_("Mass-casualty incidents"))}</h2>{body}</section>'


def _placed(points: list[tuple[str, str, Json | None]]) -> list[tuple[str, str, float, float]]:
    return [
        (kind, label, p["latitude"], p["longitude"])
        for kind, label, p in points
        if p and p.get("latitude") is not None and p.get("longitude") is not None
    ]


def _map(mcis: list[Json], hospitals: list[Json], busy: list[Json]) -> str:
    points = _placed(
        [("scene", m.get("title", ""), m.get("scene")) for m in mcis]
        + [("hospital", h["name"], h["location"]) for h in hospitals]
        + [("unit", u["unit_id"], u) for u in busy]
    )
    view = basemap.view_for([(lat, lon) for _, _, lat, lon in points], MAP_W, MAP_H)
    marks = []
    for kind, label, lat, lon in points:
        x, y = view.xy(lat, lon)
        shape = (
            f'<rect class="{kind}" x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10"/>'
            if kind == "hospital"
            else f'<circle class="{kind}" cx="{x:.1f}" cy="{y:.1f}" r="{7 if kind == "scene" else 4}"/>'
        )
        marks.append(
            f'<g class="mark-{kind}">{shape}<text x="{x + 8:.1f}" y="{y + 4:.1f}">'
            f"{_e(label)}</text></g>"
        )
    note = _e(_("Illustrative base map (fictitious county outline, not survey data)"))
    return (
        f'<section id="map"><h2>{_e(_("Map"))}</h2><figure><svg xmlns="http://www.w3.org/2000/svg"'
        f' class="map" viewBox="-20 -20 {MAP_W + 80:g} {MAP_H + 40:g}" role="img">'
        f"{basemap.svg(view, _e)}{''.join(marks)}</svg><figcaption>{note}</figcaption>"
        "</figure></section>"
    )


def _beds(h: Json) -> str:
    cells = []
    for category in sorted(set(h["beds"]) | set(h["remaining"])):
        left = h["remaining"].get(category, 0)
        cls = ' class="over"' if left < 0 else ""
        cells.append(
            f'<span data-category="{_e(category)}"{cls}>{_e(category)} '
            f"{h['beds'].get(category, 0)} / {h['assigned'].get(category, 0)} / {left}</span>"
        )
    return "<br>".join(cells)


def _label(labels: dict[str, str], code: str) -> str:
    """A status code's label (a catalogue id) in the request's language; else the code."""
    return _e(_(labels.get(code, code)))


def _signals_cleared(escort: Json) -> str:
    updates = escort["updates"]
    return _e((updates[-1].get("signals_cleared") if updates else "") or "")


def _alert_status(a: Json) -> str:
    if a["acknowledged_by"]:
        return _e(_("acknowledged by {who}", who=a["acknowledged_by"]))
    return _e(_("not acknowledged")) + _ack_form(a)


@dataclass(frozen=True)
class Column:
    """A table's column: its head (a catalogue id), its cell's HTML from the row's item, and
    the cell's class."""

    head: str
    cell: Callable[[Json], str]
    css: str = ""

    def td(self, item: Json) -> str:
        cls = f' class="{self.css}"' if self.css else ""
        return f"<td{cls}>{self.cell(item)}</td>"


HOSPITAL_COLUMNS = (
    Column(N_("Hospital"), lambda h: _e(h["name"])),
    Column(N_("ED"), lambda h: _label(ED_STATUS, h["ed_status"])),
    Column(N_("Beds (reported / assigned / left)"), _beds),
    Column(N_("Surgical teams"), lambda h: str(h["surgical_teams"])),
    Column(
        N_("Cath lab"), lambda h: _e(_("Open for cases") if h["cath_lab_open"] else _("closed"))
    ),
)
UNIT_COLUMNS = (
    Column(N_("Unit"), lambda u: _e(u["unit_id"])),
    Column(N_("Status"), lambda u: _e(u.get("status"))),
    Column(N_("Incident"), lambda u: _e(u.get("incident_id"))),
)
ESCORT_COLUMNS = (
    Column(N_("Unit"), lambda e: _e(e["unit_id"])),
    Column(N_("Reason"), lambda e: _e(e["reason"])),
    Column(N_("Destination"), lambda e: _e(e["destination_id"])),
    Column(N_("Status"), lambda e: _label(ESCORT_STATUS, e["status"]), "status"),
    Column(N_("ETA"), lambda e: _e(e.get("eta") or "")),
    Column(N_("Signals cleared"), _signals_cleared),
)
ALERT_COLUMNS = (
    Column(N_("Signal"), lambda a: _e(a["signal"])),
    Column(N_("Area"), lambda a: _e(a["area"])),
    Column(N_("Day"), lambda a: _e(a["day"])),
    Column(N_("Observed / baseline"), lambda a: f"{a['observed']} / {a['baseline_mean']:.1f}"),
    Column("EARS C2", lambda a: f"C2 {a['statistic']:.1f}"),
    Column(N_("Status"), _alert_status),
)


def _hospitals(hospitals: list[Json]) -> str:
    title = N_("Hospitals: capacity and assigned")
    empty = N_("No hospital has reported capacity.")
    row = _row_attrs("data-hospital", "hospital_id")
    return _table("hospitals", title, HOSPITAL_COLUMNS, hospitals, empty, row)


def _units(busy: list[Json]) -> str:
    return _table("units", N_("Ambulances committed"), UNIT_COLUMNS, busy, "-")


def _escorts(escorts: list[Json]) -> str:
    title, empty = N_("Escorts (traffic platform)"), N_("No escort requested.")
    row = _row_attrs("data-escort", "escort_id")
    return _table("escorts", title, ESCORT_COLUMNS, escorts, empty, row)


def _alerts(alerts: list[Json]) -> str:
    def row(a: Json) -> str:
        state = "done" if a["acknowledged_by"] else "open"
        return f' class="alert {state}" data-alert="{_e(a["alert_id"])}"'

    return _table("alerts", N_("Early warning"), ALERT_COLUMNS, alerts, N_("No alert."), row)


def _row_attrs(attribute: str, key: str) -> Callable[[Json], str]:
    """A row naming its item's `key` in `attribute` (what the page script finds it by)."""
    return lambda item: f' {attribute}="{_e(item[key])}"'


def _table(
    sid: str,
    title: str,
    columns: tuple[Column, ...],
    items: list[Json],
    empty: str,
    row: Callable[[Json], str] = lambda _item: "",
) -> str:
    """A section with a table, a row per item (`row`: the row's attributes); `title`, the
    heads and `empty` are catalogue ids."""
    head = "".join(f"<th>{_e(_(c.head))}</th>" for c in columns)
    rows = "".join(f"<tr{row(i)}>{''.join(c.td(i) for c in columns)}</tr>" for i in items)
    body = rows or f'<tr class="empty"><td colspan="{len(columns)}">{_e(_(empty))}</td></tr>'
    return (
        f'<section id="{sid}"><h2>{_e(_(title))}</h2><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></section>"
    )
