"""`goldenhour` as real processes, for tests and benchmarks that kill, restart or time them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from services.settings import Settings
from tests.conftest import free_port

START_ATTEMPTS = 600  # x 0.1 s for a server to answer /fhir/metadata


def _backend_args(settings: Settings) -> list[str]:
    return [
        "--data-dir",
        str(settings.data_dir),
        "--log",
        settings.log_url,
        "--store",
        settings.store_url,
    ]


def start_serve(settings: Settings, processors: bool = True) -> tuple[subprocess.Popen[bytes], str]:
    """`goldenhour serve` on a free HTTP port (no MLLP); returns it once /fhir/metadata answers."""
    port = free_port()
    env = {
        **os.environ,
        "GOLDENHOUR_RUN_PROCESSORS": "true" if processors else "false",
        # One client at full speed (benchmarks, fault tests): not the traffic the limit is for.
        "GOLDENHOUR_RATE_LIMIT_PER_S": "0",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli",
            "serve",
            *_backend_args(settings),
            "--http-port",
            str(port),
            "--mllp-port",
            "-1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(START_ATTEMPTS):
        try:
            if httpx.get(f"{base}/fhir/metadata", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("goldenhour serve did not come up")


def run_rebuild(settings: Settings, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    """`goldenhour rebuild` on the same backends, to completion."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "rebuild", *_backend_args(settings)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
