"""The read queue's pure fold: ordering, leases, escalation, Task rendering."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fhir.resources.R4B.task import Task

from stream_processors.diagnosis_queue.fold import fold_item
from stream_processors.diagnosis_queue.item import QueueItem
from stream_processors.diagnosis_queue.processor import PROCESSOR
from stream_processors.diagnosis_queue.task_to_fhir import to_task

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
EVENT = "goldenhour.{}"


def ev(minutes: float, event_id: str = "", **fields: Any) -> dict[str, Any]:
    at = T0 + dt.timedelta(minutes=minutes)
    return {
        "meta": {
            "event_id": event_id or f"e{minutes}",
            "occurred_at": at,
            "recorded_at": at,
            "source": {"channel": "test"},
        },
        "ecg_id": "E1",
        **fields,
    }


def requested(
    minutes: float = 0, urgency: str = "routine", prealert: str | None = None
) -> tuple[str, dict[str, Any]]:
    return (
        "goldenhour.ecg.ReadRequested",
        ev(
            minutes,
            reading_centre_id="county",
            region_id="r1",
            urgency=urgency,
            prealert=prealert,
            site={"id": "clinic-1", "name": "Clinic", "kind": "clinic"},
            patient_ref="Patient/p1",
            patient_name="王建国",
            clinical_question="chest pain",
        ),
    )


def claim(minutes: float, reader: str, lease_min: float = 10) -> tuple[str, dict[str, Any]]:
    return (
        "goldenhour.reading.ReadClaimed",
        ev(
            minutes,
            f"claim-{reader}-{minutes}",
            reader_id=reader,
            lease_until=T0 + dt.timedelta(minutes=minutes + lease_min),
        ),
    )


def run(*events: tuple[str, dict[str, Any]]) -> QueueItem:
    item = None
    for name, e in events:
        item = fold_item(item, name, e)
    assert item is not None
    return item


def test_first_claim_wins_and_later_claims_are_refused() -> None:
    item = run(requested(), claim(1, "dr-li"), claim(1.01, "dr-zhang"), claim(2, "dr-wu"))
    assert (item.status, item.holder, item.claim_event_id) == ("claimed", "dr-li", "claim-dr-li-1")


def test_expired_lease_lets_another_reader_claim() -> None:
    item = run(requested(), claim(1, "dr-li", lease_min=10), claim(11.5, "dr-zhang"))
    assert item.holder == "dr-zhang"


def test_holder_renews_its_lease() -> None:
    item = run(requested(), claim(1, "dr-li"), claim(8, "dr-li"))
    assert item.holder == "dr-li" and item.lease_until.startswith("2026-11-23T10:18")


def test_release_and_report_only_by_the_holder() -> None:
    release = ("goldenhour.reading.ReadReleased", ev(3, reader_id="dr-zhang", reason="x"))
    report = (
        "goldenhour.reading.ReadReported",
        ev(4, reader_id="dr-li", interpretation="Inferior STEMI", codes=[], signed_at=T0),
    )
    item = run(requested(), claim(1, "dr-li"), release, report)
    assert item.status == "reported" and item.report["interpretation"] == "Inferior STEMI"
    stray = (
        "goldenhour.reading.ReadReported",
        ev(5, reader_id="dr-zhang", interpretation="x", codes=[], signed_at=T0),
    )
    assert run(requested(), claim(1, "dr-li"), stray).status == "claimed"


def test_class_from_sender_and_measurement_takes_the_more_urgent() -> None:
    measured = (
        "goldenhour.reading.EcgMeasured",
        ev(0.5, analysable=True, triage_class="critical", reasons=["ST elevation II, III, aVF"]),
    )
    assert run(requested(urgency="routine"), measured).triage_class == "critical"
    routine_measure = (
        "goldenhour.reading.EcgMeasured",
        ev(0.5, analysable=True, triage_class="routine"),
    )
    assert run(requested(urgency="urgent"), routine_measure).triage_class == "urgent"
    assert run(requested(prealert="STEMI")).triage_class == "critical"
    # measurement before the request (both in one partition, but any order must work)
    assert run(measured, requested()).triage_class == "critical"


def test_due_time_follows_the_class_sla() -> None:
    assert run(requested(urgency="stat")).due_at == "2026-11-23T10:10:00.000000Z"
    assert run(requested(urgency="routine")).due_at == "2026-11-24T10:00:00.000000Z"
    item = run(requested(urgency="stat"))
    assert item.overdue("2026-11-23T10:10:00.000000Z") and not item.overdue(
        "2026-11-23T10:09:59.000000Z"
    )


def test_queue_order_is_class_then_due_time() -> None:
    a = run(requested(0, urgency="routine"))
    b = run(requested(5, urgency="stat")).evolve(ecg_id="E2")
    c = run(requested(1, urgency="stat")).evolve(ecg_id="E3")
    assert [i.ecg_id for i in sorted([a, b, c], key=QueueItem.sort_key)] == ["E3", "E2", "E1"]


def test_refused_claim_writes_no_new_version() -> None:
    proj = PROCESSOR
    name, e = requested()
    state = {r: doc for r, doc in proj.fold({}, name, e).items()}
    name, e = claim(1, "dr-li")
    state.update(proj.fold(state, name, e))
    name, e = claim(2, "dr-zhang")
    assert proj.fold(state, name, e) == {}


def test_task_is_valid_fhir_and_leaves_the_open_index_when_reported() -> None:
    item = run(requested(urgency="stat"), claim(1, "dr-li"))
    task = Task.model_validate(to_task(item))
    assert task.status == "in-progress" and task.priority == "stat"
    proj = PROCESSOR
    open_entries = [e for e in proj.index(item.to_json()) if e.index == "QueueItem.open"]
    assert [e.key for e in open_entries] == ["county"]
    done = item.evolve(status="reported")
    # reported: off the open queue, but the ECG stays granted to its clinic and centre
    after = proj.index(done.to_json())
    assert [e.index for e in after] == ["Access.grant"] * len(after)
    assert {e.id for e in after} == {item.centre_id, item.site_id} - {""}
