"""Tablet batch ingest through the HTTP API vs the raw log append of the same Avro records.

Ours: `goldenhour serve` in its own process (processors off: only ingest is measured), one
tablet posting whole incidents as offline batches (the scripted STEMI call without its ECG:
14 events of opening, timeline, patient, vitals, medication, pre-alert, handover) at
`expected_version` 0 and waiting for each 202: validation, order rules, the per-incident
version check and the durable append.
Raw limit: the same encoded records of each batch appended with the bare client at the same
durability (bench/raw_append.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import TypeAdapter

from avro_schemas.codec import Codec
from avro_schemas.events import ECG_ACQUIRED, short
from bench.common import Figure, backend_urls, latency_summary, peak_rss_mib
from bench.raw_append import Batch, raw_kafka, raw_sqlite
from services.ingest.tablet_events import to_event
from services.ingest.tablet_models import TabletEvent
from services.settings import Settings
from services.simulate.stemi_incident import stemi_incident
from tests.processes import start_serve

N = int(os.environ.get("BENCH_TABLET_N", "200"))
WARMUP = 5


def _batches(n: int) -> list[tuple[str, list[dict[str, Any]]]]:
    tag = time.time_ns()
    out = []
    for i in range(n):
        incident = f"bench-{tag}-{i}"
        events = [e for e in stemi_incident(incident) if e["type"] != short(ECG_ACQUIRED)]
        out.append((incident, events))
    return out


def _ours(
    settings: Settings, batches: list[tuple[str, list[dict[str, Any]]]]
) -> tuple[float, list[float], float]:
    proc, base = start_serve(settings, processors=False)
    bodies = [
        (incident, json.dumps({"expected_version": 0, "events": events}).encode())
        for incident, events in batches
    ]
    try:
        with httpx.Client(
            base_url=base, timeout=60, headers={"content-type": "application/json"}
        ) as client:
            for incident, body in bodies[:WARMUP]:
                client.post(f"/ingest/incidents/{incident}/events", content=body).raise_for_status()
            lat = []
            start = time.perf_counter()
            for incident, body in bodies[WARMUP:]:
                t0 = time.perf_counter()
                client.post(f"/ingest/incidents/{incident}/events", content=body).raise_for_status()
                lat.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - start
        events = sum(len(events) for _, events in batches[WARMUP:])
        return events / elapsed, lat, peak_rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _encoded(batches: list[tuple[str, list[dict[str, Any]]]]) -> list[Batch]:
    codec, now, adapter = Codec(), dt.datetime.now(dt.UTC), TypeAdapter(TabletEvent)
    out = []
    for incident, events in batches:
        avro = [to_event(adapter.validate_python(e), incident, now, None, None) for e in events]
        out.append([(incident, codec.encode(name, event)) for name, event in avro])
    return out


def run(backend: str) -> Figure:
    batches = _batches(N + WARMUP)
    size = len(batches[0][1])
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        log_url, store_url = backend_urls(backend, data_dir)
        settings = Settings(data_dir=data_dir, log_url=log_url, store_url=store_url)
        rate, lat, rss = _ours(settings, batches)
        encoded = _encoded(batches)
        raw_rate, raw_lat = (
            raw_sqlite(encoded[WARMUP:], data_dir)
            if backend == "embedded"
            else raw_kafka(encoded, WARMUP)
        )
    print(
        f"tablet ingest [{backend}]: ours {rate:.0f} events/s in batches of {size} "
        f"({latency_summary(lat)} per batch, server peak RSS {rss:.0f} MiB); "
        f"raw {raw_rate:.0f} events/s ({latency_summary(raw_lat)}); ratio {rate / raw_rate:.2f}x",
        flush=True,
    )
    return Figure(
        f"Tablet batch ingest ({size} events/batch), 1 tablet, 202 after durable append",
        backend,
        f"{rate:.0f} events/s, {latency_summary(lat)} per batch, RSS {rss:.0f} MiB",
        f"{raw_rate:.0f} events/s, {latency_summary(raw_lat)}",
        rate / raw_rate,
    )


if __name__ == "__main__":
    from bench.common import backends

    for b in backends():
        print(run(b).row())
