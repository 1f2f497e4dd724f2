"""Rebuilding every view from the log vs the raw limit of reading it.

Ours: what `goldenhour rebuild` does (truncate, then every processor folds from offset 0) over
N ambulance incident events already in the log (scripted STEMI calls without their ECGs:
timeline, patient, vitals, treatment, pre-alert, handover), with every processor of the
system (FHIR projector incl. the incident FHIR, board, unit tracker, ECG router, ...).
Raw limit: reading the same records with the backend's bare client and Avro-decoding them
once. The issue asks for 1M events: `BENCH_REBUILD_N=1000000 make bench` (about an hour on
the reference machine); the default keeps `make bench` short and is stated in the table.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from pydantic import TypeAdapter

from avro_schemas.catalogue import INCIDENT
from avro_schemas.codec import Codec
from avro_schemas.events import ECG_ACQUIRED, short
from bench.common import Figure, backend_urls, peak_rss_mib
from bench.projector import read_all_raw
from eventlog.base import NewRecord
from services.ingest.tablet_events import to_event
from services.ingest.tablet_models import TabletEvent
from services.settings import Settings
from services.simulate.stemi_incident import stemi_incident
from services.system import System, bootstrap

N = int(os.environ.get("BENCH_REBUILD_N", "20000"))


def _fill(system: System, n: int) -> int:
    codec, now, adapter = Codec(), dt.datetime.now(dt.UTC), TypeAdapter(TabletEvent)
    template = [e for e in stemi_incident("template") if e["type"] != short(ECG_ACQUIRED)]
    parsed = [adapter.validate_python(e) for e in template]
    written, i = 0, 0
    while written < n:
        incident = f"rebuild-{i}"
        records = []
        for item in parsed[: n - written]:
            name, event = to_event(item, incident, now, None, None)
            event["meta"]["event_id"] = f"{incident}/{item.event_id}"
            records.append(
                NewRecord(incident, codec.encode(name, event), event["meta"]["event_id"])
            )
        system.log.append(INCIDENT, records)
        written += len(records)
        i += 1
    return written


def run(backend: str) -> Figure:
    with tempfile.TemporaryDirectory() as tmp:
        log_url, store_url = backend_urls(backend, Path(tmp))
        system = bootstrap(Settings(data_dir=Path(tmp), log_url=log_url, store_url=store_url))
        try:
            events = _fill(system, N)
            start = time.perf_counter()
            system.store.truncate()
            for runner in system.runners:
                runner.catch_up()
            ours = events / (time.perf_counter() - start)
            versions = sum(r.stats.versions_written for r in system.runners)
            codec = Codec()
            start = time.perf_counter()
            for value in read_all_raw(system, log_url, INCIDENT):
                codec.decode(value)
            raw = events / (time.perf_counter() - start)
        finally:
            system.close()
    rss = peak_rss_mib()
    print(
        f"rebuild [{backend}]: {events} incident events, {versions} resource versions: "
        f"ours {ours:.0f} events/s; raw read+decode {raw:.0f} events/s; ratio {ours / raw:.2f}x "
        f"(peak RSS {rss:.0f} MiB)",
        flush=True,
    )
    return Figure(
        f"Rebuild of every view from {events:,} incident events (all processors)",
        backend,
        f"{ours:.0f} events/s ({versions:,} versions), RSS {rss:.0f} MiB",
        f"{raw:.0f} events/s (read + decode)",
        ours / raw,
    )


if __name__ == "__main__":
    from bench.common import backends

    for b in backends():
        print(run(b).row())
