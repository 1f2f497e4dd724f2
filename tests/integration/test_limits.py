"""Limits of the HTTP API over real HTTP, on each backend pair: request body size (413),
rate per client (429 with Retry-After), batch size (422); every refusal an OperationOutcome,
and ordinary traffic under the default limits untouched. The MLLP frame limit is tested in
tests/unit/test_mllp_framing.py and tests/integration/test_mllp_intake.py."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from services.ingest.tablet_models import MAX_BATCH
from services.limits import TokenBuckets
from services.server import Server
from services.simulate.ecg_synth import synth_ecg
from tests.ecg_payloads import ecg_payload

SMALL_LIMIT = 64 * 1024  # bytes; small enough for a test to cross cheaply


def raw_request(
    server: Server, head: str, body_parts: Sequence[bytes] = ()
) -> tuple[int, dict[str, str], Any]:
    """Send a request byte by byte as written (what httpx would not: a Content-Length the
    body never matches, chunks); (status, headers, JSON body) of the answer."""
    url = urlsplit(server.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        for part in body_parts:
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered and closed before taking the rest: fine
        return _read_response(sock)


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], Any]:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, json.loads(body[:length])


def assert_outcome(body: Any, code: str) -> None:
    assert body["resourceType"] == "OperationOutcome", body
    assert body["issue"][0]["code"] == code, body


def test_body_over_the_limit_with_content_length__is_413_before_the_body_is_sent(
    make_server: Callable[..., Server],
) -> None:
    server = make_server(max_body_bytes=SMALL_LIMIT)
    head = (
        "POST /ingest/ecg HTTP/1.1\nHost: test\nContent-Type: application/json\n"
        f"Content-Length: {10**9}\n"
    )
    status, headers, body = raw_request(server, head)  # not a byte of the 1 GB body sent
    assert status == 413
    assert headers["content-type"] == "application/fhir+json"
    assert_outcome(body, "too-costly")


def test_chunked_body_over_the_limit__is_413(make_server: Callable[..., Server]) -> None:
    server = make_server(max_body_bytes=SMALL_LIMIT)
    chunk = b"[" + b"1," * 8000 + b"1]"  # 16 KB of JSON per chunk
    parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 8 + [b"0\r\n\r\n"]
    for path in ("/ingest/ecg", "/reading/claims"):  # our body reader and FastAPI's
        head = (
            f"POST {path} HTTP/1.1\nHost: test\nContent-Type: application/json\n"
            "Transfer-Encoding: chunked\n"
        )
        status, _, body = raw_request(server, head, parts)
        assert status == 413, (path, body)
        assert_outcome(body, "too-costly")


def test_body_under_the_limit__is_validated_as_usual(make_server: Callable[..., Server]) -> None:
    server = make_server(max_body_bytes=SMALL_LIMIT)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        chunks = (b'{"not": "an ecg"}'[i : i + 5] for i in range(0, 17, 5))  # chunked, small
        answer = client.post(
            "/ingest/ecg", content=chunks, headers={"content-type": "application/json"}
        )
    assert answer.status_code == 422
    assert_outcome(answer.json(), "invalid")


def test_default_limit__takes_a_60_second_12_lead_ecg(server: Server) -> None:
    body = ecg_payload()
    body["leads"] = synth_ecg(heart_rate_bpm=75, seconds=60, rate_hz=500, st_elevation_uv=0, seed=3)
    content = json.dumps(body).encode()
    assert len(content) > 1_000_000  # about 1.5 MB
    answer = httpx.post(
        f"{server.base_url}/ingest/ecg",
        content=content,
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert answer.status_code == 202, answer.text


def test_rate_limit__answers_429_with_retry_after_past_the_burst_then_recovers(
    make_server: Callable[..., Server],
) -> None:
    server = make_server(rate_limit_per_s=2, rate_limit_burst=5)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        answers = [client.get("/fhir/metadata") for _ in range(8)]
        codes = [a.status_code for a in answers]
        assert codes[:5] == [200] * 5 and 429 in codes[5:], codes
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.headers["content-type"] == "application/fhir+json"
        assert_outcome(refused.json(), "throttled")
        wait_s = int(refused.headers["Retry-After"])
        assert 1 <= wait_s <= 2
        time.sleep(wait_s)
        assert client.get("/fhir/metadata").status_code == 200


def test_default_limits__leave_ordinary_traffic_alone(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        codes = {client.get("/reading/queue").status_code for _ in range(150)}
        accepted = client.post("/ingest/ecg", json=ecg_payload())
    assert codes == {200}
    assert accepted.status_code == 202, accepted.text


def _position(i: int) -> dict[str, Any]:
    return {
        "event_id": f"fix-{i}",
        "unit_id": "amb-07",
        "station_id": "station-1",
        "occurred_at": "2026-11-23T09:45:00+08:00",
        "latitude": 34.27,
        "longitude": 108.95,
    }


def test_batches__of_max_batch_are_taken_and_one_more_is_422(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        full = client.post(
            "/ingest/positions", json={"positions": [_position(i) for i in range(MAX_BATCH)]}
        )
        over = client.post(
            "/ingest/positions", json={"positions": [_position(i) for i in range(MAX_BATCH + 1)]}
        )
        events = [
            {
                "type": "UnitStatusChanged",
                "event_id": f"e-{i}",
                "occurred_at": "2026-11-23T09:41:30+08:00",
                "unit_id": "amb-07",
                "status": "EN_ROUTE",
            }
            for i in range(MAX_BATCH + 1)
        ]
        too_many = client.post(
            "/ingest/incidents/inc-limits/events", json={"expected_version": 0, "events": events}
        )
    assert full.status_code == 202 and full.json()["accepted"] == MAX_BATCH, full.text
    for answer in (over, too_many):
        assert answer.status_code == 422, answer.text
        assert_outcome(answer.json(), "invalid")
        issue = answer.json()["issue"][0]
        assert f"at most {MAX_BATCH}" in issue["diagnostics"], issue


def test_token_buckets__refill_at_the_rate_up_to_the_burst() -> None:
    buckets = TokenBuckets(rate_per_s=2, burst=3)
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", 0.0) == 0.5  # the next token is half a second away
    assert buckets.take("b", 0.0) == 0.0  # another client has its own bucket
    assert buckets.take("a", 0.5) == 0.0
    assert [buckets.take("a", 100.0) for _ in range(4)][-1] > 0  # refill stops at the burst


def test_token_buckets__forget_the_least_recent_client_beyond_max_clients() -> None:
    buckets = TokenBuckets(rate_per_s=1, burst=1, max_clients=2)
    buckets.take("a", 0.0)
    buckets.take("b", 0.0)
    buckets.take("c", 0.0)  # "a" is forgotten: it comes back with a full bucket
    assert buckets.take("a", 0.0) == 0.0
    assert buckets.take("c", 0.0) > 0
