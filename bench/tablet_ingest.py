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
import time
from typing import Any

from pydantic import TypeAdapter

from avro_schemas.codec import Codec
from avro_schemas.events import ECG_ACQUIRED, short
from bench.common import Figure, Post, ingest_vs_raw, latency_summary, main
from bench.raw_append import Batch
from services.ingest.tablet_events import to_event
from services.ingest.tablet_models import TabletEvent
from services.simulate.stemi_incident import stemi_incident

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


def _posts(batches: list[tuple[str, list[dict[str, Any]]]]) -> list[Post]:
    """Each incident's events as one offline batch, its first (`expected_version` 0)."""
    return [
        (
            f"/ingest/incidents/{incident}/events",
            json.dumps({"expected_version": 0, "events": events}).encode(),
        )
        for incident, events in batches
    ]


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
    seconds, lat, rss, raw_rate, raw_lat = ingest_vs_raw(
        backend, _posts(batches), _encoded(batches), WARMUP
    )
    rate = sum(len(events) for _, events in batches[WARMUP:]) / seconds
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
    main(run)
