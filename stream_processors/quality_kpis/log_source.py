"""Reads the indicators' events straight from the log: every partition of `ems.incident`,
`clinic.ecg`, `diagnosis.reading` and `hospital.outcome` from offset 0 to the end offset seen at the start.

Cost: linear in the size of those topics (every record is read and decoded, ECG waveforms
included: ~5 ms per ECG record). That is the price of "as of any instant" without keeping
history in a view; a yearly report of a county (tens of thousands of ECGs) takes minutes, a
simulated week seconds. Records that do not decode are skipped here (the processors have
dead-lettered them already) and counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from avro_schemas.catalogue import CLINIC_ECG, INCIDENT, OUTCOME, READING
from avro_schemas.codec import Codec, UndecodableEvent
from eventlog.base import EventLog, UnknownTopic
from stream_processors.quality_kpis.fold import RELEVANT

TOPICS = (INCIDENT, CLINIC_ECG, READING, OUTCOME)
PAGE = 500  # records per read call


@dataclass
class ReadStats:
    records: int = 0
    undecodable: int = 0


def log_events(
    log: EventLog, codec: Codec, stats: ReadStats | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(record name, record) of every relevant event in the log, partition by partition."""
    stats = stats if stats is not None else ReadStats()
    for topic in TOPICS:
        try:
            ends = log.end_offsets(topic)
        except UnknownTopic:
            continue
        for tp, end in sorted(ends.items()):
            offset = 0
            while offset < end:
                batch = log.read(topic, tp.partition, offset, min(PAGE, end - offset))
                if not batch:
                    break
                for record in batch:
                    stats.records += 1
                    try:
                        name, event = codec.decode(record.value)
                    except UndecodableEvent:
                        stats.undecodable += 1
                        continue
                    if name in RELEVANT:
                        yield name, event
                offset = batch[-1].offset + 1
