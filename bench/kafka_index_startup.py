"""Start-up of the Kafka log's event-id index (eventlog/kafka/producer.py, "Start-up"): the
first append of a restarted process, on a topic holding N records stamped before the retry
horizon (30 days ago) and M within it, with the horizon (default 7 days: reads M) and
without (`id_horizon_days=all`, the old behaviour: reads N + M). Kafka only.

The records are written beforehand by a bare kafka-python producer with explicit record
timestamps (as an old topic would hold them). Printed, not asserted; ratio = the
whole-topic time / the horizon's (how many times faster the bounded start-up is).
`BENCH_INDEX_OLD` (N, default 100000) and `BENCH_INDEX_RECENT` (M, default 2000).
"""

from __future__ import annotations

import os
import time
import uuid

from bench.common import Figure, Result, main
from bench.raw_append import kafka_producer
from eventlog.base import NewRecord, TopicSpec, partition_for
from eventlog.kafka import KafkaEventLog
from tests.conftest import delete_topics

OLD = int(os.environ.get("BENCH_INDEX_OLD", "100000"))
RECENT = int(os.environ.get("BENCH_INDEX_RECENT", "2000"))
PARTITIONS = 6
TOPIC = "ems.incident"
DAY_S = 24 * 3600


def _fill(bootstrap: str, physical_topic: str) -> None:
    """OLD records stamped 30 days ago, then RECENT stamped now, ~100 bytes each, 50 per
    key (an incident's events)."""
    producer = kafka_producer(bootstrap)
    now_ms = int(time.time() * 1000)
    for i in range(OLD + RECENT):
        key = f"inc-{i // 50}"
        producer.send(
            physical_topic,
            key=key.encode(),
            value=os.urandom(100),
            partition=partition_for(key, PARTITIONS),
            headers=[("event_id", f"ev-{i}".encode())],
            timestamp_ms=now_ms - 30 * DAY_S * 1000 if i < OLD else now_ms,
        )
    producer.flush()
    producer.close()


def _first_append(bootstrap: str, namespace: str, horizon_s: float | None) -> tuple[float, int]:
    """(seconds, records read) of a fresh log's first append (a retry of a recent id)."""
    log = KafkaEventLog(bootstrap, namespace, id_horizon_s=horizon_s)
    try:
        started = time.perf_counter()
        retry = NewRecord("inc-x", b"x", f"ev-{OLD + RECENT - 1}")
        assert log.append(TOPIC, [retry])[0].duplicate
        elapsed = time.perf_counter() - started
        stats = log.index_stats(TOPIC)
        return elapsed, stats.load_records if stats else -1
    finally:
        log.close()


def run(backend: str) -> Result:
    if backend != "kafka+cassandra":
        return None  # the embedded log's unique index needs no start-up
    bootstrap = os.environ["GOLDENHOUR_TEST_KAFKA"]
    namespace = f"bench{uuid.uuid4().hex[:8]}."
    setup = KafkaEventLog(bootstrap, namespace)
    try:
        setup.ensure_topics([TopicSpec(TOPIC, PARTITIONS)])
        _fill(bootstrap, namespace + TOPIC)
        bounded_s, bounded_read = _first_append(bootstrap, namespace, 7 * DAY_S)
        whole_s, whole_read = _first_append(bootstrap, namespace, None)
    finally:
        setup.close()
        delete_topics(f"kafka://{bootstrap}?namespace={namespace}")
    print(
        f"index start-up: {OLD} records before the horizon, {RECENT} in it: first append "
        f"{bounded_s:.2f} s reading {bounded_read} (7-day horizon) vs {whole_s:.2f} s "
        f"reading {whole_read} (whole topic)",
        flush=True,
    )
    return Figure(
        f"Kafka first append after a restart, {OLD} records older than the horizon + "
        f"{RECENT} within",
        backend,
        f"{bounded_s:.2f} s ({bounded_read} records read, 7-day horizon)",
        f"{whole_s:.2f} s ({whole_read} records read, whole topic)",
        whole_s / bounded_s,
    )


if __name__ == "__main__":
    main(run)
