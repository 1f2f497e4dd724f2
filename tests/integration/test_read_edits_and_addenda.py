"""A reader's corrections and addenda over real HTTP with tokens, on each backend pair:
the corrected measurement and the automatic one both in the DiagnosticReport, an addendum
refused before the read is signed, the signer taken from the token (another name in the
body is 403), retries answered once (`Idempotent-Replayed`), and the amended report a new
version of the same DiagnosticReport whose history keeps the signed one."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import httpx
from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from services.server import Server
from tests.ecg_payloads import ecg_payload
from tests.tokens import bearer

CENTRE = "county-ecg-centre"
WAIT_S = 30.0  # a ceiling for the processors to fold what was sent, not a timing assertion
QT_LOINC = "8634-8"  # LOINC Q-T interval
AUTOMATIC = "https://goldenhour.health/fhir/StructureDefinition/automatic-value"


def wait(what: str, probe: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_S
    while not (seen := probe()):
        assert time.monotonic() < deadline, f"{what} within {WAIT_S:g} s"
        time.sleep(0.1)
    return seen


def beijing(addendum: dict[str, Any]) -> str:
    """The addendum's signing time as the clinic reads it: Beijing time, UTC+8 all year."""
    signed = dt.datetime.fromisoformat(addendum["signed_at"].replace("Z", "+00:00"))
    return f"{signed.astimezone(dt.UTC) + dt.timedelta(hours=8):%Y-%m-%d %H:%M} (+08:00)"


def fhir(client: httpx.Client, headers: dict[str, str], path: str) -> Any:
    resp = client.get(f"/fhir/{path}", headers=headers)
    return resp.json() if resp.status_code == 200 else None


def test_edit_and_addendum_reach_the_diagnostic_report_signed_by_the_token(
    secured: Server,
) -> None:
    li = bearer(secured, "reader", CENTRE, "dr-li")
    zhang = bearer(secured, "reader", CENTRE, "dr-zhang")
    clinic = bearer(secured, "clinic", "clinic-baiyang", "nurse-wang")
    with httpx.Client(base_url=secured.base_url, timeout=60) as client:
        body = ecg_payload(urgency="urgent")
        ecg_id = body["ecg_id"]
        assert client.post("/ingest/ecg", json=body, headers=clinic).status_code == 202
        item = wait(
            "the measured ECG in the queue",
            lambda: next(
                (
                    i
                    for i in client.get("/reading/queue", headers=li).json()
                    if i["ecg_id"] == ecg_id and i["measurements"].get("qt_ms")
                ),
                None,
            ),
        )
        automatic_qt = item["measurements"]["qt_ms"]
        base = f"/reading/ecg/{ecg_id}"

        # Not held: an edit is refused; an addendum before signing is refused.
        edit = {"measurement": "qt_ms", "value": 440, "reason": "T end in V2"}
        assert client.post(f"{base}/measurements", json=edit, headers=li).status_code == 409
        early = client.post(f"{base}/addendum", json={"addendum": "x"}, headers=li)
        assert early.status_code == 409 and early.json()["resourceType"] == "OperationOutcome"

        assert (
            client.post("/reading/claims", json={"ecg_id": ecg_id}, headers=li).status_code == 200
        )
        # The signer is the token's: naming someone else in the body is 403.
        forged = client.post(f"{base}/measurements", json={**edit, "reader_id": "dr-x"}, headers=li)
        assert forged.status_code == 403
        first = client.post(f"{base}/measurements", json={**edit, "event_id": "edit-1"}, headers=li)
        assert first.status_code == 200, first.text
        assert "Idempotent-Replayed" not in first.headers
        again = client.post(f"{base}/measurements", json={**edit, "event_id": "edit-1"}, headers=li)
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["edits"]["qt_ms"]["value"] == 440
        assert again.json()["edits"]["qt_ms"]["automatic"] == automatic_qt
        assert again.json()["edits"]["qt_ms"]["reader_id"] == "dr-li"

        signed = client.post(
            f"{base}/report", json={"interpretation": "Sinus rhythm. QT 440 ms."}, headers=li
        )
        assert signed.status_code == 200, signed.text
        report_path = signed.json()["report"]
        final = wait("the final report", lambda: fhir(client, li, report_path))
        assert final["status"] == "final"
        (qt,) = final["contained"][0]["component"]
        assert qt["code"]["coding"][0]["code"] == QT_LOINC and qt["valueQuantity"]["value"] == 440
        assert qt["extension"][0]["url"] == AUTOMATIC
        assert qt["extension"][0]["valueQuantity"]["value"] == automatic_qt

        # Another reader amends (no claim needed); a retry is the same addendum.
        add = {"addendum": "QTc prolonged on review: 470 ms.", "event_id": "add-1"}
        forged = client.post(f"{base}/addendum", json={**add, "reader_id": "dr-li"}, headers=zhang)
        assert forged.status_code == 403
        one = client.post(f"{base}/addendum", json=add, headers=zhang)
        assert one.status_code == 200, one.text
        two = client.post(f"{base}/addendum", json=add, headers=zhang)
        assert two.headers.get("Idempotent-Replayed") == "true"
        assert [a["reader_id"] for a in two.json()["addenda"]] == ["dr-zhang"]

        amended = wait(
            "the amended report",
            lambda: (r := fhir(client, li, report_path)) and r["status"] == "amended" and r,
        )
        DiagnosticReport.model_validate(amended)
        assert amended["conclusion"] == (
            f"Sinus rhythm. QT 440 ms.\n\n补充报告 Addendum {beijing(one.json()['addenda'][0])} "
            "dr-zhang: QTc prolonged on review: 470 ms."
        )
        assert [r["identifier"]["value"] for r in amended["resultsInterpreter"]] == [
            "dr-li",
            "dr-zhang",
        ]
        history = fhir(client, li, f"{report_path}/_history")
        statuses = [e["resource"]["status"] for e in history["entry"]]
        assert statuses.count("amended") == 1 and statuses.count("final") == 1
        version = int(amended["meta"]["versionId"])
        first_version = fhir(client, li, f"{report_path}/_history/{version - 1}")
        assert first_version["status"] == "final"
        assert first_version["conclusion"] == "Sinus rhythm. QT 440 ms."


def test_an_addendum_notifies_the_final_report_subscription_again(
    make_server: Callable[..., Server],
) -> None:
    from stream_processors.notifier.topics import ECG_REPORT_FINAL
    from tests.integration.test_subscriptions import (
        FAST_RETRIES,
        FILTER_CRITERIA,
        PAYLOAD_CONTENT,
        Receiver,
        create,
        focus_refs,
    )

    server = make_server(**FAST_RETRIES)
    receiver = Receiver()
    receiver.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            create(
                client,
                {
                    "resourceType": "Subscription",
                    "status": "requested",
                    "reason": "ECG reports for the clinic's EMR",
                    "criteria": ECG_REPORT_FINAL.url,
                    "_criteria": {
                        "extension": [
                            {
                                "url": FILTER_CRITERIA,
                                "valueString": "DiagnosticReport?site=clinic-baiyang",
                            }
                        ]
                    },
                    "channel": {
                        "type": "rest-hook",
                        "endpoint": receiver.url,
                        "payload": "application/fhir+json",
                        "_payload": {
                            "extension": [{"url": PAYLOAD_CONTENT, "valueCode": "id-only"}]
                        },
                    },
                },
            )
            body = ecg_payload(urgency="urgent")
            ecg_id = body["ecg_id"]
            assert client.post("/ingest/ecg", json=body).status_code == 202
            wait(
                "the ECG queued",
                lambda: any(i["ecg_id"] == ecg_id for i in client.get("/reading/queue").json()),
            )
            claim = {"reader_id": "dr-li", "ecg_id": ecg_id}
            assert client.post("/reading/claims", json=claim).status_code == 200
            report = {"reader_id": "dr-li", "interpretation": "Sinus rhythm"}
            signed = client.post(f"/reading/ecg/{ecg_id}/report", json=report)
            assert signed.status_code == 200, signed.text

            def events() -> list[str]:
                return [f for b in receiver.of_type("event-notification") for f in focus_refs(b)]

            wait("the signed report's notification", lambda: len(events()) == 1)
            addendum = {"reader_id": "dr-zhang", "addendum": "QTc 470 ms."}
            assert client.post(f"/reading/ecg/{ecg_id}/addendum", json=addendum).status_code == 200
            wait("the amended report's notification", lambda: len(events()) == 2)
            assert events() == [signed.json()["report"]] * 2
    finally:
        receiver.stop()
