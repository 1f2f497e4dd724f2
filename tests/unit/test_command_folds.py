"""The command centre's pure folds (issue 15): an MCI's casualties with START tags and
re-triage kept as history, the casualty's FHIR resources and grants, the distribution plan
within capacity, and when an escort is requested. Expected values are written from the
issue (tag colours, capacities), not taken from the code under test."""

from __future__ import annotations

import datetime as dt

from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.patient import Patient

from avro_schemas import events as ev
from stream_processors.escort.processor import PROCESSOR as ESCORT
from stream_processors.mci.distribution import Hospital, plan, travel_minutes
from stream_processors.mci.processor import PROCESSOR as MCI

T0 = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)
MCI_ID = "mci-bus-1"


def meta(n: int, minutes: float = 0) -> dict:
    at = T0 + dt.timedelta(minutes=minutes)
    return {
        "event_id": f"e{n}",
        "occurred_at": at,
        "recorded_at": at,
        "source": {"channel": "test", "device_id": None, "user_id": "u", "site_id": None},
    }


def declared() -> dict:
    return {
        "meta": meta(0),
        "mci_id": MCI_ID,
        "kind": "road-traffic",
        "title": "客车侧翻",
        "scene": {"latitude": 30.0, "longitude": 120.0, "address": "G60 K123"},
        "estimated_casualties": 12,
        "station_ids": ["station-a"],
        "declared_by": "d1",
    }


def triaged(n: int, casualty: str, tag: str, minutes: float = 1) -> dict:
    return {
        "meta": meta(n, minutes),
        "mci_id": MCI_ID,
        "casualty_id": casualty,
        "station_id": "station-a",
        "unit_id": "amb-1",
        "tag": tag,
        "method": "START",
        "category": None,
        "estimated_age": 40,
        "sex": "male",
        "note": None,
        "triaged_by": "crew-1",
    }


def assigned(n: int, casualty: str, hospital: str) -> dict:
    return {
        "meta": meta(n, 5),
        "mci_id": MCI_ID,
        "casualty_id": casualty,
        "hospital_id": hospital,
        "unit_id": None,
        "travel_min": 12.0,
        "planned": True,
        "assigned_by": "d1",
    }


class Store:
    """The runner's part, in memory: load what refs name, keep what fold returns."""

    def __init__(self, processor) -> None:
        self.p = processor
        self.docs: dict = {}
        self.versions: dict = {}
        self.emitted: list = []

    def feed(self, name: str, event: dict) -> None:
        state = {r: self.docs[r] for r in self.p.refs(name, event) if r in self.docs}
        if self.p.emit:
            self.emitted += self.p.emit(state, name, event)
        for ref, doc in self.p.fold(state, name, event).items():
            self.docs[ref] = doc
            self.versions[ref] = self.versions.get(ref, 0) + 1

    def of_type(self, rtype: str) -> list[dict]:
        return [d for (t, _), d in self.docs.items() if t == rtype]


def declared_mci() -> Store:
    """The MCI processor's store once the incident is declared (no casualty yet)."""
    s = Store(MCI)
    s.feed(ev.MCI_DECLARED, declared())
    return s


def test_fold__retriage_keeps_every_tag_in_the_history_and_counts_the_current_one() -> None:
    s = declared_mci()
    s.feed(ev.CASUALTY_TRIAGED, triaged(1, "T01", "YELLOW"))
    s.feed(ev.CASUALTY_TRIAGED, triaged(2, "T02", "GREEN"))
    s.feed(ev.CASUALTY_TRIAGED, triaged(3, "T01", "RED", minutes=9))  # got worse
    [state] = s.of_type("MciState")
    t01 = state["casualties"]["T01"]
    assert [h["tag"] for h in t01["history"]] == ["YELLOW", "RED"]
    assert t01["tag"] == "RED"
    flag = next(f for f in s.of_type("Flag") if f["code"]["coding"][0]["code"] == "RED")
    assert s.versions[("Flag", flag["id"])] == 2  # the re-triage is a new version
    from stream_processors.mci.casualty import triage_counts

    assert triage_counts(state) == {"RED": 1, "YELLOW": 0, "GREEN": 1, "BLACK": 0}


def test_fold__casualty_resources_are_valid_fhir_and_one_patient_per_tag() -> None:
    s = declared_mci()
    s.feed(ev.CASUALTY_TRIAGED, triaged(1, "T01", "RED"))
    s.feed(ev.CASUALTY_TRIAGED, triaged(2, "T01", "BLACK"))
    s.feed(ev.CASUALTY_ASSIGNED, assigned(3, "T01", "hospital-a"))
    [patient], [encounter], [flag] = s.of_type("Patient"), s.of_type("Encounter"), s.of_type("Flag")
    Patient.model_validate(patient)
    Encounter.model_validate(encounter)
    Flag.model_validate(flag)
    assert s.versions[("Patient", patient["id"])] == 1
    assert encounter["hospitalization"]["destination"]["identifier"]["value"] == "hospital-a"
    assert flag["code"]["coding"][0]["code"] == "BLACK"


def test_index__a_casualty_is_granted_to_its_station_and_current_destination_only() -> None:
    s = declared_mci()
    s.feed(ev.CASUALTY_TRIAGED, triaged(1, "T01", "RED"))
    s.feed(ev.CASUALTY_ASSIGNED, assigned(2, "T01", "hospital-a"))
    s.feed(ev.CASUALTY_ASSIGNED, assigned(3, "T01", "hospital-b"))
    [record] = s.of_type("MciCasualty")
    grants = {(e.key, e.id) for e in MCI.index(record) if e.index == "Access.grant"}
    assert grants == {
        (f"incident/{MCI_ID}/T01", "station-a"),
        (f"incident/{MCI_ID}/T01", "hospital-b"),
    }


def test_plan__never_exceeds_capacity_and_sends_red_first_to_the_nearest_with_surgery() -> None:
    state = {
        "mci_id": MCI_ID,
        "scene": declared()["scene"],
        "casualties": {
            f"T{i:02}": {"tag": tag, "history": []}
            for i, tag in enumerate(["RED", "RED", "RED", "YELLOW", "YELLOW", "GREEN", "BLACK"])
        },
    }
    near = Hospital("near", {"red": 1, "yellow": 1, "green": 5}, surgical_teams=1, travel_min=10)
    far = Hospital("far", {"red": 1, "yellow": 5, "green": 5}, surgical_teams=0, travel_min=30)
    result = plan(state, [near, far])
    got = {a.casualty_id: a.hospital_id for a in result.assignments}
    assert got["T00"] == "near"  # the first RED: nearest with a surgical team
    assert got["T01"] == "far"  # near has no red bed left
    assert result.unassigned == ["T02"]  # no red bed anywhere: stays unassigned
    assert "T06" not in got  # BLACK is not transported
    assert got["T03"] == "near" and got["T04"] == "far"
    per_hospital = {
        h: sum(1 for a in result.assignments if a.hospital_id == h) for h in got.values()
    }
    assert per_hospital == {"near": 3, "far": 2}  # GREEN T05 to near: 10 min


def test_travel_minutes__ten_km_as_the_crow_flies_is_about_twenty_minutes() -> None:
    # 0.09 degrees of latitude is 10.0 km; x1.3 road factor at 40 km/h is 19.5 min
    assert (
        travel_minutes(
            {"latitude": 30.0, "longitude": 120.0}, {"latitude": 30.09, "longitude": 120.0}
        )
        == 19.5
    )


def _incident(name: str, n: int, **fields) -> tuple[str, dict]:
    return name, {"meta": meta(n, n), "incident_id": "inc-1", **fields}


def test_escort__requested_once_a_critical_prealerted_unit_left_the_scene_in_either_order() -> None:
    prealert = _incident(
        ev.PRE_ALERT_RAISED,
        2,
        kind="STEMI",
        destination_id="hospital-a",
        eta=T0 + dt.timedelta(minutes=30),
        note=None,
    )
    left = _incident(
        ev.UNIT_STATUS_CHANGED,
        3,
        unit_id="amb-1",
        status="LEFT_SCENE",
        position={"latitude": 30.0, "longitude": 120.0, "address": None},
    )
    for order in ([prealert, left], [left, prealert]):
        s = Store(ESCORT)
        for name, event in order:
            s.feed(name, event)
        assert [e.name for e in s.emitted] == [ev.ESCORT_REQUESTED]
        request = s.emitted[0].event
        assert (request["unit_id"], request["destination_id"], request["priority"]) == (
            "amb-1",
            "hospital-a",
            "critical",
        )


def test_escort__none_for_a_non_critical_prealert() -> None:
    s = Store(ESCORT)
    s.feed(
        *_incident(ev.PRE_ALERT_RAISED, 2, kind="SEPSIS", destination_id="h", eta=None, note=None)
    )
    s.feed(
        *_incident(ev.UNIT_STATUS_CHANGED, 3, unit_id="amb-1", status="LEFT_SCENE", position=None)
    )
    assert s.emitted == []
