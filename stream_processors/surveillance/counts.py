"""The surveillance folds: daily counts per (signal, area), and each alert's life.

Counts are sums, so they do not depend on the order events arrive in; the decision to
raise is taken when a day's count first crosses the threshold (`raised`), and the alert's
event id derives from (signal, area, day), so a replay, a rebuild or a second crossing
appends no second alert. Days are local (Asia/Shanghai): a county's day, not UTC's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from avro_schemas.events import (
    ECG_MEASURED,
    INCIDENT_OPENED,
    SURVEILLANCE_ALERT_ACKNOWLEDGED,
    SURVEILLANCE_ALERT_RAISED,
)
from kernel.ids import resource_id
from kernel.jsontypes import Json
from kernel.time import instant
from stream_processors.surveillance.stats import METHOD, THRESHOLD, baseline_days, c2

COUNTS = "SurveillanceCounts"
ALERT = "SurveillanceAlert"
ZONE = ZoneInfo("Asia/Shanghai")
KEEP_DAYS = 30  # counts older than this are dropped: the baseline needs 9 days back
ECG_CLASSES = ("critical", "urgent")  # routine ECGs are not a warning sign
REGION = "region"
ECG_SIGNAL = "ecg-class:"
NAMESPACE = uuid.UUID("3d7b2a9e-1c4f-5e86-b0a2-7f9c1e3d5b48")


def signal_of(name: str, e: Json) -> tuple[str, str] | None:
    """(signal, area) an event counts towards, or None."""
    if name == INCIDENT_OPENED and e.get("dispatch_reason"):
        return f"dispatch-reason:{e['dispatch_reason'].strip().lower()}", e["station_id"]
    if name == ECG_MEASURED and e.get("triage_class") in ECG_CLASSES:
        return f"{ECG_SIGNAL}{e['triage_class']}", REGION
    return None


def counts_id(signal: str, area: str) -> str:
    return resource_id(COUNTS, signal, area)


def alert_id(signal: str, area: str, day: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{signal}/{area}/{day}"))


def local_day(at: Any) -> dt.date:
    t = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return t.astimezone(ZONE).date()


def fold_counts(before: Json | None, name: str, e: Json) -> Json:
    signal, area = signal_of(name, e) or ("", "")
    doc = before or {
        "resourceType": COUNTS,
        "id": counts_id(signal, area),
        "signal": signal,
        "area": area,
        "days": {},
    }
    day = local_day(e["meta"]["occurred_at"])
    days = {**doc["days"], day.isoformat(): doc["days"].get(day.isoformat(), 0) + 1}
    newest = max(dt.date.fromisoformat(d) for d in days)
    oldest_kept = (newest - dt.timedelta(days=KEEP_DAYS)).isoformat()
    first = min(doc.get("first_day") or day.isoformat(), day.isoformat())
    kept = {d: n for d, n in sorted(days.items()) if d >= oldest_kept}
    return {**doc, "days": kept, "first_day": first}


def _covered(doc: Json, day: dt.date) -> bool:
    """Has a frequent signal (ECG classes, region-wide) a baseline yet? A new region's
    first days would otherwise alert on ordinary volume. Dispatch reasons need none: a
    reason never seen at a station (carbon monoxide) is exactly what a cluster looks like."""
    if not doc["signal"].startswith(ECG_SIGNAL):
        return True
    return bool(doc["first_day"] <= baseline_days(day)[0].isoformat())


def raised(before: Json | None, name: str, e: Json) -> list[Json]:
    """The SurveillanceAlertRaised this event makes due: its day's C2 crosses the threshold
    now and did not before it."""
    after = fold_counts(before, name, e)
    day = local_day(e["meta"]["occurred_at"])
    now = c2(after["days"], day)
    was = c2(before["days"], day) if before else None
    if not now.alert or (was is not None and was.alert) or not _covered(after, day):
        return []
    aid = alert_id(after["signal"], after["area"], day.isoformat())
    return [
        {
            "meta": {**e["meta"], "event_id": aid},
            "alert_id": aid,
            "signal": after["signal"],
            "area": after["area"],
            "day": day.isoformat(),
            "observed": now.observed,
            "baseline_mean": round(now.mean, 3),
            "baseline_sd": round(now.sd, 3),
            "statistic": round(now.statistic, 3),
            "method": METHOD,
            "threshold": THRESHOLD,
        }
    ]


def fold_alert(before: Json | None, name: str, e: Json) -> Json | None:
    if name == SURVEILLANCE_ALERT_RAISED:
        if before is not None:
            return None
        fields = (
            "alert_id",
            "signal",
            "area",
            "day",
            "observed",
            "baseline_mean",
            "baseline_sd",
            "statistic",
            "method",
            "threshold",
        )
        return {
            "resourceType": ALERT,
            "id": resource_id(ALERT, e["alert_id"]),
            **{f: e[f] for f in fields},
            "raised_at": instant(e["meta"]["recorded_at"]),
            "acknowledged_by": "",
            "acknowledged_at": "",
        }
    if before is None or before["acknowledged_by"] or name != SURVEILLANCE_ALERT_ACKNOWLEDGED:
        return None
    return {
        **before,
        "acknowledged_by": e["acknowledged_by"],
        "note": e.get("note"),
        "acknowledged_at": instant(e["meta"]["recorded_at"]),
    }
