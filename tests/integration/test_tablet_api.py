"""The ambulance tablet API over real HTTP, on each backend pair: batches appended whole or
not at all, exactly once under retries, and a stale tablet told what it missed."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from avro_schemas.catalogue import INCIDENT, POSITION
from kernel.jsontypes import Json
from services.server import Server
from services.simulate.stemi_incident import stemi_incident

MISSED = "https://goldenhour.health/fhir/StructureDefinition/missed-events"
VERSION = "https://goldenhour.health/fhir/StructureDefinition/incident-version"


def post(client: httpx.Client, incident: str, expected: int, events: list[Json]) -> httpx.Response:
    return client.post(
        f"/ingest/incidents/{incident}/events",
        json={
            "expected_version": expected,
            "device_id": "tab-7",
            "user_id": "crew-1",
            "events": events,
        },
    )


def incident_events(server: Server, incident: str) -> list[str]:
    return [r.event_id for r in server.system.log.key_records(INCIDENT, incident)]


def extension(outcome: Json, url: str) -> Any:
    return next(e for e in outcome["extension"] if e["url"] == url)


def test_offline_batch__is_appended_in_order_and_answered_with_versions(
    server: Server, client: httpx.Client
) -> None:
    script = stemi_incident("inc-batch")
    first = post(client, "inc-batch", 0, script[:5])
    assert first.status_code == 202, first.text
    assert first.headers["ETag"] == 'W/"5"'
    body = first.json()
    assert [e["sequence"] for e in body["events"]] == [1, 2, 3, 4, 5]
    assert first.headers["Location"] == f"/fhir/{body['encounter']}"
    rest = post(client, "inc-batch", 5, script[5:])
    assert rest.status_code == 202, rest.text
    assert rest.json()["version"] == len(script)
    assert incident_events(server, "inc-batch") == [e["event_id"] for e in script]


def test_fifty_concurrent_retries_of_one_batch__append_each_event_once(
    server: Server, client: httpx.Client
) -> None:
    script = stemi_incident("inc-race")[:6]
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: post(client, "inc-race", 0, script), range(50)))
    assert {a.status_code for a in answers} == {202}, {
        a.text for a in answers if a.status_code != 202
    }
    assert incident_events(server, "inc-race") == [e["event_id"] for e in script]
    fresh = [a for a in answers if "Idempotent-Replayed" not in a.headers]
    assert len(fresh) == 1
    assert {json.dumps(a.json()["events"][-1]["sequence"]) for a in answers} == {"6"}


def test_stale_tablet__gets_409_with_the_current_version_and_what_it_missed(
    server: Server, client: httpx.Client
) -> None:
    script = stemi_incident("inc-stale")
    assert post(client, "inc-stale", 0, script[:4]).status_code == 202
    assert post(client, "inc-stale", 4, script[4:6]).status_code == 202  # another tablet
    stale = post(client, "inc-stale", 4, script[6:7])  # this one only saw 4
    assert stale.status_code == 409
    outcome = stale.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "conflict"
    assert stale.headers["ETag"] == 'W/"6"'
    assert extension(outcome, VERSION)["valueInteger"] == 6
    missed = json.loads(extension(outcome, MISSED)["valueString"])
    assert [m["event_id"] for m in missed] == [e["event_id"] for e in script[4:6]]
    assert missed[1]["type"] == "PatientRecorded"
    assert missed[1]["temporary_id"] == script[5]["temporary_id"]
    caught_up = client.get("/ingest/incidents/inc-stale/events", params={"since": 4}).json()
    assert caught_up["version"] == 6 and caught_up["events"] == missed
    # merged: the tablet resends at the version it now knows
    assert post(client, "inc-stale", 6, script[6:7]).status_code == 202
    assert len(incident_events(server, "inc-stale")) == 7


def test_half_valid_batch__is_refused_whole_with_a_reason_per_event(
    server: Server, client: httpx.Client
) -> None:
    script = stemi_incident("inc-half")
    assert post(client, "inc-half", 0, script[:5]).status_code == 202  # ... AT_PATIENT
    on_scene_again = {**script[3], "event_id": "again"}
    batch = [script[5], on_scene_again, script[6], {**script[0], "event_id": "reopen"}]
    refused = post(client, "inc-half", 5, batch)
    assert refused.status_code == 422
    issues = refused.json()["issue"]
    assert "nothing appended" in issues[0]["diagnostics"]
    assert [i["expression"] for i in issues[1:]] == [["events[1]"], ["events[3]"]]
    assert "already AT_PATIENT; ON_SCENE cannot follow it" in issues[1]["diagnostics"]
    assert "already open" in issues[2]["diagnostics"]
    assert len(incident_events(server, "inc-half")) == 5


def test_implausible_vitals__refuse_the_batch_and_name_the_field(
    server: Server, client: httpx.Client
) -> None:
    script = stemi_incident("inc-bad")
    vitals = json.loads(json.dumps(script[6]))
    vitals["vitals"][0]["value"] = 400
    refused = post(client, "inc-bad", 0, script[:6] + [vitals])
    assert refused.status_code == 422
    issue = refused.json()["issue"][0]
    assert "Heart rate 400 /min is implausible" in issue["diagnostics"]
    assert issue["expression"][0].startswith("events.6.VitalsRecorded.vitals.0")
    assert incident_events(server, "inc-bad") == []


def test_unknown_incident__is_404_and_malformed_json_400(
    server: Server, client: httpx.Client
) -> None:
    script = stemi_incident("inc-none")
    missing = post(client, "inc-none", 0, script[1:3])
    assert missing.status_code == 404
    assert missing.json()["issue"][0]["code"] == "not-found"
    assert client.get("/ingest/incidents/inc-none/events").status_code == 404
    broken = client.post("/ingest/incidents/inc-none/events", content=b'{"events": [')
    assert broken.status_code == 400 and broken.json()["resourceType"] == "OperationOutcome"


def test_positions__are_appended_once_per_fix(server: Server, client: httpx.Client) -> None:
    fixes = [
        {
            "event_id": f"fix-{i}",
            "unit_id": "amb-07",
            "station_id": "station-chengguan",
            "occurred_at": f"2026-11-23T10:0{i}:00+08:00",
            "latitude": 34.26 + i / 1000,
            "longitude": 108.95,
            "speed_kmh": 48,
        }
        for i in range(3)
    ]
    first = client.post("/ingest/positions", json={"positions": fixes})
    again = client.post("/ingest/positions", json={"positions": fixes})
    assert first.json() == {"accepted": 3, "duplicates": 0}
    assert again.json() == {"accepted": 0, "duplicates": 3}
    assert len(server.system.log.key_records(POSITION, "amb-07")) == 3
    bad = client.post("/ingest/positions", json={"positions": [{**fixes[0], "latitude": 95}]})
    assert bad.status_code == 422


def test_openapi_documents_the_tablet_batch_with_examples(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    post_op = doc["paths"]["/ingest/incidents/{incident_id}/events"]["post"]
    media = post_op["requestBody"]["content"]["application/json"]
    assert media["schema"] == {"$ref": "#/components/schemas/IncidentBatch"}
    assert set(media["examples"]) == {"open", "care"}
    assert "409" in post_op["responses"] and "IncidentBatch" in doc["components"]["schemas"]
