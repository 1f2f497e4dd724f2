"""The report outbox's pure fold: what is owed to which site, and when it stops being owed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from stream_processors.report_outbox.fold import OutboxItem, fold_item, outbox_item_id
from stream_processors.report_outbox.processor import PENDING_INDEX, PROCESSOR
from viewstore.base import IndexEntry

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
SITE = "clinic-baiyang"
Event = tuple[str, dict[str, Any]]


def ev(minutes: float, event_id: str, source: str = "reader", **fields: Any) -> dict[str, Any]:
    at = T0 + dt.timedelta(minutes=minutes)
    return {
        "meta": {
            "event_id": event_id,
            "occurred_at": at,
            "recorded_at": at,
            "source": {"channel": source, "device_id": None, "user_id": None, "site_id": None},
        },
        "ecg_id": "E1",
        **fields,
    }


def requested(channel: str = "mllp") -> Event:
    e = ev(
        0,
        "req",
        channel,
        reading_centre_id="county-ecg-centre",
        site={"id": SITE, "name": "白杨镇卫生院", "kind": "clinic"},
        patient_ref="Patient/p1",
        urgency="urgent",
    )
    e["meta"]["occurred_at"] = T0 - dt.timedelta(minutes=3)  # the ECG's acquisition time
    return "goldenhour.ecg.ReadRequested", e


def claim(minutes: float, reader: str, lease_min: float = 10) -> Event:
    return "goldenhour.reading.ReadClaimed", ev(
        minutes,
        f"claim-{reader}-{minutes}",
        reader_id=reader,
        lease_until=T0 + dt.timedelta(minutes=minutes + lease_min),
    )


def report(minutes: float, reader: str, text: str = "Sinus rhythm") -> Event:
    return "goldenhour.reading.ReadReported", ev(
        minutes,
        f"report-{reader}-{minutes}",
        reader_id=reader,
        interpretation=text,
        codes=[
            {"system": "http://snomed.info/sct", "code": "426783006", "display": "Sinus rhythm"}
        ],
        signed_at=T0 + dt.timedelta(minutes=minutes),
    )


def delivered(minutes: float) -> Event:
    return "goldenhour.reading.ReportDelivered", ev(
        minutes,
        "report-delivered:E1",
        "system",
        destination=SITE,
        channel="mllp",
        ack_control_id="c0ffee",
        attempts=3,
        report_event_id="report-dr-li-2",
    )


def run(*events: Event) -> OutboxItem:
    item = None
    for name, e in events:
        item = fold_item(item, name, e)
    assert item is not None
    return item


def pending_entries(item: OutboxItem) -> list[IndexEntry]:
    return PROCESSOR.index(json.loads(json.dumps(item.to_json())))


def test_fold__request_keeps_origin_site_channel_patient_and_acquisition_time() -> None:
    item = run(requested())
    assert (item.destination, item.destination_name, item.channel, item.patient_ref) == (
        SITE,
        "白杨镇卫生院",
        "mllp",
        "Patient/p1",
    )
    assert item.acquired_at == "2026-11-23T09:57:00.000000Z"
    assert item.reading_centre_id == "county-ecg-centre" and not item.pending


def test_fold__signed_report_from_mllp_is_pending_for_its_site() -> None:
    item = run(requested(), claim(1, "dr-li"), report(2, "dr-li"))
    assert item.pending
    assert item.report["interpretation"] == "Sinus rhythm"
    assert item.report["signed_at"] == "2026-11-23T10:02:00.000000Z"
    assert item.report["event_id"] == "report-dr-li-2"
    assert pending_entries(item) == [
        IndexEntry(PENDING_INDEX, SITE, "OutboxItem", outbox_item_id("E1"))
    ]


def test_fold__claimed_but_unsigned_is_not_pending() -> None:
    assert not run(requested(), claim(1, "dr-li")).pending


def test_fold__delivered_report_leaves_the_pending_lookup() -> None:
    item = run(requested(), claim(1, "dr-li"), report(2, "dr-li"), delivered(3))
    assert item.delivered and not item.pending and pending_entries(item) == []
    assert item.delivery["ack_control_id"] == "c0ffee" and item.delivery["attempts"] == 3


def test_fold__report_of_an_http_ecg_is_never_pending() -> None:
    item = run(requested("http"), claim(1, "dr-li"), report(2, "dr-li"))
    assert item.status == "reported" and not item.pending and pending_entries(item) == []


def test_projection__stores_nothing_for_an_ecg_not_sent_over_mllp() -> None:
    projection, state = PROCESSOR, {}
    for name, e in (requested("http"), claim(1, "dr-li"), report(2, "dr-li")):
        assert projection.fold(state, name, e) == {}


def test_fold__report_after_the_lease_was_taken_over_is_not_sent() -> None:
    item = run(
        requested(),
        claim(1, "dr-li", lease_min=10),
        claim(12, "dr-zhang"),
        report(13, "dr-li", "stale"),
    )
    assert item.status == "claimed" and not item.pending


def test_fold__second_report_does_not_replace_the_accepted_one() -> None:
    item = run(
        requested(), claim(1, "dr-li"), report(2, "dr-li", "first"), report(3, "dr-li", "second")
    )
    assert item.report["interpretation"] == "first"


def test_projection__refused_claim_writes_no_version() -> None:
    projection = PROCESSOR
    ref = ("OutboxItem", outbox_item_id("E1"))
    state = {ref: run(requested(), claim(1, "dr-li")).to_json()}
    assert projection.fold(state, *claim(2, "dr-zhang")) == {}


def test_projection__ignores_events_it_does_not_fold() -> None:
    name, event = "goldenhour.reading.EcgMeasured", ev(1, "m", triage_class="routine")
    assert PROCESSOR.refs(name, event) == []
    assert PROCESSOR.fold({}, name, event) == {}  # the runner calls it anyway


def test_item__survives_the_view_store_round_trip() -> None:
    item = run(requested(), claim(1, "dr-li"), report(2, "dr-li"), delivered(3))
    stored = json.loads(json.dumps(item.to_json()))
    assert OutboxItem.from_json({**stored, "meta": {"versionId": "4"}}) == item
