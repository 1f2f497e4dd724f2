"""Event metadata (`goldenhour.common.EventMeta`) for the facts the system writes itself:
a delivery recorded, a status changed. Such a fact happens when it is recorded, so its
`occurred_at` and `recorded_at` are the same instant; its source channel is `system`.
"""

from __future__ import annotations

import datetime as dt

from kernel.jsontypes import Json
from kernel.time import now


def system_meta(event_id: str, site_id: str | None = None, at: dt.datetime | None = None) -> Json:
    """EventMeta of a system-written fact: occurred and recorded `at` (default now), by no
    device or user, for `site_id` when the fact belongs to one site."""
    at = at or now()
    source = {"channel": "system", "device_id": None, "user_id": None, "site_id": site_id}
    return {"event_id": event_id, "occurred_at": at, "recorded_at": at, "source": source}
