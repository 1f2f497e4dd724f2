"""Rebuilding every view from the log vs the raw limit of reading it.

Ours: what `goldenhour rebuild` does (truncate, then every processor folds from offset 0) over
N ambulance incident events already in the log (scripted STEMI calls without their ECGs:
timeline, patient, vitals, treatment, pre-alert, handover), with every processor of the
system (FHIR projector incl. the incident FHIR, board, unit tracker, ECG router, ...).
Raw limit: reading the same records with the backend's bare client and Avro-decoding them
once, in a process of its own. The issue asks for 1M events: `BENCH_REBUILD_N=1000000 make bench` (about an hour on
the reference machine); the default keeps `make bench` short and is stated in the table.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

from pydantic import TypeAdapter

from avro_schemas.catalogue import INCIDENT
from avro_schemas.codec import Codec
from avro_schemas.events import ECG_ACQUIRED, short
from bench.common import Figure, bootstrapped, main, peak_rss_mib
from bench.projector import read_all_raw
from eventlog.base import NewRecord
from services.ingest.tablet_events import to_event
from services.ingest.tablet_models import TabletEvent
from services.simulate.stemi_incident import stemi_incident
from services.system import System
from stream_processors.runner import replay

N = int(os.environ.get("BENCH_REBUILD_N", "20000"))


def _fill(system: System, n: int) -> int:
    codec, now, adapter = Codec(), dt.datetime.now(dt.UTC), TypeAdapter(TabletEvent)
    written, i = 0, 0
    while written < n:
        incident = f"rebuild-{i}"
        # Its own script, so its own patient (temporary id EMS-<incident>): one template
        # patient in every incident made one Patient carry every incident's compartment.
        script = [e for e in stemi_incident(incident) if e["type"] != short(ECG_ACQUIRED)]
        parsed = [adapter.validate_python(e) for e in script]
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


def _progress(start: float) -> Callable[[int, int], None]:
    """A line every ~10% of the replay, with the rate so far (a long run shows it moves)."""
    marks = [i / 10 for i in range(1, 11)]

    def step(done: int, total: int) -> None:
        if marks and done >= marks[0] * total:
            while marks and done >= marks[0] * total:
                marks.pop(0)
            rate = done / (time.perf_counter() - start)
            print(f"  rebuild: {done:,}/{total:,} records, {rate:,.0f} records/s", flush=True)

    return step


def _raw_rate(data_dir: Path, log_url: str, events: int) -> float:
    """Read every incident record with the bare client and decode it once: events/s."""
    codec, start = Codec(), time.perf_counter()
    shim = SimpleNamespace(settings=SimpleNamespace(data_dir=data_dir))
    for value in read_all_raw(shim, log_url, INCIDENT):  # type: ignore[arg-type]
        codec.decode(value)
    return events / (time.perf_counter() - start)


def _raw_in_own_process(data_dir: Path, log_url: str, events: int) -> float:
    """The raw limit in a fresh process (none of our objects, caches or threads in it)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_raw_rate, data_dir, log_url, events).result()


def run(backend: str) -> Figure:
    with bootstrapped(backend) as system:
        events = _fill(system, N)
        start = time.perf_counter()
        system.store.truncate()
        replay(system.runners, progress=_progress(start))  # what `goldenhour rebuild` runs
        ours = events / (time.perf_counter() - start)
        versions = sum(r.stats.versions_written for r in system.runners)
        settings = system.settings
        raw = _raw_in_own_process(settings.data_dir, settings.log_url, events)
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
    main(run)
