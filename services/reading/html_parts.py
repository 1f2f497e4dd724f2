"""What both workstation pages (the queue in web.py, the ECG in ecg_page.py) are made of:
their assets and headers, escaping, times in the reader's zone and language
(services/i18n), the overdue and escalated marks, the page script's messages, and reads of
the views."""

from __future__ import annotations

import html
import json
from pathlib import Path

from kernel.jsontypes import Json
from kernel.time import now
from services import i18n
from services.i18n import _
from services.system import System
from services.web_assets import CSP_SELF, Head, WebAssets


def esc(value: object) -> str:
    """Escape for HTML text and attribute values (quotes included)."""
    return html.escape(str(value), quote=True)


# What the page script says (catalogue ids; see workstation.js).
SCRIPT_MESSAGES = (
    "The server cannot be reached ({error}). Try again.",
    "HTTP {status}",
    "Enter your reader id first (letters, digits, Chinese characters, . _ : @ -).",
    "Updated {time}.",
    "Not updated since the last refresh: {error}. Retrying.",
    "— (set it on the queue page)",
    "Not claimed: claim it to report.",
    "Lease of {holder} expired: claim again to report.",
    "Held by you · lease {left} left",
    "Held by {holder} · {left} left",
    "Write an interpretation, or tick at least one statement.",
    "{ms} ms ({rate}/min) · {mv} mV",
    "Enter the corrected value.",
    "Correction saved: {value} (automatic {automatic}).",
    "Write the addendum first.",
    ". ",  # between the ticked statements of an interpretation built from them
)

HEAD = Head("/reading/static/workstation.css", "/reading/static/workstation.js", SCRIPT_MESSAGES)
# The page posts through its script (fetch), never a form: CSP_SELF as it is.
ASSETS = WebAssets(
    Path(__file__).parent,
    {
        "workstation.js": "text/javascript; charset=utf-8",
        "workstation.css": "text/css; charset=utf-8",
    },
    CSP_SELF,
    HEAD,
)


def page_context() -> dict[str, str]:
    """What every workstation page carries: the reader's zone."""
    return {"tz": esc(i18n.current_zone.get())}


def time_html(instant: str, full: bool = False) -> str:
    """A `<time>` in the reader's zone: the time alone when it is today, else the date too
    (always the date with `full`)."""
    if not instant:
        return ""
    shown = i18n.format_datetime(instant) if full else i18n.format_when(instant, now())
    title = f"{i18n.format_datetime(instant)} ({i18n.zone_label()})"
    return f'<time datetime="{esc(instant)}" title="{esc(title)}">{esc(shown)}</time>'


def marks(overdue: bool, escalated: bool) -> str:
    """The OVERDUE / ESCALATED badges of a read."""
    shown = [("overdue", _("OVERDUE"))] if overdue else []
    shown += [("escalated", _("ESCALATED"))] if escalated else []
    return " ".join(f'<span class="mark {c}">{esc(t)}</span>' for c, t in shown)


def read_view(system: System, rtype: str, rid: str) -> Json | None:
    """The current content of a view document (meta included), or None."""
    stored = system.store.read(rtype, rid)
    return None if stored is None else dict(json.loads(stored.body))
