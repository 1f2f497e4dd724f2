"""Automatic ECG measurement throughput vs the raw log round trip of the same ECG.

Ours: the measurer's work per ECG (decode is excluded): 12-lead beat detection, delineation,
ST at J+60 ms, triage, the EcgMeasured record. Raw limit: one append + consume of the same
encoded ECG on the backend's log, the floor under any per-ECG processing step.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

from avro_schemas.codec import Codec
from avro_schemas.events import ECG_SUBMITTED
from bench.common import Figure, bench_settings, main, payloads
from bench.queue_latency import _raw
from services.ingest.ecg_models import EcgIn, ecg_event
from stream_processors.ecg_measurement.processor import measured_event

N = 60


def run(backend: str) -> Figure:
    now = dt.datetime.now(dt.UTC)
    codec = Codec()
    events = [
        codec.decode(codec.encode(ECG_SUBMITTED, ecg_event(EcgIn.model_validate(b), now)))[1]
        for b in payloads(N)
    ]
    start = time.perf_counter()
    for e in events:
        measured_event(e)
    ours = N / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        raw_lat = _raw(bench_settings(backend, Path(tmp)), payloads(20))
    raw = len(raw_lat) / sum(raw_lat)
    print(
        f"measurement [{backend}]: ours {ours:.1f} ECGs/s (one core); raw log round trip "
        f"{raw:.1f} ECGs/s; ratio {ours / raw:.2f}x",
        flush=True,
    )
    return Figure(
        "ECG automatic measurement (12 leads, 10 s, 500 Hz)",
        backend,
        f"{ours:.1f} ECGs/s",
        f"{raw:.1f} ECGs/s (append + consume)",
        ours / raw,
    )


if __name__ == "__main__":
    main(run)
