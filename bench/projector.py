"""The FHIR projector's rate vs the raw limit of the same work.

Ours: `Runner.catch_up` of N EcgSubmitted events already in the log into an empty store
(decode, fold, FHIR mapping, canonical JSON, versioned writes + checkpoint per batch).
Raw limit: read the same records with the log's bare client, Avro-decode them, and write
the same resulting rows (the bytes our run produced) with the store's bare driver.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from typing import Any

from avro_schemas.catalogue import CLINIC_ECG
from avro_schemas.codec import Codec
from avro_schemas.events import ECG_SUBMITTED
from bench.common import Figure, bootstrapped, main, payloads, peak_rss_mib
from eventlog.base import NewRecord
from services.ingest.ecg_models import EcgIn, ecg_event
from services.system import System
from viewstore.base import StoredResource

N = int(os.environ.get("BENCH_PROJECTOR_N", "300"))


def _fill(system: System, n: int) -> None:
    codec, now = Codec(), dt.datetime.now(dt.UTC)
    records = []
    for body in payloads(n):
        event = ecg_event(EcgIn.model_validate(body), now)
        records.append(
            NewRecord(body["ecg_id"], codec.encode(ECG_SUBMITTED, event), body["event_id"])
        )
    for i in range(0, n, 50):
        system.log.append(CLINIC_ECG, records[i : i + 50])


def read_all_raw(system: System, log_url: str, logical_topic: str = CLINIC_ECG) -> list[bytes]:
    """Every record value of a topic, read with the backend's bare client."""
    if log_url.startswith("sqlite:"):
        conn = sqlite3.connect(system.settings.data_dir / "log.sqlite")
        return [
            v
            for (v,) in conn.execute("SELECT value FROM records WHERE topic = ?", (logical_topic,))
        ]
    from kafka import KafkaConsumer, TopicPartition

    namespace = log_url.split("namespace=")[1]
    topic = namespace + logical_topic
    consumer = KafkaConsumer(
        bootstrap_servers=os.environ["GOLDENHOUR_TEST_KAFKA"], enable_auto_commit=False
    )
    tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(tps)
    consumer.seek_to_beginning()
    ends = consumer.end_offsets(tps)
    values: list[bytes] = []
    while any(consumer.position(tp) < ends[tp] for tp in tps):
        for recs in consumer.poll(timeout_ms=500).values():
            values += [r.value for r in recs]
    consumer.close()
    return values


def _write_raw(system: System, store_url: str, rows: list[StoredResource]) -> None:
    if store_url.startswith("sqlite:"):
        conn = sqlite3.connect(system.settings.data_dir / "raw-views.sqlite", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE r (t TEXT, id TEXT, v INT, lu TEXT, body BLOB, PRIMARY KEY (t, id, v))"
        )
        for i in range(0, len(rows), 500):
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO r VALUES (?, ?, ?, ?, ?)",
                [
                    (r.resource_type, r.id, r.version, r.last_updated, r.body)
                    for r in rows[i : i + 500]
                ],
            )
            conn.execute("COMMIT")
        return
    from cassandra.concurrent import execute_concurrent_with_args

    store: Any = getattr(system.store, "inner", system.store)  # under the jurisdiction guard
    session = store._session
    table = f"{store._keyspace}.raw_bench"
    session.execute(
        f"CREATE TABLE IF NOT EXISTS {table} (t text, id text, v int, lu text, body blob, PRIMARY KEY ((t, id), v))"
    )
    insert = session.prepare(f"INSERT INTO {table} (t, id, v, lu, body) VALUES (?, ?, ?, ?, ?)")
    execute_concurrent_with_args(
        session,
        insert,
        [(r.resource_type, r.id, r.version, r.last_updated, r.body) for r in rows],
        concurrency=16,
    )


def run(backend: str) -> Figure:
    with bootstrapped(backend) as system:
        _fill(system, N)
        start = time.perf_counter()
        folded = system.runners[0].catch_up()
        ours = folded / (time.perf_counter() - start)
        rows = list(system.store.scan())
        codec = Codec()
        start = time.perf_counter()
        values = read_all_raw(system, system.settings.log_url)
        for v in values:
            codec.decode(v)
        _write_raw(system, system.settings.store_url, rows)
        raw = len(values) / (time.perf_counter() - start)
    rss = peak_rss_mib()
    print(
        f"projector [{backend}]: ours {ours:.1f} events/s; raw consume+decode+write {raw:.1f} events/s; "
        f"ratio {ours / raw:.2f}x (bench process peak RSS {rss:.0f} MiB)",
        flush=True,
    )
    return Figure(
        "FHIR projector, ECG events -> Patient + Observation",
        backend,
        f"{ours:.1f} events/s",
        f"{raw:.1f} events/s",
        ours / raw,
    )


if __name__ == "__main__":
    main(run)
