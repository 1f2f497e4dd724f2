"""An addendum to a signed read goes back to the clinic that sent the ECG over HL7 v2: the
outbox owes it again, as a new message (its own MSH-10), with result status C (HL7 v2.5.1
table 0123 "Correction to results" in OBR-25, table 0085 "Record coming over is a
correction and thus replaces a final result" in OBX-11), the signed text kept first."""

from __future__ import annotations

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from services.hl7_gateway.oru_report import build_oru, control_id
from stream_processors.report_outbox.fold import OutboxItem
from tests.unit.test_oru_report import NOW, PATIENT
from tests.unit.test_report_outbox import T0, claim, delivered, ev, report, requested, run

CORRECTED = "C"  # HL7 v2.5.1 tables 0123 and 0085
FINAL = "F"


def amended(minutes: float, reader: str, text: str, event_id: str = "amend-1") -> tuple:
    import datetime as dt

    return "goldenhour.reading.ReadAmended", ev(
        minutes,
        event_id,
        reader_id=reader,
        addendum=text,
        codes=[],
        signed_at=T0 + dt.timedelta(minutes=minutes),
    )


def amended_after_delivery() -> OutboxItem:
    """dr-li's report, delivered to the clinic; 30 minutes later dr-zhang's addendum."""
    return run(
        requested(),
        claim(1, "dr-li"),
        report(2, "dr-li"),
        delivered(3),
        amended(30, "dr-zhang", "QTc 470 ms"),
    )


def test_outbox__addendum_after_delivery_is_owed_again_as_a_correction() -> None:
    sent = run(requested(), claim(1, "dr-li"), report(2, "dr-li"), delivered(3))
    assert not sent.pending
    item = amended_after_delivery()
    assert item.pending
    assert item.report["result_status"] == CORRECTED and item.report["event_id"] == "amend-1"
    # The addendum signed at 10:30 UTC reads 18:30 Beijing time (UTC+8), Chinese label first.
    assert item.report["interpretation"] == (
        "Sinus rhythm\n\n补充报告 Addendum 2026-11-23 18:30 (+08:00) dr-zhang: QTc 470 ms"
    )


def test_outbox__addendum_before_signing_owes_nothing() -> None:
    item = run(requested(), claim(1, "dr-li"), amended(2, "dr-li", "early"))
    assert not item.pending and item.report == {}


def test_outbox__acknowledgement_of_the_replaced_report_does_not_settle_the_correction() -> None:
    item = run(
        requested(),
        claim(1, "dr-li"),
        report(2, "dr-li"),
        amended(3, "dr-zhang", "QTc 470 ms"),
        delivered(4),  # names report-dr-li-2
    )
    assert item.pending


def test_oru__corrected_report_says_c_in_obr_25_and_obx_11_with_a_new_control_id() -> None:
    item = amended_after_delivery()
    message = parse_message(
        build_oru(item, PATIENT, NOW), validation_level=VALIDATION_LEVEL.STRICT, find_groups=True
    )
    order = message.oru_r01_patient_result.oru_r01_order_observation
    assert order.obr.obr_25.to_er7() == CORRECTED
    assert {o.obx.obx_11.to_er7() for o in order.oru_r01_observation} == {CORRECTED}
    assert message.msh.msh_10.to_er7() == control_id("E1", "amend-1")
    assert message.msh.msh_10.to_er7() != control_id("E1", "report-dr-li-2")
    assert order.obr.obr_32.to_er7() == "dr-zhang"
    first = run(requested(), claim(1, "dr-li"), report(2, "dr-li"))
    first_order = parse_message(
        build_oru(first, PATIENT, NOW), validation_level=VALIDATION_LEVEL.STRICT, find_groups=True
    ).oru_r01_patient_result.oru_r01_order_observation
    assert first_order.obr.obr_25.to_er7() == FINAL


def test_oru_and_diagnostic_report__carry_the_same_addendum_line() -> None:
    """Projected from the same events, the ORU back to the clinic and the FHIR DiagnosticReport
    read alike: the signed text, then the addendum in Chinese first and Beijing time (UTC+8)."""
    from stream_processors.diagnosis_queue.fold import fold_item as fold_queue_item
    from stream_processors.diagnosis_queue.read_to_fhir import diagnostic_report

    addendum = amended(30, "dr-zhang", "QTc 470 ms")
    events = (requested(), claim(1, "dr-li"), report(2, "dr-li"), delivered(3), addendum)
    queue = None
    for name, e in events:
        queue = fold_queue_item(queue, name, e)
    assert queue is not None
    line = "补充报告 Addendum 2026-11-23 18:30 (+08:00) dr-zhang: QTc 470 ms"
    assert diagnostic_report(queue)["conclusion"] == f"Sinus rhythm\n\n{line}"
    message = build_oru(run(*events), PATIENT, NOW)
    parse_message(message, validation_level=VALIDATION_LEVEL.STRICT)  # still a valid ORU^R01
    obx = next(seg.split("|") for seg in message.split("\r") if seg.startswith("OBX|1|"))
    # HL7 v2 FT: `\.br\` breaks the line; an empty line between the two texts.
    assert obx[2] == "FT"
    assert obx[5] == "Sinus rhythm\\.br\\\\.br\\" + line
