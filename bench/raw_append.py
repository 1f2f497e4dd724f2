"""The raw limits the ingest benchmarks compare against: the same encoded records appended
with the backend's bare client at the same durability, one batch per request.

SQLite: INSERTs + COMMIT per batch, `synchronous=FULL`, WAL. Kafka: kafka-python `acks=all`,
idempotent, every record of a batch sent then the batch's acknowledgements awaited.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

Batch = list[tuple[str, bytes]]  # (key, value) records appended together


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


def raw_kafka(batches: list[Batch], warmup: int) -> tuple[float, list[float]]:
    """(records/s, latency per batch) over `batches[warmup:]`."""
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    bootstrap = os.environ["GOLDENHOUR_TEST_KAFKA"]
    topic = f"bench-raw-{time.time_ns()}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, 6, 1)])
    admin.close()
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        max_request_size=8 * 1024 * 1024,
    )

    def append(batch: Batch) -> None:
        futures = [producer.send(topic, key=k.encode(), value=v) for k, v in batch]
        for future in futures:
            future.get(timeout=30)

    for batch in batches[:warmup]:
        append(batch)
    lat = []
    start = time.perf_counter()
    for batch in batches[warmup:]:
        t0 = time.perf_counter()
        append(batch)
        lat.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    producer.close()
    return sum(len(b) for b in batches[warmup:]) / elapsed, lat
