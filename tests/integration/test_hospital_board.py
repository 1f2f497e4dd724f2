"""The receiving hospital's live board and the region's unit view, over real HTTP, on each
backend pair: incident events appended to the log (as the tablet API would) show up on the
destination's board only, a new vitals set is pushed by server-sent events, a handover is
accepted once however often the button is pressed, and GPS fixes and statuses of two units
reach the region view."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from avro_schemas.catalogue import INCIDENT, POSITION
from eventlog.base import NewRecord, partition_for
from kernel.jsontypes import Json
from services.server import Server
from services.settings import Settings
from tests.integration.test_incident_ecg import (
    T0,
    append,
    ecg_acquired,
    incident_opened,
    patient_recorded,
    stemi_pre_alert,
)
from tests.integration.test_poison_and_rebuild import dump, latest
from tests.processes import run_rebuild

HOSPITAL = "county-hospital"
WAIT_S = 30.0  # processors on Kafka + Cassandra take up to a few hundred ms per hop
SSE_WAIT_S = 30.0
ACCEPTED = "goldenhour.ems.HandoverAccepted"


def wait_until(what: str, predicate: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stemi_incident(server: Server, destination: str = HOSPITAL, handover: bool = True) -> str:
    """An incident with a STEMI pre-alert (and the crew's handover) for `destination`."""
    incident = f"INC-{uuid.uuid4().hex[:8]}"
    incident_opened(server, incident, "chest pain", "A12")
    patient_recorded(server, incident, 9, age=62)
    vitals(server, incident, 10, hr=96)
    stemi_pre_alert(server, incident, destination, note="Inferior STEMI, cath lab please")
    if handover:
        handover_submitted(server, incident, 20, destination)
    return incident


def handover_submitted(
    server: Server, incident: str, minutes: float, destination: str = HOSPITAL
) -> None:
    atmist = {
        "age": "~62 male",
        "time": "onset 09:10",
        "mechanism": "chest pain at rest",
        "injuries": None,
        "signs": "ST elevation II, III, aVF; HR 96",
        "treatment": "aspirin 300 mg, GTN",
    }
    append(
        server,
        incident,
        "HandoverSubmitted",
        minutes,
        destination_id=destination,
        atmist=atmist,
        narrative="Pale and sweaty, pain 8/10.",
    )


def vitals(server: Server, incident: str, minutes: float, hr: float) -> None:
    append(
        server,
        incident,
        "VitalsRecorded",
        minutes,
        vitals=[
            {"loinc": "8867-4", "quantity": {"value": hr, "unit": "/min"}},
            {"loinc": "8480-6", "quantity": {"value": 132.0, "unit": "mm[Hg]"}},
            {"loinc": "8462-4", "quantity": {"value": 84.0, "unit": "mm[Hg]"}},
            {"loinc": "59408-5", "quantity": {"value": 95.0, "unit": "%"}},
        ],
    )


def unit_status(
    server: Server, incident: str, minutes: float, unit: str, code: str, at: Json | None = None
) -> None:
    """The crew's status button (`code`) for `unit`, with the tablet's position if any."""
    append(server, incident, "UnitStatusChanged", minutes, unit_id=unit, status=code, position=at)


def position(
    server: Server,
    unit: str,
    station: str,
    seconds: float,
    lat: float,
    lon: float,
    incident: str | None = None,
) -> None:
    at = T0 + dt.timedelta(seconds=seconds)
    event_id = str(uuid.uuid4())
    event: Json = {
        "meta": {
            "event_id": event_id,
            "occurred_at": at,
            "recorded_at": at,
            "source": {
                "channel": "tablet",
                "device_id": f"avl-{unit}",
                "user_id": None,
                "site_id": station,
            },
        },
        "unit_id": unit,
        "station_id": station,
        "position": {"latitude": lat, "longitude": lon, "address": None},
        "speed_kmh": 52.0,
        "heading_deg": 270.0,
        "incident_id": incident,
    }
    value = server.system.codec.encode("goldenhour.ems.UnitPositionReported", event)
    server.system.log.append(POSITION, [NewRecord(unit, value, event_id)])


def card(
    client: httpx.Client, hospital: str, incident: str, section: str = "incoming"
) -> Json | None:
    board = client.get(f"/board/{hospital}.json").json()
    return next((c for c in board[section] if c["incident_id"] == incident), None)


def logged_acceptances(server: Server, incident: str) -> list[Json]:
    log, codec = server.system.log, server.system.codec
    partition = partition_for(incident, log.partition_count(INCIDENT))
    out, offset = [], 0
    while offset < log.end_offset(INCIDENT, partition):
        records = log.read(INCIDENT, partition, offset, 500)
        for r in records:
            name, event = codec.decode(r.value)
            if name == ACCEPTED and event["incident_id"] == incident:
                out.append(event)
        offset = records[-1].offset + 1
    return out


def board_events(client: httpx.Client, url: str, since: str = "") -> Callable[[], Json]:
    """A reader of `board`/`region` events that reconnects (with Last-Event-ID) when the
    server ends a stream, like the browser's EventSource."""
    state = {"last": since}

    def next_event() -> Json:
        deadline = time.monotonic() + SSE_WAIT_S
        while time.monotonic() < deadline:
            headers = {"Last-Event-ID": state["last"]} if state["last"] else {}
            with client.stream("GET", url, headers=headers, timeout=httpx.Timeout(10.0)) as resp:
                assert resp.status_code == 200
                assert resp.headers["content-type"].startswith("text/event-stream")
                fields: dict[str, str] = {}
                for line in resp.iter_lines():
                    if line:
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
                        continue
                    if "data" in fields:
                        state["last"] = fields["id"]
                        return {"event": fields["event"], **json.loads(fields["data"])}
                    fields = {}
        raise AssertionError(f"no event from {url} within {SSE_WAIT_S} s")

    return next_event


def test_board_lists_the_incoming_ambulance_at_its_destination_only(server: Server) -> None:
    incident = stemi_incident(server)
    other = stemi_incident(server, destination="city-hospital", handover=False)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        mine = wait_until(
            "the card with the handover",
            lambda: (c := card(client, HOSPITAL, incident)) and c["handover"] and c,
        )
        wait_until("the other card", lambda: card(client, "city-hospital", other))
        board = client.get(f"/board/{HOSPITAL}.json").json()
        assert incident in [c["incident_id"] for c in board["incoming"]]
        assert other not in [c["incident_id"] for c in board["incoming"]]
        assert card(client, "city-hospital", incident) is None
        assert mine["prealert"]["kind"] == "STEMI" and mine["status"] == "en_route"
        assert mine["prealert"]["eta"] == "2026-11-23T10:15:00.000000Z"
        assert mine["handover"]["atmist"]["signs"] == "ST elevation II, III, aVF; HR 96"
        assert mine["vitals"]["8867-4"]["value"] == 96 and mine["vitals"]["59408-5"]["unit"] == "%"
        assert (mine["unit_id"], mine["station_id"]) == ("A12", "station-2")
        assert mine["patient"]["temporary_id"] == f"TMP-{incident}"
        page = client.get(f"/board/{HOSPITAL}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert f'data-incident-id="{incident}"' in page.text and "Inferior STEMI" in page.text
        assert f'data-incident-id="{other}"' not in page.text


def test_board_shows_the_ambulance_ecg_with_its_automatic_class(server: Server) -> None:
    incident = stemi_incident(server)
    ecg_id = f"amb-{uuid.uuid4().hex[:6]}"
    ecg_acquired(server, incident, ecg_id, 11, st_uv=250)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        ecg = wait_until(
            "the measured ECG on the card",
            lambda: (
                (c := card(client, HOSPITAL, incident))
                and c["ecgs"]
                and c["ecgs"][0]["automatic_class"]
                and c["ecgs"][0]["observation"]
                and c["ecgs"][0]
            ),
        )
        assert ecg["ecg_id"] == ecg_id and ecg["automatic_class"] == "critical"
        assert ecg["acquired_at"] == "2026-11-23T09:51:00.000000Z"
        page = client.get(f"/board/{HOSPITAL}").text
        assert 'class="ecg-thumb" data-lead="II"' in page and "自动分诊：危急" in page
        # The findings are stored in English (the JSON keeps them); the page reads Chinese.
        assert any(f.startswith("critical: ST elevation at the J point") for f in ecg["findings"])
        shown = re.search(r'<ul class="findings">(.*?)</ul>', page, re.DOTALL)
        assert shown and "危急：相邻导联" in shown[1] and "ST elevation" not in shown[1]


def test_server_sent_events_push_a_new_vitals_set(server: Server) -> None:
    incident = stemi_incident(server)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        wait_until("the card", lambda: card(client, HOSPITAL, incident))
        next_event = board_events(client, f"/board/{HOSPITAL}/events")
        first = next_event()
        assert first["event"] == "board" and f'data-incident-id="{incident}"' in first["html"]
        vitals(server, incident, 25, hr=137)
        pushed = next_event()
        while '<span class="value">137</span>' not in pushed["html"]:  # e.g. an ECG measured
            pushed = next_event()
        assert pushed["digest"] != first["digest"]


def test_accepting_twice_records_one_transfer_of_care(server: Server) -> None:
    incident = stemi_incident(server)
    url = f"/board/{HOSPITAL}/incidents/{incident}/accept"
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        wait_until(
            "the handover", lambda: (c := card(client, HOSPITAL, incident)) and c["handover"]
        )
        first = client.post(url, json={"accepted_by": "Dr Wang"})
        second = client.post(url, data={"accepted_by": "Dr Li"}, follow_redirects=False)
        assert first.status_code == 202, first.text
        assert second.status_code == 303 and second.headers["location"] == f"/board/{HOSPITAL}"
        assert second.headers["Idempotent-Replayed"] == "true"
        assert first.json()["accepted_by"] == "Dr Wang" and first.json()["hospital_id"] == HOSPITAL
        done = wait_until(
            "the handed-over card", lambda: card(client, HOSPITAL, incident, "handed_over")
        )
        assert card(client, HOSPITAL, incident) is None
    assert done["status"] == "handed_over"
    assert done["accepted"] == {
        "at": first.json()["accepted_at"],
        "by": "Dr Wang",
        "hospital_id": HOSPITAL,
    }
    (event,) = logged_acceptances(server, incident)
    assert event["hospital_id"] == HOSPITAL and event["meta"]["source"]["channel"] == "board"


def test_accepting_before_any_handover_is_a_conflict(server: Server) -> None:
    incident = stemi_incident(server, handover=False)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        wait_until("the card", lambda: card(client, HOSPITAL, incident))
        resp = client.post(
            f"/board/{HOSPITAL}/incidents/{incident}/accept", json={"accepted_by": "Dr Wang"}
        )
        unknown = client.post(
            f"/board/{HOSPITAL}/incidents/INC-none/accept", json={"accepted_by": "Dr Wang"}
        )
        nameless = client.post(
            f"/board/{HOSPITAL}/incidents/{incident}/accept", json={"accepted_by": " "}
        )
    assert resp.status_code == 409 and resp.headers["content-type"] == "application/fhir+json"
    outcome = resp.json()
    assert (
        outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "conflict"
    )
    assert "尚未提交交接单" in outcome["issue"][0]["diagnostics"]  # Chinese by default
    assert unknown.status_code == 409 and "INC-none" in unknown.json()["issue"][0]["diagnostics"]
    assert nameless.status_code == 422 and nameless.json()["resourceType"] == "OperationOutcome"
    assert logged_acceptances(server, incident) == []


def test_region_shows_two_units_positions_and_statuses(server: Server) -> None:
    a, b = f"A{uuid.uuid4().hex[:4]}", f"B{uuid.uuid4().hex[:4]}"
    incident = f"INC-{uuid.uuid4().hex[:8]}"
    position(server, a, "station-2", 10, 31.2301, 121.4737)
    position(server, a, "station-2", 20, 31.2310, 121.4700, incident=incident)
    position(server, b, "station-5", 15, 31.3001, 121.5001)
    unit_status(server, incident, 0.5, a, "EN_ROUTE")
    unit_status(server, f"INC-{uuid.uuid4().hex[:8]}", 0.2, b, "BACK_IN_SERVICE")
    with httpx.Client(base_url=server.base_url, timeout=30) as client:

        def both() -> dict[str, Json] | None:
            units = {u["unit_id"]: u for u in client.get("/region/units.json").json()["units"]}
            ready = a in units and b in units and units[a]["status"] and units[b]["status"]
            return units if ready and units[a]["latitude"] == 31.2310 else None

        units = wait_until("both units", both)
        assert (units[a]["status"], units[a]["incident_id"], units[a]["station_id"]) == (
            "EN_ROUTE",
            incident,
            "station-2",
        )
        assert (units[a]["longitude"], units[a]["speed_kmh"]) == (121.47, 52.0)
        assert (units[b]["status"], units[b]["incident_id"], units[b]["latitude"]) == (
            "BACK_IN_SERVICE",
            "",
            31.3001,
        )
        station = client.get("/region/units.json", params={"station": "station-5"}).json()["units"]
        assert [u["unit_id"] for u in station] == [b]
        page = client.get("/region/").text
        assert f'<g class="dot st-EN_ROUTE" data-unit-id="{a}"' in page
        assert f'<tr data-unit-id="{b}" data-status="BACK_IN_SERVICE"' in page
        pushed = board_events(client, "/region/events")()
        assert pushed["event"] == "region" and f'data-unit-id="{a}"' in pushed["html"]


def test_rebuild_gives_the_same_board_and_units(settings: Settings) -> None:
    """Positions and statuses interleave differently on a rebuild (two topics); the
    current IncomingAmbulance and UnitState must not care."""
    server = Server(settings)
    server.start()
    incident = stemi_incident(server)
    here = {"latitude": 31.2304, "longitude": 121.4737, "address": None}
    unit_status(server, incident, 30, "A12", "AT_DESTINATION", here)
    for s in range(0, 300, 30):
        position(server, "A12", "station-2", 1500 + s, 31.2 + s / 10000, 121.4, incident=incident)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        wait_until(
            "the handover", lambda: (c := card(client, HOSPITAL, incident)) and c["handover"]
        )
        resp = client.post(
            f"/board/{HOSPITAL}/incidents/{incident}/accept", json={"accepted_by": "Dr Wang"}
        )
        assert resp.status_code == 202
    wait_until("the processors to catch up", lambda: server.system.lag() == 0)
    server.stop()
    mine = ("IncomingAmbulance", "UnitState")
    before = {k: v for k, v in latest(dump(settings)).items() if k[0] in mine}
    done = run_rebuild(settings)
    assert done.returncode == 0, done.stderr
    after = {k: v for k, v in latest(dump(settings)).items() if k[0] in mine}
    assert after == before and len(before) == 2
