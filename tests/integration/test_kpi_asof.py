"""Quality indicators from the log, as of an instant, on both backend pairs: a fixed-seed
county scenario goes in over HTTP (tablet API, ECG upload, reading centre), and `/kpi`
must equal a hand computation from the events this test sent; the diagnosis interval,
stamped by the reading API's wall clock, is checked against the ReadReported events in the
log. `as_of` between the two halves of the scenario must give the first half's figures.
The CLI answers the same as the HTTP API (`goldenhour kpi` as a real process)."""

from __future__ import annotations

import datetime as dt
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.measurereport import MeasureReport

from avro_schemas.catalogue import READING
from kernel.jsontypes import Json
from services.server import Server
from services.settings import Settings
from services.simulate.region import Plan, RegionConfig, TabletBatch, plan, play
from tests.conftest import free_port

CONFIG = RegionConfig(
    stations=2,
    clinics=1,
    days=1,
    seed=2,
    incidents_per_station_day=2,
    ecgs_per_clinic_day=1,
    chest_pain_share=0.6,
)
SPLIT = 8  # steps sent before the as-of instant


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _minutes(a: dt.datetime, b: dt.datetime) -> float:
    return (b - a).total_seconds() / 60


def hand_intervals(incidents: dict[str, list[Json]]) -> dict[str, dict[str, list[float | None]]]:
    """kpi -> station -> intervals in minutes (None: missing), from the tablet JSON alone."""
    out: dict[str, dict[str, list[float | None]]] = {}
    for events in incidents.values():
        opened = next(e for e in events if e["type"] == "IncidentOpened")
        station, call = opened["station_id"], _at(opened["occurred_at"])
        first: dict[str, dt.datetime] = {}
        for e in events:
            key = e.get("status") or e["type"]
            first.setdefault(key, _at(e["occurred_at"]))
        chest = "chest pain" in opened["dispatch_reason"].lower() or "PreAlertRaised" in first

        def add(
            kpi: str, start: dt.datetime | None, end: dt.datetime | None, where: str = station
        ) -> None:
            if start is not None:
                value = None if end is None else _minutes(start, end)
                out.setdefault(kpi, {}).setdefault(where, []).append(value)

        add("call_to_dispatch", call, first.get("DISPATCHED"))
        add("response_time", call, first.get("ON_SCENE"))
        add("on_scene_time", first.get("ON_SCENE"), first.get("LEFT_SCENE"))
        add("handover_time", first.get("AT_DESTINATION"), first.get("HandoverAccepted"))
        if chest:
            add("fmc_to_first_ecg", first.get("AT_PATIENT"), first.get("EcgAcquired"))
    return out


def expected_figure(values: list[float | None], target: float) -> Json:
    measured = [v for v in values if v is not None]
    return {
        "cases": len(values),
        "measured": len(measured),
        "missing": len(values) - len(measured),
        "within_target": sum(1 for v in measured if v <= target),
        "median_min": round(statistics.median(measured), 4) if measured else None,
    }


TARGETS = {
    "call_to_dispatch": 3,
    "response_time": 15,
    "on_scene_time": 20,
    "handover_time": 15,
    "fmc_to_first_ecg": 10,
}


def sent_before(scenario: Plan, count: int) -> dict[str, list[Json]]:
    out: dict[str, list[Json]] = {}
    for step in scenario.steps[:count]:
        if isinstance(step, TabletBatch):
            out.setdefault(step.incident_id, []).extend(step.events)
    return out


def check_against_hand(answer: Json, incidents: dict[str, list[Json]]) -> None:
    hand = hand_intervals(incidents)
    kpis = {k["code"]: k for k in answer["kpis"]}
    for code, target in TARGETS.items():
        got = {g["group"]: g for g in kpis[code]["groups"]}
        want = hand.get(code, {})
        assert sorted(got) == sorted(want), code
        for station, values in want.items():
            figure = {
                k: got[station][k]
                for k in ("cases", "measured", "missing", "within_target", "median_min")
            }
            assert figure == expected_figure(values, target), (code, station)


def read_times_in_log(server: Server) -> dict[str, dt.datetime]:
    """ecg_id -> occurred_at of its first ReadReported, straight from the log."""
    system, out = server.system, {}
    for tp, end in system.log.end_offsets(READING).items():
        for record in system.log.read(READING, tp.partition, 0, end):
            name, event = system.codec.decode(record.value)
            if name == "goldenhour.reading.ReadReported":
                at = event["meta"]["occurred_at"]
                out[event["ecg_id"]] = min(at, out.get(event["ecg_id"], at))
    return out


def acquisition_times(scenario: Plan) -> dict[str, dt.datetime]:
    out = {p["ecg_id"]: _at(p["acquired_at"]) for p in scenario.clinic_ecgs()}
    for events in scenario.incident_events().values():
        out.update(
            {e["ecg_id"]: _at(e["occurred_at"]) for e in events if e["type"] == "EcgAcquired"}
        )
    return out


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=60) as c:
        yield c


def kpi(client: httpx.Client, **params: str) -> Json:
    resp = client.get("/kpi", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_kpis_equal_the_hand_computation_and_change_with_as_of(
    server: Server, client: httpx.Client
) -> None:
    scenario = plan(CONFIG)
    assert len(scenario.reads()) >= 3 and len(scenario.incident_events()) == 4  # the fixed seed
    before_anything = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    play(client, scenario.steps[:SPLIT])
    time.sleep(0.01)
    middle = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    play(client, scenario.steps[SPLIT:])

    # Everything: equal to the hand computation over every event sent.
    whole = kpi(client, by="station")
    check_against_hand(whole, scenario.incident_events())
    # As of the middle: only the first half of the scenario, whatever came after.
    half = kpi(client, by="station", as_of=middle.isoformat())
    check_against_hand(half, sent_before(scenario, SPLIT))
    assert half["events_counted"] < whole["events_counted"] == whole["events_read"]
    nothing = kpi(client, as_of=before_anything.isoformat())
    assert nothing["events_counted"] == 0
    assert all(k["all"]["cases"] == 0 for k in nothing["kpis"])
    # An as-of in +08:00 is the same instant as in UTC.
    assert (
        kpi(
            client,
            by="station",
            as_of=middle.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(),
        )["kpis"]
        == half["kpis"]
    )

    # ECG -> diagnosis: acquisition (the scenario's times) to the signed read (the log's).
    reads, acquired = read_times_in_log(server), acquisition_times(scenario)
    assert sorted(reads) == sorted(r.ecg_id for r in scenario.reads())
    intervals = [_minutes(acquired[e], reads[e]) for e in reads]
    diagnosis = next(k for k in whole["kpis"] if k["code"] == "ecg_to_diagnosis")["all"]
    assert (diagnosis["cases"], diagnosis["measured"]) == (len(acquired), len(reads))
    assert diagnosis["median_min"] == pytest.approx(statistics.median(intervals), abs=1e-3)

    # STEMI share: incidents with a STEMI pre-alert, and of those the ones with an ECG.
    stemis = [
        es
        for es in scenario.incident_events().values()
        if any(e["type"] == "PreAlertRaised" for e in es)
    ]
    share = next(k for k in whole["kpis"] if k["code"] == "stemi_ecg_transmitted")["all"]
    with_ecg = sum(1 for es in stemis if any(e["type"] == "EcgAcquired" for e in es))
    assert (share["cases"], share["within_target"]) == (len(stemis), with_ecg)

    # Door to balloon: no hospital reported a PCI in this scenario, so no case is invented
    # (measured from hospital outcomes: tests/integration/test_hospital_outcomes.py).
    d2b = next(k for k in whole["kpis"] if k["code"] == "door_to_balloon")
    assert d2b["available"] is True and d2b["all"]["cases"] == 0

    # Exports: the CSV has one row per figure; every MeasureReport validates as FHIR R4B.
    csv_lines = client.get("/kpi/export.csv", params={"by": "station"}).text.strip().splitlines()
    assert len(csv_lines) == 1 + sum(1 + len(k["groups"]) for k in whole["kpis"])
    bundle = client.get("/kpi/MeasureReport", params={"by": "station"}).json()
    Bundle.model_validate(bundle)
    reports = [MeasureReport.model_validate(e["resource"]) for e in bundle["entry"]]
    by_code = {r.measure.rsplit("/", 1)[-1]: r for r in reports}
    assert by_code["door_to_balloon"].status == "complete"  # computable: 0 cases here
    c2d = by_code["call_to_dispatch"].group[0]
    assert {p.code.coding[0].code: p.count for p in c2d.population}["initial-population"] == 4
    assert len(c2d.stratifier[0].stratum) == 2

    # Bad queries are OperationOutcomes.
    assert client.get("/kpi", params={"as_of": "2026-03-01T00:00"}).status_code == 400
    assert client.get("/kpi", params={"by": "unit"}).status_code == 400


def test_cli_kpi_embedded__answers_like_the_api_as_a_real_process(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = Server(Settings(data_dir=data, http_port=free_port(), mllp_port=-1))
    server.start()
    try:
        scenario = plan(CONFIG)
        with httpx.Client(base_url=server.base_url, timeout=60) as c:
            play(c, scenario.steps[:SPLIT])
            middle = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8)))
            time.sleep(0.01)
            play(c, scenario.steps[SPLIT:])
            api = kpi(c, by="station", as_of=middle.isoformat())
    finally:
        server.stop()
    args = ["--data-dir", str(data), "--as-of", middle.isoformat(), "--by", "station"]
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "kpi", *args, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["kpis"] == api["kpis"]
    check_against_hand(answer, sent_before(scenario, SPLIT))
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "kpi",
            "--data-dir",
            str(data),
            "--as-of",
            "2026-03-01T00:00",  # a date alone is accepted (end of day, Beijing time)
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "UTC offset" in bad.stderr
