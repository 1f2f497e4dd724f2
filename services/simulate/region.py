"""A county in motion: N 120 stations with two units each, M township clinics, one county
ECG reading centre and two receiving hospitals, producing incidents and ECGs over simulated
days, sent through the public HTTP interfaces only (the tablet API, `POST /ingest/ecg`, the
reading centre's claims and reports). The demo, the KPI tests and the benchmarks use it.

`plan(config)` is pure and seeded (`random.Random(seed)`): the same config gives the same
incidents, the same event ids and the same times, so a hand computation of the indicators
on a fixed seed is possible and a re-run against the same server is an idempotent replay.
`play(client, plan)` sends the steps in simulated-time order.

Times (minutes; uniform draws): call -> dispatch 1-3, dispatch -> en route 0.5-2, call -> on
scene 8-25, on scene -> at patient 0.5-3, on scene 10-25, transport 10-30, at hospital ->
handover accepted 3-25. A share of calls are chest pain; most of those get a 12-lead ECG
2-14 min after first contact (so some miss the 10-min target) and a share are STEMIs with a
pre-alert to the county hospital (the PCI centre). Clinics send resting ECGs through the day.

Tablet and ECG times are the simulation's (`occurred_at`, `acquired_at`); the reading API
stamps a signed read with the server's wall clock, so in a simulation "ECG -> diagnosis"
measures the run's real time against the simulated acquisition: check it against the log,
not against the plan. Every event's `recorded_at` is the wall clock of the run too.

Waveforms: a 12-lead ECG is ~250 KB of JSON at 10 s; the simulation sends `ecg_seconds`
(default 2.5 s, the API's minimum) and reuses three cached synthetic tracings (normal,
inferior STEMI, anterior STEMI), so it is bound by the server, not by the generator.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from avro_schemas.events import (
    ECG_ACQUIRED,
    HANDOVER_ACCEPTED,
    HANDOVER_SUBMITTED,
    INCIDENT_OPENED,
    PATIENT_RECORDED,
    PRE_ALERT_RAISED,
    UNIT_STATUS_CHANGED,
    VITALS_RECORDED,
    short,
)
from kernel.codes import RESIDENT_ID
from kernel.jsontypes import Json
from services.ingest import resident_id as resident_ids
from services.simulate.ecg_synth import ANTERIOR, INFERIOR, synth_ecg
from stream_processors.diagnosis_queue.published import task_id

CHINA = dt.timezone(dt.timedelta(hours=8))
DEFAULT_START = dt.datetime(2026, 1, 5, 0, 0, tzinfo=CHINA)
PCI_HOSPITAL = "county-hospital"
HOSPITALS = (PCI_HOSPITAL, "county-tcm-hospital")
SNOMED = "http://snomed.info/sct"
STEMI_CODE = {
    "system": SNOMED,
    "code": "401303003",
    "display": "Acute ST segment elevation myocardial infarction",
}
NORMAL_CODE = {"system": SNOMED, "code": "164854000", "display": "ECG normal"}
OTHER_REASONS = (
    "Fall at home, hip pain",
    "Shortness of breath",
    "Road traffic collision",
    "Sudden weakness of the left arm",
    "Abdominal pain",
    "Fever and confusion",
)
FAMILY = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄")
GIVEN = ("建国", "秀英", "伟", "芳", "强", "敏", "军", "丽")
WAIT_READ_S = 30.0  # for an ECG to reach the read queue (router + queue processors)
POLL_S = 0.05
RETRIES = 5  # for 503 answers (log or queue processor busy)


@dataclass(frozen=True)
class RegionConfig:
    stations: int = 3
    clinics: int = 4
    days: int = 2
    seed: int = 7
    start: dt.datetime = DEFAULT_START
    incidents_per_station_day: float = 3.0
    ecgs_per_clinic_day: float = 2.0
    chest_pain_share: float = 0.4
    stemi_share_of_chest_pain: float = 0.4
    ambulance_ecg_share: float = 0.85  # chest-pain incidents that get a 12-lead ECG
    read_share: float = 1.0  # ECGs the centre signs during the run
    ecg_seconds: float = 2.5
    readers: int = 2


@dataclass(frozen=True)
class TabletBatch:
    at: dt.datetime  # the simulated time the batch is sent (its last event)
    incident_id: str
    expected_version: int
    events: list[Json]
    device_id: str


@dataclass(frozen=True)
class ClinicEcg:
    at: dt.datetime
    payload: Json  # the POST /ingest/ecg body


@dataclass(frozen=True)
class Read:
    at: dt.datetime
    ecg_id: str
    reader_id: str
    interpretation: str
    codes: list[Json]


Step = TabletBatch | ClinicEcg | Read


@dataclass
class Plan:
    config: RegionConfig
    steps: list[Step] = field(default_factory=list)

    def incident_events(self) -> dict[str, list[Json]]:
        """Every tablet event per incident, in sending order."""
        out: dict[str, list[Json]] = {}
        for s in self.steps:
            if isinstance(s, TabletBatch):
                out.setdefault(s.incident_id, []).extend(s.events)
        return out

    def clinic_ecgs(self) -> list[Json]:
        return [s.payload for s in self.steps if isinstance(s, ClinicEcg)]

    def reads(self) -> list[Read]:
        return [s for s in self.steps if isinstance(s, Read)]


@functools.lru_cache(maxsize=8)
def waveform(kind: str, seconds: float) -> dict[str, list[int]]:
    """A cached synthetic 12-lead: normal, inferior or anterior STEMI."""
    if kind == "normal":
        return synth_ecg(heart_rate_bpm=76, seconds=seconds, seed=11)
    leads = INFERIOR if kind == "inferior" else ANTERIOR
    return synth_ecg(
        heart_rate_bpm=98, seconds=seconds, st_elevation_uv=250, st_leads=leads, seed=12
    )


def _iso(at: dt.datetime) -> str:
    return at.isoformat()


def station_ids(config: RegionConfig) -> list[str]:
    return [f"station-{i + 1:02d}" for i in range(config.stations)]


def clinic_ids(config: RegionConfig) -> list[str]:
    return [f"clinic-{i + 1:02d}" for i in range(config.clinics)]


class _Planner:
    def __init__(self, config: RegionConfig) -> None:
        self.c = config
        self.rng = random.Random(config.seed)
        self.steps: list[Step] = []
        self.reader_turn = 0

    def minutes(self, low: float, high: float) -> dt.timedelta:
        # whole seconds: times a tablet shows, and hand computations stay exact
        return dt.timedelta(seconds=round(self.rng.uniform(low, high) * 60))

    def event_id(self, *parts: object) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "goldenhour-sim/" + "/".join(map(str, parts))))

    def resident(self) -> tuple[str, str]:
        born = dt.date(1940, 1, 1) + dt.timedelta(days=self.rng.randrange(0, 365 * 50))
        first17 = f"610102{born:%Y%m%d}{self.rng.randrange(0, 1000):03d}"
        return first17 + resident_ids.check_char(first17), born.isoformat()

    def patient(self) -> Json:
        rid, born = self.resident()
        return {
            "identifiers": [{"system": RESIDENT_ID, "value": rid}],
            "family": self.rng.choice(FAMILY),
            "given": self.rng.choice(GIVEN),
            "gender": self.rng.choice(("male", "female")),
            "birth_date": born,
        }

    def read(self, ecg_id: str, acquired: dt.datetime, stemi: bool, sent: dt.datetime) -> None:
        """Schedule the read 3-15 min after acquisition, never before the ECG was sent."""
        if self.rng.random() >= self.c.read_share:
            return
        reader = f"dr-{self.reader_turn % max(1, self.c.readers) + 1:02d}"
        self.reader_turn += 1
        text, code = (
            ("ST elevation in contiguous leads: acute STEMI.", STEMI_CODE)
            if stemi
            else ("Sinus rhythm. Normal ECG.", NORMAL_CODE)
        )
        at = max(acquired + self.minutes(3, 15), sent)
        self.steps.append(Read(at, ecg_id, reader, text, [code]))

    # --- one incident ----------------------------------------------------------------

    def incident(self, station: str, day: int, n: int, call: dt.datetime) -> None:
        incident_id = f"sim{self.c.seed}-{station[-2:]}-d{day:02d}-{n:02d}"
        unit = f"amb-{station[-2:]}{self.rng.choice('ab')}"
        chest = self.rng.random() < self.c.chest_pain_share
        stemi = chest and self.rng.random() < self.c.stemi_share_of_chest_pain
        ecg = chest and self.rng.random() < self.c.ambulance_ecg_share
        reason = "Chest pain, sweating" if chest else self.rng.choice(OTHER_REASONS)
        hospital = PCI_HOSPITAL if stemi else self.rng.choice(HOSPITALS)
        timeline: list[tuple[dt.datetime, Json]] = []
        reads: list[tuple[str, dt.datetime, bool]] = []

        def ev(at: dt.datetime, event_type: str, **fields: Any) -> None:
            eid = self.event_id(incident_id, len(timeline))
            timeline.append(
                (
                    at,
                    {"type": short(event_type), "event_id": eid, "occurred_at": _iso(at), **fields},
                )
            )

        def status(at: dt.datetime, name: str) -> None:
            ev(at, UNIT_STATUS_CHANGED, unit_id=unit, status=name)

        def stemi_alert(at: dt.datetime, note: str) -> None:
            ev(at, PRE_ALERT_RAISED, kind="STEMI", destination_id=PCI_HOSPITAL, note=note)

        ev(
            call,
            INCIDENT_OPENED,
            dispatch_reason=reason,
            priority="1" if chest else "2",
            station_id=station,
            unit_id=unit,
        )
        dispatched = call + self.minutes(1, 3)
        status(dispatched, "DISPATCHED")
        status(dispatched + self.minutes(0.5, 2), "EN_ROUTE")
        on_scene = max(call + self.minutes(8, 25), dispatched + dt.timedelta(minutes=3))
        status(on_scene, "ON_SCENE")
        at_patient = on_scene + self.minutes(0.5, 3)
        status(at_patient, "AT_PATIENT")
        patient = self.patient()
        ev(at_patient + dt.timedelta(minutes=1), PATIENT_RECORDED, **patient)
        ev(
            at_patient + dt.timedelta(minutes=2),
            VITALS_RECORDED,
            vitals=[
                {"code": "8867-4", "value": self.rng.randint(60, 120), "unit": "/min"},
                {"code": "59408-5", "value": self.rng.randint(90, 99), "unit": "%"},
            ],
        )
        left = on_scene + self.minutes(10, 25)
        if ecg:
            acquired = at_patient + self.minutes(2, 14)
            ecg_id = f"{incident_id}-ecg-1"
            kind = self.rng.choice(("inferior", "anterior")) if stemi else "normal"
            ev(
                acquired,
                ECG_ACQUIRED,
                ecg_id=ecg_id,
                device={
                    "id": f"monitor-{unit}",
                    "manufacturer": "Mindray",
                    "model": "BeneHeart D6",
                },
                sampling_rate_hz=500,
                leads=waveform(kind, self.c.ecg_seconds),
            )
            reads.append((ecg_id, acquired, stemi))
            left = max(left, acquired + dt.timedelta(minutes=1))
            if stemi:
                note = "STEMI on the 12-lead; activate cath lab"
                stemi_alert(acquired + self.minutes(0.5, 3), note)
        elif stemi:  # STEMI recognised without a transmitted ECG (monitor only)
            stemi_alert(at_patient + self.minutes(3, 8), "Suspected STEMI, no 12-lead transmitted")
        status(left, "LEFT_SCENE")
        ev(
            left + dt.timedelta(minutes=2),
            HANDOVER_SUBMITTED,
            destination_id=hospital,
            atmist={"age": f"{patient['birth_date'][:4]} born", "mechanism": reason},
        )
        arrived = left + self.minutes(10, 30)
        status(arrived, "AT_DESTINATION")
        accepted = arrived + self.minutes(3, 25)
        ev(accepted, HANDOVER_ACCEPTED, accepted_by=f"ed-nurse-{hospital}", hospital_id=hospital)
        status(accepted + self.minutes(5, 15), "BACK_IN_SERVICE")
        sent = self.batches(incident_id, unit, sorted(timeline, key=lambda p: p[0]))
        for ecg_id, acquired, is_stemi in reads:
            self.read(ecg_id, acquired, is_stemi, sent[ecg_id])

    def batches(
        self, incident_id: str, unit: str, timeline: list[tuple[dt.datetime, Json]]
    ) -> dict[str, dt.datetime]:
        """Three batches, as a tablet sends them: at the scene, on leaving, at the hospital."""
        cuts = [0]
        for i, (_, e) in enumerate(timeline):
            if e.get("status") in ("ON_SCENE", "AT_DESTINATION"):
                cuts.append(i)
        cuts.append(len(timeline))
        sent, ecg_sent_at = 0, {}
        for a, b in zip(cuts, cuts[1:], strict=False):
            if a == b:
                continue
            part = timeline[a:b]
            events = [e for _, e in part]
            self.steps.append(TabletBatch(part[-1][0], incident_id, sent, events, f"tablet-{unit}"))
            sent += len(events)
            ecg_sent_at.update({e["ecg_id"]: part[-1][0] for e in events if "ecg_id" in e})
        return ecg_sent_at

    # --- one clinic ECG --------------------------------------------------------------

    def clinic_ecg(self, clinic: str, day: int, n: int, at: dt.datetime) -> None:
        ecg_id = f"sim{self.c.seed}-{clinic}-d{day:02d}-{n:02d}"
        chest = self.rng.random() < self.c.chest_pain_share
        stemi = chest and self.rng.random() < self.c.stemi_share_of_chest_pain / 2
        kind = "inferior" if stemi else "normal"
        payload = {
            "event_id": self.event_id(ecg_id),
            "ecg_id": ecg_id,
            "patient": self.patient(),
            "acquired_at": _iso(at),
            "site": {"id": clinic, "name": f"Township clinic {clinic[-2:]}", "kind": "clinic"},
            "device": {"id": f"cart-{clinic}", "manufacturer": "Edan", "model": "SE-1200"},
            "sampling_rate_hz": 500,
            "leads": waveform(kind, self.c.ecg_seconds),
            "clinical_question": "Chest pain" if chest else "Routine check-up",
            "urgency": "stat" if stemi else ("urgent" if chest else "routine"),
        }
        self.steps.append(ClinicEcg(at, payload))
        self.read(ecg_id, at, stemi, at)

    def run(self) -> Plan:
        for day in range(self.c.days):
            midnight = self.c.start + dt.timedelta(days=day)
            for station in station_ids(self.c):
                for n in range(self._count(self.c.incidents_per_station_day)):
                    self.incident(station, day, n, midnight + self.minutes(0, 24 * 60 - 1))
            for clinic in clinic_ids(self.c):
                for n in range(self._count(self.c.ecgs_per_clinic_day)):
                    self.clinic_ecg(clinic, day, n, midnight + self.minutes(8 * 60, 18 * 60))
        order = {TabletBatch: 0, ClinicEcg: 0, Read: 1}
        self.steps.sort(key=lambda s: (s.at, order[type(s)]))
        return Plan(self.c, self.steps)

    def _count(self, mean: float) -> int:
        """A day's count around `mean` (integer part, plus one with the fraction's odds)."""
        whole = int(mean)
        return whole + (1 if self.rng.random() < mean - whole else 0)


def plan(config: RegionConfig) -> Plan:
    """The scenario of `config`: every step, in simulated-time order (pure, seeded)."""
    return _Planner(config).run()


# --- playing a plan over HTTP --------------------------------------------------------


class SimulationFailed(RuntimeError):
    pass


@dataclass
class Played:
    batches: int = 0
    events: int = 0
    clinic_ecgs: int = 0
    reads: int = 0
    reads_skipped: int = 0
    seconds: float = 0.0


def _post(client: httpx.Client, url: str, body: Json) -> httpx.Response:
    for attempt in range(RETRIES):
        resp = client.post(url, json=body)
        if resp.status_code != 503:
            return resp
        time.sleep(0.2 * (attempt + 1))
    return resp


def _send_batch(client: httpx.Client, step: TabletBatch) -> None:
    body = {
        "expected_version": step.expected_version,
        "device_id": step.device_id,
        "events": step.events,
    }
    resp = _post(client, f"/ingest/incidents/{step.incident_id}/events", body)
    if resp.status_code not in (200, 202):
        raise SimulationFailed(f"incident {step.incident_id}: {resp.status_code} {resp.text[:500]}")


def _send_ecg(client: httpx.Client, step: ClinicEcg) -> None:
    resp = _post(client, "/ingest/ecg", step.payload)
    if resp.status_code not in (200, 202):
        raise SimulationFailed(
            f"ECG {step.payload['ecg_id']}: {resp.status_code} {resp.text[:500]}"
        )


def _task_status(client: httpx.Client, ecg_id: str) -> str | None:
    resp = client.get(f"/fhir/Task/{task_id(ecg_id)}")
    return str(resp.json()["status"]) if resp.status_code == 200 else None


def _read(client: httpx.Client, step: Read) -> bool:
    """Claim and sign the ECG once it is in the queue; False if it was read already."""
    deadline = time.monotonic() + WAIT_READ_S
    while (status := _task_status(client, step.ecg_id)) is None:
        if time.monotonic() > deadline:
            raise SimulationFailed(f"ECG {step.ecg_id} never reached the read queue")
        time.sleep(POLL_S)
    if status == "completed":
        return False  # a replayed scenario: signed on an earlier run
    claim = _post(client, "/reading/claims", {"reader_id": step.reader_id, "ecg_id": step.ecg_id})
    if claim.status_code != 200:
        raise SimulationFailed(f"claim {step.ecg_id}: {claim.status_code} {claim.text[:300]}")
    body = {"reader_id": step.reader_id, "interpretation": step.interpretation, "codes": step.codes}
    signed = _post(client, f"/reading/ecg/{step.ecg_id}/report", body)
    if signed.status_code != 200:
        raise SimulationFailed(f"report {step.ecg_id}: {signed.status_code} {signed.text[:300]}")
    return True


def play(
    client: httpx.Client,
    steps: list[Step],
    progress: Callable[[int, int], None] | None = None,
) -> Played:
    """Send `steps` in order through the public API; raises `SimulationFailed` on a refusal."""
    played, started = Played(), time.monotonic()
    for i, step in enumerate(steps):
        if isinstance(step, TabletBatch):
            _send_batch(client, step)
            played.batches += 1
            played.events += len(step.events)
        elif isinstance(step, ClinicEcg):
            _send_ecg(client, step)
            played.clinic_ecgs += 1
        elif _read(client, step):
            played.reads += 1
        else:
            played.reads_skipped += 1
        if progress:
            progress(i + 1, len(steps))
    played.seconds = time.monotonic() - started
    return played


def stderr_progress(done: int, total: int) -> None:
    width = 40
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} steps")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()
