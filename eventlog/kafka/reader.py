"""Reading partition ranges with one group-less consumer (assign + seek): what `read`,
`end_offset`, `key_records` and the idempotency catch-up use."""

from __future__ import annotations

import threading
import time
from typing import Any

from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaTopicPartition

from eventlog.base import LogUnavailable

READ_CHUNK = 500  # records per poll of a ranged read


class PartitionReader:
    """Reads partition ranges up to a known end offset. KafkaConsumer is not thread-safe:
    one lock serialises every use."""

    def __init__(self, config: dict[str, Any], request_timeout_s: float) -> None:
        self._timeout_s = request_timeout_s
        self._lock = threading.Lock()
        self._consumer = KafkaConsumer(
            **config,
            group_id=None,
            enable_auto_commit=False,
            # Seeking below the log start (never with infinite retention, but a topic could
            # have been truncated by hand) restarts at the earliest record, not at the end.
            auto_offset_reset="earliest",
            allow_auto_create_topics=False,
            # Reads stop at a known end offset, so an empty fetch wait is pure latency.
            fetch_max_wait_ms=100,
        )

    def end_offset(self, tp: KafkaTopicPartition) -> int:
        """The offset the next record appended to `tp` will get."""
        with self._lock:
            offsets = self._consumer.end_offsets([tp], timeout_ms=int(self._timeout_s * 1000))
        return int(offsets[tp])

    def end_offsets(self, tps: list[KafkaTopicPartition]) -> dict[KafkaTopicPartition, int]:
        """`end_offset` of several partitions in one ListOffsets request (per leader)."""
        with self._lock:
            offsets = self._consumer.end_offsets(tps, timeout_ms=int(self._timeout_s * 1000))
        return {tp: int(offsets[tp]) for tp in tps}

    def offset_at_time(self, tp: KafkaTopicPartition, timestamp_ms: int) -> int:
        """The first offset of `tp` whose record timestamp is at or after `timestamp_ms`
        (Kafka's ListOffsets by time); the end offset when every record is older."""
        timeout_ms = int(self._timeout_s * 1000)
        with self._lock:
            # The end first: a record landing between the two calls is then at or after it.
            end = self._consumer.end_offsets([tp], timeout_ms=timeout_ms)[tp]
            found = self._consumer.offsets_for_times({tp: timestamp_ms}, timeout_ms=timeout_ms)
        at = found.get(tp)
        return int(end) if at is None else min(int(at.offset), int(end))

    def read(self, tp: KafkaTopicPartition, start: int, stop: int, limit: int) -> list[Any]:
        """Records of `tp` with `start <= offset < stop`, at most `limit`, in offset order.

        `stop` is an end offset read beforehand: reading stops there instead of waiting for a
        poll timeout at the end of the partition."""
        out: list[Any] = []
        if start >= stop or limit <= 0:
            return out
        deadline = time.monotonic() + self._timeout_s
        with self._lock:
            self._consumer.assign([tp])
            self._consumer.seek(tp, start)
            position = start
            while position < stop and len(out) < limit:
                remaining_s = deadline - time.monotonic()
                if remaining_s <= 0:
                    raise LogUnavailable(f"kafka: reading {tp} [{start}, {stop}) timed out")
                batch = self._consumer.poll(
                    timeout_ms=int(min(remaining_s, 1.0) * 1000),
                    max_records=min(limit - len(out), READ_CHUNK),
                )
                for raw in batch.get(tp, ()):
                    if raw.offset >= stop or len(out) >= limit:
                        break
                    out.append(raw)
                # Offsets may have gaps (transaction markers, compaction): follow the
                # consumer's position, not the count of records.
                position = max(position, self._consumer.position(tp))
        return out

    def close(self) -> None:
        """Close the underlying consumer."""
        with self._lock:
            self._consumer.close()
