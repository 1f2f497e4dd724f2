"""The unit tracker fold: GPS fixes (ems.position) and the incident timeline (ems.incident)
-> UnitState. The two topics interleave in any order, so the merge must not care."""

from __future__ import annotations

import datetime as dt
import itertools
import json

from kernel.jsontypes import Json
from stream_processors.runner import canonical_json
from stream_processors.unit_tracker.processor import (
    PROCESSOR,
    REGION_INDEX,
    REGION_KEY,
    STATION_INDEX,
)
from stream_processors.unit_tracker.unit import UnitState, unit_state_id
from viewstore.base import IndexEntry

T0 = dt.datetime(2026, 11, 23, 9, 40, tzinfo=dt.UTC)


def _meta(event_id: str, seconds: float) -> Json:
    at = T0 + dt.timedelta(seconds=seconds)
    return {
        "event_id": event_id,
        "occurred_at": at,
        "recorded_at": at,
        "source": {"channel": "tablet"},
    }


def fix(
    seconds: float,
    lat: float,
    lon: float,
    *,
    unit: str = "A12",
    station: str = "station-2",
    speed: float | None = 40.0,
    incident: str | None = None,
) -> tuple[str, Json]:
    return "goldenhour.ems.UnitPositionReported", {
        "meta": _meta(f"fix-{unit}-{seconds}", seconds),
        "unit_id": unit,
        "station_id": station,
        "position": {"latitude": lat, "longitude": lon, "address": None},
        "speed_kmh": speed,
        "heading_deg": 90.0,
        "incident_id": incident,
    }


def status(
    seconds: float,
    value: str,
    *,
    incident: str = "INC-1",
    unit: str = "A12",
    position: Json | None = None,
) -> tuple[str, Json]:
    return "goldenhour.ems.UnitStatusChanged", {
        "meta": _meta(f"status-{unit}-{seconds}", seconds),
        "incident_id": incident,
        "unit_id": unit,
        "status": value,
        "position": position,
    }


def opened(
    seconds: float, *, incident: str = "INC-1", station: str = "station-2"
) -> tuple[str, Json]:
    return "goldenhour.ems.IncidentOpened", {
        "meta": _meta(f"open-{incident}", seconds),
        "incident_id": incident,
        "dispatch_reason": "chest pain",
        "priority": "1",
        "station_id": station,
        "unit_id": "A12",
        "scene": None,
    }


def fold_all(events: list[tuple[str, Json]]) -> tuple[Json | None, int]:
    """(the stored document, versions written), as the runner would store them."""
    projection, doc, versions = PROCESSOR, None, 0
    for name, event in events:
        refs = projection.refs(name, event)
        changed = projection.fold({refs[0]: doc} if refs and doc else {}, name, event)
        for resource in changed.values():
            doc, versions = json.loads(canonical_json(resource)), versions + 1
    return doc, versions


def state(events: list[tuple[str, Json]]) -> UnitState:
    doc, _ = fold_all(events)
    assert doc is not None
    return UnitState.from_json(doc)


def test_fold__a_fix_sets_position_motion_and_station_and_files_the_unit() -> None:
    doc, versions = fold_all([fix(10, 31.2301, 121.4737, incident="INC-1")])
    assert doc is not None and versions == 1
    assert doc["id"] == unit_state_id("A12")
    s = UnitState.from_json(doc)
    assert (s.latitude, s.longitude, s.speed_kmh, s.heading_deg) == (31.2301, 121.4737, 40.0, 90.0)
    assert (s.station_id, s.position_at) == ("station-2", "2026-11-23T09:40:10.000000Z")
    assert doc["incident_id"] == "INC-1"
    assert PROCESSOR.index(doc) == [
        IndexEntry(REGION_INDEX, REGION_KEY, "UnitState", doc["id"]),
        IndexEntry(STATION_INDEX, "station-2", "UnitState", doc["id"]),
    ]


def test_fold__an_older_fix_arriving_late_changes_nothing_but_counts_a_version() -> None:
    late, late_versions = fold_all([fix(20, 31.3, 121.5), fix(10, 31.2, 121.4)])
    in_order, versions = fold_all([fix(10, 31.2, 121.4), fix(20, 31.3, 121.5)])
    assert late == in_order and late is not None and late["latitude"] == 31.3
    assert late_versions == versions == 2  # so versionId does not depend on arrival order


def test_fold__status_sets_incident_and_back_in_service_clears_it() -> None:
    s = state([opened(0), status(60, "EN_ROUTE"), status(600, "AT_PATIENT")])
    assert (s.status, s.incident_id, s.status_at) == (
        "AT_PATIENT",
        "INC-1",
        "2026-11-23T09:50:00.000000Z",
    )
    s = state([opened(0), status(60, "EN_ROUTE"), status(3600, "BACK_IN_SERVICE")])
    assert (s.status, s.incident_id) == ("BACK_IN_SERVICE", "")


def test_fold__incident_opening_dispatches_the_unit_until_a_status_says_otherwise() -> None:
    s = state([opened(0)])
    assert (s.status, s.incident_id, s.station_id) == ("DISPATCHED", "INC-1", "station-2")


def test_fold__a_newer_fix_names_the_current_incident() -> None:
    s = state([status(60, "BACK_IN_SERVICE"), fix(120, 31.2, 121.4, incident="INC-2")])
    assert s.incident_id == "INC-2"
    s = state([fix(30, 31.2, 121.4, incident="INC-2"), status(60, "BACK_IN_SERVICE")])
    assert s.incident_id == ""


def test_fold__status_with_a_position_moves_the_unit_without_stale_speed() -> None:
    here = {"latitude": 31.25, "longitude": 121.45, "address": "County Hospital ED bay"}
    s = state([fix(10, 31.2, 121.4), status(20, "AT_DESTINATION", position=here)])
    assert (s.latitude, s.address, s.speed_kmh, s.heading_deg) == (
        31.25,
        "County Hospital ED bay",
        None,
        None,
    )


def test_fold__station_change_moves_the_station_lookup() -> None:
    doc, _ = fold_all(
        [fix(10, 31.2, 121.4, station="station-2"), fix(20, 31.2, 121.4, station="station-5")]
    )
    assert doc is not None
    keys = [e.key for e in PROCESSOR.index(doc) if e.index == STATION_INDEX]
    assert keys == ["station-5"]


def test_fold__any_arrival_order_gives_the_same_current_state() -> None:
    here = {"latitude": 31.26, "longitude": 121.46, "address": None}
    events = [
        opened(0),
        status(60, "EN_ROUTE"),
        fix(90, 31.21, 121.41, incident="INC-1"),
        status(600, "AT_PATIENT", position=here),
        fix(650, 31.26, 121.46, speed=0.0, incident="INC-1"),
        status(1800, "LEFT_SCENE"),
        fix(1810, 31.27, 121.47, station="station-5", incident="INC-1"),
    ]
    finals = set()
    for order in itertools.permutations(events):
        doc, _ = fold_all(list(order))
        finals.add(canonical_json(doc or {}))
    assert len(finals) == 1
    s = UnitState.from_json(json.loads(finals.pop()))
    assert (s.status, s.incident_id, s.latitude, s.station_id) == (
        "LEFT_SCENE",
        "INC-1",
        31.27,
        "station-5",
    )


def test_fold__a_status_with_the_newest_position_wins_in_any_arrival_order() -> None:
    # The hospital board's rebuild test: fixes of the incident, then the arrival status with
    # the unit's position; a rebuild may fold the status before or after the fixes.
    here = {"latitude": 31.25, "longitude": 121.45, "address": None}
    events = [
        fix(1500, 31.20, 121.40, incident="INC-1"),
        fix(1530, 31.21, 121.40, incident="INC-1"),
        status(1800, "AT_DESTINATION", position=here),
    ]
    finals = {
        canonical_json(fold_all(list(order))[0] or {}) for order in itertools.permutations(events)
    }
    assert len(finals) == 1
    s = UnitState.from_json(json.loads(finals.pop()))
    assert (s.latitude, s.position_incident, s.incident_id) == (31.25, "INC-1", "INC-1")


def test_fold__events_without_a_unit_are_not_ours() -> None:
    projection = PROCESSOR
    name, event = "goldenhour.ems.VitalsRecorded", {"incident_id": "INC-1", "vitals": []}
    assert projection.refs(name, event) == [] and projection.fold({}, name, event) == {}
