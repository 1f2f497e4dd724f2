"""A record that fails after its fold (here: while indexing) is dead-lettered whole: none of
its resource versions reach the view, and the records around it are folded as usual."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from avro_schemas.catalogue import INCIDENT, all_topics, dlq_topic
from avro_schemas.codec import Codec
from eventlog.base import NewRecord
from eventlog.sqlite import SqliteEventLog
from kernel.jsontypes import Json
from stream_processors.runner import Runner
from viewstore.base import IndexEntry
from viewstore.sqlite import SqliteViewStore


class IndexFailsOnPoison:
    """Writes one Note per incident event; indexing a Note of `poison` raises."""

    name = "atomic-test"
    topics = [INCIDENT]

    def refs(self, event_name: str, event: Json) -> list[tuple[str, str]]:
        return [("Note", event["meta"]["event_id"]), ("Note", "shared")]

    def fold(
        self, state: dict[tuple[str, str], Json], event_name: str, event: Json
    ) -> dict[tuple[str, str], Json]:
        eid = event["meta"]["event_id"]
        count = state.get(("Note", "shared"), {}).get("count", 0)
        return {
            ("Note", eid): {"resourceType": "Note", "id": eid, "reason": event["dispatch_reason"]},
            ("Note", "shared"): {"resourceType": "Note", "id": "shared", "count": count + 1},
        }

    def index(self, resource: Json) -> list[IndexEntry]:
        if resource.get("reason") == "poison":
            raise ValueError("cannot index a poison note")
        return [IndexEntry("Note.reason", resource.get("reason", ""), "Note", resource["id"])]


def opened(codec: Codec, event_id: str, reason: str) -> NewRecord:
    at = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    event = {
        "meta": {
            "event_id": event_id,
            "occurred_at": at,
            "recorded_at": at,
            "source": {"channel": "tablet"},
        },
        "incident_id": "inc-1",
        "dispatch_reason": reason,
        "priority": "1",
        "station_id": "s",
        "unit_id": "u",
    }
    return NewRecord("inc-1", codec.encode("goldenhour.ems.IncidentOpened", event), event_id)


def test_a_record_failing_after_its_fold_leaves_no_partial_writes(tmp_path: Path) -> None:
    log, store, codec = (
        SqliteEventLog(tmp_path / "log"),
        SqliteViewStore(tmp_path / "views"),
        Codec(),
    )
    log.ensure_topics(all_topics())
    ids = [str(uuid.uuid4()) for _ in range(3)]
    log.append(
        INCIDENT,
        [opened(codec, ids[0], "ok"), opened(codec, ids[1], "poison"), opened(codec, ids[2], "ok")],
    )
    Runner(IndexFailsOnPoison(), log, store, codec).catch_up()

    assert store.read("Note", ids[1]) is None  # the poisoned record wrote nothing
    assert store.read("Note", ids[0]) is not None and store.read("Note", ids[2]) is not None
    shared = store.history("Note", "shared")
    assert [s.version for s in shared] == [2, 1]  # two good records, not three
    dlq = dlq_topic(INCIDENT)
    letters = [r for p in range(log.partition_count(dlq)) for r in log.read(dlq, p, 0)]
    assert len(letters) == 1
