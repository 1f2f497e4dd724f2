"""ECG submit -> visible in the reading queue, vs the raw log round trip.

Ours: POST /ingest/ecg (HTTP, 202 after the durable append) from a client in a process of
its own (as a clinic is), then the ECG folded by the queue processor into the open queue,
BENCH_QUEUE_N ECGs one after the other (1000 by default: a p99 of 1000 samples is the 10th
slowest, not the maximum), each posted as soon as the one before is in the queue, while
the processors still measure and project it (~100x a province's peak of one ECG every
~6 s). Then BENCH_QUEUE_QUIET_N (300) ECGs each on a quiet server: posted once every
processor has folded everything, as ECGs mostly arrive. The server runs in this process, which looks for the item in
the view store each time the queue processor applies a batch (`runner.VIEWS_APPLIED`): no
polling loop shares the server's GIL, and the clock stops at the first look that finds it.
Both processes read CLOCK_MONOTONIC (`time.monotonic`), one clock for the machine. Raw limit: the same encoded events appended with the backend's bare client
(sqlite3 with synchronous=FULL, or kafka-python with acks=all) and received by a bare
consumer (a polling sqlite3 reader, or a KafkaConsumer), in a process of their own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import multiprocessing.connection
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
from services.reading.queue import QUEUE, current
from services.server import Server
from services.settings import Settings
from services.system import System
from stream_processors.runner import VIEWS_APPLIED

N = int(os.environ.get("BENCH_QUEUE_N", "1000"))
QUIET_N = int(os.environ.get("BENCH_QUEUE_QUIET_N", "300"))
WAIT_S = 60.0  # an ECG not in the queue by then is a failed run, not a slow sample
QUIET_LOOK_S = 0.01  # between looks at the processors' lag, before a quiet sample


def _ours(
    settings: Settings,
    bodies: list[dict],  # type: ignore[type-arg]
    quiet_bodies: list[dict],  # type: ignore[type-arg]
) -> tuple[list[float], list[float]]:
    """Latencies back to back (`bodies`), then each on a quiet server (`quiet_bodies`)."""
    server = Server(settings)
    server.start()
    spawn = multiprocessing.get_context("spawn")
    bench_end, client_end = spawn.Pipe()
    client = spawn.Process(target=_client, args=(server.base_url, client_end), daemon=True)
    client.start()
    try:
        busy = _samples(server.system, bench_end, bodies, quiet=False)
        quiet = _samples(server.system, bench_end, quiet_bodies, quiet=True)
    finally:
        with contextlib.suppress(OSError):  # a client that died has said why already
            bench_end.send_bytes(b"")
        client.join(timeout=30)
        server.stop()
    return busy, quiet


def _samples(
    system: System,
    client: multiprocessing.connection.Connection,
    bodies: list[dict],  # type: ignore[type-arg]
    quiet: bool,
) -> list[float]:
    lat, posted = [], []
    for body in bodies:
        if quiet:
            _await_quiet(system)
        client.send_bytes(body_bytes(body))
        visible, (t0, answered) = _visible(system, body["ecg_id"], client)
        posted.append(answered - t0)
        lat.append(visible - t0)
    how = "quiet server" if quiet else "back to back"
    print(f"queue latency ({how}): of which the POST (202) {latency_summary(posted)}", flush=True)
    return lat


def _await_quiet(system: System) -> None:
    """Until every processor has folded all the log holds, twice in a row: an event derived
    between two runners' looks (a measurement) is seen by the second."""
    deadline = time.monotonic() + WAIT_S
    calm = 0
    while calm < 2:
        calm = calm + 1 if system.lag() == 0 else 0
        if time.monotonic() > deadline:
            raise TimeoutError(f"the processors did not catch up in {WAIT_S:.0f} s")
        time.sleep(QUIET_LOOK_S)


def _client(base_url: str, conn: multiprocessing.connection.Connection) -> None:
    """The clinic: POSTs each body it is sent, answers (clock at send, clock at the 202)."""
    with httpx.Client(
        base_url=base_url, timeout=60, headers={"content-type": "application/json"}
    ) as client:
        while body := conn.recv_bytes():
            t0 = time.monotonic()
            answer = client.post("/ingest/ecg", content=body)
            conn.send((t0, time.monotonic()) if answer.is_success else answer.text)


def _visible(
    system: System, ecg_id: str, client: multiprocessing.connection.Connection
) -> tuple[float, tuple[float, float]]:
    """When the ECG's queue item was first seen, looking once per queue batch applied, and
    the client's clocks of its POST (a failed POST raises)."""
    answer: tuple[float, float] | None = None
    deadline = time.monotonic() + WAIT_S
    while True:
        seen = VIEWS_APPLIED.seen(QUEUE)  # before the look: no batch after it is missed
        if current(system, ecg_id) is not None:
            visible = time.monotonic()
            return visible, answer or _answer(client)
        if answer is None and client.poll():
            answer = _answer(client)
        if time.monotonic() > deadline:
            raise TimeoutError(f"ECG {ecg_id} not in the queue after {WAIT_S:.0f} s")
        VIEWS_APPLIED.wait(QUEUE, seen, 0.5)


def _answer(client: multiprocessing.connection.Connection) -> tuple[float, float]:
    answer = client.recv()
    if isinstance(answer, str):
        raise RuntimeError(f"POST /ingest/ecg failed: {answer[:500]}")
    return (float(answer[0]), float(answer[1]))


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


def run(backend: str) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = server_settings(backend, Path(tmp))
        busy, quiet = _ours(settings, payloads(N), payloads(QUIET_N))
        raw = _raw(settings, payloads(N))
    return [
        latency_figure(
            "queue latency",
            "ECG submit -> visible in read queue (latency), back to back",
            backend,
            busy,
            raw,
        ),
        latency_figure(
            "queue latency",
            "ECG submit -> visible in read queue (latency), each ECG on a quiet server",
            backend,
            quiet,
            raw,
        ),
    ]


if __name__ == "__main__":
    main(run)
