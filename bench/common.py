"""Shared bits of the benchmarks: payloads, percentiles, backends, the printed table."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx

from bench.raw_append import Batch, raw_append, timed

if TYPE_CHECKING:
    from services.settings import Settings
    from services.system import System

ROOT = Path(__file__).resolve().parent.parent  # the repository: where servers are started


@dataclass
class Figure:
    capability: str
    backend: str
    ours: str
    raw: str
    ratio: float

    def row(self) -> str:
        """A Markdown table row (a `|` inside a cell, as in `identifier=system|value`, is
        escaped so the row keeps its five cells)."""
        cells = (self.capability, self.backend, self.ours, self.raw, ratio(self.ratio))
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def latency_summary(seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms"


def ratio(value: float) -> str:
    """A ratio as the table prints it: two decimals, three significant digits below 0.1
    (so 0.0015x is not shown as 0.00x)."""
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.3g}x"


def payloads(n: int, patients: int = 10) -> list[dict[str, Any]]:
    """`n` distinct 10 s 12-lead ECG submissions spread over `patients` patients."""
    from services.ingest.resident_id import check_char
    from tests.ecg_payloads import ecg_payload  # here: ~2 s of imports other benches skip

    out = []
    for i in range(n):
        first17 = f"11010519800101{i % patients:03d}"
        out.append(
            ecg_payload(
                ecg_id=f"bench-{uuid.uuid4().hex[:10]}", resident=first17 + check_char(first17)
            )
        )
    return out


def backend_urls(backend: str, data_dir: Path) -> tuple[str, str]:
    if backend == "embedded":
        return "sqlite:", "sqlite:"
    tag = uuid.uuid4().hex[:8]
    kafka = os.environ["GOLDENHOUR_TEST_KAFKA"]
    cassandra = os.environ["GOLDENHOUR_TEST_CASSANDRA"]
    return f"kafka://{kafka}?namespace=bench{tag}.", f"cassandra://{cassandra}/bench_{tag}"


def bench_settings(backend: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings on a fresh namespace of `backend` (embedded files in `data_dir`), the rest
    defaults but for `overrides`."""
    from services.settings import Settings

    log_url, store_url = backend_urls(backend, data_dir)
    return Settings(data_dir=data_dir, log_url=log_url, store_url=store_url, **overrides)


def server_settings(backend: str, data_dir: Path) -> Settings:
    """Settings of an in-process server for a benchmark: a fresh namespace on `backend`, a
    free HTTP port, no MLLP, no rate limit (one client at full speed is not what it is for)."""
    from tests.conftest import free_port

    return bench_settings(
        backend, data_dir, rate_limit_per_s=0, http_port=free_port(), mllp_port=-1
    )


@contextmanager
def bootstrapped(backend: str) -> Iterator[System]:
    """A whole system (every processor's runner, none started) on a fresh namespace of
    `backend` in a temporary folder, closed and removed afterwards."""
    from services.system import bootstrap

    with tempfile.TemporaryDirectory() as tmp:
        system = bootstrap(bench_settings(backend, Path(tmp)))
        try:
            yield system
        finally:
            system.close()


Post = tuple[str, bytes]  # (path and query, body) of one POST


def timed_posts(
    settings: Settings, posts: list[Post], warmup: int, content_type: str = "application/json"
) -> tuple[float, list[float], float]:
    """`goldenhour serve` in its own process (processors off: only ingest is measured), one
    client sending `posts` one after the other, each waiting for its 2xx, the first `warmup`
    untimed. Returns (seconds of the timed posts, latency of each, server peak RSS in MiB)."""
    from tests.processes import start_serve

    proc, base = start_serve(settings, processors=False)
    try:
        elapsed, lat = posted(base, posts, warmup, content_type)
        return elapsed, lat, peak_rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def posted(
    base: str, posts: list[Post], warmup: int, content_type: str
) -> tuple[float, list[float]]:
    """One client sending `posts` to `base` one after the other, each waiting for its 2xx,
    the first `warmup` untimed: (seconds of the timed posts, latency of each)."""
    with httpx.Client(base_url=base, timeout=60, headers={"content-type": content_type}) as client:
        return timed(
            lambda post: client.post(post[0], content=post[1]).raise_for_status(), posts, warmup
        )


class IngestRun(NamedTuple):
    """An ingest benchmark's measures: ours through the HTTP API, raw by the bare client."""

    seconds: float  # of the timed posts, all told
    lat: list[float]  # seconds, a timed post each
    rss: float  # the server's peak RSS, MiB
    raw_rate: float  # records/s
    raw_lat: list[float]  # seconds, a timed batch each


def ingest_vs_raw(
    backend: str,
    posts: list[Post],
    batches: list[Batch],
    warmup: int,
    content_type: str = "application/json",
) -> IngestRun:
    """`posts` through a served system on a fresh namespace of `backend` (`timed_posts`), then
    the same records, as `batches`, appended with the bare client at the same durability."""
    return ours_vs_raw(
        backend,
        lambda settings: timed_posts(settings, posts, warmup, content_type),
        batches,
        warmup,
    )


Timed = Callable[["Settings"], tuple[float, list[float], float]]  # (seconds, latencies, RSS)


def ours_vs_raw(backend: str, ours: Timed, batches: list[Batch], warmup: int) -> IngestRun:
    """`ours(settings)` on a fresh namespace of `backend` (it serves and times the requests),
    then `batches` appended with the bare client at the same durability."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        seconds, lat, rss = ours(bench_settings(backend, data_dir))
        raw_rate, raw_lat = raw_append(backend, batches, warmup, data_dir)
    return IngestRun(seconds, lat, rss, raw_rate, raw_lat)


def bytes_ingest_figure(
    name: str, capability: str, backend: str, unit: str, run: IngestRun
) -> Figure:
    """An ingest row whose raw limit appended each request's bytes as one record (`unit`:
    what a request carries, "file", "message"), printed at once as the run's own line."""
    rate = len(run.lat) / run.seconds
    print(
        f"{name} [{backend}]: ours {rate:.1f} {unit}s/s ({latency_summary(run.lat)}, "
        f"server peak RSS {run.rss:.0f} MiB); raw {run.raw_rate:.1f} {unit}s/s "
        f"({latency_summary(run.raw_lat)}); ratio {rate / run.raw_rate:.2f}x",
        flush=True,
    )
    return Figure(
        capability,
        backend,
        f"{rate:.1f} {unit}s/s, {latency_summary(run.lat)}, RSS {run.rss:.0f} MiB",
        f"{run.raw_rate:.1f} {unit}s/s ({unit} bytes appended), {latency_summary(run.raw_lat)}",
        rate / run.raw_rate,
    )


def round_trips(
    count: int, append: Callable[[int], float], arrived: Callable[[int], bool]
) -> list[float]:
    """The latency of `count` round trips, one after the other: `append(i)` writes the i-th
    record and returns when its clock started (perf_counter); `arrived(i)` looks once whether
    it has come through, and is asked again at once until it has."""
    lat = []
    for i in range(count):
        t0 = append(i)
        while not arrived(i):
            pass
        lat.append(time.perf_counter() - t0)
    return lat


def latency_figure(
    name: str, capability: str, backend: str, ours: list[float], raw: list[float]
) -> Figure:
    """A latency row, ours beside the raw round trip (ratio of the medians, raw over ours),
    printed at once as the run's own line."""
    ratio = percentile(raw, 50) / percentile(ours, 50)
    print(
        f"{name} [{backend}]: ours {latency_summary(ours)}; raw append->consume "
        f"{latency_summary(raw)}; p50 ratio {ratio:.2f}x",
        flush=True,
    )
    return Figure(capability, backend, latency_summary(ours), latency_summary(raw), ratio)


def wait_answering(
    url: str,
    what: str,
    seconds: float = 60,
    proc: subprocess.Popen[bytes] | None = None,
    every_s: float = 0.1,
) -> None:
    """Returns once GET `url` answers 200. RuntimeError naming `what` after `seconds`, or as
    soon as `proc` (the server's process, if given) has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        if answers(url):
            return
        time.sleep(every_s)
    exited = "" if proc is None else f" (exit {proc.poll()})"
    raise RuntimeError(f"{what} did not answer {url}{exited}")


def answers(url: str) -> bool:
    """Whether GET `url` answers 200 now."""
    try:
        return httpx.get(url).status_code == 200
    except httpx.TransportError:
        return False


def bare_log(backend: str, data_dir: Path) -> str:
    """Where a floor's bare server appends (bench/raw_append.py `appender`): a SQLite file
    in `data_dir` (embedded), or the benchmark's Kafka."""
    if backend == "embedded":
        return f"sqlite:{data_dir / 'bare.sqlite'}"
    return f"kafka:{os.environ['GOLDENHOUR_TEST_KAFKA']}"


@contextmanager
def bare_server(
    cmd: list[str], ready: Callable[[], bool], env: dict[str, str] | None = None
) -> Iterator[None]:
    """A floor's bare server (`cmd`, run from the repository) in its own process, until
    `ready()`; stopped afterwards. RuntimeError if it exits or is not ready within 60 s."""
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(cmd)}: not ready (exit {proc.poll()})")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


Result = Figure | list[Figure] | None  # what a benchmark's run(backend) returns


def as_figures(result: Result) -> list[Figure]:
    """A run's table rows: none (skipped on this backend), one, or several."""
    if isinstance(result, list):
        return result
    return [] if result is None else [result]


def main(run: Callable[[str], Result]) -> None:
    """`python -m bench.<name>`: the benchmark on every available backend, then its rows."""
    for backend in backends():
        for figure in as_figures(run(backend)):
            print(figure.row())


def backends() -> list[str]:
    """Embedded always; Kafka + Cassandra when deploy/local/with-servers exported them."""
    found = ["embedded"]
    if os.environ.get("GOLDENHOUR_TEST_KAFKA") and os.environ.get("GOLDENHOUR_TEST_CASSANDRA"):
        found.append("kafka+cassandra")
    return found


def peak_rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def body_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()
