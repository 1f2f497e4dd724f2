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
formatted and escaped in one place, in the reader's language and zone (services/i18n). The
reader id (Chinese allowed, e.g. 李医生) is typed once and kept in the browser (localStorage). The ECG page's fragments are built in `ecg_page.py`; what both
pages share (assets, headers, escaping, times) is in `html_parts.py`.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import QueryParams

from kernel.ids import ecg_observation_id
from kernel.text import ascii_digits
from kernel.time import instant, now, parse_instant
from services.deps import SystemDep
from services.i18n import N_, _
from services.reading import queue, worklist
from services.reading.ecg_page import ecg_fragments
from services.reading.html_parts import (
    ASSETS,
    HEAD,
    esc,
    marks,
    page_context,
    read_view,
    time_html,
)
from services.system import System
from services.web_assets import Head, titled
from stream_processors.diagnosis_queue.published import QueueItem

router = APIRouter(prefix="/reading", tags=["reading workstation"], include_in_schema=False)

QUEUE_POLL_S = 5
NOT_YET_REFRESH_S = 2  # an ECG page opened before the projector wrote the Observation
TRIAGE_LABEL = {"critical": N_("critical"), "urgent": N_("urgent"), "routine": N_("routine")}


# --- routes -------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request, system: SystemDep) -> HTMLResponse:
    """The reading centre's open queue, most urgent first, filtered as the query asks."""
    chosen = filters_of(system, request.query_params)
    rows = queue_rows_html(system, now(), chosen)
    return ASSETS.page(
        "queue.html",
        {
            **page_context(),
            "refresh_note": esc(_("Refreshes every {n} s.", n=QUEUE_POLL_S)),
            "rows": rows,
            "poll_s": str(QUEUE_POLL_S),
            "centre": esc(system.settings.reading_centre_id),
            **_filter_fields(system, chosen),
        },
        title=titled(_("Reading queue")),
    )


@router.get("/queue-rows", response_class=HTMLResponse)
def queue_rows(request: Request, system: SystemDep) -> HTMLResponse:
    """The queue's `<tbody>` content, polled by the queue page (with the page's filters)."""
    return ASSETS.fragment(queue_rows_html(system, now(), filters_of(system, request.query_params)))


@router.get("/ecg/{ecg_id}", response_class=HTMLResponse)
def ecg_page(ecg_id: str, system: SystemDep) -> HTMLResponse:
    """One ECG for reading: the print-out, measurements, previous ECG and the report form."""
    item = queue.current(system, ecg_id)
    obs = read_view(system, "Observation", ecg_observation_id(ecg_id))
    if obs is None:
        return _not_yet(ecg_id, known=item is not None)
    return ASSETS.page(
        "ecg.html",
        {**page_context(), **ecg_fragments(system, ecg_id, item, obs, now())},
        title=titled(f"ECG {ecg_id}"),
    )


@router.get("/static/{name}")
def static(name: str) -> Response:
    return ASSETS.static(name)


# --- page plumbing ------------------------------------------------------------------------


def _not_yet(ecg_id: str, known: bool) -> HTMLResponse:
    if not known:
        return _message(_("Unknown ECG"), _("No ECG {ecg_id} here.", ecg_id=ecg_id), 404)
    text = _(
        "ECG {ecg_id} is queued; its waveform is still being stored. This page reloads by itself.",
        ecg_id=ecg_id,
    )
    return _message(_("ECG arriving"), text, 200, NOT_YET_REFRESH_S)


def _message(title: str, text: str, status: int, refresh_s: int | None = None) -> HTMLResponse:
    """The workstation's page of one message (no script), reloading after `refresh_s`."""
    return ASSETS.page(
        "message.html",
        {"title": esc(title), "message": esc(text)},
        title=titled(title),
        status=status,
        head=Head(HEAD.stylesheet, refresh_s=refresh_s),
    )


# --- times --------------------------------------------------------------------------------


def _span(seconds: float) -> str:
    """'40 秒', '4 分钟', '2 小时 5 分钟', '3 天' (in the reader's language)."""
    s = int(abs(seconds))
    if s < 60:
        return _("{n} s", n=s)
    if s < 3600:
        return _("{n} min", n=s // 60)
    if s < 48 * 3600:
        return _("{h} h {m} min", h=s // 3600, m=s % 3600 // 60)
    return _("{n} d", n=s // 86400)


def _ago(instant: str, at: dt.datetime) -> str:
    if not instant:
        return ""
    return _("{span} ago", span=_span((at - parse_instant(instant)).total_seconds()))


def _due(instant: str, at: dt.datetime) -> str:
    seconds = (parse_instant(instant) - at).total_seconds()
    return (
        _("in {span}", span=_span(seconds))
        if seconds > 0
        else _("{span} late", span=_span(seconds))
    )


# --- queue page ---------------------------------------------------------------------------


def filters_of(system: System, query: QueryParams) -> worklist.Filters:
    """The worklist filters of a query string (`class` repeated or comma-separated, `site`,
    `older`/`newer` in minutes, `state`, `mine`, `q`); unknown values do not filter."""
    text = (query.get("q") or "").strip()[:64]
    wanted = {c for raw in query.getlist("class") for c in raw.split(",")}
    return worklist.Filters(
        classes=frozenset(c for c in wanted if c in TRIAGE_LABEL),
        site=(query.get("site") or "")[:64],
        older_than_min=_minutes(query.get("older")),
        newer_than_min=_minutes(query.get("newer")),
        state=query.get("state", "") if query.get("state") in worklist.STATES else "",
        mine=(query.get("mine") or "")[:64],
        query=text,
        patient_refs=_patients_identified(system, text),
    )


def _minutes(raw: str | None) -> int | None:
    return int(raw) if raw and ascii_digits(raw) and len(raw) <= 6 else None


def _patients_identified(system: System, text: str) -> frozenset[str]:
    """Patients whose identifier (resident ID, MRN, temporary id) is exactly `text`."""
    if len(text) < 4:
        return frozenset()
    found = system.store.lookup("Patient.identifier", text)
    return frozenset(f"Patient/{rid}" for rtype, rid in found if rtype == "Patient")


def _filter_fields(system: System, f: worklist.Filters) -> dict[str, str]:
    """The filter form's current values and choices, escaped."""

    def selected(value: str, current: str) -> str:
        return " selected" if value == current else ""

    classes = "".join(
        f'<label><input type="checkbox" name="class" value="{c}"'
        f"{' checked' if c in f.classes else ''}> {esc(_(label))}</label>"
        for c, label in TRIAGE_LABEL.items()
    )
    states = "".join(
        f'<option value="{v}"{selected(v, f.state)}>{esc(_(label))}</option>'
        for v, label in (
            ("", N_("all")),
            ("unread", N_("unread")),
            ("overdue", N_("overdue")),
            ("claimed", N_("claimed")),
        )
    )
    open_items = queue.open_items(system, system.settings.reading_centre_id)
    sites = dict(sorted({(i.site_id, i.site_name or i.site_id) for i in open_items if i.site_id}))
    if f.site and f.site not in sites:
        sites[f.site] = f.site
    site_options = f'<option value="">{esc(_("all"))}</option>' + "".join(
        f'<option value="{esc(sid)}"{selected(sid, f.site)}>{esc(name)}</option>'
        for sid, name in sites.items()
    )
    return {
        "f_classes": classes,
        "f_states": states,
        "f_sites": site_options,
        "f_older": esc("" if f.older_than_min is None else f.older_than_min),
        "f_q": esc(f.query),
        "f_mine": " checked" if f.mine else "",
    }


def queue_rows_html(system: System, at: dt.datetime, f: worklist.Filters | None = None) -> str:
    items = queue.open_items(system, system.settings.reading_centre_id)
    if f is not None:
        items = worklist.select(items, f, at)
    if not items:
        return f'<tr class="empty"><td colspan="9">{esc(_("No ECG waiting to be read."))}</td></tr>'
    return "\n".join(_queue_row(r.item, at, r.repeats) for r in worklist.collapse_repeats(items))


def _repeat_note(repeats: tuple[QueueItem, ...]) -> str:
    if not repeats:
        return ""
    ids = ", ".join(r.ecg_id for r in repeats)
    text = _(
        "Also recorded within {n} min: {ids}",
        n=int(worklist.REPEAT_WINDOW.total_seconds() // 60),
        ids=ids,
    )
    return f' <span class="repeat-note" data-repeats="{esc(ids)}">{esc(text)}</span>'


def _queue_row(item: QueueItem, at: dt.datetime, repeats: tuple[QueueItem, ...] = ()) -> str:
    stamp = instant(at)
    overdue, available = item.overdue(stamp), item.available(stamp)
    classes = f"cls-{item.triage_class}" + (" overdue" if overdue else "")
    link = f"/reading/ecg/{esc(item.ecg_id)}"
    action = (
        f'<button type="button" class="claim" data-ecg-id="{esc(item.ecg_id)}">{esc(_("Claim"))}</button>'
        if available
        else ""
    )
    return (
        f'<tr class="{classes}" data-ecg-id="{esc(item.ecg_id)}" data-class="{esc(item.triage_class)}">'
        f'<td><span class="badge {esc(item.triage_class)}">{esc(_(TRIAGE_LABEL.get(item.triage_class, item.triage_class)))}</span></td>'
        f'<td title="{esc(item.site_id)}">{esc(item.site_name or item.site_id)}</td>'
        f'<td><a href="{link}">{esc(item.patient_name or item.patient_ref or "?")}</a>'
        f"{_repeat_note(repeats)}</td>"
        f"<td>{esc(item.clinical_question)}</td>"
        f'<td>{time_html(item.submitted_at)} <span class="ago">{esc(_ago(item.submitted_at, at))}</span></td>'
        f'<td>{time_html(item.due_at)} <span class="due">{esc(_due(item.due_at, at))}</span></td>'
        f"<td>{marks(overdue, item.escalated)}</td>"
        f"<td>{_lease(item, stamp)}</td>"
        f'<td class="actions">{action} <a href="{link}">{esc(_("Open"))}</a></td></tr>'
    )


def _lease(item: QueueItem, stamp: str) -> str:
    if item.status != "claimed":
        return f'<span class="free">{esc(_("open"))}</span>'
    state = _("lease expired") if item.lease_expired(stamp) else _("until")
    return (
        f'<span class="holder">{esc(item.holder)}</span> '
        f'<span class="lease">{state} {time_html(item.lease_until)}</span>'
    )
