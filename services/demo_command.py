"""The demo's command-centre chapter (issue 15): a bus crash on the county road with 13
casualties across all four tag colours, two hospitals' capacity, the distribution plan
applied, the STEMI ambulance of the ambulance chapter escorted by a local stand-in for the
city traffic platform (which is down for its first request), and a surveillance alert from
a simulated cluster of carbon-monoxide calls over a quiet baseline.

Everything goes through the public API, as the dispatch desk, the crews' tablets and the
hospitals would send it; only the escort sender is started here, pointed at the stub.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from typing import Any

import httpx

from avro_schemas.events import INCIDENT_OPENED, short
from kernel.jsontypes import Json
from services.command.escort_sender import EscortSender
from services.command.traffic_stub import TrafficStub
from services.server import Server

CHINA = dt.timezone(dt.timedelta(hours=8))
SCENE = {"latitude": 30.236, "longitude": 120.196, "address": "示范县溪口镇县道X203 7公里处"}
# 13 casualties (START): 3 red, 4 yellow, 5 green, 1 black; T05 is re-tagged red later
CASUALTIES = [
    "RED",
    "RED",
    "RED",
    "YELLOW",
    "YELLOW",
    "YELLOW",
    "YELLOW",
    "GREEN",
    "GREEN",
    "GREEN",
    "GREEN",
    "GREEN",
    "BLACK",
]
CAPACITY = {
    "county-hospital": ({"red": 3, "yellow": 3, "green": 6}, 2, True),
    "county-tcm-hospital": ({"red": 1, "yellow": 3, "green": 6}, 0, False),
}
WAIT_S = 30.0


def _say(text: str) -> None:
    print(f"  - {text}", flush=True)


def _until(what: str, probe: Any) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.2)
    raise RuntimeError(f"demo: timed out waiting for {what}")


def _capacity(client: httpx.Client) -> None:
    for hospital, (beds, teams, cath) in CAPACITY.items():
        body = {
            "beds": [{"category": c, "available": n} for c, n in beds.items()],
            "surgical_teams": teams,
            "cath_lab_open": cath,
            "ed_status": "normal",
            "reported_by": f"急诊护士长@{hospital}",
        }
        client.put(f"/command/capacity/{hospital}", json=body).raise_for_status()
        _say(f"{hospital} reports beds {beds}, {teams} surgical team(s)")


def _bus_crash(client: httpx.Client, mci: str) -> None:
    client.post(
        "/command/incidents",
        json={
            "mci_id": mci,
            "kind": "road-traffic",
            "title": "县道X203客车侧翻",
            "scene": SCENE,
            "estimated_casualties": 15,
            "station_ids": ["station-02", "station-chengguan"],
            "declared_by": "调度员王敏",
        },
    ).raise_for_status()
    _say(f"dispatch declares MCI {mci}: bus overturned, about 15 casualties")
    for n, tag in enumerate(CASUALTIES):
        station = "station-02" if n % 2 == 0 else "station-chengguan"
        client.post(
            f"/command/incidents/{mci}/casualties",
            json={
                "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"goldenhour/{mci}/{n}")),
                "casualty_id": f"T{n:02}",
                "tag": tag,
                "method": "START",
                "station_id": station,
                "triaged_by": f"crew@{station}",
                "estimated_age": 20 + 3 * n,
            },
        ).raise_for_status()
    client.post(
        f"/command/incidents/{mci}/casualties",
        json={
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"goldenhour/{mci}/retriage")),
            "casualty_id": "T05",
            "tag": "RED",
            "method": "START",
            "station_id": "station-02",
            "triaged_by": "crew@station-02",
            "note": "re-triage: resp. rate > 30",
        },
    ).raise_for_status()
    _say("crews tag 13 casualties (START); T05 re-tagged yellow -> red")


def _distribute(client: httpx.Client, mci: str) -> None:
    _until("the tags", lambda: client.get(f"/command/incidents/{mci}").status_code == 200)
    _until(
        "both capacity reports",
        lambda: len(client.get("/command/capacity").json()["hospitals"]) >= 2,
    )
    answer = client.post(
        f"/command/incidents/{mci}/distribution", json={"assigned_by": "调度员王敏"}
    ).json()
    plan = answer["plan"]
    for a in plan["assignments"]:
        _say(f"{a['casualty_id']} -> {a['hospital_id']} ({a['travel_min']} min)")
    if plan["unassigned"]:
        _say(f"no bed for {', '.join(plan['unassigned'])}: the desk phones the city's hospitals")
    else:
        _say("every living casualty has a destination within the reported capacity")


def _cluster(client: httpx.Client, today: dt.date) -> None:
    """A quiet baseline of chest-pain calls at station-01, then 6 carbon-monoxide calls in
    one evening (a blocked flue in a cold snap)."""
    calls = [(today - dt.timedelta(days=d), "胸痛") for d in range(3, 10)]
    calls += [(today, "一氧化碳中毒")] * 6
    for n, (day, reason) in enumerate(calls):
        incident = f"SURV-{uuid.uuid4().hex[:8]}"
        at = dt.datetime.combine(day, dt.time(19, n), tzinfo=CHINA).isoformat()
        client.post(
            f"/ingest/incidents/{incident}/events",
            json={
                "expected_version": 0,
                "device_id": "tablet-amb-01a",
                "user_id": "crew-qingshan",
                "events": [
                    {
                        "type": short(INCIDENT_OPENED),
                        "event_id": str(uuid.uuid4()),
                        "occurred_at": at,
                        "dispatch_reason": reason,
                        "priority": "2",
                        "station_id": "station-01",
                        "unit_id": "amb-01a",
                        "scene": None,
                    }
                ],
            },
        ).raise_for_status()
    alert = _until("the surveillance alert", lambda: client.get("/command/alerts").json()["alerts"])
    a = alert[0]
    _say(
        f"alert {a['signal']} at {a['area']} on {a['day']}: {a['observed']} calls, "
        f"baseline {a['baseline_mean']}, EARS C2 {a['statistic']}"
    )


def _escort(server: Server, client: httpx.Client) -> TrafficStub:
    stub = TrafficStub(fail_first=1).start()
    sender = EscortSender(server.system, stub.url, server.base_url, 0.5, 5.0)
    threading.Thread(target=sender.run, args=(threading.Event(),), daemon=True).start()
    escorts = _until(
        "the escort",
        lambda: [
            e for e in client.get("/command/escorts").json()["escorts"] if e["status"] == "active"
        ],
    )
    e = escorts[0]
    _say(
        f"{e['unit_id']} ({e['reason']}) left the scene: escort {e['ack_id']} to "
        f"{e['destination_id']} after {e['attempts']} attempts, "
        f"{e['updates'][-1]['signals_cleared']} signals held green"
    )
    return stub


def play_command(client: httpx.Client, server: Server) -> Json:
    """The chapter; returns where to look."""
    print("\nThe command centre: a bus crash, an escort, an early warning:", flush=True)
    mci = f"MCI-{dt.date.today():%Y%m%d}-X203"
    _capacity(client)
    _bus_crash(client, mci)
    _distribute(client, mci)
    _escort(server, client)
    _cluster(client, dt.datetime.now(CHINA).date())
    _say(
        f"command page {server.base_url}/command/  (JSON: /command/incidents, /command/escorts,"
        " /command/alerts)"
    )
    return {"page": "/command/", "mci": f"/command/incidents/{mci}"}
