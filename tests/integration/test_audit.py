"""The access audit over real HTTP, on each backend pair: a read, a search and a write each
produce a FHIR AuditEvent (valid R4B) naming who (subject, role, site), what (interaction,
resource, patient, query), when, from where (address) and the outcome; refusals are
audited too; AuditEvents are readable at /fhir/AuditEvent by admin only; the audit runs
with auth off as well (no switch); a request whose audit cannot be appended is answered
503, never unaudited."""

from __future__ import annotations

import base64
import contextlib
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from fhir.resources.R4B.auditevent import AuditEvent
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from avro_schemas.catalogue import AUDIT
from eventlog.base import MAX_RECORD_BYTES, EventLog
from kernel.jsontypes import Json
from services.server import Server
from tests.ecg_payloads import ecg_payload
from tests.tokens import bearer

HOSPITAL = "county-hospital"
WAIT_S = 30.0


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


# -- a real audit outage ------------------------------------------------------------------
# The audit topic refuses appends in the backend itself, not in a Python stand-in:
# embedded, a trigger in the log's SQLite file aborts every insert into `audit.access`;
# Kafka, the namespace's `audit.access` topic is set to take no record larger than 64
# bytes (every AccessRecorded is larger, so the broker answers MESSAGE_TOO_LARGE). Every
# other topic keeps working, and the broker is not touched (it is shared by every test).

OUTAGE_TRIGGER = "goldenhour_test_audit_outage"
TINY_BATCH_BYTES = "64"  # smaller than any AccessRecorded record batch


class AuditOutage:
    """Starts and ends a refusal of audit appends by the server's own log backend."""

    def __init__(self, server: Server):
        self.settings = server.settings

    def start(self) -> None:
        if self.settings.log_url.startswith("kafka://"):
            self._topic_configs({"retention.ms": "-1", "max.message.bytes": TINY_BATCH_BYTES})
        else:
            with self._sqlite() as conn:
                conn.execute(
                    f"CREATE TRIGGER {OUTAGE_TRIGGER} BEFORE INSERT ON records "
                    f"WHEN NEW.topic = '{AUDIT}' BEGIN SELECT RAISE(ABORT, 'audit down'); END"
                )

    def end(self) -> None:
        if self.settings.log_url.startswith("kafka://"):
            # the configs ensure_topics set (eventlog/kafka/admin.py)
            self._topic_configs({"retention.ms": "-1", "max.message.bytes": str(MAX_RECORD_BYTES)})
        else:
            with self._sqlite() as conn:
                conn.execute(f"DROP TRIGGER IF EXISTS {OUTAGE_TRIGGER}")

    def _sqlite(self) -> contextlib.closing[sqlite3.Connection]:
        path = self.settings.data_dir / "log.sqlite"
        return contextlib.closing(sqlite3.connect(path, isolation_level=None, timeout=WAIT_S))

    def _topic_configs(self, configs: dict[str, str]) -> None:
        url = urlparse(self.settings.log_url)
        namespace = parse_qs(url.query).get("namespace", [""])[0]
        admin = KafkaAdminClient(bootstrap_servers=url.netloc, client_id="test-audit-outage")
        try:
            resource = ConfigResource(ConfigResourceType.TOPIC, namespace + AUDIT, configs)
            admin.alter_configs([resource])
        finally:
            admin.close()


def get(client: httpx.Client, path: str, answers: Counter[int]) -> httpx.Response:
    """GET `path`, counting the answer's status in `answers`."""
    resp = client.get(path)
    answers[resp.status_code] += 1
    return resp


def read_until(
    client: httpx.Client, path: str, status: int, what: str, answers: Counter[int]
) -> httpx.Response:
    """GET `path` until it answers `status` (a topic config reaches the broker's log a
    moment after it is altered); fails saying `what` never happened."""
    deadline = time.monotonic() + WAIT_S
    while (resp := get(client, path, answers)).status_code != status:
        assert time.monotonic() < deadline, f"{what}; last: {resp.status_code} {resp.text[:200]}"
        time.sleep(0.1)
    return resp


def audited_statuses(server: Server, path: str) -> Counter[int]:
    """The statuses of the AccessRecorded events of `path` in the audit topic."""
    events = [server.system.codec.decode(r.value)[1] for r in all_records(server.system.log)]
    return Counter(int(e["status"]) for e in events if e["path"] == path)


def hold_back_during_an_outage(
    client: httpx.Client, server: Server, answers: Counter[int]
) -> tuple[str, AuditOutage]:
    """A readable Patient, then an audit outage (started, and left on): its reads are held
    back as 503 OperationOutcomes that leak nothing; public routes still answer."""
    outage = AuditOutage(server)
    sent = client.post("/ingest/ecg", json=ecg_payload())
    assert sent.status_code == 202, sent.text
    path = f"/fhir/{sent.json()['patient']}"
    read_until(client, path, 200, "the ECG's Patient was never readable", answers)
    outage.start()
    held = read_until(client, path, 503, "the outage never held an answer back", answers)
    for resp in (held, get(client, path, answers)):
        assert resp.status_code == 503, resp.text
        outcome = resp.json()
        assert outcome["resourceType"] == "OperationOutcome", outcome
        assert outcome["issue"][0]["code"] == "transient", outcome
        assert "王" not in resp.text and "Patient" not in resp.text  # nothing leaked
        assert resp.headers["Retry-After"] == "1"
    assert client.get("/healthz").status_code == 200  # public: not audited, answered
    return path, outage


def assert_audited_exactly_what_went_out(server: Server, path: str, answers: Counter[int]) -> None:
    """Every answer that went out is in the audit once; none of the 503s (held back) is."""
    sent_out = Counter({status: n for status, n in answers.items() if status != 503})
    assert answers[503] >= 2 and audited_statuses(server, path) == sent_out


def test_an_access_that_cannot_be_audited_is_not_answered(server: Server) -> None:
    answers: Counter[int] = Counter()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        path, outage = hold_back_during_an_outage(client, server, answers)
        outage.end()
    assert_audited_exactly_what_went_out(server, path, answers)


def test_answers_resume_once_the_audit_log_takes_appends_again(server: Server) -> None:
    answers: Counter[int] = Counter()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        path, outage = hold_back_during_an_outage(client, server, answers)
        outage.end()
        read_until(client, path, 200, "reads never came back after the outage", answers)
    assert_audited_exactly_what_went_out(server, path, answers)


def test_each_ecg_submission_is_audited_exactly_once_with_its_answer(server: Server) -> None:
    # An accepted ECG's record is durable in the ECG's own commit; a resend (a new request,
    # nothing new stored) likewise; a refused body is recorded by the middleware. Each
    # exactly once, none lost, none doubled.
    path, answers = "/ingest/ecg", Counter[int]()
    body = ecg_payload()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for sent in (body, body, {"not": "an ECG"}):
            answers[client.post(path, json=sent).status_code] += 1
    assert answers == Counter({202: 2, 422: 1})
    assert audited_statuses(server, path) == answers
