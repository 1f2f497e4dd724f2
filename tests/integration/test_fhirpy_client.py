"""A FHIR client library written elsewhere (fhirpy, beda.software) against the real server
on each backend pair: it pages through a search by following `next` links, reads, runs
Patient/$everything and walks instance, type and system history, with no special handling;
every resource it gets validates with fhir.resources (R4B)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhirpy import SyncFHIRClient

from kernel.ids import ecg_observation_id
from kernel.jsontypes import Json
from services.server import Server
from tests.integration.test_history_at_export import post_ecg


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        yield c


def valid(resource: Json) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(dict(resource))


def bundles(fhir: SyncFHIRClient, path: str, params: dict[str, str]) -> Iterator[Json]:
    """A Bundle and its successors through `next`, fetched by fhirpy."""
    bundle = fhir.execute(path, method="get", params=params)
    while True:
        Bundle.model_validate(dict(bundle))
        yield bundle
        nxt = [link["url"] for link in bundle.get("link", []) if link["relation"] == "next"]
        if not nxt:
            return
        bundle = fhir.execute(nxt[0], method="get")


def test_fhirpy_pages_reads_everything_and_history(server: Server, client: httpx.Client) -> None:
    patient, _ = post_ecg(client, 1)
    _, key = post_ecg(client, 2)
    fhir = SyncFHIRClient(f"{server.base_url}/fhir")

    observations = fhir.resources("Observation").search(patient=patient).limit(1).fetch_all()
    assert len(observations) == 4  # two ECGs and their measurements, one page each
    for obs in observations:
        valid(dict(obs))
    assert ecg_observation_id(key) in {o.id for o in observations}

    read = fhir.reference("Patient", patient).to_resource()
    assert read["meta"]["versionId"] == "2"
    valid(dict(read))
    with_patient = (
        fhir.resources("Observation")
        .search(patient=patient)
        .include("Observation", "patient")
        .limit(2)
        .fetch_raw()
    )
    assert "Patient" in {e.resource.resourceType for e in with_patient.entry}

    everything = [
        e["resource"]
        for b in bundles(fhir, f"Patient/{patient}/$everything", {"_count": "3"})
        for e in b.get("entry", [])
    ]
    assert everything[0]["resourceType"] == "Patient"
    assert len({(r["resourceType"], r["id"]) for r in everything}) == len(everything) >= 9
    for resource in everything:
        valid(resource)

    instance = [
        e for b in bundles(fhir, f"Patient/{patient}/_history", {"_count": "1"}) for e in b["entry"]
    ]
    assert [e["resource"]["meta"]["versionId"] for e in instance] == ["2", "1"]
    typed = [e for b in bundles(fhir, "Observation/_history", {"_count": "2"}) for e in b["entry"]]
    system = [e for b in bundles(fhir, "_history", {"_count": "5"}) for e in b["entry"]]
    assert len(typed) >= 4 and len(system) > len(typed)
    for entry in instance + typed + system:
        valid(entry["resource"])
    past = fhir.execute(
        f"Patient/{patient}", method="get", params={"_at": instance[1]["response"]["lastModified"]}
    )
    assert past["meta"]["versionId"] == "1"
