"""Issue 11, item 5, over real HTTP: input nested absurdly deep, and a full disk, are
answered with an OperationOutcome (400; 503 with Retry-After and /readyz false), never a
plain 500 or a RecursionError.

The full disk is a real one: the data dir lives on a 16 MiB tmpfs that the test fills with
a file until the kernel says ENOSPC (needs root, i.e. CAP_SYS_ADMIN for `mount`; skipped
otherwise). It is the embedded backends' failure: a Kafka broker or Cassandra node out of
disk answers the client library with an error that becomes the same 503 (LogUnavailable).
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from services.server import Server
from services.settings import Settings
from tests.conftest import free_port
from tests.ecg_payloads import ecg_payload

DEPTH = 10_000
JSON_ROUTES = [
    "/fhir/Subscription",
    "/fhir/Patient/$merge",
    "/ingest/ecg",
    "/ingest/incidents/inc-deep/events",
    "/ingest/positions",
    "/reading/claims",
    "/board/county-hospital/incidents/inc-deep/accept",
]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * DEPTH + "]" * DEPTH, id="arrays"),
        pytest.param('{"a":' * DEPTH + "1" + "}" * DEPTH, id="objects"),
    ],
)
def test_json_nested_10000_deep_is_a_400_outcome_on_every_json_route(
    make_server: Callable[..., Server], body: str
) -> None:
    server = make_server(rate_limit_per_s=0)
    for path in JSON_ROUTES:
        answer = httpx.post(
            server.base_url + path,
            content=body.encode(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert answer.status_code == 400, (path, answer.status_code, answer.text[:200])
        assert answer.json()["resourceType"] == "OperationOutcome", path
    assert httpx.get(server.base_url + "/healthz").status_code == 200


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tiny"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the file system is full; its path (delete it to free the space)."""
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb") as out:
        with contextlib.suppress(OSError):
            while True:
                out.write(chunk)
                out.flush()
        with contextlib.suppress(OSError):
            os.fsync(out.fileno())
    with pytest.raises(OSError) as full:
        (directory / "probe").write_bytes(chunk)
    assert full.value.errno == errno.ENOSPC
    return filler


def test_disk_full__writes_answer_503_with_retry_after_and_readyz_is_false_until_freed(
    tiny_disk: Path,
) -> None:
    settings = Settings(
        data_dir=tiny_disk / "data",
        http_port=free_port(),
        mllp_port=-1,
        run_processors=False,  # the HTTP write path is what is probed
        rate_limit_per_s=0,
        min_free_disk_bytes=512 * 1024,
    )
    server = Server(settings)
    server.start()
    try:
        client = httpx.Client(base_url=server.base_url, timeout=30)
        assert client.get("/readyz").status_code == 200
        assert client.post("/ingest/ecg", json=ecg_payload()).status_code == 202
        filler = fill(tiny_disk)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["ready"] is False and ready.json()["disk"].startswith("full")
        refused = [client.post("/ingest/ecg", json=ecg_payload()) for _ in range(3)]
        for answer in refused:
            assert answer.status_code == 503, answer.text[:300]
            assert answer.json()["resourceType"] == "OperationOutcome"
            assert int(answer.headers["Retry-After"]) >= 1
        filler.unlink()
        assert client.get("/readyz").status_code == 200
        assert client.post("/ingest/ecg", json=ecg_payload()).status_code == 202
    finally:
        server.stop()
