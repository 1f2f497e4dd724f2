"""ECG file ingest (DICOM 12-lead waveform, SCP-ECG) through `POST /ingest/ecg-file` vs the
raw log append of the same file bytes.

Ours: `goldenhour serve` in its own process (processors off, so only ingest is measured),
one client posting 10 s, 500 Hz 12-lead files (DICOM ~120 KB, SCP-ECG ~120 KB) as raw
bodies and waiting for each 202: detect, parse, validate, encode, durable append of the ECG
and its read request. Raw limit: each file's bytes appended as one record with the
backend's bare client and the same durability (bench/raw_append.py). Files come from the
standards-following writers of tests/ecg_file_writers.py, each with its own samples.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.common import Figure, backend_urls, latency_summary, peak_rss_mib
from bench.raw_append import raw_kafka, raw_sqlite
from services.settings import Settings
from tests import ecg_file_writers as w
from tests.processes import start_serve

N = int(os.environ.get("BENCH_ECG_FILE_N", "100"))
WARMUP = 5
RATE_HZ = 500
SITE = "clinic-baiyang"
FORMATS: dict[str, tuple[str, Callable[..., bytes]]] = {
    "DICOM": ("application/dicom", w.dicom_12lead),
    "SCP-ECG": ("application/octet-stream", w.scp_ecg),
}


def _files(writer: Callable[..., bytes], n: int) -> list[bytes]:
    return [writer(w.counts(seconds=10, rate=RATE_HZ, seed=i), RATE_HZ) for i in range(n)]


def _ours(
    settings: Settings, name: str, kind: str, files: list[bytes]
) -> tuple[float, list[float], float]:
    proc, base = start_serve(settings, processors=False)
    try:
        with httpx.Client(base_url=base, timeout=60, headers={"content-type": kind}) as client:

            def post(n: int, data: bytes) -> None:
                params = {"site_id": SITE, "ecg_id": f"bench-{name}-{n}"}
                client.post("/ingest/ecg-file", content=data, params=params).raise_for_status()

            for n, data in enumerate(files[:WARMUP]):
                post(n, data)
            lat = []
            start = time.perf_counter()
            for n, data in enumerate(files[WARMUP:], WARMUP):
                t0 = time.perf_counter()
                post(n, data)
                lat.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - start
        return len(lat) / elapsed, lat, peak_rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _one(backend: str, name: str) -> Figure:
    kind, writer = FORMATS[name]
    files = _files(writer, N + WARMUP)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        log_url, store_url = backend_urls(backend, data_dir)
        settings = Settings(data_dir=data_dir, log_url=log_url, store_url=store_url)
        rate, lat, rss = _ours(settings, name, kind, files)
        batches = [[(f"raw-{n}", data)] for n, data in enumerate(files)]
        raw_rate, raw_lat = (
            raw_sqlite(batches[WARMUP:], data_dir)
            if backend == "embedded"
            else raw_kafka(batches, WARMUP)
        )
    size_kb = sum(map(len, files)) / len(files) / 1024
    print(
        f"ecg file ingest {name} [{backend}]: ours {rate:.1f} files/s ({latency_summary(lat)}, "
        f"server peak RSS {rss:.0f} MiB); raw {raw_rate:.1f} files/s "
        f"({latency_summary(raw_lat)}); ratio {rate / raw_rate:.2f}x",
        flush=True,
    )
    return Figure(
        f"ECG file ingest ({name}, {size_kb:.0f} KB), 1 client, 202 after durable append",
        backend,
        f"{rate:.1f} files/s, {latency_summary(lat)}, RSS {rss:.0f} MiB",
        f"{raw_rate:.1f} files/s (file bytes appended), {latency_summary(raw_lat)}",
        rate / raw_rate,
    )


def run(backend: str) -> list[Figure]:
    return [_one(backend, name) for name in FORMATS]


if __name__ == "__main__":
    from bench.common import backends

    for b in backends():
        for figure in run(b):
            print(figure.row())
