"""Queue item state and its policy constants."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from kernel.time import instant, parse_instant

CLASS_RANK = {"critical": 0, "urgent": 1, "routine": 2}
# Time from request to a signed read, per class (Chest Pain Center: first ECG -> diagnosis
# <= 10 min for suspected ACS).
SLA = {
    "critical": dt.timedelta(minutes=10),
    "urgent": dt.timedelta(minutes=30),
    "routine": dt.timedelta(hours=24),
}
SENDER_CLASS = {"stat": "critical", "urgent": "urgent", "routine": "routine"}


def more_urgent(a: str, b: str) -> str:
    return a if CLASS_RANK[a] <= CLASS_RANK[b] else b


@dataclass(frozen=True)
class QueueItem:
    ecg_id: str
    requested: bool = False
    centre_id: str = ""
    region_id: str = ""
    site_id: str = ""
    site_name: str = ""
    patient_ref: str = ""
    patient_name: str = ""
    clinical_question: str = ""
    urgency: str = "routine"
    prealert: str = ""
    submitted_at: str = ""
    acquired_at: str = ""  # the ECG's acquisition (the request's occurred_at)
    triage_class: str = "routine"
    reasons: tuple[str, ...] = ()
    measurements: dict[str, Any] = field(default_factory=dict)
    status: str = "queued"  # queued | claimed | reported
    holder: str = ""
    lease_until: str = ""
    claim_event_id: str = ""
    escalated: bool = False
    report: dict[str, Any] = field(default_factory=dict)
    # Reader corrections: measurement -> {value, automatic, reader_id, edited_at, reason}
    edits: dict[str, Any] = field(default_factory=dict)
    # Addenda to the signed read, oldest first: {reader_id, addendum, codes, signed_at, event_id}
    addenda: tuple[dict[str, Any], ...] = ()

    @property
    def due_at(self) -> str:
        if not self.submitted_at:
            return ""
        return instant(parse_instant(self.submitted_at) + SLA[self.triage_class])

    def lease_expired(self, at: str) -> bool:
        return self.status == "claimed" and self.lease_until <= at

    def available(self, at: str) -> bool:
        """Can a reader claim it at instant `at`?"""
        return self.requested and (self.status == "queued" or self.lease_expired(at))

    def overdue(self, at: str) -> bool:
        return self.requested and self.status != "reported" and self.due_at <= at

    def sort_key(self) -> tuple[int, str, str]:
        return (CLASS_RANK[self.triage_class], self.due_at, self.ecg_id)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["reasons"] = list(self.reasons)
        doc["addenda"] = list(self.addenda)
        return {"resourceType": "QueueItem", "id": queue_item_id(self.ecg_id), **doc}

    @staticmethod
    def from_json(doc: dict[str, Any]) -> QueueItem:
        fields = {k: v for k, v in doc.items() if k not in ("resourceType", "id", "meta")}
        fields["reasons"] = tuple(fields.get("reasons", ()))
        fields["addenda"] = tuple(fields.get("addenda", ()))
        return QueueItem(**fields)

    def evolve(self, **changes: Any) -> QueueItem:
        return replace(self, **changes)


def queue_item_id(ecg_id: str) -> str:
    from kernel.ids import resource_id

    return resource_id("QueueItem", ecg_id)


def task_id(ecg_id: str) -> str:
    from kernel.ids import resource_id

    return resource_id("Task", "ecg-read", ecg_id)
