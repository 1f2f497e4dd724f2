"""ECG ingest through the HTTP API vs the raw log append of the same Avro bytes.

Ours: `goldenhour serve` in its own process (processors off, so only ingest is measured),
one client posting 10 s 12-lead ECGs (~0.4 MB JSON) and waiting for each 202.
Raw limit: the same encoded events appended with the backend's bare client and the same
durability: kafka-python `acks=all`, idempotent, one `send().get()` per event; or sqlite3
INSERT + COMMIT with `synchronous=FULL` in WAL mode.
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
from bench.common import Figure, backend_urls, body_bytes, latency_summary, payloads, peak_rss_mib
from bench.raw_append import raw_kafka, raw_sqlite
from services.ingest.ecg_models import EcgIn, ecg_event
from services.settings import Settings
from tests.processes import start_serve

N = int(os.environ.get("BENCH_INGEST_N", "150"))
WARMUP = 5


def _ours(
    log_url: str, store_url: str, data_dir: Path, bodies: list[bytes]
) -> tuple[float, list[float], float]:
    settings = Settings(data_dir=data_dir, log_url=log_url, store_url=store_url)
    proc, base = start_serve(settings, processors=False)
    try:
        with httpx.Client(
            base_url=base, timeout=60, headers={"content-type": "application/json"}
        ) as client:
            for b in bodies[:WARMUP]:
                client.post("/ingest/ecg", content=b).raise_for_status()
            lat = []
            start = time.perf_counter()
            for b in bodies[WARMUP:]:
                t0 = time.perf_counter()
                client.post("/ingest/ecg", content=b).raise_for_status()
                lat.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - start
        return len(lat) / elapsed, lat, peak_rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _encoded(bodies: list[dict]) -> list[tuple[str, bytes]]:  # type: ignore[type-arg]
    codec, now = Codec(), dt.datetime.now(dt.UTC)
    return [
        (
            b["ecg_id"],
            codec.encode(ECG_SUBMITTED, ecg_event(EcgIn.model_validate(b), now)),
        )
        for b in bodies
    ]


def run(backend: str) -> Figure:
    bodies = payloads(N + WARMUP)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        log_url, store_url = backend_urls(backend, data_dir)
        rate, lat, rss = _ours(log_url, store_url, data_dir, [body_bytes(b) for b in bodies])
        events = _encoded(bodies)
        batches = [[event] for event in events]  # one ECG per request, as the clients post
        raw_rate, raw_lat = (
            raw_sqlite(batches[WARMUP:], data_dir)
            if backend == "embedded"
            else raw_kafka(batches, WARMUP)
        )
    print(
        f"ingest [{backend}]: ours {rate:.1f} ECG/s ({latency_summary(lat)}, server peak RSS {rss:.0f} MiB); "
        f"raw {raw_rate:.1f} ECG/s ({latency_summary(raw_lat)}); ratio {rate / raw_rate:.2f}x",
        flush=True,
    )
    return Figure(
        "ECG ingest, 1 client, HTTP 202 after durable append",
        backend,
        f"{rate:.1f} ECG/s, {latency_summary(lat)}, RSS {rss:.0f} MiB",
        f"{raw_rate:.1f} ECG/s, {latency_summary(raw_lat)}",
        rate / raw_rate,
    )


if __name__ == "__main__":
    from bench.common import backends

    for b in backends():
        print(run(b).row())
