"""The regional read queue over real HTTP, on each backend pair: ordering by class, claims
by many concurrent readers, leases, escalation, and the signed report as FHIR."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.task import Task

from avro_schemas.catalogue import READING
from services.reading.queue import sweep
from services.server import Server
from tests.ecg_payloads import ecg_payload
from tests.integration.test_ecg_slice import wait_for

CLAIMERS = 24
WAIT_S = 30.0  # a ceiling for the processors to fold what was sent, not a timing assertion


@pytest.fixture
def client(server: Server) -> httpx.Client:
    with httpx.Client(base_url=server.base_url, timeout=60) as c:
        yield c  # type: ignore[misc]


def submit(client: httpx.Client, urgency: str) -> str:
    body = ecg_payload(urgency=urgency)
    assert client.post("/ingest/ecg", json=body).status_code == 202
    return str(body["ecg_id"])


def wait_until(what: str, probe: Callable[[], Any], ready: Callable[[Any], bool]) -> Any:
    """`probe()`'s first answer that is `ready`; fails naming `what` never happened (and
    the last answer) after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while True:
        seen = probe()
        if ready(seen):
            return seen
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} within {WAIT_S:g} s; last seen: {str(seen)[:500]}")
        time.sleep(0.1)


def queue(client: httpx.Client) -> list[dict[str, Any]]:
    resp = client.get("/reading/queue")
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def queue_ids(client: httpx.Client, expect: int) -> list[str]:
    items = wait_until(
        f"the read queue never held {expect} items",
        lambda: queue(client),
        lambda q: len(q) >= expect,
    )
    return [i["ecg_id"] for i in items]


def test_queue_orders_by_class_then_due_time(client: httpx.Client) -> None:
    routine, stat, urgent = (
        submit(client, "routine"),
        submit(client, "stat"),
        submit(client, "urgent"),
    )
    assert queue_ids(client, 3) == [stat, urgent, routine]
    item = client.get("/reading/queue").json()[0]
    assert item["triage_class"] == "critical" and item["available"] and not item["overdue"]
    task = Task.model_validate(wait_for(client, f"/fhir/{item['task']}").json())
    assert task.priority == "stat" and task.status == "requested"


def test_concurrent_claimers_never_share_an_ecg(client: httpx.Client) -> None:
    ecgs = [submit(client, "urgent") for _ in range(3)]
    queue_ids(client, 3)

    def claim(n: int) -> tuple[int, dict[str, Any]]:
        resp = client.post("/reading/claims", json={"reader_id": f"dr-{n:02d}"})
        return resp.status_code, resp.json()

    with ThreadPoolExecutor(CLAIMERS) as pool:
        results = list(pool.map(claim, range(CLAIMERS)))
    won = [body for status, body in results if status == 200]
    assert sorted(b["ecg_id"] for b in won) == sorted(ecgs)  # each ECG exactly one winner
    assert all(status in (200, 409) for status, _ in results)
    for b in won:
        assert client.get("/reading/queue").json()  # still listed (claimed, not reported)
        task = wait_for(client, f"/fhir/{b['task']}").json()
        assert task["owner"]["identifier"]["value"] == b["holder"]


def test_concurrent_claims_of_one_ecg_have_one_winner(client: httpx.Client) -> None:
    ecg = submit(client, "stat")
    queue_ids(client, 1)
    with ThreadPoolExecutor(CLAIMERS) as pool:
        statuses = list(
            pool.map(
                lambda n: (
                    client.post(
                        "/reading/claims", json={"reader_id": f"dr-{n}", "ecg_id": ecg}
                    ).status_code
                ),
                range(CLAIMERS),
            )
        )
    assert statuses.count(200) == 1 and statuses.count(409) == CLAIMERS - 1


def test_expired_lease_returns_the_item_and_overdue_escalates_once(
    client: httpx.Client, server: Server
) -> None:
    ecg = submit(client, "stat")
    queue_ids(client, 1)
    assert (
        client.post("/reading/claims", json={"reader_id": "dr-li", "ecg_id": ecg}).status_code
        == 200
    )
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)
    assert sweep(server.system, later) == {"escalated": 1, "expired": 1}
    sweep(server.system, later)
    escalations = [
        r
        for p in range(server.system.log.partition_count(READING))
        for r in server.system.log.read(READING, p, 0)
        if r.event_id == f"escalate:{ecg}"
    ]
    assert len(escalations) == 1
    item = wait_until(
        f"{ecg} was never back in the queue, escalated and unheld",
        lambda: queue(client)[0],
        lambda i: i["escalated"] and i["status"] == "queued",
    )
    assert item["ecg_id"] == ecg and item["holder"] == ""
    assert (
        client.post("/reading/claims", json={"reader_id": "dr-zhang"}).json()["holder"]
        == "dr-zhang"
    )


def test_signed_report_becomes_a_final_diagnostic_report(client: httpx.Client) -> None:
    body = ecg_payload(urgency="stat", st_uv=250)
    assert client.post("/ingest/ecg", json=body).status_code == 202
    ecg = body["ecg_id"]
    wait_until(
        f"the automatic measurement of {ecg} never reached its queue item",
        lambda: queue(client),
        lambda q: bool(q) and q[0]["ecg_id"] == ecg and bool(q[0]["measurements"]),
    )
    claimed = client.post("/reading/claims", json={"reader_id": "dr-li"}).json()
    assert claimed["ecg_id"] == ecg
    stray = client.post(
        f"/reading/ecg/{ecg}/report", json={"reader_id": "dr-zhang", "interpretation": "x"}
    )
    assert stray.status_code == 409 and stray.json()["resourceType"] == "OperationOutcome"
    signed = client.post(
        f"/reading/ecg/{ecg}/report",
        json={
            "reader_id": "dr-li",
            "interpretation": "Acute inferior STEMI. Activate cath lab.",
            "codes": [
                {
                    "system": "http://snomed.info/sct",
                    "code": "401303003",
                    "display": "Acute ST segment elevation myocardial infarction",
                }
            ],
        },
    )
    assert signed.status_code == 200, signed.text
    report = DiagnosticReport.model_validate(
        wait_for(client, f"/fhir/{signed.json()['report']}").json()
    )
    assert report.status == "final" and report.conclusion.startswith("Acute inferior STEMI")
    assert report.resultsInterpreter[0].identifier.value == "dr-li"
    assert report.subject.reference == claimed["patient_ref"]
    measured = Observation.model_validate(
        wait_for(client, f"/fhir/{report.result[1].reference}").json()
    )
    assert measured.derivedFrom[0].reference == report.result[0].reference
    values = {c.code.coding[0].code: float(c.valueQuantity.value) for c in measured.component}
    assert abs(values["8867-4"] - 75) <= 3  # heart rate, LOINC, measured from the waveform
    assert values["131330"] > 150  # ST deviation in lead II (MDC code) of this inferior STEMI
    request = wait_for(client, f"/fhir/{report.basedOn[0].reference}").json()
    assert request["status"] == "completed"
    assert client.get("/reading/queue").json() == []


def test_the_ecg_page_shows_the_automatic_reasons_in_the_readers_language(
    client: httpx.Client,
) -> None:
    """The triage's reasons are stored in English (the record: the queue's JSON, FHIR and
    HL7 keep it); the reader's ECG page shows them in Chinese by default, English on asking."""
    body = ecg_payload(urgency="stat", st_uv=250)
    assert client.post("/ingest/ecg", json=body).status_code == 202
    ecg = body["ecg_id"]

    def stemi(item: dict[str, Any] | None) -> str | None:
        found = [r for r in (item or {}).get("reasons", []) if r.startswith("critical: ST ele")]
        return found[0] if found else None

    item = wait_until(
        f"the ST elevation of {ecg} in its queue item's reasons",
        lambda: next((i for i in queue(client) if i["ecg_id"] == ecg), None),
        lambda i: stemi(i) is not None,
    )
    stored = stemi(item)
    assert stored and "(inferior)" in stored and " uV" in stored  # the English record
    # The page waits for the waveform's FHIR Observation ("still being stored"), folded by
    # another processor than the queue's reasons.
    zh = wait_until(
        f"the ECG page of {ecg} past its waveform-arriving page",
        lambda: client.get(f"/reading/ecg/{ecg}", headers={"Accept-Language": "zh-CN"}).text,
        lambda page: '<ul class="reasons">' in page,
    )
    shown = re.search(r'<ul class="reasons">(.*?)</ul>', zh, re.DOTALL)
    assert shown, zh[:500]
    assert "危急：相邻导联 II, III, aVF（下壁）J点 ST 段抬高" in shown[1]
    assert "µV" in shown[1] and "送检方：立即" in shown[1]
    assert "ST elevation" not in shown[1] and "sender" not in shown[1]
    # The report form's statement: labelled in Chinese, its value (what a signature keeps)
    # the English statement.
    assert re.search(r'name="confirmed" value="ST elevation at the J point[^"]*"> 相邻导联', zh)
    en = client.get(f"/reading/ecg/{ecg}", headers={"Accept-Language": "en"}).text
    assert f"<li>{stored}</li>" in en
