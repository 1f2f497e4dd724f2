"""`goldenhour demo`: the system on the embedded default, driven through its public HTTP API
by a short scenario a county would recognise, then left serving for a look around."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from kernel.codes import RESIDENT_ID
from services.datadir import locked, prepare_demo
from services.demo_ambulance import play_ambulance, play_county_day
from services.demo_command import play_command
from services.demo_emr import play_emr, subscribe
from services.registry import seed
from services.server import Server
from services.settings import Settings
from services.simulate.ecg_synth import INFERIOR, synth_ecg

WAIT_ATTEMPTS = 100  # x 0.1 s for the projector to catch up
SEED = Path(__file__).resolve().parent.parent / "deploy" / "registry" / "seed.example.json"


def _ecg(
    ecg_id: str,
    resident: str,
    family: str,
    given: str,
    site: tuple[str, str],
    st_uv: float,
    question: str,
    urgency: str,
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo/{ecg_id}")),
        "ecg_id": ecg_id,
        "patient": {
            "identifiers": [{"system": RESIDENT_ID, "value": resident}],
            "family": family,
            "given": given,
            "gender": "male",
        },
        "acquired_at": "2026-11-23T18:02:11+08:00",
        "site": {"id": site[0], "name": site[1], "kind": "clinic"},
        "device": {"id": "cart-017", "manufacturer": "Edan", "model": "SE-1200"},
        "sampling_rate_hz": 500,
        "leads": synth_ecg(heart_rate_bpm=88, st_elevation_uv=st_uv, st_leads=INFERIOR, seed=7),
        "measurements": {
            "heart_rate_bpm": 88,
            "pr_ms": 164,
            "qrs_ms": 94,
            "qt_ms": 372,
            "qtc_ms": 450,
            "statements": ["Sinus rhythm"],
        },
        "clinical_question": question,
        "urgency": urgency,
    }


def _say(step: str, text: str) -> None:
    print(f"  [{step}] {text}", flush=True)


def _wait(client: httpx.Client, url: str) -> dict[str, Any]:
    for _ in range(WAIT_ATTEMPTS):
        resp = client.get(url)
        if resp.status_code == 200:
            return resp.json()  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not appear: the projector is not keeping up")


def play(client: httpx.Client) -> dict[str, str]:
    stemi = _ecg(
        "BY-2026-1123-0042",
        "11010519491231002X",
        "王",
        "建国",
        ("clinic-baiyang", "白杨镇卫生院"),
        250,
        "Chest pain 40 min, sweating",
        "stat",
    )
    resp = client.post("/ingest/ecg", json=stemi)
    ans = resp.json()
    _say(
        "clinic",
        f"白杨镇卫生院 uploads a 12-lead ECG (inferior ST elevation): {resp.status_code}, "
        f"{ans['topic']} partition {ans['partition']} offset {ans['offset']}",
    )
    again = client.post("/ingest/ecg", json=stemi)
    _say(
        "clinic",
        f"the cart's network flaps and it re-sends: {again.status_code}, same answer="
        f"{again.json() == ans}, replayed={again.headers.get('idempotent-replayed')}",
    )
    routine = _ecg(
        "HS-2026-1123-0007",
        "110105198001011238",
        "李",
        "强",
        ("clinic-heshan", "鹤山乡卫生院"),
        0,
        "Pre-operative ECG",
        "routine",
    )
    client.post("/ingest/ecg", json=routine)
    _say("clinic", "鹤山乡卫生院 uploads a routine pre-operative ECG")
    bad = {
        **routine,
        "event_id": str(uuid.uuid4()),
        "leads": {k: v for k, v in routine["leads"].items() if k != "V1"},
    }
    outcome = client.post("/ingest/ecg", json=bad).json()
    _say("clinic", f"an upload missing lead V1 is refused: {outcome['issue'][0]['diagnostics']}")
    obs = _wait(client, f"/fhir/{ans['observation']}")
    patient = _wait(client, f"/fhir/{ans['patient']}")
    leads = sum(1 for c in obs["component"] if "valueSampledData" in c)
    _say(
        "fhir",
        f"Observation {obs['id']} v{obs['meta']['versionId']}: {leads} leads (MDC), "
        f"{len(obs['component']) - leads} device measurements (LOINC)",
    )
    _say(
        "fhir",
        f"Patient {patient['id']}: {patient['name'][0]['family']}{patient['name'][0]['given'][0]}, "
        f"identifiers {[i['value'] for i in patient['identifier']]}",
    )
    made = {"observation": ans["observation"], "patient": ans["patient"]}
    made.update(read_at_the_centre(client))
    return made


def _wait_queue(client: httpx.Client, count: int) -> list[dict[str, Any]]:
    for _ in range(WAIT_ATTEMPTS):
        items: list[dict[str, Any]] = client.get("/reading/queue").json()
        if len(items) >= count:
            return items
        time.sleep(0.1)
    raise RuntimeError("the read queue did not fill: the queue processor is not keeping up")


def read_at_the_centre(client: httpx.Client) -> dict[str, str]:
    """The county reading centre: the queue, a claim, a signed report."""
    for item in _wait_queue(client, 2):
        _say(
            "queue",
            f"{item['triage_class']:<8} {item['site_name']} {item['patient_name']} "
            f"due {item['due_at'][5:16].replace('T', ' ')} UTC ({', '.join(item['reasons'])})",
        )
    claimed = client.post("/reading/claims", json={"reader_id": "dr-zhao"}).json()
    _say(
        "reader",
        f"dr-zhao claims the next ECG: {claimed['ecg_id']} ({claimed['triage_class']}), "
        f"lease until {claimed['lease_until'][11:19]} UTC",
    )
    taken = client.post(
        "/reading/claims", json={"reader_id": "dr-qian", "ecg_id": claimed["ecg_id"]}
    )
    _say(
        "reader",
        f"dr-qian tries the same ECG: {taken.status_code} {taken.json()['issue'][0]['diagnostics']}",
    )
    signed = client.post(
        f"/reading/ecg/{claimed['ecg_id']}/report",
        json={
            "reader_id": "dr-zhao",
            "interpretation": "Sinus rhythm 88/min. ST elevation II, III, aVF: acute inferior STEMI.",
            "codes": [
                {
                    "system": "http://snomed.info/sct",
                    "code": "401303003",
                    "display": "Acute ST segment elevation myocardial infarction",
                }
            ],
        },
    ).json()
    report = _wait(client, f"/fhir/{signed['report']}")
    _say("fhir", f"DiagnosticReport {report['id']} {report['status']}: {report['conclusion']}")
    return {"report": signed["report"]}


def load_registry(client: httpx.Client, path: Path = SEED) -> None:
    """The seed through the admin API, then wait until the registry is folded: from then
    on every id the scenario sends is checked against it."""
    answers = seed.post(client, seed.read(path))
    last = answers[-1]["resource"]
    _wait(client, f"/fhir/{last}")
    hospitals = client.get("/fhir/Organization", params={"type": "hospital"}).json()
    names = [e["resource"]["name"] for e in hospitals.get("entry", [])]
    _say(
        "registry",
        f"{len(answers)} parties from {path.name} (hospitals: {', '.join(names)}); "
        "ids not in it are refused from now on",
    )


def run_demo(
    settings: Settings, reset: bool = False, http_socket: socket.socket | None = None
) -> int:
    """Serve on `http_socket` (bound by the caller before anything else) and play the
    scenario. The data dir (default ./data/demo) is the demo's own: a new or empty one is
    marked as such; a non-empty one the demo did not make is refused, and its own earlier
    one is deleted only with `reset` (services/datadir.py)."""
    if settings.data_dir == Settings().data_dir:
        settings = settings.model_copy(update={"data_dir": settings.data_dir / "demo"})
    # The demo's EMR receiver listens on loopback, which rest-hooks may not reach unless
    # allowed (services/subscriptions/endpoints.py): the demo allows exactly that.
    allowed = [*settings.subscription_endpoint_allowlist, "127.0.0.1/32"]
    settings = settings.model_copy(update={"subscription_endpoint_allowlist": allowed})
    created = prepare_demo(settings.data_dir, reset)
    with locked(settings.data_dir, exclusive=False):  # a rebuild waits for the demo to end
        server = _started(settings, http_socket, created)
        return _play(server, settings)


def _started(settings: Settings, http_socket: socket.socket | None, created: bool) -> Server:
    """The running server; if it cannot start (an unreachable Kafka), a data dir made by
    this run is removed again: a failed demo leaves nothing behind."""
    server: Server | None = None
    try:
        server = Server(settings, http_socket)
        server.start()
        return server
    except BaseException:
        if server is not None:
            server.stop()
        if created:
            shutil.rmtree(settings.data_dir, ignore_errors=True)
        raise


def _play(server: Server, settings: Settings) -> int:
    base = server.base_url
    print(
        f"goldenhour demo: serving {base} (log {settings.log_url}, store {settings.store_url}, "
        f"data {settings.data_dir})",
        flush=True,
    )
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            print("The county's registry (who is who):", flush=True)
            load_registry(client)
            print("\nThe township clinics and the reading centre:", flush=True)
            made = play(client)
            print("\nThe hospital's EMR subscribes:", flush=True)
            receiver = subscribe(client)
            print("\nThe ambulance side:", flush=True)
            ambulance = play_ambulance(client)
            print("\nThe hospital's EMR and HIS:", flush=True)
            play_emr(client, receiver, server.mllp.port if server.mllp else None, ambulance)
            receiver.stop()
            print("\nA county day, for the quality officer:", flush=True)
            play_county_day(client)
            play_command(client, server)  # services/demo_command.py (issue 15)
        print("\nWhere to look:")
        print(f"  FHIR capability     {base}/fhir/metadata")
        print(f"  the STEMI ECG       {base}/fhir/{made['observation']}")
        print(f"  its patient         {base}/fhir/{made['patient']}  (history: /_history)")
        print(f"  the signed read     {base}/fhir/{made['report']}")
        print(f"  reader workstation  {base}/reading/   (queue JSON: /reading/queue)")
        print(
            f"  hospital ED board   {base}{ambulance['board']}   (live; accept amb-03's handover)"
        )
        print(f"  region units        {base}/region/")
        print(f"  handover document   {base}{ambulance['document']}")
        print(f"  ambulance encounter {base}{ambulance['encounter']}")
        print(f"  tablet API          POST {base}/ingest/incidents/{{id}}/events (see /docs)")
        print(f"  quality indicators  {base}/kpi/report   (JSON: /kpi?by=station&as_of=...)")
        print(
            f"  HL7 v2 ORU^R01      MLLP on {settings.host}:{server.mllp.port if server.mllp else '-'}"
        )
        print(f"  API docs (OpenAPI)  {base}/docs")
        print(f"  rebuild the views   goldenhour rebuild --data-dir {settings.data_dir}")
        if os.environ.get("DEMO_EXIT") == "1":
            print("demo: done (DEMO_EXIT=1)")
            return 0
        print("\nServing until Ctrl-C.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
