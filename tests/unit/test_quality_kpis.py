"""The quality indicators' fold and aggregation on a small hand-built log, every figure
computed by hand below (times in China Standard Time)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from kernel.jsontypes import Json
from stream_processors.quality_kpis.aggregate import (
    ALL,
    Figure,
    aggregate,
    as_of,
    percentile_nearest_rank,
)
from stream_processors.quality_kpis.fold import KpiState, cases, fold, fold_all

CST = dt.timezone(dt.timedelta(hours=8))


_ids = itertools.count()


def t(hhmm: str, micros: int = 0, day: int = 5) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime(2026, 1, day, h, m, tzinfo=CST) + dt.timedelta(microseconds=micros)


def ev(
    name: str, occurred: dt.datetime, recorded: dt.datetime | None = None, **fields: Any
) -> tuple[str, Json]:
    meta = {
        "event_id": f"e{next(_ids)}",
        "occurred_at": occurred,
        "recorded_at": recorded or occurred + dt.timedelta(minutes=1),
        "source": {"channel": "tablet"},
    }
    return f"goldenhour.{name}", {"meta": meta, **fields}


def opened(inc: str, at: dt.datetime, station: str, reason: str, **kw: Any) -> tuple[str, Json]:
    return ev(
        "ems.IncidentOpened",
        at,
        incident_id=inc,
        station_id=station,
        unit_id="u",
        dispatch_reason=reason,
        priority="1",
        **kw,
    )


def status(inc: str, at: dt.datetime, name: str, **kw: Any) -> tuple[str, Json]:
    return ev("ems.UnitStatusChanged", at, incident_id=inc, unit_id="u", status=name, **kw)


def ecg(inc: str, ecg_id: str, at: dt.datetime, **kw: Any) -> tuple[str, Json]:
    return ev("ems.EcgAcquired", at, incident_id=inc, ecg_id=ecg_id, acquired_at=at, **kw)


def reported(ecg_id: str, at: dt.datetime, code: str = "164854000") -> tuple[str, Json]:
    return ev(
        "reading.ReadReported",
        at,
        ecg_id=ecg_id,
        reader_id="dr",
        codes=[{"system": "http://snomed.info/sct", "code": code}],
        reading_centre_id="centre-1",
    )


def clinic_ecg(ecg_id: str, at: dt.datetime, clinic: str) -> tuple[str, Json]:
    return ev(
        "ecg.EcgSubmitted",
        at,
        ecg_id=ecg_id,
        acquired_at=at,
        site={"id": clinic, "kind": "clinic"},
        incident_id=None,
    )


def requested(ecg_id: str, at: dt.datetime) -> tuple[str, Json]:
    return ev("ecg.ReadRequested", at, ecg_id=ecg_id, reading_centre_id="centre-1")


LATE = t("23:00")  # incident C is back-filled: recorded at 23:00


def log() -> list[tuple[str, Json]]:
    return [
        # A, station-1, chest pain: FMC (AT_PATIENT) 10:13 -> ECG 10:23 exactly 10 min: compliant.
        opened("A", t("10:00"), "station-1", "Chest pain for 1 h"),
        status("A", t("10:02"), "DISPATCHED"),
        status("A", t("10:12"), "ON_SCENE"),
        status("A", t("10:13"), "AT_PATIENT"),
        ecg("A", "A-ecg", t("10:23")),
        ecg("A", "A-ecg2", t("10:40")),  # a second ECG: the first counts
        status("A", t("10:30"), "LEFT_SCENE"),
        status("A", t("10:50"), "AT_DESTINATION"),
        ev("ems.HandoverSubmitted", t("10:35"), incident_id="A", destination_id="hosp-2"),
        ev(
            "ems.HandoverAccepted",
            t("11:00"),
            incident_id="A",
            accepted_by="n",
            hospital_id="hosp-1",
        ),
        # B, station-1, STEMI pre-alert: FMC 11:21 -> ECG 10 min + 1 us: not compliant.
        opened("B", t("11:00"), "station-1", "Collapse"),
        status("B", t("11:01"), "DISPATCHED"),
        status("B", t("11:20"), "ON_SCENE"),
        status("B", t("11:21"), "AT_PATIENT"),
        ecg("B", "B-ecg", t("11:31", micros=1)),
        ev(
            "ems.PreAlertRaised", t("11:33"), incident_id="B", kind="STEMI", destination_id="hosp-1"
        ),
        status("B", t("11:45"), "LEFT_SCENE"),
        status("B", t("12:05"), "AT_DESTINATION"),
        status("B", t("12:15"), "TRANSFER_OF_CARE"),
        # D, station-2, STEMI pre-alert without a transmitted ECG; FMC by ON_SCENE only.
        opened("D", t("12:20"), "station-2", "胸痛"),
        status("D", t("12:23"), "DISPATCHED"),
        status("D", t("12:30"), "ON_SCENE"),
        ev(
            "ems.PreAlertRaised", t("12:40"), incident_id="D", kind="STEMI", destination_id="hosp-1"
        ),
        # C, station-2, not chest pain, back-filled late: dispatch 4 min, never left the scene.
        ev(
            "ems.IncidentOpened",
            t("12:00"),
            LATE,
            incident_id="C",
            station_id="station-2",
            unit_id="u",
            dispatch_reason="Fall",
            priority="2",
        ),
        ev(
            "ems.UnitStatusChanged",
            t("12:04"),
            LATE,
            incident_id="C",
            unit_id="u",
            status="DISPATCHED",
        ),
        ev(
            "ems.UnitStatusChanged",
            t("12:10"),
            LATE,
            incident_id="C",
            unit_id="u",
            status="ON_SCENE",
        ),
        # Clinic ECGs: the report arrives before the submission in fold order (other topic).
        reported("K1", t("09:08")),
        clinic_ecg("K1", t("09:00"), "clinic-1"),
        requested("K1", t("09:00")),
        clinic_ecg("K2", t("09:30"), "clinic-2"),
        reported("K2", t("09:45")),
        clinic_ecg("K3", t("09:50"), "clinic-2"),  # not read yet: missing
        # Ambulance ECG reads: A's after 5 min (coded normal), B's after 20 min, coded STEMI.
        reported("A-ecg", t("10:28")),
        reported("B-ecg", t("11:51", micros=1), code="401303003"),
    ]


def figures(by: str | None = None, at: dt.datetime | None = None) -> dict[tuple[str, str], Figure]:
    report = as_of(log(), at, by)
    return {(f.kpi, f.group): f for f in report.figures}


def test_fmc_to_first_ecg__exactly_10_min_is_compliant_10_min_and_1_us_is_not() -> None:
    f = figures()[("fmc_to_first_ecg", ALL)]
    # cases: A (10 min), B (10 min + 1 us), D (no ECG: missing); C is no chest pain.
    assert (f.cases, f.measured, f.missing, f.within_target) == (3, 2, 1, 1)
    assert f.compliance == 0.5
    assert f.median_min == pytest.approx(10.0, abs=1e-4)


def test_call_to_dispatch_response_on_scene_handover__hand_computed() -> None:
    f = figures()
    # call->dispatch: A 2, B 1, D 3, C 4 min; target <= 3 min.
    c2d = f[("call_to_dispatch", ALL)]
    assert (c2d.cases, c2d.measured, c2d.within_target) == (4, 4, 3)
    assert (c2d.median_min, c2d.p90_min) == (2.5, 4.0)  # p90 nearest rank: ceil(3.6)=4th
    # response: A 12, B 20, D 10, C 10 -> median 11, p90 20; within 15: A, D, C.
    rt = f[("response_time", ALL)]
    assert (rt.median_min, rt.p90_min, rt.within_target) == (11.0, 20.0, 3)
    # on scene: A 18, B 25; D and C never left: missing.
    os_ = f[("on_scene_time", ALL)]
    assert (os_.measured, os_.missing, os_.median_min, os_.within_target) == (2, 2, 21.5, 1)
    # handover: A 10:50 -> accepted 11:00 = 10; B 12:05 -> TRANSFER_OF_CARE 12:15 = 10.
    ho = f[("handover_time", ALL)]
    assert (ho.measured, ho.median_min, ho.compliance) == (2, 10.0, 1.0)


def test_stemi_share__prealert_or_coded_read_with_and_without_ecg() -> None:
    share = figures()[("stemi_ecg_transmitted", ALL)]
    assert (share.cases, share.within_target, share.compliance) == (2, 1, 0.5)  # B yes, D no


def test_ecg_to_diagnosis__per_ecg_whatever_the_topic_order() -> None:
    f = figures(by="clinic")
    total = f[("ecg_to_diagnosis", ALL)]
    # K1 8, K2 15, K3 missing, A-ecg 5, A-ecg2 missing, B-ecg 20 min + 1 us.
    assert (total.cases, total.measured, total.missing, total.within_target) == (6, 4, 2, 2)
    assert total.median_min == 11.5
    assert f[("ecg_to_diagnosis", "clinic-1")].median_min == 8.0
    clinic2 = f[("ecg_to_diagnosis", "clinic-2")]
    assert (clinic2.cases, clinic2.measured, clinic2.missing) == (2, 1, 1)


def test_grouping_by_station_hospital_centre_month() -> None:
    by_station = figures(by="station")
    assert by_station[("call_to_dispatch", "station-1")].median_min == 1.5
    assert by_station[("call_to_dispatch", "station-2")].median_min == 3.5
    # ambulance ECGs are grouped under their incident's station; clinic ECGs only in ALL
    assert by_station[("ecg_to_diagnosis", "station-1")].cases == 3
    by_hospital = figures(by="hospital")
    # A: accepted at hosp-1 (beats its handover's hosp-2); B, D: pre-alert hosp-1; C: none.
    assert by_hospital[("call_to_dispatch", "hosp-1")].cases == 3
    assert ("call_to_dispatch", "hosp-2") not in by_hospital
    assert figures(by="centre")[("ecg_to_diagnosis", "centre-1")].measured == 4
    assert figures(by="month")[("call_to_dispatch", "2026-01")].cases == 4


def test_month_is_china_standard_time() -> None:
    # 2026-01-31 23:30 +08:00 is 15:30 UTC the same day, but 2026-02-01 00:30 +08:00 is
    # still January in UTC: the month must be February.
    events = [
        opened("M", dt.datetime(2026, 2, 1, 0, 30, tzinfo=CST), "s", "Fall"),
        status("M", dt.datetime(2026, 2, 1, 0, 32, tzinfo=CST), "DISPATCHED"),
    ]
    found = cases(fold_all(events))
    assert {c.dims["month"] for c in found} == {"2026-02"}


def test_as_of__excludes_events_recorded_later() -> None:
    before = figures(at=LATE - dt.timedelta(microseconds=1))
    at_late = figures(at=LATE)
    # C (recorded at 23:00) is not known before 23:00: call->dispatch A 2, B 1, D 3.
    assert before[("call_to_dispatch", ALL)].cases == 3
    assert before[("call_to_dispatch", ALL)].within_target == 3
    assert at_late[("call_to_dispatch", ALL)].cases == 4
    assert at_late[("call_to_dispatch", ALL)].within_target == 3
    # As of 10:24 (events recorded 1 min after they happened): A's ECG at 10:23 is in.
    early = figures(at=t("10:24"))
    assert early[("fmc_to_first_ecg", ALL)].within_target == 1
    assert early[("call_to_dispatch", ALL)].cases == 1
    assert figures(at=t("10:23"))[("fmc_to_first_ecg", ALL)].missing == 1


def test_as_of__needs_an_offset_and_counts_events() -> None:
    with pytest.raises(ValueError):
        as_of(log(), dt.datetime(2026, 1, 5, 12, 0), None)
    report = as_of(log(), LATE - dt.timedelta(seconds=1), None)
    assert (report.events_read, report.events_counted) == (len(log()), len(log()) - 3)


def test_fold__is_order_independent_and_one_step_equals_fold_all() -> None:
    events = log()
    state = KpiState()
    for name, event in events:
        state = fold(state, name, event)
    assert cases(state) == cases(fold_all(events)) == cases(fold_all(list(reversed(events))))


def test_clock_problem__an_end_before_its_start_is_invalid_not_measured() -> None:
    events = [
        opened("Z", t("08:00"), "s", "Chest pain"),
        status("Z", t("08:10"), "AT_PATIENT"),
        ecg("Z", "Z-ecg", t("08:05")),
    ]
    f = {x.kpi: x for x in aggregate(cases(fold_all(events))) if x.group == ALL}
    assert (f["fmc_to_first_ecg"].invalid, f["fmc_to_first_ecg"].measured) == (1, 0)


def outcome(
    name: str, at: dt.datetime, rid: str, version: int, case: dict[str, Any], **kw: Any
) -> tuple[str, Json]:
    """A hospital.outcome event (as services/fhir_api/outcome_write.py builds it)."""
    fields = {"incident_id": None, "encounter_id": None, "arrived_at": None, "ecg_ids": []}
    return ev(
        f"outcome.{name}",
        at,
        patient_key="p",
        resource_id=rid,
        version=version,
        hospital_id="h1",
        resource="{}",
        **(fields | case | kw),
    )


def pci(rid: str, version: int, device: dt.datetime, case: dict[str, Any]) -> tuple[str, Json]:
    return outcome(
        "ProcedureReported",
        device,
        rid,
        version,
        case,
        code="415070008",
        status="completed",
        device_at=device,
    )


def diagnosis(rid: str, code: str, verification: str, case: dict[str, Any]) -> tuple[str, Json]:
    return outcome(
        "ConditionReported",
        t("12:00"),
        rid,
        1,
        case,
        code=code,
        verification_status=verification,
        category=None,
    )


def measured(ecg_id: str, triage: str) -> tuple[str, Json]:
    return ev("reading.EcgMeasured", t("08:15"), ecg_id=ecg_id, triage_class=triage)


def outcome_log() -> list[tuple[str, Json]]:
    """P: pre-alert, arrives 08:40, PCI corrected from 09:45 to 09:50 (v2), STEMI confirmed.
    Q: ECG triaged critical, STEMI refuted. R: no call, transfer of care 09:40 (no
    AT_DESTINATION), PCI 11:20, STEMI confirmed. S: pre-alert, nothing reported yet.
    T: no call, NSTEMI (401314000) confirmed. W: a walk-in (no incident), its hospital
    Encounter starts 10:00, PCI 11:00."""
    inc = {k: {"incident_id": k} for k in "PQRST"}
    prealert = {"unit_id": "u", "kind": "STEMI", "destination_id": "h1", "eta": None}
    return [
        opened("P", t("08:00"), "s1", "Chest pain"),
        ev("ems.PreAlertRaised", t("08:20"), incident_id="P", **prealert),
        status("P", t("08:40"), "AT_DESTINATION"),
        pci("pci-P", 1, t("09:45"), inc["P"]),
        pci("pci-P", 2, t("09:50"), inc["P"]),
        diagnosis("dx-P", "401303003", "confirmed", inc["P"]),
        opened("Q", t("08:00"), "s1", "Chest pain"),
        ecg("Q", "Q-ecg", t("08:12")),
        measured("Q-ecg", "critical"),
        diagnosis("dx-Q", "401303003", "refuted", inc["Q"]),
        opened("R", t("09:00"), "s2", "Chest pain"),
        ev("ems.HandoverAccepted", t("09:40"), incident_id="R", hospital_id="h1", accepted_by="n"),
        pci("pci-R", 1, t("11:20"), inc["R"]),
        diagnosis("dx-R", "401303003", "confirmed", inc["R"]),
        opened("S", t("09:00"), "s2", "Chest pain"),
        ev("ems.PreAlertRaised", t("09:10"), incident_id="S", **prealert),
        opened("T", t("09:00"), "s2", "Chest pain"),
        diagnosis("dx-T", "401314000", "confirmed", inc["T"]),
        pci("pci-W", 1, t("11:00"), {"encounter_id": "enc-W", "arrived_at": t("10:00")}),
    ]


def test_door_to_balloon__hand_computed_from_arrival_to_the_latest_device_time() -> None:
    events = outcome_log()
    report = as_of(events, None, None).to_json(with_cases=True)
    d2b = next(k for k in report["kpis"] if k["code"] == "door_to_balloon")
    assert d2b["available"] and d2b["target_minutes"] == 90
    # P 08:40 -> 09:50 = 70; R 09:40 -> 11:20 = 100; W 10:00 -> 11:00 = 60
    minutes = {c["subject"]: c["minutes"] for c in report["cases"] if c["kpi"] == "door_to_balloon"}
    assert minutes == {"P": 70.0, "R": 100.0, "Encounter/enc-W": 60.0}
    everything = d2b["all"]
    assert (everything["measured"], everything["within_target"]) == (3, 2)
    assert (everything["median_min"], everything["p90_min"]) == (70.0, 100.0)
    assert cases(fold_all(events)) == cases(fold_all(list(reversed(events))))


def test_triage_outcome__calls_against_final_diagnoses_per_month() -> None:
    rows = as_of(outcome_log(), None, None).to_json()["triage_outcome"]["rows"]
    expected = {"tp": 1, "fp": 1, "fn": 1, "tn": 1, "pending": 1}  # P, Q, R, T, S
    assert [r["month"] for r in rows] == [ALL, "2026-01"]
    for row in rows:
        assert {k: row[k] for k in expected} == expected
    # as of before any diagnosis was recorded: every call is pending, nothing else counts
    early = as_of(outcome_log(), t("11:00"), None).to_json()["triage_outcome"]["rows"]
    assert {k: early[0][k] for k in expected} == {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "pending": 3}


def test_percentile_nearest_rank() -> None:
    assert percentile_nearest_rank(list(range(1, 11)), 0.9) == 9
    assert percentile_nearest_rank([3, 1, 2], 0.9) == 3
    assert percentile_nearest_rank([7], 0.9) == 7


def test_unknown_grouping_is_refused() -> None:
    with pytest.raises(ValueError):
        aggregate([], "unit")
