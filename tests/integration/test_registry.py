"""The registry over real HTTP, on each backend pair: the example seed loaded through the
admin API (a re-load appends nothing), read back as FHIR Organization / Practitioner /
Location through /fhir, and the tablet API checking ids against it: a pre-alert to a
hospital the registry does not know is a 422 naming the field, with nothing appended; to a
registered hospital it is accepted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from avro_schemas.catalogue import INCIDENT, REGISTRY
from services.registry import seed
from services.server import Server
from services.simulate.stemi_incident import stemi_incident
from tests.waits import wait_until

Json = dict[str, Any]
SEED = Path(__file__).resolve().parents[2] / "deploy" / "registry" / "seed.example.json"
SITE_ID = "https://goldenhour.health/sid/site-id"
PRACTITIONER_ID = "https://goldenhour.health/sid/practitioner-id"
# HL7 organization-type (terminology.hl7.org/CodeSystem/organization-type): a provider.
PROVIDER = "http://terminology.hl7.org/CodeSystem/organization-type|prov"


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=60) as c:
        yield c


def entries(bundle: Json) -> list[Json]:
    return [e["resource"] for e in bundle.get("entry", [])]


def search(client: httpx.Client, rtype: str, **params: str) -> list[Json]:
    resp = client.get(f"/fhir/{rtype}", params=params)
    assert resp.status_code == 200, resp.text
    return entries(resp.json())


def loaded(client: httpx.Client) -> None:
    answers = seed.post(client, seed.read(SEED))
    last = answers[-1]["resource"]
    wait_until(lambda: client.get(f"/fhir/{last}").status_code == 200, "the registry folded")


def post(client: httpx.Client, incident: str, expected: int, events: list[Json]) -> httpx.Response:
    return client.post(
        f"/ingest/incidents/{incident}/events",
        json={"expected_version": expected, "device_id": "tablet-amb-07", "events": events},
    )


def test_seed__loads_once_and_reads_back_as_fhir(server: Server, client: httpx.Client) -> None:
    loaded(client)
    reloaded = seed.post(client, seed.read(SEED))
    assert {a["outcome"] for a in reloaded} == {"unchanged"}
    records = sum(server.system.log.end_offsets(REGISTRY).values())
    assert records == 33 + 9  # 33 parties and 9 roles, once

    hospitals = search(client, "Organization", type="hospital")
    assert sorted(h["name"] for h in hospitals) == ["示范县中医院", "示范县人民医院"]
    assert all(h["active"] for h in hospitals)
    (county,) = search(client, "Organization", identifier=f"{SITE_ID}|county-hospital")
    assert county["alias"] == ["County People's Hospital"]
    assert (
        len(search(client, "Organization", type=PROVIDER)) == 10
    )  # not the region, not the centre
    assert [o["name"] for o in search(client, "Organization", name="示范县心电")] == [
        "示范县心电诊断中心"
    ]

    (zhao,) = search(client, "Practitioner", identifier=f"{PRACTITIONER_ID}|赵医生")
    assert zhao["name"][0]["text"] == "赵建华"
    by_name = search(client, "Practitioner", name="赵")
    assert {p["name"][0]["text"] for p in by_name} == {"赵明", "赵建华"}
    roles = search(client, "PractitionerRole", practitioner=f"Practitioner/{zhao['id']}")
    assert [r["code"][0]["coding"][0]["code"] for r in roles] == ["ed-clinician"]
    assert roles[0]["organization"]["reference"] == f"Organization/{county['id']}"
    site = search(client, "Location", organization=f"Organization/{county['id']}")
    assert [s["name"] for s in site] == ["示范县人民医院"]


def test_pre_alert_to_an_unknown_hospital__422_naming_the_field_and_nothing_appended(
    server: Server, client: httpx.Client
) -> None:
    loaded(client)
    typo = stemi_incident("inc-typo", destination_id="county-hospitl")
    refused = post(client, "inc-typo", 0, typo[:10])
    assert refused.status_code == 422, refused.text
    outcome = refused.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["events[9].destination_id"]
    assert server.system.log.key_records(INCIDENT, "inc-typo") == []

    known = stemi_incident("inc-known")
    accepted = post(client, "inc-known", 0, known[:10])
    assert accepted.status_code == 202, accepted.text
    assert len(server.system.log.key_records(INCIDENT, "inc-known")) == 10


def test_unknown_unit_and_station__each_named(server: Server, client: httpx.Client) -> None:
    loaded(client)
    events = stemi_incident("inc-nowhere", unit_id="amb-99", station_id="station-nowhere")[:1]
    refused = post(client, "inc-nowhere", 0, events)
    assert refused.status_code == 422
    named = [i["expression"] for i in refused.json()["issue"]]
    assert named == [["events[0].station_id"], ["events[0].unit_id"]]


def test_admin_api__bad_input_names_the_field_and_a_retry_is_answered_once(
    server: Server, client: httpx.Client
) -> None:
    loaded(client)
    bad_kind = client.post(
        "/registry/organizations", json={"id": "x", "kind": "spaceport", "name": "某地"}
    )
    assert bad_kind.status_code == 422
    assert bad_kind.json()["issue"][0]["expression"] == ["kind"]
    orphan = client.post(
        "/registry/units", json={"id": "amb-x", "station_id": "county-hospital", "name": "某车"}
    )
    assert orphan.status_code == 422
    assert orphan.json()["issue"][0]["expression"] == ["station_id"]

    body = {"id": "station-03", "kind": "station", "name": "东山急救站", "event_id": "reg-s3"}
    first = client.post("/registry/organizations", json=body)
    again = client.post("/registry/organizations", json=body)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    taken = client.post(
        "/registry/organizations", json={**body, "event_id": "reg-s3b", "name": "别的"}
    )
    assert taken.status_code == 409

    retired = client.post("/registry/units/amb-07/retire", json={"reason": "scrapped"})
    assert retired.status_code == 202
    amb = client.get(f"/fhir/{retired.json()['resource']}")
    wait_until(
        lambda: client.get(f"/fhir/{retired.json()['resource']}").json()["status"] == "inactive",
        "amb-07 inactive",
    )
    assert amb.status_code == 200
    opened = post(client, "inc-retired-unit", 0, stemi_incident("inc-retired-unit")[:1])
    assert opened.status_code == 422
    assert opened.json()["issue"][0]["expression"] == ["events[0].unit_id"]
