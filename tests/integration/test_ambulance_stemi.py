"""Issue 4's acceptance, on each backend pair: a scripted ambulance STEMI call sent by the
tablet API (opened -> vitals -> ECG -> pre-alert -> handover) becomes a valid FHIR handover
document, appears on the receiving hospital's board, and the board's acceptance (transfer of
care) lands in the Encounter and makes the document final."""

from __future__ import annotations

from typing import Any

import httpx
from fhir.resources.R4B import get_fhir_model_class

from kernel.jsontypes import Json
from services.server import Server
from services.simulate.stemi_incident import DESTINATION, stemi_incident
from stream_processors.fhir_projector.incident.encounter import encounter_id
from stream_processors.fhir_projector.incident.handover import composition_id
from tests.waits import wait_until


def eventually(client: httpx.Client, url: str, ok: Any) -> Json:
    """`url`'s JSON once it answers 200 with a body `ok` accepts."""

    def body() -> Json | None:
        resp = client.get(url)
        return resp.json() if resp.status_code == 200 and ok(resp.json()) else None

    result: Json = wait_until(body, f"{url} answering as the test expects")
    return result


def test_stemi_call__document_board_and_transfer_of_care(server: Server) -> None:
    incident = "inc-stemi-e2e"
    script = stemi_incident(incident)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        first = client.post(
            f"/ingest/incidents/{incident}/events",
            json={"expected_version": 0, "device_id": "tab-7", "events": script[:8]},
        )
        assert first.status_code == 202, first.text
        rest = client.post(
            f"/ingest/incidents/{incident}/events",
            json={"expected_version": 8, "device_id": "tab-7", "events": script[8:]},
        )
        assert rest.status_code == 202, rest.text

        doc_url = f"/fhir/Composition/{composition_id(incident)}/$document"
        bundle = eventually(
            client,
            doc_url,
            lambda b: any(e["resource"]["resourceType"] == "Procedure" for e in b["entry"]),
        )
        assert bundle["type"] == "document"
        get_fhir_model_class("Bundle").model_validate(bundle)
        for entry in bundle["entry"]:
            resource = entry["resource"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
        assert {"Composition", "Patient", "Encounter", "Observation", "Procedure"} <= kinds
        assert {"MedicationAdministration", "Flag"} <= kinds
        composition = bundle["entry"][0]["resource"]
        assert composition["status"] == "preliminary"
        assert composition["type"]["coding"][0]["code"] == "67796-3"

        board = eventually(
            client,
            f"/board/{DESTINATION}.json",
            lambda b: incident in str(b),
        )
        assert "STEMI" in str(board)
        assert incident not in str(client.get("/board/another-hospital.json").json())

        accepted = client.post(
            f"/board/{DESTINATION}/incidents/{incident}/accept", json={"accepted_by": "Dr Zhao"}
        )
        assert accepted.status_code == 202, accepted.text
        accepted_at = accepted.json()["accepted_at"]

        encounter = eventually(
            client,
            f"/fhir/Encounter/{encounter_id(incident)}",
            lambda e: e["status"] == "finished",
        )
        assert accepted_at[:19] in str(encounter)  # the transfer-of-care time
        final = eventually(
            client, doc_url, lambda b: b["entry"][0]["resource"]["status"] == "final"
        )
        assert int(final["meta"]["versionId"]) > int(bundle["meta"]["versionId"])
        # The tablet learns of the acceptance as an event it missed.
        missed = client.get(
            f"/ingest/incidents/{incident}/events", params={"since": len(script)}
        ).json()
        assert [e["type"] for e in missed["events"]] == ["HandoverAccepted"]
