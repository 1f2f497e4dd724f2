"""ECG file ingest (DICOM 12-lead waveform, SCP-ECG) through `POST /ingest/ecg-file` vs the
raw log append of the same file bytes.

Ours: `goldenhour serve` in its own process (processors off, so only ingest is measured),
one client posting 10 s, 500 Hz 12-lead files (DICOM ~120 KB, SCP-ECG ~120 KB) as raw
bodies and waiting for each 202: detect, parse, validate, encode, durable append of the ECG
and its read request. Raw limit: each file's bytes appended as one record with the
backend's bare client and the same durability (bench/raw_append.py). Files come from the
standards-following writers of tests/ecg_file_writers.py, each with its own samples.

Floor: the same posts to bench/bare_ingest.py, a bare FastAPI app (the user-fixed stack)
whose one route appends the body with the bare client and answers 202, nothing of ours in
between. bare/raw is the most any FastAPI ingest of these files reaches here, however little
it does; ours/raw can only approach it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from bench.common import (
    Figure,
    Post,
    answers,
    bare_log,
    bare_server,
    bytes_ingest_figure,
    ingest_vs_raw,
    latency_summary,
    main,
    posted,
)
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


def _one(backend: str, name: str) -> list[Figure]:
    kind, writer = FORMATS[name]
    files = _files(writer, N + WARMUP)
    posts = [(_url(name, n), data) for n, data in enumerate(files)]
    batches = [[(f"raw-{n}", data)] for n, data in enumerate(files)]
    run = ingest_vs_raw(backend, posts, batches, WARMUP, kind)
    size_kb = sum(map(len, files)) / len(files) / 1024
    capability = f"ECG file ingest ({name}, {size_kb:.0f} KB), 1 client, 202 after durable append"
    ours = bytes_ingest_figure(f"ecg file ingest {name}", capability, backend, "file", run)
    seconds, lat = _bare(backend, posts, kind)
    rate = len(lat) / seconds
    print(
        f"ecg file ingest {name} [{backend}]: floor, bare FastAPI + bare append {rate:.1f} "
        f"files/s ({latency_summary(lat)}); bare/raw {rate / run.raw_rate:.2f}x",
        flush=True,
    )
    floor = Figure(
        f"{capability}: the floor, a bare FastAPI app appending each file's bytes with the "
        "bare client, nothing of ours (bench/bare_ingest.py)",
        backend,
        f"bare {rate:.1f} files/s, {latency_summary(lat)}",
        f"{run.raw_rate:.1f} files/s (file bytes appended), {latency_summary(run.raw_lat)}",
        rate / run.raw_rate,
    )
    return [ours, floor]


def _bare(backend: str, posts: list[Post], kind: str) -> tuple[float, list[float]]:
    """The posts through bench/bare_ingest.py on `backend`'s bare client: (seconds, latencies)."""
    with tempfile.TemporaryDirectory() as tmp, _bare_app(backend, Path(tmp)) as base:
        return posted(base, posts, WARMUP, kind)


@contextmanager
def _bare_app(backend: str, data_dir: Path) -> Iterator[str]:
    """bench/bare_ingest.py in its own uvicorn process; yields its base URL."""
    from tests.conftest import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "uvicorn", "bench.bare_ingest:app", "--port", str(port)]
    env = {"BENCH_BARE_LOG": bare_log(backend, data_dir)}
    with bare_server(
        [*cmd, "--log-level", "warning"], lambda: answers(f"{base}/openapi.json"), env
    ):
        yield base


def run(backend: str) -> list[Figure]:
    return [f for name in FORMATS for f in _one(backend, name)]


if __name__ == "__main__":
    main(run)
