"""Issue 11, item 5: a bulk export job belongs to the organization that kicked it off.

Over real HTTP with auth required, on each backend pair: a hospital asking for the
region's export job (kicked off by the county's operator) -- status, a file, cancel -- gets
the same 404 as for a job that never was, the job is untouched, and the refusal is in the
access audit; the operator still gets it. (A hospital's own Group export needs its Group in
the registry: the same check serves it.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from services.server import Server
from tests.tokens import bearer

WAIT_S = 60.0


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return result


def test_another_hospital_gets_404_for_the_job_and_its_files_and_is_audited(
    make_server: Callable[..., Server],
) -> None:
    server = make_server(auth_required=True, auth_dev_issuer=True, rate_limit_per_s=0)
    client = httpx.Client(base_url=server.base_url, timeout=30)
    b = bearer(server, "hospital", "hospital-b", "emr-b", ["user/*.read"])
    admin = bearer(server, "admin", "county", "ops", ["system/*.*"])
    kicked = client.get("/fhir/$export", headers={**admin, "Prefer": "respond-async"})
    assert kicked.status_code == 202, kicked.text
    status_path = httpx.URL(kicked.headers["Content-Location"]).path
    manifest = wait_for(
        lambda: (r := client.get(status_path, headers=admin)).status_code == 200 and r.json(),
        "the export to finish",
    )
    files = [httpx.URL(o["url"]).path for o in manifest["output"]] or [
        status_path + "/Patient.ndjson"
    ]
    never = status_path.rsplit("/", 1)[0] + "/" + "0" * 32
    for method, path, unknown in [
        ("GET", status_path, never),
        ("GET", files[0], never + "/Patient.ndjson"),
        ("DELETE", status_path, never),
    ]:
        theirs = client.request(method, path, headers=b)
        assert theirs.status_code == 404, (method, path, theirs.text)
        assert theirs.json()["resourceType"] == "OperationOutcome"
        assert client.request(method, unknown, headers=b).status_code == 404
    assert client.get(status_path, headers=admin).status_code == 200  # B's DELETE did nothing

    def refusals() -> list[Any]:
        answer = client.get("/fhir/AuditEvent?agent=emr-b&_count=500", headers=admin)
        return [
            e["resource"]
            for e in answer.json().get("entry", [])
            if "another organization" in e["resource"].get("outcomeDesc", "")
        ]

    wait_for(lambda: len(refusals()) >= 3, "B's three refusals in the audit")
