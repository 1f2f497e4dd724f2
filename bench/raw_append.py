"""The raw limits the ingest benchmarks compare against: the same encoded records appended
with the backend's bare client at the same durability, one batch per request.

SQLite: INSERTs + COMMIT per batch, `synchronous=FULL`, WAL. Kafka: kafka-python `acks=all`,
idempotent, every record of a batch sent then the batch's acknowledgements awaited.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from eventlog.base import MAX_RECORD_BYTES

Batch = list[tuple[str, bytes]]  # (key, value) records appended together
T = TypeVar("T")


def raw_sqlite(batches: list[Batch], data_dir: Path) -> tuple[float, list[float]]:
    """(records/s, latency per batch)."""
    conn = sqlite3.connect(data_dir / f"raw-{time.time_ns()}.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE r (k TEXT, v BLOB)")
    lat = []
    start = time.perf_counter()
    for batch in batches:
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO r VALUES (?, ?)", batch)
        conn.execute("COMMIT")
        lat.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    conn.close()
    return sum(len(b) for b in batches) / elapsed, lat


def kafka_topic(bootstrap: str, prefix: str) -> str:
    """A new topic of 6 partitions named `prefix` + a timestamp, created with the bare admin."""
    from kafka.admin import KafkaAdminClient, NewTopic

    topic = f"{prefix}{time.time_ns()}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, 6, 1)])
    admin.close()
    return topic


def kafka_producer(bootstrap: str) -> Any:
    """A bare kafka-python producer at the log's durability: acks=all, idempotent, and room
    for the largest record the log accepts."""
    from kafka import KafkaProducer

    return KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        max_request_size=MAX_RECORD_BYTES,
    )


def raw_append(
    backend: str, batches: list[Batch], warmup: int, data_dir: Path
) -> tuple[float, list[float]]:
    """(records/s, latency per batch) over `batches[warmup:]` with `backend`'s bare client:
    Kafka sends the warm-up batches first, untimed; SQLite appends only the timed ones."""
    if backend == "embedded":
        return raw_sqlite(batches[warmup:], data_dir)
    return raw_kafka(batches, warmup)


def raw_kafka(batches: list[Batch], warmup: int) -> tuple[float, list[float]]:
    """(records/s, latency per batch) over `batches[warmup:]`."""
    bootstrap = os.environ["GOLDENHOUR_TEST_KAFKA"]
    topic = kafka_topic(bootstrap, "bench-raw-")
    producer = kafka_producer(bootstrap)

    def append(batch: Batch) -> None:
        futures = [producer.send(topic, key=k.encode(), value=v) for k, v in batch]
        for future in futures:
            future.get(timeout=30)

    elapsed, lat = timed(append, batches, warmup)
    producer.close()
    return sum(len(b) for b in batches[warmup:]) / elapsed, lat


def timed(
    send: Callable[[T], object], items: Sequence[T], warmup: int
) -> tuple[float, list[float]]:
    """`send` each item one after the other, the first `warmup` untimed. Returns (seconds
    of the timed ones, latency of each)."""
    for item in items[:warmup]:
        send(item)
    lat = []
    start = time.perf_counter()
    for item in items[warmup:]:
        t0 = time.perf_counter()
        send(item)
        lat.append(time.perf_counter() - t0)
    return time.perf_counter() - start, lat


def appender(spec: str) -> Callable[[str, bytes], None]:
    """One record's durable append (key, value) with the bare client that `spec` names:
    `sqlite:<path>` (a new table there) or `kafka:<bootstrap>` (a new topic there), at the
    durability of `raw_sqlite` and `raw_kafka`."""
    kind, _, where = spec.partition(":")
    if kind == "sqlite":
        conn = sqlite3.connect(where, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS r (k TEXT, v BLOB)")

        def to_sqlite(key: str, value: bytes) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO r VALUES (?, ?)", (key, value))
            conn.execute("COMMIT")

        return to_sqlite
    if kind == "kafka":
        topic, producer = kafka_topic(where, "bench-bare-"), kafka_producer(where)
        return lambda key, value: producer.send(topic, key=key.encode(), value=value).get(30)
    raise ValueError(f"{spec!r} is neither sqlite:<path> nor kafka:<bootstrap>")
