"""Dead letters: list them, and replay one after the cause is fixed.

A replay appends the failed record's original bytes to its source topic again, under an
event id derived from the dead letter's position (so replaying twice appends once). Every
processor of that topic then folds it anew: the one that failed gets its fold; those that
had folded it already fold the same event again, which rewrites the same resources (ids
derive from the event) as one more version with the same content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from avro_schemas.catalogue import TOPICS, dlq_topic
from avro_schemas.codec import Codec
from eventlog.base import Appended, EventLog, NewRecord, UnknownTopic


@dataclass(frozen=True)
class DeadLetter:
    topic: str  # the dead-letter topic
    partition: int
    offset: int
    letter: dict[str, Any]

    def summary(self) -> str:
        lt = self.letter
        return (
            f"{self.topic}/{self.partition}@{self.offset}: {lt['processor']} could not fold "
            f"{lt['source_topic']}/{lt['source_partition']}@{lt['source_offset']} "
            f"(event {lt['event_id']}): {lt['reason']}"
        )


def dead_letters(log: EventLog, codec: Codec, source_topic: str | None = None) -> list[DeadLetter]:
    out = []
    for spec in TOPICS:
        if source_topic and spec.name != source_topic:
            continue
        topic = dlq_topic(spec.name)
        try:
            partitions = log.partition_count(topic)
        except UnknownTopic:  # a log written before this topic existed
            continue
        for partition in range(partitions):
            offset = 0
            while records := log.read(topic, partition, offset, 500):
                for r in records:
                    out.append(DeadLetter(topic, partition, r.offset, codec.decode(r.value)[1]))
                offset = records[-1].offset + 1
    return out


def replay(log: EventLog, letter: DeadLetter) -> Appended:
    lt = letter.letter
    event_id = f"{lt['event_id'] or lt['key']}:replay:{letter.partition}:{letter.offset}"
    return log.append(lt["source_topic"], [NewRecord(lt["key"], lt["value"], event_id)])[0]
