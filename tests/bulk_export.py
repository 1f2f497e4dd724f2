"""A FHIR Bulk Data export as a client runs it: kick-off with `Prefer: respond-async`, then
poll the status URL (202 while running) until the 200 that carries the manifest."""

from __future__ import annotations

import time

import httpx

POLL_S = 0.2  # between status requests


def finished_export(
    client: httpx.Client, kickoff: str, headers: dict[str, str], wait_s: float
) -> httpx.Response:
    """Run the export kicked off at `kickoff`, `headers` (e.g. the bearer token) on every
    request; the status URL's final 200 answer. Fails unless it is done within `wait_s`."""
    kicked = client.get(
        kickoff, headers={**headers, "Prefer": "respond-async", "Accept": "application/fhir+json"}
    )
    assert kicked.status_code == 202, kicked.text
    status_url = kicked.headers["Content-Location"]
    deadline = time.monotonic() + wait_s
    while (status := client.get(status_url, headers=headers)).status_code == 202:
        assert time.monotonic() < deadline, "the export job never finished"
        time.sleep(POLL_S)
    assert status.status_code == 200, status.text
    return status
