"""ECG submit -> visible in the reading queue, vs the raw log round trip.

Ours: POST /ingest/ecg (HTTP, 202 after the durable append), then the ECG folded by the queue
processor into the open queue (polled in the view store every 5 ms). Raw limit: the same
encoded event appended with the backend's bare client and received by a bare consumer.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import httpx

from avro_schemas.codec import Codec
from avro_schemas.events import ECG_SUBMITTED
from bench.common import (
    Figure,
    body_bytes,
    latency_summary,
    payloads,
    percentile,
    server_settings,
)
from eventlog.base import NewRecord, TopicSpec
from services.ingest.ecg_models import EcgIn, ecg_event
from services.reading.queue import current
from services.server import Server
from services.settings import Settings

N = int(os.environ.get("BENCH_QUEUE_N", "40"))
POLL_S = 0.005


def _ours(settings: Settings, bodies: list[dict]) -> list[float]:  # type: ignore[type-arg]
    server = Server(settings)
    server.start()
    lat = []
    try:
        with httpx.Client(
            base_url=server.base_url, timeout=60, headers={"content-type": "application/json"}
        ) as client:
            for body in bodies:
                t0 = time.perf_counter()
                client.post("/ingest/ecg", content=body_bytes(body)).raise_for_status()
                while current(server.system, body["ecg_id"]) is None:
                    time.sleep(POLL_S)
                lat.append(time.perf_counter() - t0)
    finally:
        server.stop()
    return lat


def _raw(settings: Settings, bodies: list[dict]) -> list[float]:  # type: ignore[type-arg]
    from services.backends import open_log

    log = open_log(settings.log_url, settings.data_dir)
    topic = f"bench.raw.{time.time_ns()}"
    log.ensure_topics([TopicSpec(topic, 6)])
    codec, now = Codec(), dt.datetime.now(dt.UTC)
    consumer = log.consumer(f"bench-{time.time_ns()}", [topic], lambda tp: 0)
    consumer.poll(timeout_s=1.0)  # join the group before timing
    lat = []
    try:
        for body in bodies:
            value = codec.encode(
                ECG_SUBMITTED, ecg_event(EcgIn.model_validate(body), now)
            )
            t0 = time.perf_counter()
            log.append(topic, [NewRecord(body["ecg_id"], value, body["event_id"])])
            while not consumer.poll(timeout_s=0.5):
                pass
            lat.append(time.perf_counter() - t0)
    finally:
        consumer.close()
        log.close()
    return lat


def run(backend: str) -> Figure:
    with tempfile.TemporaryDirectory() as tmp:
        settings = server_settings(backend, Path(tmp))
        ours = _ours(settings, payloads(N))
        raw = _raw(settings, payloads(N))
    ratio = percentile(raw, 50) / percentile(ours, 50)
    print(
        f"queue latency [{backend}]: ours {latency_summary(ours)}; raw append->consume "
        f"{latency_summary(raw)}; p50 ratio {ratio:.2f}x",
        flush=True,
    )
    return Figure(
        "ECG submit -> visible in read queue (latency)",
        backend,
        latency_summary(ours),
        latency_summary(raw),
        ratio,
    )


if __name__ == "__main__":
    from bench.common import backends

    for b in backends():
        print(run(b).row())
