"""The report outbox as the runner sees it."""

from __future__ import annotations

from typing import Any

from avro_schemas.catalogue import READING
from stream_processors.report_outbox.fold import FOLDS, OutboxItem, fold_item, outbox_item_id
from viewstore.base import IndexEntry

Json = dict[str, Any]
Ref = tuple[str, str]
# key: destination site id; only items whose report is owed and not yet acknowledged. The
# runner diffs index entries between versions, so a delivered item leaves this lookup.
PENDING_INDEX = "OutboxItem.pending"


class OutboxProjection:
    name = "report-outbox"
    topics = [READING]

    def refs(self, event_name: str, event: Json) -> list[Ref]:
        if event_name not in FOLDS:
            return []
        return [("OutboxItem", outbox_item_id(event["ecg_id"]))]

    def fold(self, state: dict[Ref, Json], event_name: str, event: Json) -> dict[Ref, Json]:
        refs = self.refs(event_name, event)
        if not refs:
            return {}  # the runner folds every record of the topic; most are not ours
        (ref,) = refs
        before = OutboxItem.from_json(state[ref]) if ref in state else None
        after = fold_item(before, event_name, event)
        if after == before or not after.tracked:
            return {}  # a refused claim (no new version), or nothing is owed to the site
        return {ref: after.to_json()}

    def index(self, resource: Json) -> list[IndexEntry]:
        if not OutboxItem.from_json(resource).pending:
            return []
        return [IndexEntry(PENDING_INDEX, resource["destination"], "OutboxItem", resource["id"])]
