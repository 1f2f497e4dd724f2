"""Operations on each backend pair: health, readiness, Prometheus metrics from the log and
views, and a dead letter listed and replayed (once)."""

from __future__ import annotations

import re
import time

import httpx

from avro_schemas.catalogue import INCIDENT
from eventlog.base import NewRecord
from services.ops.dead_letters import dead_letters, replay
from services.server import Server
from tests.ecg_payloads import ecg_payload

WAIT_S = 30


def metric(text: str, name: str, **labels: str) -> float:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    found = re.search(rf"^{name}\{{{re.escape(inner)}\}} (\S+)$", text, re.M)
    assert found, f"{name}{{{inner}}} not in metrics"
    return float(found.group(1))


def test_health_readiness_and_metrics(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {
            "ready": True,
            "log": "ok",
            "store": "ok",
            "disk": "ok",
            "processors": "ok",
        }
        assert client.post("/ingest/ecg", json=ecg_payload(urgency="stat")).status_code == 202
        deadline = time.monotonic() + WAIT_S
        while True:
            resp = client.get("/metrics")
            text = resp.text
            folded = (
                metric(
                    text,
                    "goldenhour_consumer_lag",
                    processor="diagnosis-queue",
                    topic="diagnosis.reading",
                )
                == 0
            )
            if (
                folded
                and metric(text, "goldenhour_read_queue_depth", centre="county-ecg-centre") == 1
            ):
                break
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
        assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert metric(text, "goldenhour_log_end_offset", topic="clinic.ecg") == 1
        assert metric(text, "goldenhour_read_queue_overdue", centre="county-ecg-centre") == 0
        assert "# TYPE goldenhour_consumer_lag gauge" in text


def test_a_dead_letter_is_listed_and_replayed_once(server: Server) -> None:
    system = server.system
    system.log.append(INCIDENT, [NewRecord("inc-poison", b"not avro", "poison-1")])
    deadline = time.monotonic() + WAIT_S
    while not (letters := dead_letters(system.log, system.codec, INCIDENT)):
        assert time.monotonic() < deadline, "no dead letter"
        time.sleep(0.2)
    assert "inc-poison" in letters[0].summary() or letters[0].letter["key"] == "inc-poison"
    assert "UndecodableEvent" in letters[0].letter["reason"]
    first = replay(system.log, letters[0])
    again = replay(system.log, letters[0])
    assert not first.duplicate and again.duplicate
    assert [r.value for r in system.log.key_records(INCIDENT, "inc-poison")] == [b"not avro"] * 2
