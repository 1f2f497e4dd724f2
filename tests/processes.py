"""`goldenhour` as real processes, for tests and benchmarks that kill, restart or time them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

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


def start_serve(
    settings: Settings,
    processors: bool = True,
    env: dict[str, str] | None = None,
    output: Path | None = None,
    mllp_port: int = -1,
) -> tuple[subprocess.Popen[bytes], str]:
    """`goldenhour serve` on a free HTTP port (MLLP on `mllp_port`; -1: none); returns it once
    /fhir/metadata answers. `env`: more GOLDENHOUR_* settings (e.g. GOLDENHOUR_PROCESSORS);
    `output`: a file that gets the process's stdout and stderr (appended, so restarts of one
    role share a file)."""
    port = free_port()
    env = {
        **os.environ,
        "GOLDENHOUR_RUN_PROCESSORS": "true" if processors else "false",
        # One client at full speed (benchmarks, fault tests): not the traffic the limit is for.
        "GOLDENHOUR_RATE_LIMIT_PER_S": "0",
        **(env or {}),
    }
    sink = open(output, "ab") if output else None  # noqa: SIM115 (closed once the child has it)
    try:
        proc = _popen_serve(settings, (port, mllp_port), env, sink)
    finally:
        if sink:
            sink.close()
    base = f"http://127.0.0.1:{port}"
    for _ in range(START_ATTEMPTS):
        try:
            if httpx.get(f"{base}/fhir/metadata", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(
        f"goldenhour serve did not come up (exit {proc.poll()})"
        + (f"; see {output}" if output else "")
    )


@contextmanager
def serving(
    settings: Settings, processors: bool = True, output: Path | None = None
) -> Iterator[str]:
    """`start_serve` for the length of a `with` block, which gets its base URL; the process
    is stopped (SIGTERM, as an operator would) when the block ends, however it ends."""
    proc, base = start_serve(settings, processors=processors, output=output)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _popen_serve(
    settings: Settings, ports: tuple[int, int], env: dict[str, str], sink: IO[bytes] | None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli",
            "serve",
            *_backend_args(settings),
            "--http-port",
            str(ports[0]),
            "--mllp-port",
            str(ports[1]),
        ],
        env=env,
        stdout=sink or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if sink else subprocess.DEVNULL,
    )


def run_rebuild(settings: Settings, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    """`goldenhour rebuild` on the same backends, to completion."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "rebuild", *_backend_args(settings)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
