"""Shared bits of the benchmarks: payloads, percentiles, backends, the printed table."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.ecg_payloads import ecg_payload


@dataclass
class Figure:
    capability: str
    backend: str
    ours: str
    raw: str
    ratio: float

    def row(self) -> str:
        return (
            f"| {self.capability} | {self.backend} | {self.ours} | {self.raw} | {self.ratio:.2f}x |"
        )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def latency_summary(seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms"


def payloads(n: int, patients: int = 10) -> list[dict[str, Any]]:
    """`n` distinct 10 s 12-lead ECG submissions spread over `patients` patients."""
    from services.ingest.resident_id import check_char

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


def server_settings(backend: str, data_dir: Path) -> Any:
    """Settings of an in-process server for a benchmark: a fresh namespace on `backend`, a
    free HTTP port, no MLLP, no rate limit (one client at full speed is not what it is for)."""
    from services.settings import Settings
    from tests.conftest import free_port

    log_url, store_url = backend_urls(backend, data_dir)
    return Settings(
        rate_limit_per_s=0,
        data_dir=data_dir,
        log_url=log_url,
        store_url=store_url,
        http_port=free_port(),
        mllp_port=-1,
    )


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
