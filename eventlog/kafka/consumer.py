"""Consumer groups: one member per processor instance, resuming where its views say.

Plain Kafka consumer groups (classic protocol) with auto-commit off; each newly assigned
partition is sought to `start_at(tp)` in the rebalance listener, so a processor resumes from
the checkpoint stored with its view (the committed group offset is informative only).

A member never stalls silently. Two guards, both because of what kafka-python 3.0.12 does:

1. A rejoin is latched. kafka-python decides that a member must rejoin either from its
   `rejoin_needed` flag or, for the group leader, because the topic metadata changed since
   it assigned (`assignment_snapshot != metadata_snapshot`, which happens right after the
   first join, when the first metadata refresh lists the partitions). Only the flag survives
   a `poll()` whose timeout ends while the JoinGroup/SyncGroup round trip is in flight: the
   leader computes the new assignment (snapshots equal again) inside that round trip, so the
   next `poll()` sees no rejoin needed and never applies the assignment it received. The
   member then holds no partitions, sends no heartbeats, is expelled by the broker after
   its session timeout (the `UnknownMemberIdError` on LeaveGroup at close) and polls empty
   forever. Kafka's Java client latches the decision (`requestRejoin`); `_latch_rejoin` does
   the same, so the next `poll()` finishes the rejoin.
2. A member that has not heard a heartbeat answer for `MEMBER_SILENCE_S` is no longer in
   its group, whatever the cause: it leaves, and a fresh member joins (its partitions start
   at `start_at` again, the checkpoint, so nothing is skipped or folded twice).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaTopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

from eventlog.base import Consumer, Record, StartAt, TopicPartition
from eventlog.kafka.clients import close_quietly, to_record, unavailable_on_kafka_error

SESSION_TIMEOUT_MS = 6000  # the broker's default minimum (the client's default is 10 s)
HEARTBEAT_INTERVAL_MS = 2000
# Longer than any rebalance of members that poll every second or so (a processor polls every
# 0.5 s between batches), and three session timeouts: by then the broker has expelled it.
MEMBER_SILENCE_S = 20.0
# How long the broker holds a fetch that finds nothing new. It answers as soon as one byte
# arrives (`fetch_min_bytes`=1), so this adds no latency to a record: it is a long poll.
# It only sets how often an idle member's empty answer wakes Python: a dozen processors
# in one process at 100 ms were ~130 wake-ups a second, each taking the GIL from the API.
FETCH_MAX_WAIT_MS = 500

_log = logging.getLogger("eventlog.kafka")


class _SeekOnAssign(ConsumerRebalanceListener):  # type: ignore[misc]
    """Starts each newly assigned partition where the processor's checkpoint says."""

    def __init__(self, consumer: KafkaConsumer, start_at: StartAt, logical: Callable[[str], str]):
        self._consumer = consumer
        self._start_at = start_at
        self._logical = logical

    def on_partitions_revoked(self, revoked: Any) -> None:
        pass  # offsets are checkpointed with the views; nothing to flush here

    def on_partitions_assigned(self, assigned: Any) -> None:
        for tp in assigned:
            start = self._start_at(TopicPartition(self._logical(tp.topic), tp.partition))
            self._consumer.seek(tp, start)


def _latch_rejoin(consumer: KafkaConsumer) -> None:
    """Make a rejoin, once decided, last until its assignment is applied (guard 1 above).

    Reaches into kafka-python's coordinator; if a later version lacks these attributes the
    consumer is left as it is and guard 2 still mends a stall."""
    coordinator: Any = getattr(consumer, "_coordinator", None)
    decide = getattr(coordinator, "need_rejoin", None)
    if decide is None or not hasattr(coordinator, "rejoin_needed"):
        return

    def need_rejoin() -> bool:
        if decide():
            coordinator.rejoin_needed = True  # cleared by kafka-python once the join is applied
            return True
        return False

    coordinator.need_rejoin = need_rejoin


def _silent_for_s(consumer: KafkaConsumer) -> float:
    """Seconds since the group coordinator last answered a heartbeat or the member (re)joined;
    0 when kafka-python does not tell."""
    heartbeat = getattr(getattr(consumer, "_coordinator", None), "heartbeat", None)
    try:
        heard = max(heartbeat.last_receive, heartbeat.last_reset)  # type: ignore[union-attr]
    except (AttributeError, TypeError):
        return 0.0
    return time.monotonic() - float(heard)


class KafkaConsumerGroupMember(Consumer):
    """One member of a Kafka consumer group (classic protocol), reading logical topics."""

    def __init__(
        self,
        config: dict[str, Any],
        group: str,
        physical_topics: Sequence[str],
        start_at: StartAt,
        logical: Callable[[str], str],
        physical: Callable[[str], str],
        request_timeout_s: float,
    ) -> None:
        self._config = config
        self._group = group
        self._topics = list(physical_topics)
        self._start_at = start_at
        self._logical = logical
        self._physical = physical
        self._timeout_s = request_timeout_s
        self._timeout_ms = int(request_timeout_s * 1000)
        self.rejoins = 0  # fresh members built after a silence (guard 2)
        self._consumer = self._join()

    def _join(self) -> KafkaConsumer:
        consumer = KafkaConsumer(
            **self._config,
            group_id=self._group,
            # Processors commit after their view write; never behind their back.
            enable_auto_commit=False,
            # Only used where start_at gave no position; never skip history.
            auto_offset_reset="earliest",
            allow_auto_create_topics=False,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            # A killed processor's partitions move to its replacement once its session ends.
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            # A group formed before the broker's metadata listed every topic gets no
            # partitions of the missing ones until a metadata refresh shows them (then it
            # rejoins); refresh every 5 s instead of the default 5 min.
            metadata_max_age_ms=5000,
        )
        _latch_rejoin(consumer)
        self._await_metadata(consumer)
        consumer.subscribe(
            topics=self._topics, listener=_SeekOnAssign(consumer, self._start_at, self._logical)
        )
        return consumer

    def _await_metadata(self, consumer: KafkaConsumer) -> None:
        """Know every topic's partitions before joining: a member that leads the group's
        first assignment without them assigns none of those partitions ("No partition
        metadata"), and the group then idles until a metadata refresh and a rebalance."""
        deadline = time.monotonic() + self._timeout_s
        for topic in self._topics:
            while consumer.partitions_for_topic(topic) is None:
                if time.monotonic() > deadline:
                    return  # join anyway: the refresh and rebalance will mend it
                time.sleep(0.05)

    def _rejoin_if_silent(self) -> None:
        """Guard 2: leave and join afresh when the coordinator has been silent too long."""
        silent_s = _silent_for_s(self._consumer)
        if silent_s < MEMBER_SILENCE_S:
            return
        _log.warning(
            "kafka: group %s heard no heartbeat answer for %.0f s; rejoining as a new member",
            self._group,
            silent_s,
        )
        close_quietly(lambda: self._consumer.close(autocommit=False))
        self.rejoins += 1
        with unavailable_on_kafka_error("rejoining consumer group"):
            self._consumer = self._join()

    def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Record]:
        """Next records of the assigned partitions. The first polls also join the group
        (assignment happens inside poll), which may take part of `timeout_s`."""
        self._rejoin_if_silent()
        with unavailable_on_kafka_error("poll"):
            batches = self._consumer.poll(
                timeout_ms=max(0, int(timeout_s * 1000)), max_records=max_records
            )
        out: list[Record] = []
        for tp, raws in batches.items():
            logical = self._logical(tp.topic)
            out.extend(to_record(logical, raw) for raw in raws)
        return out

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Synchronously commit the next offsets to read (not the last ones read)."""
        if not offsets:
            return
        kafka_offsets = {
            KafkaTopicPartition(self._physical(tp.topic), tp.partition): OffsetAndMetadata(
                offset, "", -1
            )
            for tp, offset in offsets.items()
        }
        with unavailable_on_kafka_error("commit"):
            self._consumer.commit(offsets=kafka_offsets, timeout_ms=self._timeout_ms)

    def close(self) -> None:
        """Leave the group (so the partitions move at once) without committing anything."""
        self._consumer.close(autocommit=False)
