"""The queue fold: `fold_item(item, event_name, event) -> item`, one function per event.

Lease rule, decided here and only here: a claim recorded at instant t is granted when the
item is queued, or its lease ended before t, or the claimant already holds it (renewal).
Because one ECG's events are totally ordered in its partition, the first claim wins and
every later one is refused, on any number of API instances, and identically on a rebuild.
"""

from __future__ import annotations

from collections.abc import Callable

from avro_schemas.events import (
    ECG_MEASURED,
    MEASUREMENT_EDITED,
    READ_AMENDED,
    READ_CLAIMED,
    READ_ESCALATED,
    READ_RELEASED,
    READ_REPORTED,
    READ_REQUESTED,
)
from kernel.jsontypes import Json, pick
from kernel.time import instant
from stream_processors.diagnosis_queue.item import SENDER_CLASS, QueueItem, more_urgent
from stream_processors.ecg_measurement.reason_texts import QUEUE_SENDER, QUEUE_SENDER_PREALERT


def _at(event: Json) -> str:
    return instant(event["meta"]["recorded_at"])


def sender_class(urgency: str, prealert: str) -> str:
    return "critical" if prealert == "STEMI" else SENDER_CLASS.get(urgency, "routine")


def _requested(item: QueueItem, e: Json) -> QueueItem:
    site = e.get("site") or {}
    cls = sender_class(e.get("urgency", "routine"), e.get("prealert") or "")
    measured = item.measurements.get("triage_class", "routine")
    return item.evolve(
        requested=True,
        centre_id=e["reading_centre_id"],
        region_id=e.get("region_id") or "",
        site_id=site.get("id", ""),
        site_name=site.get("name") or "",
        patient_ref=e.get("patient_ref") or "",
        patient_name=e.get("patient_name") or "",
        clinical_question=e.get("clinical_question") or "",
        urgency=e.get("urgency", "routine"),
        prealert=e.get("prealert") or "",
        submitted_at=_at(e),
        acquired_at=instant(e["meta"]["occurred_at"]),
        triage_class=more_urgent(cls, measured),
        reasons=(*item.reasons, _sender_reason(e.get("urgency", "routine"), e.get("prealert"))),
    )


def _sender_reason(urgency: str, prealert: str | None) -> str:
    if prealert:
        return QUEUE_SENDER_PREALERT.render(urgency=urgency, prealert=prealert)
    return QUEUE_SENDER.render(urgency=urgency)


def _measured(item: QueueItem, e: Json) -> QueueItem:
    summary = {
        k: e.get(k)
        for k in (
            "analysable",
            "problems",
            "heart_rate_bpm",
            "irregular",
            "pr_ms",
            "qrs_ms",
            "qt_ms",
            "qtc_ms",
            "triage_class",
        )
    }
    summary["st_deviation_uv"] = {x["lead"]: x["value"] for x in e.get("st_deviation_uv", [])}
    cls = e["triage_class"]
    if item.requested:
        cls = more_urgent(cls, sender_class(item.urgency, item.prealert))
    return item.evolve(
        measurements=summary,
        triage_class=more_urgent(item.triage_class, cls) if item.requested else cls,
        reasons=(*item.reasons, *_findings(e)),
    )


def _findings(measured: Json) -> list[str]:
    # The measurer restates the sender's urgency; the request already put it in the reasons.
    return [r for r in measured.get("reasons", []) if not r.startswith("sender urgency")]


def _claimed(item: QueueItem, e: Json) -> QueueItem:
    renewal = item.status == "claimed" and item.holder == e["reader_id"]
    if not (item.available(_at(e)) or renewal):
        return item
    return item.evolve(
        status="claimed",
        holder=e["reader_id"],
        lease_until=instant(e["lease_until"]),
        claim_event_id=e["meta"]["event_id"],
    )


def _held_by_reader(item: QueueItem, e: Json) -> bool:
    """Does the event's reader hold the ECG? Releases, reports and corrections count only then."""
    return item.status == "claimed" and item.holder == e["reader_id"]


def _signed(e: Json, text: str) -> Json:
    """A reader's signed text (a read's `interpretation`, an `addendum`) as the item keeps it."""
    return {
        **pick(e, "reader_id", text),
        "codes": e.get("codes", []),
        "signed_at": instant(e["signed_at"]),
        "event_id": e["meta"]["event_id"],
    }


def _released(item: QueueItem, e: Json) -> QueueItem:
    if not _held_by_reader(item, e):
        return item
    return item.evolve(status="queued", holder="", lease_until="", claim_event_id="")


def _reported(item: QueueItem, e: Json) -> QueueItem:
    if not _held_by_reader(item, e):
        return item
    return item.evolve(status="reported", report=_signed(e, "interpretation"), lease_until="")


def _escalated(item: QueueItem, e: Json) -> QueueItem:
    return item.evolve(escalated=True)


def _edited(item: QueueItem, e: Json) -> QueueItem:
    """A correction counts while its reader holds the ECG (as a report would): the
    automatic value stays beside it, from the first correction of that measurement."""
    if not _held_by_reader(item, e):
        return item
    field_ = e["measurement"]
    earlier = item.edits.get(field_, {})
    automatic = earlier.get("automatic", e.get("automatic_value"))
    if automatic is None:
        automatic = item.measurements.get(field_)
    edit = {
        "value": e["value"],
        "automatic": automatic,
        "reader_id": e["reader_id"],
        "edited_at": _at(e),
        "reason": e.get("reason") or "",
        "event_id": e["meta"]["event_id"],
    }
    return item.evolve(edits={**item.edits, field_: edit})


def _amended(item: QueueItem, e: Json) -> QueueItem:
    """An addendum to a signed read, by any reader; before the signature there is nothing to
    amend. The signed read stays as it was: the addendum is added after it."""
    if item.status != "reported" or any(
        a["event_id"] == e["meta"]["event_id"] for a in item.addenda
    ):
        return item
    return item.evolve(addenda=(*item.addenda, _signed(e, "addendum")))


FOLDS: dict[str, Callable[[QueueItem, Json], QueueItem]] = {
    READ_REQUESTED: _requested,
    ECG_MEASURED: _measured,
    READ_CLAIMED: _claimed,
    READ_RELEASED: _released,
    READ_REPORTED: _reported,
    READ_ESCALATED: _escalated,
    MEASUREMENT_EDITED: _edited,
    READ_AMENDED: _amended,
}


def fold_item(item: QueueItem | None, event_name: str, event: Json) -> QueueItem:
    current = item or QueueItem(ecg_id=event["ecg_id"])
    step = FOLDS.get(event_name)
    return step(current, event) if step else current
