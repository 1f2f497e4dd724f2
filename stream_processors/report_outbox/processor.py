"""The report outbox as the runner sees it."""

from __future__ import annotations

from avro_schemas.catalogue import READING
from kernel.jsontypes import Json
from stream_processors.adapter import Processor, one_document
from stream_processors.report_outbox.fold import FOLDS, OutboxItem, fold_item, outbox_item_id
from viewstore.base import IndexEntry

# key: destination site id; only items whose report is owed and not yet acknowledged. The
# runner diffs index entries between versions, so a delivered item leaves this lookup.
PENDING_INDEX = "OutboxItem.pending"


def _step(before: Json | None, event_name: str, event: Json) -> Json | None:
    old = OutboxItem.from_json(before) if before is not None else None
    new = fold_item(old, event_name, event)
    if new == old or not new.tracked:
        return None  # a refused claim (no new version), or nothing is owed to the site
    return new.to_json()


def _index(resource: Json) -> list[IndexEntry]:
    if not OutboxItem.from_json(resource).pending:
        return []
    return [IndexEntry(PENDING_INDEX, resource["destination"], "OutboxItem", resource["id"])]


# The runner folds every record of diagnosis.reading; only the events in FOLDS are ours.
PROCESSOR = Processor(
    name="report-outbox",
    topics=[READING],
    folds=one_document(FOLDS, lambda event: ("OutboxItem", outbox_item_id(event["ecg_id"])), _step),
    index=_index,
)
