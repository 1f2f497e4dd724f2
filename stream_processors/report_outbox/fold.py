"""The outbox fold: `fold_item(item, event_name, event) -> item`, one function per event.

Which report goes back: the one the read queue accepted. The lease rule is the queue's
(`diagnosis_queue.fold`, "decided here and only here"), so claims, releases and reports are
run through that fold on the lease fields we keep: a report from a reader whose lease was
taken over is in the log (its HTTP call answered 409) but is never sent to the clinic, and
a second report after the accepted one does not replace it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from avro_schemas.events import (
    READ_AMENDED,
    READ_CLAIMED,
    READ_RELEASED,
    READ_REPORTED,
    READ_REQUESTED,
    REPORT_DELIVERED,
)
from kernel.ids import resource_id
from kernel.jsontypes import Json, pick, state_document, state_fields
from kernel.time import instant
from stream_processors.diagnosis_queue.addendum_text import addendum_line
from stream_processors.diagnosis_queue.fold import fold_item as fold_queue_item
from stream_processors.diagnosis_queue.item import QueueItem

# Origin channels a report goes back over.
REPORT_BACK_CHANNELS = frozenset({"mllp"})


@dataclass(frozen=True)
class OutboxItem:
    """What is owed to the site an ECG came from. Internal state, not a FHIR resource."""

    ecg_id: str
    requested: bool = False
    reading_centre_id: str = ""
    destination: str = ""  # origin site id
    destination_name: str = ""
    channel: str = ""  # meta.source.channel of the ECG: http, mllp, tablet
    patient_ref: str = ""  # "Patient/<id>"
    acquired_at: str = ""  # the ECG's acquisition instant (the request's occurred_at)
    # Lease fields, decided by the queue's rule (see the module docstring).
    status: str = "queued"  # queued | claimed | reported
    holder: str = ""
    lease_until: str = ""
    report: dict[str, Any] = field(
        default_factory=dict
    )  # reader_id, interpretation, codes, signed_at, event_id
    delivered: bool = False
    delivery: dict[str, Any] = field(default_factory=dict)  # ack_control_id, attempts, delivered_at

    @property
    def tracked(self) -> bool:
        """Is anything ever owed to the origin site? Only items requested over a channel we
        send reports back on are stored: an HTTP sender reads the FHIR DiagnosticReport."""
        return self.requested and self.channel in REPORT_BACK_CHANNELS

    @property
    def pending(self) -> bool:
        """A signed report is owed over a channel we send back on, and not yet acknowledged."""
        return self.tracked and self.status == "reported" and not self.delivered

    def to_json(self) -> Json:
        return state_document("OutboxItem", outbox_item_id(self.ecg_id), self)

    @staticmethod
    def from_json(doc: Json) -> OutboxItem:
        return OutboxItem(**state_fields(doc))

    def evolve(self, **changes: Any) -> OutboxItem:
        return replace(self, **changes)


def outbox_item_id(ecg_id: str) -> str:
    return resource_id("OutboxItem", ecg_id)


def _requested(item: OutboxItem, e: Json) -> OutboxItem:
    site = e.get("site") or {}
    source = e["meta"]["source"]
    return item.evolve(
        requested=True,
        reading_centre_id=e["reading_centre_id"],
        destination=site.get("id") or source.get("site_id") or "",
        destination_name=site.get("name") or "",
        channel=source["channel"],
        patient_ref=e.get("patient_ref") or "",
        acquired_at=instant(e["meta"]["occurred_at"]),
    )


def _lease(item: OutboxItem, name: str, e: Json) -> OutboxItem:
    """Claims, releases and reports, through the queue's own fold."""
    before = QueueItem(
        ecg_id=item.ecg_id,
        requested=item.requested,
        status=item.status,
        holder=item.holder,
        lease_until=item.lease_until,
        report=item.report,
    )
    after = fold_queue_item(before, name, e)
    return item.evolve(
        status=after.status, holder=after.holder, lease_until=after.lease_until, report=after.report
    )


def _amended(item: OutboxItem, e: Json) -> OutboxItem:
    """An addendum to a signed read: the clinic is owed the corrected report (HL7 result
    status C), a new message (its MSH-10 derives from the addendum's event id) carrying the
    signed text followed by every addendum so far, as the DiagnosticReport's conclusion."""
    if item.status != "reported" or item.report.get("event_id") == e["meta"]["event_id"]:
        return item
    signed_text = item.report.get("signed_interpretation", item.report["interpretation"])
    addendum = addendum_line(e["signed_at"], e["reader_id"], e["addendum"])
    report = {
        **item.report,
        "signed_interpretation": signed_text,
        "interpretation": f"{item.report['interpretation']}\n\n{addendum}",
        "codes": [*item.report.get("codes", []), *e.get("codes", [])],
        "signed_at": instant(e["signed_at"]),
        "reader_id": e["reader_id"],
        "event_id": e["meta"]["event_id"],
        "result_status": "C",
    }
    return item.evolve(report=report, delivered=False)


def _delivered(item: OutboxItem, e: Json) -> OutboxItem:
    # An acknowledgement of a report an addendum has since replaced does not settle it.
    if e.get("report_event_id") and e["report_event_id"] != item.report.get("event_id"):
        return item
    delivery = {
        **pick(e, "ack_control_id", "attempts", "destination", "channel"),
        "delivered_at": instant(e["meta"]["occurred_at"]),
    }
    return item.evolve(delivered=True, delivery=delivery)


FOLDS: dict[str, Callable[[OutboxItem, str, Json], OutboxItem]] = {
    READ_REQUESTED: lambda item, _, e: _requested(item, e),
    READ_CLAIMED: _lease,
    READ_RELEASED: _lease,
    READ_REPORTED: _lease,
    READ_AMENDED: lambda item, _, e: _amended(item, e),
    REPORT_DELIVERED: lambda item, _, e: _delivered(item, e),
}


def fold_item(item: OutboxItem | None, event_name: str, event: Json) -> OutboxItem:
    current = item or OutboxItem(ecg_id=event["ecg_id"])
    step = FOLDS.get(event_name)
    return step(current, event_name, event) if step else current
