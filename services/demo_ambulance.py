"""The demo's ambulance chapter: a crew's tablet sends a STEMI call through the tablet API
(an offline batch, a retry, a stale second tablet told what it missed, a typo refused), the
handover document appears in FHIR and the call on the county hospital's board, the hospital
accepts (transfer of care), and a simulated county day feeds the quality indicators."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx

from kernel.jsontypes import Json
from services.simulate import region
from services.simulate.stemi_incident import DESTINATION, stemi_incident, valid_resident_id
from stream_processors.fhir_projector.published import composition_id, encounter_id

WAIT_ATTEMPTS = 150  # x 0.1 s
MISSED = "https://goldenhour.health/fhir/StructureDefinition/missed-events"


def _say(step: str, text: str) -> None:
    print(f"  [{step}] {text}", flush=True)


def _until(client: httpx.Client, url: str, ok: Callable[[Json], bool]) -> Json:
    for _ in range(WAIT_ATTEMPTS):
        resp = client.get(url)
        if resp.status_code == 200 and ok(body := resp.json()):
            return body  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come: the processors are not keeping up")


def _post(client: httpx.Client, incident: str, expected: int, events: list[Json]) -> httpx.Response:
    return client.post(
        f"/ingest/incidents/{incident}/events",
        json={"expected_version": expected, "device_id": "tablet-amb-07", "events": events},
    )


def play_ambulance(client: httpx.Client) -> dict[str, str]:
    incident = "CG-2026-1123-0007"
    script = stemi_incident(incident, resident_id=valid_resident_id())
    opened = _post(client, incident, 0, script[:5])
    _say(
        "tablet",
        f"amb-07 opens {incident} (chest pain) and goes on scene: {opened.status_code}, version {opened.json()['version']}",
    )
    batch = script[5:10]
    sent = _post(client, incident, 5, batch)
    _say(
        "tablet",
        f"offline in the lift, it sends patient, vitals, 12-lead ECG, aspirin, STEMI pre-alert as one batch: {sent.status_code}, version {sent.json()['version']}",
    )
    again = _post(client, incident, 5, batch)
    _say(
        "tablet",
        f"no answer seen, it retries: {again.status_code}, replayed={again.headers.get('idempotent-replayed')}, nothing appended twice",
    )
    stale = _post(client, incident, 5, script[10:11])
    missed = json.loads(
        next(e for e in stale.json()["extension"] if e["url"] == MISSED)["valueString"]
    )
    _say(
        "tablet",
        f"the partner's tablet, still at version 5, records IV access: {stale.status_code}, it missed {[m['type'] for m in missed]}; it merges and resends",
    )
    merged = _post(client, incident, 10, script[10:11])
    typo = json.loads(json.dumps(script[12]))
    typo["vitals"][0]["value"] = 980
    refused = _post(client, incident, merged.json()["version"], [typo])
    _say(
        "tablet",
        f"HR 980 typed by mistake: {refused.status_code} {refused.json()['issue'][0]['diagnostics'][:120]}",
    )
    _post(client, incident, merged.json()["version"], script[11:])
    doc_url = f"/fhir/Composition/{composition_id(incident)}/$document"
    bundle = _until(client, doc_url, lambda b: len(b["entry"]) > 10)
    _say(
        "fhir",
        f"handover document (LOINC 67796-3, {bundle['entry'][0]['resource']['status']}): Bundle of {len(bundle['entry'])} resources, {sorted({e['resource']['resourceType'] for e in bundle['entry']})}",
    )
    # The pre-alert already lists the ambulance; the accept button comes with the handover.
    _until(
        client,
        f"/board/{DESTINATION}.json",
        lambda b: any(c["incident_id"] == incident and c["handover"] for c in b["incoming"]),
    )
    _say(
        "board",
        "the county hospital's board shows amb-07: STEMI, ETA, ATMIST, vitals, ECG with its automatic class",
    )
    accepted = client.post(
        f"/board/{DESTINATION}/incidents/{incident}/accept", json={"accepted_by": "Dr Zhao (ED)"}
    )
    if accepted.status_code != 202:
        raise RuntimeError(f"the board refused the accept: {accepted.status_code} {accepted.text}")
    encounter = _until(
        client, f"/fhir/Encounter/{encounter_id(incident)}", lambda e: e["status"] == "finished"
    )
    _say(
        "board",
        f"Dr Zhao accepts the handover at {accepted.json()['accepted_at']}: Encounter {encounter['status']}, document final",
    )

    pending = "CG-2026-1123-0011"
    later = stemi_incident(pending, unit_id="amb-03", seed=5)
    _post(client, pending, 0, later)
    _say(
        "tablet",
        f"amb-03 is on its way with an unidentified STEMI patient ({pending}): accept it yourself on the board",
    )
    return {
        "incident": incident,
        "incident2": pending,
        "document": doc_url,
        "board": f"/board/{DESTINATION}",
        "encounter": f"/fhir/Encounter/{encounter_id(incident)}",
    }


def play_county_day(client: httpx.Client) -> None:
    steps = region.plan(region.RegionConfig(stations=2, clinics=2, days=1, seed=7)).steps
    played = region.play(client, steps)
    _say(
        "simulate",
        f"a simulated county day: {played.batches} tablet batches ({played.events} events), {played.clinic_ecgs} clinic ECGs, {played.reads} reads signed, in {played.seconds:.1f} s",
    )
    report = client.get("/kpi").json()
    for kpi in report["kpis"]:
        overall = kpi["all"]
        if not kpi["available"]:
            _say("kpi", f"{kpi['title']}: not available ({kpi['note']})")
        elif kpi["code"].startswith("ecg_to_diagnosis") or "diagnosis" in kpi["title"]:
            # Simulated acquisitions are in January; the reads are signed now, by the clock.
            _say(
                "kpi",
                f"{kpi['title']}: {overall['measured']} cases (reads signed in real time against simulated acquisitions: not meaningful here)",
            )
        elif overall.get("median_min") is not None:
            share = overall["compliance"]
            _say(
                "kpi",
                f"{kpi['title']}: {overall['measured']} cases, median {overall['median_min']:.1f} min"
                + (f", {100 * share:.0f}% within target" if share is not None else ""),
            )
        elif overall.get("compliance") is not None:
            _say("kpi", f"{kpi['title']}: {100 * overall['compliance']:.0f}% of {overall['cases']}")
