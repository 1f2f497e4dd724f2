"""Poison never blocks; a rebuild from offset zero reproduces the views."""

from __future__ import annotations

import time

import httpx

from avro_schemas.catalogue import CLINIC_ECG, DEAD_LETTER, dlq_topic
from avro_schemas.codec import MAGIC
from eventlog.base import NewRecord
from services.server import Server
from services.settings import Settings
from tests.ecg_payloads import ecg_payload
from tests.integration.test_ecg_slice import wait_for
from tests.processes import run_rebuild
from viewstore.base import StoredResource


def dead_letters(server: Server) -> list[dict]:  # type: ignore[type-arg]
    log = server.system.log
    out = []
    for p in range(log.partition_count(dlq_topic(CLINIC_ECG))):
        for r in log.read(dlq_topic(CLINIC_ECG), p, 0):
            name, letter = server.system.codec.decode(r.value)
            assert name == DEAD_LETTER
            out.append(letter)
    return out


def test_unknown_fingerprint_goes_to_dead_letter_and_processor_goes_on(server: Server) -> None:
    poison = MAGIC + bytes(8) + b"\x00garbage"
    server.system.log.append(CLINIC_ECG, [NewRecord("ecg-poison", poison, "poison-1")])
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        answer = client.post("/ingest/ecg", json=ecg_payload(ecg_id="ecg-poison")).json()
        wait_for(client, f"/fhir/{answer['observation']}")
    for _ in range(100):  # every processor of clinic.ecg dead-letters it, once each
        letters = dead_letters(server)
        if len(letters) == 2:
            break
        time.sleep(0.1)
    assert sorted(x["processor"] for x in letters) == ["ecg-measurer", "fhir-projector"]
    for letter in letters:
        assert "unknown writer schema fingerprint 0000000000000000" in letter["reason"]
        assert letter["source_topic"] == CLINIC_ECG and letter["value"] == poison


def dump(settings: Settings) -> list[StoredResource]:
    from services.system import bootstrap

    system = bootstrap(settings.model_copy(update={"run_processors": False}))
    try:
        return list(system.store.scan())
    finally:
        system.close()


def latest(dumped: list[StoredResource]) -> dict[tuple[str, str], bytes]:
    return {(r.resource_type, r.id): r.body for r in dumped}  # scan is version-ordered


def test_rebuild_from_offset_zero_gives_identical_views(settings: Settings) -> None:
    server = Server(settings)
    server.start()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        answers = [client.post("/ingest/ecg", json=ecg_payload(seed=i)).json() for i in range(6)]
        answers += [
            client.post("/ingest/ecg", json=ecg_payload(resident="110105198001011238")).json()
        ]
        for a in answers:
            wait_for(client, f"/fhir/{a['observation']}")
        wait_for(client, f"/fhir/{answers[0]['patient']}", version="6")
    for _ in range(300):  # bounded: a stuck processor fails the test instead of hanging it
        if server.system.lag() == 0:
            break
        time.sleep(0.1)
    assert server.system.lag() == 0
    server.stop()
    before = dump(settings)

    done = run_rebuild(settings)
    assert done.returncode == 0, done.stderr
    assert "7/7 events" in done.stderr
    after = dump(settings)

    assert latest(after) == latest(before)
    # Everything but the surveillance counts (a day's ECG classes, summed over every ECG) is
    # fed by one key's ordered stream, Patients too (their facts re-keyed to patient.facts):
    # whole history identical.
    many_keys = ("SurveillanceCounts",)
    single_key = lambda d: [r for r in d if r.resource_type not in many_keys]  # noqa: E731
    assert single_key(after) == single_key(before)
    # Every HTTP call above was audited (an AuditEvent each, identical after the rebuild too).
    audited = sum(r.resource_type == "AuditEvent" for r in after)
    assert audited >= len(answers)
    kinds = sorted({r.resource_type for r in after} - {"AuditEvent"})
    assert kinds == [
        "NotifierEcg",
        "Observation",
        "Patient",
        "QueueItem",
        "ServiceRequest",
        "SurveillanceCounts",  # some of these ECGs measure "urgent": counted for early warning
        "Task",
    ]
    # 7 ECG Observations and 7 measurement Observations, Patient v1..v6 and another v1, per
    # ECG a ServiceRequest, a Task (the measurement leaves these routine ECGs routine) and a
    # queue item in two versions (requested, then measured), and the notifier's context of
    # each ECG (for "ECG report final" subscriptions), one version each
    notifier = sum(r.resource_type == "NotifierEcg" for r in after)
    assert notifier == 7
    # the early-warning count of urgent ECGs: one version per urgent ECG
    counted = sum(r.resource_type == "SurveillanceCounts" for r in after)
    assert len(before) == len(after) == 7 * 2 + 7 + 7 + 7 + 7 * 2 + notifier + audited + counted
