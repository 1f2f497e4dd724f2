"""The read queue's pure fold for a reader's measurement corrections and addenda, and how
they reach the FHIR DiagnosticReport: the automatic value kept beside the reader's, the
signed read kept under its addenda, the report `amended` (FHIR R4 DiagnosticReport.status)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from stream_processors.diagnosis_queue.fold import fold_item
from stream_processors.diagnosis_queue.item import QueueItem
from stream_processors.diagnosis_queue.read_to_fhir import diagnostic_report
from tests.unit.test_queue_fold import T0, claim, ev, requested, run

QT_LOINC = "8634-8"  # LOINC "Q-T interval", written from loinc.org, not from kernel.codes
AUTOMATIC = "https://goldenhour.health/fhir/StructureDefinition/automatic-value"


def measured(minutes: float, qt_ms: float = 412) -> tuple[str, dict[str, Any]]:
    return (
        "goldenhour.reading.EcgMeasured",
        ev(minutes, f"m{minutes}", triage_class="routine", qt_ms=qt_ms, heart_rate_bpm=50.0),
    )


def edit(minutes: float, reader: str, field: str, value: float) -> tuple[str, dict[str, Any]]:
    return (
        "goldenhour.reading.MeasurementEdited",
        ev(
            minutes,
            f"edit-{reader}-{minutes}",
            reader_id=reader,
            measurement=field,
            value=value,
            automatic_value=None,
            reason="T end at the return to baseline in V2",
        ),
    )


def report(minutes: float, reader: str) -> tuple[str, dict[str, Any]]:
    return (
        "goldenhour.reading.ReadReported",
        ev(
            minutes,
            f"report-{reader}",
            reader_id=reader,
            interpretation="Sinus bradycardia",
            codes=[{"system": "http://snomed.info/sct", "code": "426177001", "display": "SB"}],
            signed_at=T0 + dt.timedelta(minutes=minutes),
        ),
    )


def amend(minutes: float, reader: str, text: str, event_id: str = "") -> tuple[str, dict[str, Any]]:
    return (
        "goldenhour.reading.ReadAmended",
        ev(
            minutes,
            event_id or f"amend-{reader}-{minutes}",
            reader_id=reader,
            addendum=text,
            codes=[],
            signed_at=T0 + dt.timedelta(minutes=minutes),
        ),
    )


def test_fold__edit_by_the_holder_keeps_the_automatic_value_beside_it() -> None:
    item = run(measured(0), requested(0.1), claim(1, "dr-li"), edit(2, "dr-li", "qt_ms", 440))
    assert item.edits["qt_ms"]["value"] == 440 and item.edits["qt_ms"]["automatic"] == 412
    again = fold_item(item, *edit(3, "dr-li", "qt_ms", 436))
    assert again.edits["qt_ms"]["value"] == 436 and again.edits["qt_ms"]["automatic"] == 412


def test_fold__edit_by_someone_not_holding_the_ecg_is_ignored() -> None:
    item = run(measured(0), requested(0.1), claim(1, "dr-li"), edit(2, "dr-zhang", "qt_ms", 440))
    assert item.edits == {}
    queued = run(measured(0), requested(0.1), edit(2, "dr-li", "qt_ms", 440))
    assert queued.edits == {}


def test_fold__addendum_before_signing_is_ignored_and_after_it_is_appended() -> None:
    unsigned = run(requested(0), claim(1, "dr-li"), amend(2, "dr-li", "too early"))
    assert unsigned.addenda == ()
    item = run(
        requested(0), claim(1, "dr-li"), report(2, "dr-li"), amend(30, "dr-zhang", "QTc long")
    )
    assert [a["addendum"] for a in item.addenda] == ["QTc long"]
    assert item.report["interpretation"] == "Sinus bradycardia"  # the signed read stays


def test_fold__the_same_addendum_event_twice_is_one_addendum() -> None:
    item = run(requested(0), claim(1, "dr-li"), report(2, "dr-li"), amend(5, "dr-li", "x", "a1"))
    assert fold_item(item, *amend(5, "dr-li", "x", "a1")) == item


def test_fhir__amended_report_keeps_the_signed_conclusion_and_adds_the_addendum() -> None:
    item = run(
        requested(0), claim(1, "dr-li"), report(2, "dr-li"), amend(30, "dr-zhang", "QTc long")
    )
    doc = diagnostic_report(item)
    DiagnosticReport.model_validate(doc)  # valid FHIR R4
    assert doc["status"] == "amended"
    # Signed 10:30 UTC: 18:30 Beijing time (UTC+8), the label Chinese first.
    assert doc["conclusion"] == (
        "Sinus bradycardia\n\n补充报告 Addendum 2026-11-23 18:30 (+08:00) dr-zhang: QTc long"
    )
    assert doc["issued"].startswith("2026-11-23T10:30")
    interpreters = [r["identifier"]["value"] for r in doc["resultsInterpreter"]]
    assert interpreters == ["dr-li", "dr-zhang"]
    assert (
        diagnostic_report(run(requested(0), claim(1, "dr-li"), report(2, "dr-li")))["status"]
        == "final"
    )


def qt_edited_then_signed(*after: tuple[str, dict[str, Any]]) -> QueueItem:
    """dr-li claims an ECG measured at QT 412 ms, corrects QT to 440 ms and signs; then
    `after`."""
    return run(
        measured(0),
        requested(0.1),
        claim(1, "dr-li"),
        edit(2, "dr-li", "qt_ms", 440),
        report(3, "dr-li"),
        *after,
    )


def test_fhir__edited_measurement_shows_the_reader_value_and_the_automatic_one() -> None:
    item = qt_edited_then_signed()
    doc = diagnostic_report(item)
    DiagnosticReport.model_validate(doc)
    (contained,) = doc["contained"]
    assert {"reference": f"#{contained['id']}"} in doc["result"]
    (qt,) = contained["component"]
    assert qt["code"]["coding"][0]["code"] == QT_LOINC
    assert qt["valueQuantity"]["value"] == 440 and qt["valueQuantity"]["code"] == "ms"
    assert qt["extension"] == [
        {
            "url": AUTOMATIC,
            "valueQuantity": {
                "value": 412,
                "unit": "ms",
                "system": "http://unitsofmeasure.org",
                "code": "ms",
            },
        }
    ]
    assert "412" in contained["note"][0]["text"] and "440" in contained["note"][0]["text"]


def test_item__edits_and_addenda_survive_the_view_round_trip() -> None:
    item = qt_edited_then_signed(amend(4, "dr-li", "add"))
    assert QueueItem.from_json(item.to_json()) == item
    old_doc = {k: v for k, v in item.to_json().items() if k not in ("edits", "addenda")}
    assert QueueItem.from_json(old_doc).addenda == ()  # views written before these fields
