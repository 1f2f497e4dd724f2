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
from collections.abc import Callable
from urllib.parse import urlencode

from bench.common import Figure, bytes_ingest_figure, ingest_vs_raw, main
from tests import ecg_file_writers as w

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


def _url(name: str, n: int) -> str:
    return "/ingest/ecg-file?" + urlencode({"site_id": SITE, "ecg_id": f"bench-{name}-{n}"})


def _one(backend: str, name: str) -> Figure:
    kind, writer = FORMATS[name]
    files = _files(writer, N + WARMUP)
    posts = [(_url(name, n), data) for n, data in enumerate(files)]
    batches = [[(f"raw-{n}", data)] for n, data in enumerate(files)]
    run = ingest_vs_raw(backend, posts, batches, WARMUP, kind)
    size_kb = sum(map(len, files)) / len(files) / 1024
    return bytes_ingest_figure(
        f"ecg file ingest {name}",
        f"ECG file ingest ({name}, {size_kb:.0f} KB), 1 client, 202 after durable append",
        backend,
        "file",
        run,
    )


def run(backend: str) -> list[Figure]:
    return [_one(backend, name) for name in FORMATS]


if __name__ == "__main__":
    main(run)
