"""Stop and start the test run's own Kafka and Cassandra with deploy/local's ctl scripts.

deploy/local/with-servers exports what the scripts need (GH_LOCAL_DIR and the ports);
a test that restarts a server checks that those point at the very servers the run's
GOLDENHOUR_TEST_KAFKA / GOLDENHOUR_TEST_CASSANDRA name, so it never stops someone else's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import servers

REPO = Path(__file__).resolve().parents[2]
CTL_TIMEOUT_S = 240  # ctl waits at most 120 s (Kafka) / 180 s (Cassandra) for readiness


class LocalServer:
    """One deploy/local server (`kafka` or `cassandra`) of this test run."""

    def __init__(self, name: str, port_var: str, address: str) -> None:
        self.name = name
        self._ctl = REPO / "deploy" / "local" / name / "ctl"
        self._check_env(port_var, address)

    def _check_env(self, port_var: str, address: str) -> None:
        port = os.environ.get(port_var)
        problem = None
        if not os.environ.get("GH_LOCAL_DIR") or not port:
            problem = f"GH_LOCAL_DIR and {port_var} are not set"
        elif address.rpartition(":")[2] != port:
            problem = f"{port_var}={port} is not the test server's port ({address})"
        if problem:
            message = (
                f"restarting {self.name} needs the env deploy/local/with-servers exports: {problem}"
            )
            if os.environ.get("GOLDENHOUR_REQUIRE_SERVERS") == "1":
                pytest.fail(message)
            pytest.skip(message)

    def _run(self, command: str) -> float:
        """Run `ctl <command>`; returns the seconds it took."""
        t0 = time.monotonic()
        done = subprocess.run(
            [str(self._ctl), command],
            capture_output=True,
            text=True,
            timeout=CTL_TIMEOUT_S,
            # The readiness probes import kafka-python and cassandra-driver: this python has both.
            env={**os.environ, "PYTHON": sys.executable},
        )
        if done.returncode != 0:
            raise AssertionError(f"{self._ctl} {command} failed:\n{done.stderr[-3000:]}")
        return time.monotonic() - t0

    def stop(self) -> float:
        return self._run("stop")

    def start(self) -> float:
        """Start (a no-op when running) and wait until ready."""
        return self._run("start")


def kafka_server() -> LocalServer:
    return LocalServer("kafka", "KAFKA_PORT", servers.kafka_bootstrap())


def cassandra_server() -> LocalServer:
    host, port = servers.cassandra_contact()
    return LocalServer("cassandra", "CASSANDRA_PORT", f"{host}:{port}")
