"""ECG submit -> visible in the reading queue, vs the raw log round trip.

Ours: POST /ingest/ecg (HTTP, 202 after the durable append), then the ECG folded by the queue
processor into the open queue (polled in the view store every 1 ms), BENCH_QUEUE_N ECGs one
after the other (1000 by default: a p99 of 1000 samples is the 10th slowest, not the
maximum). Raw limit: the same encoded events appended with the backend's bare client
(sqlite3 with synchronous=FULL, or kafka-python with acks=all) and received by a bare
consumer (a polling sqlite3 reader, or a KafkaConsumer), in a process of their own.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import sqlite3
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

from avro_schemas.codec import Codec
from avro_schemas.events import ECG_SUBMITTED
from bench.common import (
    Figure,
    body_bytes,
    latency_figure,
    latency_summary,
    main,
    payloads,
    round_trips,
    server_settings,
)
from bench.raw_append import kafka_producer, kafka_topic
from services.ingest.ecg_models import EcgIn, ecg_event
from services.reading.queue import current
from services.server import Server
from services.settings import Settings

N = int(os.environ.get("BENCH_QUEUE_N", "1000"))
POLL_S = 0.001


def _ours(settings: Settings, bodies: list[dict]) -> list[float]:  # type: ignore[type-arg]
    server = Server(settings)
    server.start()
    lat, posted = [], []
    try:
        with httpx.Client(
            base_url=server.base_url, timeout=60, headers={"content-type": "application/json"}
        ) as client:
            for body in bodies:
                t0 = time.perf_counter()
                client.post("/ingest/ecg", content=body_bytes(body)).raise_for_status()
                posted.append(time.perf_counter() - t0)
                while current(server.system, body["ecg_id"]) is None:
                    time.sleep(POLL_S)
                lat.append(time.perf_counter() - t0)
    finally:
        server.stop()
    print(f"queue latency: of which the POST (202) {latency_summary(posted)}", flush=True)
    return lat


def _raw(settings: Settings, bodies: list[dict]) -> list[float]:  # type: ignore[type-arg]
    """The raw round trips, in a fresh process with only the bare clients."""
    codec, now = Codec(), dt.datetime.now(dt.UTC)
    values = [
        (body["ecg_id"], codec.encode(ECG_SUBMITTED, ecg_event(EcgIn.model_validate(body), now)))
        for body in bodies
    ]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_raw_round_trips, settings.log_url, settings.data_dir, values).result()


def _raw_round_trips(log_url: str, data_dir: Path, values: list[tuple[str, bytes]]) -> list[float]:
    if log_url.startswith("sqlite:"):
        return _sqlite_round_trips(data_dir / "raw-latency.sqlite", values)
    return _kafka_round_trips(os.environ["GOLDENHOUR_TEST_KAFKA"], values)


def _sqlite_round_trips(path: Path, values: list[tuple[str, bytes]]) -> list[float]:
    """Insert + durable commit on one connection; a second connection polls for the row."""
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA synchronous=FULL")
    writer.execute("CREATE TABLE r (n INTEGER PRIMARY KEY, k TEXT, v BLOB)")
    reader = sqlite3.connect(path, isolation_level=None)

    def append(i: int) -> float:
        t0 = time.perf_counter()
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO r VALUES (?, ?, ?)", (i + 1, *values[i]))
        writer.execute("COMMIT")
        return t0

    def arrived(i: int) -> bool:
        return reader.execute("SELECT v FROM r WHERE n = ?", (i + 1,)).fetchone() is not None

    return round_trips(len(values), append, arrived)


def _kafka_round_trips(bootstrap: str, values: list[tuple[str, bytes]]) -> list[float]:
    """Produce with acks=all and wait for the ack; a consumer of the partitions polls."""
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KafkaTp

    topic = kafka_topic(bootstrap, "bench-raw-latency-")
    producer = kafka_producer(bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = [KafkaTp(topic, p) for p in range(6)]
    consumer.assign(partitions)
    consumer.seek_to_end()
    # seek_to_end is lazy: resolved at the first poll, after the first record was sent, it
    # would skip that record and the round trip would wait for ever. Resolve it now.
    for tp in partitions:
        consumer.position(tp)

    def append(i: int) -> float:
        key, value = values[i]
        t0 = time.perf_counter()
        producer.send(topic, key=key.encode(), value=value).get(timeout=60)
        return t0

    try:
        return round_trips(len(values), append, lambda i: bool(consumer.poll(timeout_ms=500)))
    finally:
        producer.close()
        consumer.close()


def run(backend: str) -> Figure:
    with tempfile.TemporaryDirectory() as tmp:
        settings = server_settings(backend, Path(tmp))
        ours = _ours(settings, payloads(N))
        raw = _raw(settings, payloads(N))
    return latency_figure(
        "queue latency", "ECG submit -> visible in read queue (latency)", backend, ours, raw
    )


if __name__ == "__main__":
    main(run)
