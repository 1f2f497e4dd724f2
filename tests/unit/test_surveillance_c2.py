"""EARS C2 on planted data (issue 15): no alert on a noisy baseline, an alert on a planted
cluster, the statistic as the definition says (baseline t-9..t-3, sample sd), and the
processor raising one alert per (signal, area, day)."""

from __future__ import annotations

import datetime as dt
import random

from avro_schemas import events as ev
from stream_processors.surveillance.processor import PROCESSOR
from stream_processors.surveillance.stats import baseline_days, c2

DAY = dt.date(2026, 12, 20)


def series(days: int, rng: random.Random) -> dict[str, int]:
    """A quiet station: 0-3 chest-pain calls a day."""
    start = DAY - dt.timedelta(days=days)
    return {(start + dt.timedelta(days=i)).isoformat(): rng.randint(0, 3) for i in range(days + 1)}


def test_c2__baseline_is_the_seven_days_before_a_two_day_lag() -> None:
    assert baseline_days(DAY) == [dt.date(2026, 12, d) for d in range(11, 18)]


def test_c2__statistic_by_hand() -> None:
    counts = {f"2026-12-{d}": n for d, n in zip(range(11, 18), [1, 2, 3, 1, 2, 3, 2], strict=True)}
    counts["2026-12-18"] = 50  # inside the lag: not in the baseline
    counts["2026-12-20"] = 8
    got = c2(counts, DAY)
    # mean 2, sample sd sqrt(4/6) = 0.816 -> floored to 1: (8 - 2) / 1 = 6
    assert (got.observed, round(got.mean, 3), round(got.sd, 3), got.statistic) == (
        8,
        2.0,
        0.816,
        6.0,
    )
    assert got.alert


def test_c2__no_alert_anywhere_on_a_month_of_baseline() -> None:
    rng = random.Random(7)
    counts = series(40, rng)
    alerts = [d for d in range(30) if c2(counts, DAY - dt.timedelta(days=d)).alert]
    assert alerts == []


def test_c2__alert_on_a_planted_cluster() -> None:
    counts = series(40, random.Random(7))
    counts[DAY.isoformat()] = 12  # a cluster: 12 calls in one day
    assert c2(counts, DAY).alert


def _meta(event_id: str, at: dt.datetime) -> dict:
    """Event metadata: occurred and recorded at `at`, from a test source."""
    source = {"channel": "t", "device_id": None, "user_id": None, "site_id": None}
    return {"event_id": event_id, "occurred_at": at, "recorded_at": at, "source": source}


def _opened(n: int, day: dt.date, reason: str = "chest pain") -> dict:
    at = dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return {
        "meta": _meta(f"e{n}", at),
        "incident_id": f"i{n}",
        "dispatch_reason": reason,
        "priority": "P1",
        "station_id": "station-a",
        "unit_id": "amb-1",
        "scene": None,
    }


def test_processor__one_alert_when_the_cluster_crosses_and_none_before() -> None:
    docs: dict = {}
    emitted = []
    n = 0
    plan = {DAY - dt.timedelta(days=d): 1 for d in range(3, 10)}  # one call a day
    plan[DAY] = 9
    for day, count in sorted(plan.items()):
        for _ in range(count):
            n += 1
            event = _opened(n, day)
            state = {r: docs[r] for r in PROCESSOR.refs(ev.INCIDENT_OPENED, event) if r in docs}
            emitted += PROCESSOR.emit(state, ev.INCIDENT_OPENED, event)
            docs.update(PROCESSOR.fold(state, ev.INCIDENT_OPENED, event))
    assert len(emitted) == 1
    alert = emitted[0].event
    assert (alert["area"], alert["day"], alert["signal"]) == (
        "station-a",
        DAY.isoformat(),
        "dispatch-reason:chest pain",
    )
    # baseline 1 a day (sd 0, floored to 1): 4 calls give (4 - 1) / 1 = 3, not > 3; the 5th
    # call crosses, and the 6th to 9th raise nothing more
    assert alert["observed"] == 5


def _measured(n: int, day: dt.date) -> dict:
    at = dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC)
    return {
        "meta": _meta(f"m{n}", at),
        "ecg_id": f"ecg{n}",
        "triage_class": "urgent",
    }


def test_processor__no_ecg_class_alert_before_the_region_has_a_baseline() -> None:
    """A new region's first busy day is not an outbreak: ECG classes (region-wide, frequent)
    are tested only once their series spans the baseline window."""
    docs: dict = {}
    emitted = []
    for n in range(10):  # ten urgent ECGs on the region's first day
        event = _measured(n, DAY)
        state = {r: docs[r] for r in PROCESSOR.refs(ev.ECG_MEASURED, event) if r in docs}
        emitted += PROCESSOR.emit(state, ev.ECG_MEASURED, event)
        docs.update(PROCESSOR.fold(state, ev.ECG_MEASURED, event))
    assert emitted == []
