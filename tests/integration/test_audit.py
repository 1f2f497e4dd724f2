"""The access audit over real HTTP, on each backend pair: a read, a search and a write each
produce a FHIR AuditEvent (valid R4B) naming who (subject, role, site), what (interaction,
resource, patient, query), when, from where (address) and the outcome; refusals are
audited too; AuditEvents are readable at /fhir/AuditEvent by admin only; the audit runs
with auth off as well (no switch); a request whose audit cannot be appended is answered
503, never unaudited."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.auditevent import AuditEvent

from avro_schemas.catalogue import AUDIT
from eventlog.base import EventLog
from services.auth.principal import DEFAULT_SCOPES
from services.auth.tokens import mint_dev
from services.server import Server
from tests.ecg_payloads import ecg_payload

Json = dict[str, Any]
HOSPITAL = "county-hospital"
WAIT_S = 30.0


def bearer(server: Server, role: str, site: str, subject: str) -> dict[str, str]:
    value = mint_dev(server.settings, subject, role, site, DEFAULT_SCOPES[role])
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def secured(make_server: Callable[..., Server]) -> Server:
    return make_server(auth_required=True, auth_dev_issuer=True)


def audit_events(client: httpx.Client, headers: dict[str, str], query: str) -> list[Json]:
    resp = client.get(f"/fhir/AuditEvent?{query}&_count=500", headers=headers)
    assert resp.status_code == 200, resp.text
    return [e["resource"] for e in resp.json().get("entry", [])]


def wait_for(
    client: httpx.Client, headers: dict[str, str], query: str, test: Callable[[Json], bool]
) -> Json:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = [e for e in audit_events(client, headers, query) if test(e)]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no AuditEvent for {query}")


def subtype(event: Json) -> str:
    return str(event["subtype"][0]["code"])


def agent(event: Json) -> Json:
    return event["agent"][0]  # type: ignore[no-any-return]


def test_read_search_and_write_are_audited_and_only_admin_reads_the_audit(
    secured: Server,
) -> None:
    admin = bearer(secured, "admin", "", "auditor-1")
    clinic = bearer(secured, "clinic", "clinic-baiyang", "nurse-zhang")
    hospital = bearer(secured, "hospital", HOSPITAL, "dr-wu")
    with httpx.Client(base_url=secured.base_url, timeout=30) as client:
        write = client.post("/ingest/ecg", json=ecg_payload(), headers=clinic)
        assert write.status_code == 202, write.text
        patient = write.json()["patient"]
        assert (
            client.get(f"/fhir/Observation?patient={patient}", headers=hospital).status_code == 200
        )
        read = client.get("/fhir/Observation/o-unknown", headers=hospital)
        assert read.status_code == 404
        refused = client.get("/fhir/_history", headers=hospital)
        assert refused.status_code == 403

        created = wait_for(client, admin, "agent=nurse-zhang", lambda e: subtype(e) == "create")
        assert agent(created)["role"][0]["coding"][0]["code"] == "clinic"
        assert agent(created)["location"]["identifier"]["value"] == "clinic-baiyang"
        assert agent(created)["network"]["address"] == "127.0.0.1"
        assert created["outcome"] == "0" and created["action"] == "C"
        assert "POST /ingest/ecg: 202" in created["outcomeDesc"]

        searched = wait_for(client, admin, "agent=dr-wu", lambda e: subtype(e) == "search-type")
        entities = searched["entity"]
        assert {"reference": patient} in [e.get("what") for e in entities]
        query = next(e["query"] for e in entities if "query" in e)
        assert base64.b64decode(query).decode() == f"patient={patient}"
        by_patient = audit_events(client, admin, f"entity={patient}")
        assert searched["id"] in {e["id"] for e in by_patient}

        read_event = wait_for(client, admin, "agent=dr-wu", lambda e: subtype(e) == "read")
        assert read_event["outcome"] == "4" and "404" in read_event["outcomeDesc"]
        assert read_event["entity"][0]["what"]["reference"] == "Observation/o-unknown"

        denial = wait_for(client, admin, "agent=dr-wu", lambda e: subtype(e) == "history-system")
        assert denial["outcome"] == "4" and "403" in denial["outcomeDesc"]

        for event in (created, searched, read_event, denial):
            AuditEvent.model_validate(event)
            assert event["recorded"] and event["type"]["code"] == "rest"
        dated = audit_events(client, admin, f"agent=dr-wu&date=ge{searched['recorded'][:10]}")
        assert searched["id"] in {e["id"] for e in dated}
        assert not audit_events(client, admin, "agent=dr-wu&date=lt2000-01-01")

        assert client.get(f"/fhir/AuditEvent/{created['id']}", headers=admin).status_code == 200
        for headers in (clinic, hospital, bearer(secured, "reader", "county-ecg-centre", "r")):
            assert client.get("/fhir/AuditEvent?agent=dr-wu", headers=headers).status_code == 403
            assert (
                client.get(f"/fhir/AuditEvent/{created['id']}", headers=headers).status_code == 403
            )
        assert client.get("/fhir/AuditEvent?agent=dr-wu").status_code == 401


def test_audit_runs_with_auth_off_too(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert client.get("/fhir/Patient/p-x").status_code == 404
        event = wait_for(client, {}, "agent=anonymous", lambda e: subtype(e) == "read")
        assert event["entity"][0]["what"]["reference"] == "Patient/p-x"
        assert client.get("/healthz").status_code == 200  # public: not audited
    names = [r.key for r in all_records(server.system.log)]
    assert names and set(names) == {"anonymous"}


def all_records(log: EventLog) -> list[Any]:
    out = []
    for tp, end in log.end_offsets(AUDIT).items():
        out += log.read(AUDIT, tp.partition, 0, end)
    return out


class _Refusing:
    """A log whose audit topic refuses appends (every other topic works)."""

    def __init__(self, log: EventLog):
        self._log = log

    def append(self, topic: str, records: Any) -> Any:
        if topic == AUDIT:
            raise RuntimeError("audit topic unavailable")
        return self._log.append(topic, records)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)


def test_an_access_that_cannot_be_audited_is_not_answered(server: Server) -> None:
    real = server.system.log
    server.system.log = _Refusing(real)  # type: ignore[assignment]
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            resp = client.get("/fhir/Patient/p-y")
            assert resp.status_code == 503
            assert resp.json()["resourceType"] == "OperationOutcome"
            assert client.get("/healthz").status_code == 200
    finally:
        server.system.log = real
