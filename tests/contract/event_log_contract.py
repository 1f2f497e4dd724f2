"""The event log contract, run against every backend.

A backend's test module subclasses `EventLogContract` and provides one fixture,
`make_log`: a factory returning a new `EventLog` over the same storage each call
(so reopening, i.e. a process restart, is part of the contract).
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable

import pytest

from eventlog.base import (
    MAX_RECORD_BYTES,
    EventLog,
    NewRecord,
    RecordTooLarge,
    StaleVersion,
    TopicPartition,
    TopicSpec,
    UnknownTopic,
    partition_for,
)
from tests.waits import wait_until

PARTITIONS = 3


def rec(key: str, n: int, event_id: str | None = None) -> NewRecord:
    return NewRecord(key=key, value=f"{key}:{n}".encode(), event_id=event_id or uuid.uuid4().hex)


def drain(log: EventLog, topic: str) -> list[tuple[int, int, str, bytes]]:
    out = []
    for p in range(log.partition_count(topic)):
        out += [(r.partition, r.offset, r.key, r.value) for r in log.read(topic, p, 0, 10_000)]
    return out


class EventLogContract:
    @pytest.fixture
    def log(self, make_log: Callable[[], EventLog]) -> EventLog:
        return make_log()

    @pytest.fixture
    def topic(self, log: EventLog) -> str:
        name = f"contract.{uuid.uuid4().hex[:10]}"
        log.ensure_topics([TopicSpec(name, PARTITIONS)])
        return name

    def test_append__a_large_ecg_record_lands_and_one_over_the_limit_is_refused_for_good(
        self, log: EventLog, topic: str
    ) -> None:
        # 60 s of 12 leads at 1000 Hz with ordinary noise, as Avro would carry it: ~1.5 MB,
        # over Kafka's 1 MiB default (issue 17: answered "retry" forever before).
        rng = random.Random(7)
        ecg = bytes(rng.getrandbits(8) if i % 3 == 0 else 0 for i in range(1_500_000))
        big = NewRecord("ecg-big", ecg, uuid.uuid4().hex)
        assert log.append(topic, [big])[0].offset >= 0
        over = NewRecord("ecg-over", b"x" * (MAX_RECORD_BYTES + 1), uuid.uuid4().hex)
        with pytest.raises(RecordTooLarge):
            log.append(topic, [over])
        # the refusal is no outage: the log goes on taking records, the big one intact
        log.append(topic, [rec("after", 1)])
        stored = {r[2]: r[3] for r in drain(log, topic)}
        assert stored["ecg-big"] == ecg and "ecg-over" not in stored and "after" in stored

    def test_append__lands_in_the_key_partition_in_order(self, log: EventLog, topic: str) -> None:
        appended = log.append(topic, [rec("inc-1", i) for i in range(5)])
        part = partition_for("inc-1", PARTITIONS)
        assert [a.partition for a in appended] == [part] * 5
        assert [a.offset for a in appended] == [0, 1, 2, 3, 4]
        assert not any(a.duplicate for a in appended)
        values = [r.value for r in log.read(topic, part, 0)]
        assert values == [f"inc-1:{i}".encode() for i in range(5)]

    def test_append__duplicate_event_id_returns_first_position_and_appends_nothing(
        self, log: EventLog, topic: str
    ) -> None:
        first = log.append(topic, [rec("ecg-9", 1, "evt-1")])[0]
        end = log.end_offset(topic, first.partition)
        again = log.append(topic, [rec("ecg-9", 2, "evt-1")])[0]
        assert (again.partition, again.offset, again.duplicate) == (
            first.partition,
            first.offset,
            True,
        )
        assert log.end_offset(topic, first.partition) == end
        assert [r.value for r in log.read(topic, first.partition, 0)] == [b"ecg-9:1"]

    def test_append__duplicate_inside_one_batch_is_appended_once(
        self, log: EventLog, topic: str
    ) -> None:
        out = log.append(topic, [rec("k", 1, "same"), rec("k", 2, "other"), rec("k", 3, "same")])
        assert [a.duplicate for a in out] == [False, False, True]
        assert out[2].offset == out[0].offset
        assert len(drain(log, topic)) == 2

    def test_append__retry_of_a_partly_appended_batch_appends_only_the_rest(
        self, log: EventLog, topic: str
    ) -> None:
        batch = [rec("inc-7", i) for i in range(4)]
        log.append(topic, batch[:2])
        out = log.append(topic, batch)
        assert [a.duplicate for a in out] == [True, True, False, False]
        assert [a.offset for a in out] == [0, 1, 2, 3]

    def test_append__fresh_ids_between_another_writers_keep_its_ids_deduplicated(
        self, make_log: Callable[[], EventLog], log: EventLog, topic: str
    ) -> None:
        """Fresh records (a uuid4 just made: the access audit) may skip looking for other
        writers' appends, but a later retry of another writer's id must still be refused,
        however many fresh records landed after it."""
        log.append(topic, [NewRecord("k", b"mine-1", uuid.uuid4().hex, fresh=True)])
        other = make_log()  # another process on the same log
        theirs = other.append(topic, [rec("k", 1, "their-id")])[0]
        after = log.append(topic, [NewRecord("k", b"mine-2", uuid.uuid4().hex, fresh=True)])[0]
        assert not after.duplicate and after.offset == theirs.offset + 1
        retry = log.append(topic, [rec("k", 2, "their-id")])[0]
        assert (retry.duplicate, retry.offset) == (True, theirs.offset)
        assert [r.value for r in log.read(topic, theirs.partition, 0)] == [
            b"mine-1",
            b"k:1",
            b"mine-2",
        ]

    def test_read__from_an_offset_gives_the_rest_with_metadata(
        self, log: EventLog, topic: str
    ) -> None:
        log.append(topic, [rec("a", i, f"id-{i}") for i in range(6)])
        part = partition_for("a", PARTITIONS)
        tail = log.read(topic, part, 4)
        assert [(r.offset, r.key, r.event_id, r.value) for r in tail] == [
            (4, "a", "id-4", b"a:4"),
            (5, "a", "id-5", b"a:5"),
        ]
        assert all(r.topic == topic and r.partition == part for r in tail)
        assert log.read(topic, part, 6) == []
        assert len(log.read(topic, part, 0, limit=2)) == 2

    def test_end_offsets__count_every_partition(self, log: EventLog, topic: str) -> None:
        keys = [f"key-{i}" for i in range(12)]
        log.append(topic, [rec(k, 0) for k in keys])
        ends = log.end_offsets(topic)
        assert sum(ends.values()) == 12
        for p in range(PARTITIONS):
            expected = sum(1 for k in keys if partition_for(k, PARTITIONS) == p)
            assert ends[TopicPartition(topic, p)] == expected

    def test_unknown_topic__is_refused_not_created(self, log: EventLog) -> None:
        with pytest.raises(UnknownTopic):
            log.append("never.created." + uuid.uuid4().hex[:6], [rec("k", 1)])
        with pytest.raises(UnknownTopic):
            log.partition_count("never.created." + uuid.uuid4().hex[:6])

    def test_ensure_topics__is_idempotent(self, log: EventLog, topic: str) -> None:
        log.append(topic, [rec("k", 1)])
        log.ensure_topics([TopicSpec(topic, PARTITIONS)])
        assert log.partition_count(topic) == PARTITIONS
        assert len(drain(log, topic)) == 1

    def test_reopen__keeps_records_and_duplicate_detection(
        self, make_log: Callable[[], EventLog], log: EventLog, topic: str
    ) -> None:
        first = log.append(topic, [rec("inc-3", 1, "evt-x")])[0]
        log.close()
        reopened = make_log()
        try:
            assert len(drain(reopened, topic)) == 1
            again = reopened.append(topic, [rec("inc-3", 1, "evt-x")])[0]
            assert again.duplicate and again.offset == first.offset
        finally:
            reopened.close()

    def test_concurrent_retries__append_once(self, log: EventLog, topic: str) -> None:
        results = []

        def retry() -> None:
            results.append(log.append(topic, [rec("inc-5", 0, "racing-id")])[0])

        threads = [threading.Thread(target=retry) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(drain(log, topic)) == 1
        assert sum(not r.duplicate for r in results) == 1
        assert len({(r.partition, r.offset) for r in results}) == 1

    # ------------------------------------------------------------- several topics at once

    @pytest.fixture
    def second(self, log: EventLog) -> str:
        """Another topic, with another partition count: an ECG's read request topic."""
        name = f"contract.{uuid.uuid4().hex[:10]}"
        log.ensure_topics([TopicSpec(name, PARTITIONS + 1)])
        return name

    def test_append_together__lands_in_each_topic_in_key_order(
        self, log: EventLog, topic: str, second: str
    ) -> None:
        out = log.append_together(
            {topic: [rec("ecg-1", i) for i in range(3)], second: [rec("ecg-1", 9), rec("b", 0)]}
        )
        assert sorted(out) == sorted([topic, second])
        part = partition_for("ecg-1", PARTITIONS)
        assert [(a.topic, a.partition, a.offset, a.duplicate) for a in out[topic]] == [
            (topic, part, i, False) for i in range(3)
        ]
        assert [r.value for r in log.read(topic, part, 0)] == [b"ecg-1:0", b"ecg-1:1", b"ecg-1:2"]
        for appended, key, value in zip(
            out[second], ["ecg-1", "b"], [b"ecg-1:9", b"b:0"], strict=True
        ):
            assert appended.topic == second and not appended.duplicate
            assert appended.partition == partition_for(key, PARTITIONS + 1)
            stored = log.read(second, appended.partition, appended.offset, 1)
            assert [r.value for r in stored] == [value]
        assert len(drain(log, topic)) == 3 and len(drain(log, second)) == 2

    def test_append_together__duplicates_get_the_first_position_and_a_retry_adds_nothing(
        self, log: EventLog, topic: str, second: str
    ) -> None:
        earlier = log.append(second, [rec("ecg-2", 0, "ecg-2:read")])[0]
        call = {
            topic: [rec("ecg-2", 1, "ecg-2"), rec("ecg-2", 2, "ecg-2")],  # the same id twice
            second: [rec("ecg-2", 3, "ecg-2:read"), rec("ecg-2", 4, "ecg-2")],
        }
        out = log.append_together(call)
        assert [a.duplicate for a in out[topic]] == [False, True]
        assert out[topic][1].offset == out[topic][0].offset
        # in the second topic: the id appended before is a duplicate at its first position;
        # the id of the first topic's record is another topic's, so it is new here
        assert (out[second][0].offset, out[second][0].duplicate) == (earlier.offset, True)
        assert not out[second][1].duplicate
        retry = log.append_together(call)
        for name in (topic, second):
            assert all(a.duplicate for a in retry[name])
            assert [(a.partition, a.offset) for a in retry[name]] == [
                (a.partition, a.offset) for a in out[name]
            ]
        assert [r[3] for r in drain(log, topic)] == [b"ecg-2:1"]
        assert sorted(r[3] for r in drain(log, second)) == [b"ecg-2:0", b"ecg-2:4"]

    def test_append_together__an_unknown_topic_is_refused_with_nothing_appended(
        self, log: EventLog, topic: str
    ) -> None:
        """Both backends look every topic up before writing anything (Kafka: metadata
        before the first produce), so the known topic gets nothing either."""
        unknown = "never.created." + uuid.uuid4().hex[:6]
        with pytest.raises(UnknownTopic):
            log.append_together({topic: [rec("k", 1, "kept-out")], unknown: [rec("k", 2)]})
        assert drain(log, topic) == []
        # nor is the refused call's id remembered: appending it now is new
        assert not log.append(topic, [rec("k", 1, "kept-out")])[0].duplicate

    def test_append_together__a_record_over_the_limit_is_refused_with_nothing_appended(
        self, log: EventLog, topic: str, second: str
    ) -> None:
        over = NewRecord("ecg-over", b"x" * (MAX_RECORD_BYTES + 1), uuid.uuid4().hex)
        with pytest.raises(RecordTooLarge):
            log.append_together({topic: [rec("small", 1)], second: [over]})
        assert drain(log, topic) == [] and drain(log, second) == []

    def test_append_together__a_retry_after_half_landed_appends_only_the_rest(
        self, log: EventLog, topic: str, second: str
    ) -> None:
        """What a Kafka append may leave on `LogUnavailable` (one topic acknowledged, the
        other not): the retry completes it, each record once."""
        ecg, read = rec("ecg-3", 1, "ecg-3"), rec("ecg-3", 2, "ecg-3:read")
        first = log.append(topic, [ecg])[0]
        out = log.append_together({topic: [ecg], second: [read]})
        assert (out[topic][0].duplicate, out[topic][0].offset) == (True, first.offset)
        assert not out[second][0].duplicate
        assert len(drain(log, topic)) == 1 and len(drain(log, second)) == 1

    # ------------------------------------------------------------- per-key versions

    def test_append_at_version__numbers_the_key_records(self, log: EventLog, topic: str) -> None:
        log.append(topic, [rec("other", 0)])  # another key in the same topic does not count
        first = log.append_at_version(topic, "inc-v", 0, [rec("inc-v", 0), rec("inc-v", 1)])
        assert (first.sequences, first.version) == ([1, 2], 2)
        later = log.append_at_version(topic, "inc-v", 2, [rec("inc-v", 2)])
        assert (later.sequences, later.version) == ([3], 3)
        assert [r.value for r in log.key_records(topic, "inc-v", 1)] == [b"inc-v:1", b"inc-v:2"]

    def test_append_at_version__stale_version_appends_nothing(
        self, log: EventLog, topic: str
    ) -> None:
        log.append_at_version(topic, "inc-s", 0, [rec("inc-s", 0), rec("inc-s", 1)])
        with pytest.raises(StaleVersion) as stale:
            log.append_at_version(topic, "inc-s", 1, [rec("inc-s", 9)])
        assert (stale.value.expected, stale.value.current) == (1, 2)
        assert len(log.key_records(topic, "inc-s")) == 2

    def test_append_at_version__retry_is_answered_not_checked(
        self, log: EventLog, topic: str
    ) -> None:
        batch = [rec("inc-r", 0, "r-0"), rec("inc-r", 1, "r-1")]
        log.append_at_version(topic, "inc-r", 0, batch)
        log.append_at_version(topic, "inc-r", 2, [rec("inc-r", 2)])  # someone else wrote on
        again = log.append_at_version(topic, "inc-r", 0, batch)
        assert all(a.duplicate for a in again.appended)
        assert (again.sequences, again.version) == ([1, 2], 3)

    def test_append_at_version__concurrent_writers_one_wins_retries_once(
        self, log: EventLog, topic: str
    ) -> None:
        same_batch = [rec("inc-c", 0, "c-0"), rec("inc-c", 1, "c-1")]
        outcomes: list[str] = []

        def write(i: int) -> None:
            batch = same_batch if i % 2 == 0 else [rec("inc-c", 100 + i)]
            try:
                log.append_at_version(topic, "inc-c", 0, batch)
                outcomes.append("ok")
            except StaleVersion:
                outcomes.append("stale")

        threads = [threading.Thread(target=write, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        records = log.key_records(topic, "inc-c")
        # Either the shared batch won (then its 9 retries were answered too), or one single.
        assert len(records) in (1, 2)
        assert len({r.event_id for r in records}) == len(records)
        if len(records) == 2:
            assert [r.event_id for r in records] == ["c-0", "c-1"]
            assert outcomes.count("ok") == 10
        else:
            assert outcomes.count("ok") == 1

    def test_consumer__reads_every_partition_from_start_at(self, log: EventLog, topic: str) -> None:
        log.append(topic, [rec(f"k{i}", i) for i in range(10)])
        consumer = log.consumer(f"g-{uuid.uuid4().hex[:6]}", [topic], lambda tp: 0)
        try:
            seen = poll_until(consumer, 10)
        finally:
            consumer.close()
        assert sorted(r.value for r in seen) == sorted(f"k{i}:{i}".encode() for i in range(10))
        for p in range(PARTITIONS):
            offsets = [r.offset for r in seen if r.partition == p]
            assert offsets == sorted(offsets)

    def test_consumer__resumes_where_start_at_says(self, log: EventLog, topic: str) -> None:
        log.append(topic, [rec("only", i) for i in range(5)])
        part = partition_for("only", PARTITIONS)
        consumer = log.consumer(
            f"g-{uuid.uuid4().hex[:6]}", [topic], lambda tp: 3 if tp.partition == part else 0
        )
        try:
            seen = poll_until(consumer, 2)
        finally:
            consumer.close()
        assert [r.offset for r in seen] == [3, 4]

    def test_consumer__commit_is_per_group(self, log: EventLog, topic: str) -> None:
        log.append(topic, [rec("c", i) for i in range(3)])
        tp = TopicPartition(topic, partition_for("c", PARTITIONS))
        group_a, group_b = f"a-{uuid.uuid4().hex[:6]}", f"b-{uuid.uuid4().hex[:6]}"
        consumer = log.consumer(group_a, [topic], lambda tp: 0)
        try:
            poll_until(consumer, 3)
            consumer.commit({tp: 3})
        finally:
            consumer.close()
        assert log.committed(group_a, tp) == 3
        assert log.committed(group_b, tp) is None

    def test_consumer__sees_records_appended_after_it_started(
        self, log: EventLog, topic: str
    ) -> None:
        consumer = log.consumer(f"g-{uuid.uuid4().hex[:6]}", [topic], lambda tp: 0)
        try:
            consumer.poll(timeout_s=0.2)
            log.append(topic, [rec("late", 1)])
            seen = poll_until(consumer, 1)
        finally:
            consumer.close()
        assert [r.value for r in seen] == [b"late:1"]


def poll_until(consumer, count: int) -> list:  # type: ignore[no-untyped-def]
    """Poll until `count` records arrived; a consumer that stalls fails with what it saw."""
    seen: list = []

    def arrived() -> bool:
        seen.extend(consumer.poll(timeout_s=0.5))
        return len(seen) >= count

    wait_until(arrived, lambda: f"the consumer receiving {count} records (it got {len(seen)})")
    return seen
