"""The regional command centre over real HTTP, on each backend pair (issue 15): an MCI's
life cycle with START tags and re-triage kept as history, a distribution within the
hospitals' reported capacity, an escort retried until a traffic platform that fails first
acknowledges it (a real HTTP server) with its route updates coming back, and a
surveillance alert raised on a planted cluster and not on the baseline."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from avro_schemas.catalogue import INCIDENT
from eventlog.base import NewRecord
from services.auth.principal import DEFAULT_SCOPES
from services.auth.tokens import mint_dev
from services.command.traffic_stub import TrafficStub
from services.server import Server
from tests.integration.test_hospital_board import wait_until

T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in the county
# 12 casualties of a bus crash across the four colours (START), written for the test
TAGS = ["RED"] * 3 + ["YELLOW"] * 4 + ["GREEN"] * 4 + ["BLACK"]
CAPACITY = {
    "hospital-a": {"beds": {"red": 2, "yellow": 2, "green": 2}, "surgical_teams": 1},
    "hospital-b": {"beds": {"red": 1, "yellow": 1, "green": 5}, "surgical_teams": 0},
}


def _json(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _report_capacity(http: httpx.Client) -> None:
    for hospital, cap in CAPACITY.items():
        beds = [{"category": c, "available": n} for c, n in cap["beds"].items()]
        body = {
            "beds": beds,
            "surgical_teams": cap["surgical_teams"],
            "cath_lab_open": True,
            "ed_status": "normal",
            "reported_by": f"nurse@{hospital}",
        }
        _json(http.put(f"/command/capacity/{hospital}", json=body), 202)


def declare_bus_crash(http: httpx.Client, mci: str, estimated_casualties: int) -> httpx.Response:
    """The duty officer declares an overturned coach on the G60, station-a responding."""
    return http.post(
        "/command/incidents",
        json={
            "mci_id": mci,
            "kind": "road-traffic",
            "title": "客车侧翻",
            "scene": {"latitude": 30.1, "longitude": 120.2, "address": "G60 K123"},
            "estimated_casualties": estimated_casualties,
            "station_ids": ["station-a"],
            "declared_by": "调度员王",
        },
    )


def _tag(
    http: httpx.Client, mci: str, casualty: str, tag: str, station: str = "station-a"
) -> httpx.Response:
    return http.post(
        f"/command/incidents/{mci}/casualties",
        json={
            "casualty_id": casualty,
            "tag": tag,
            "method": "START",
            "station_id": station,
            "unit_id": "A12",
            "triaged_by": "crew-7",
            "estimated_age": 35,
            "sex": "female",
        },
    )


def test_mci_life_cycle__tags_retriage_history_and_distribution_within_capacity(
    server: Server,
) -> None:
    mci = f"MCI-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        _report_capacity(http)
        _json(declare_bus_crash(http, mci, estimated_casualties=15), 202)
        for i, tag in enumerate(TAGS):
            _json(_tag(http, mci, f"T{i:02}", tag), 202)
        _json(_tag(http, mci, "T03", "RED"), 202)  # a YELLOW got worse: re-triage
        refused = _tag(http, mci, "T99", "GREEN", station="station-z")
        assert refused.status_code == 403 and refused.json()["resourceType"] == "OperationOutcome"

        def listed() -> Any:
            found = _json(http.get("/command/incidents"), 200)["incidents"]
            one = next((m for m in found if m["id"] == mci), None)
            return one if one and one["registered"] == 12 and one["triage"]["RED"] == 4 else None

        summary = wait_until("the MCI's tag counts", listed)
        assert summary["triage"] == {"RED": 4, "YELLOW": 3, "GREEN": 4, "BLACK": 1}
        wait_until(
            "both capacity reports",
            lambda: len(_json(http.get("/command/capacity"), 200)["hospitals"]) == 2,
        )

        applied = _json(
            http.post(f"/command/incidents/{mci}/distribution", json={"assigned_by": "调度员王"}),
            202,
        )
        planned = applied["plan"]
        # 4 RED for 3 red beds, 3 YELLOW for 3 yellow beds, 4 GREEN for 7 green beds
        assert len(planned["assignments"]) == 10 and len(planned["unassigned"]) == 1

        def distributed() -> Any:
            detail = _json(http.get(f"/command/incidents/{mci}"), 200)
            return detail if sum(detail["by_destination"].values()) == 10 else None

        detail = wait_until("the assignments", distributed)
        hospitals = wait_until(
            "capacity used",
            lambda: (
                [
                    h
                    for h in _json(http.get("/command/capacity"), 200)["hospitals"]
                    if sum(h["assigned"].values()) > 0
                ]
                if len(detail)
                else None
            ),
        )
        for h in hospitals:
            for category, left in h["remaining"].items():
                assert left >= 0, (h["hospital_id"], category, left)
        t03 = next(c for c in detail["casualties"] if c["casualty_id"] == "T03")
        assert [s["tag"] for s in t03["history"]] == ["YELLOW", "RED"]

        # the re-triage is in the FHIR Flag's history; the MCI is then closed
        tag_system = "https://goldenhour.health/sid/mci-triage-tag"
        patient = wait_until(
            "the casualty's Patient",
            lambda: _json(
                http.get("/fhir/Patient", params={"identifier": f"{tag_system}|{mci}/T03"}), 200
            ).get("entry"),
        )
        flag = wait_until(
            "its Flag",
            lambda: _json(
                http.get("/fhir/Flag", params={"patient": patient[0]["resource"]["id"]}), 200
            ).get("entry"),
        )
        history = _json(http.get(f"/fhir/Flag/{flag[0]['resource']['id']}/_history"), 200)
        tags = [e["resource"]["code"]["coding"][0]["code"] for e in history["entry"]]
        assert tags == ["RED", "YELLOW"]  # newest first
        _json(http.post(f"/command/incidents/{mci}/close", json={"closed_by": "调度员王"}), 202)
        wait_until(
            "the MCI closed",
            lambda: _json(http.get(f"/command/incidents/{mci}"), 200)["status"] == "closed",
        )
        assert _tag(http, mci, "T50", "GREEN").status_code == 409


def _incident_event(
    server: Server, incident: str, name: str, minutes: float, **fields: Any
) -> None:
    at = T0 + dt.timedelta(minutes=minutes)
    event = {
        "meta": {
            "event_id": str(uuid.uuid4()),
            "occurred_at": at,
            "recorded_at": at,
            "source": {
                "channel": "tablet",
                "device_id": None,
                "user_id": "crew-7",
                "site_id": "station-a",
            },
        },
        "incident_id": incident,
        **fields,
    }
    value = server.system.codec.encode(f"goldenhour.ems.{name}", event)
    server.system.log.append(INCIDENT, [NewRecord(incident, value, event["meta"]["event_id"])])


def test_escort__retried_until_a_failing_traffic_platform_acknowledges_then_route_updates(
    make_server: Callable[..., Server],
) -> None:
    stub = TrafficStub(fail_first=3).start()
    try:
        server = make_server(
            traffic_escort_url=stub.url, traffic_retry_first_s=0.05, traffic_retry_max_s=0.2
        )
        incident = f"INC-{uuid.uuid4().hex[:8]}"
        _incident_event(
            server,
            incident,
            "IncidentOpened",
            0,
            dispatch_reason="chest pain",
            priority="1",
            station_id="station-a",
            unit_id="A12",
            scene=None,
        )
        _incident_event(
            server,
            incident,
            "PreAlertRaised",
            10,
            kind="STEMI",
            destination_id="hospital-a",
            eta=T0 + dt.timedelta(minutes=40),
            note=None,
        )
        _incident_event(
            server,
            incident,
            "UnitStatusChanged",
            12,
            unit_id="A12",
            status="LEFT_SCENE",
            position={"latitude": 30.1, "longitude": 120.2, "address": "G60"},
        )
        with httpx.Client(base_url=server.base_url, timeout=30) as http:

            def escort_in(status: str) -> Any:
                found = _json(http.get("/command/escorts"), 200)["escorts"]
                return found[0] if found and found[0]["status"] == status else None

            escort = wait_until("the escort's route updates", lambda: escort_in("active"))
        assert len(stub.requests) >= 4  # three 503s, then the 202
        assert {r["escort_id"] for r in stub.requests} == {escort["escort_id"]}
        first = stub.requests[0]
        assert (first["unit_id"], first["to"]["id"], first["priority"], first["reason"]) == (
            "A12",
            "hospital-a",
            "critical",
            "STEMI",
        )
        assert first["from"]["latitude"] == 30.1 and first["eta"]
        assert escort["ack_id"].startswith("TP-") and escort["attempts"] >= 4
        assert [u["status"] for u in escort["updates"]] == ["planned", "active"]
    finally:
        stub.stop()


def test_alerts__raised_on_a_planted_cluster_not_on_the_baseline(server: Server) -> None:
    n = 0
    # ten days of one or two chest-pain calls a day at station-a (the baseline) ...
    for day in range(10):
        for _ in range(1 + day % 2):
            n += 1
            _incident_event(
                server,
                f"INC-B{n}",
                "IncidentOpened",
                day * 1440,
                dispatch_reason="chest pain",
                priority="2",
                station_id="station-a",
                unit_id="A1",
                scene=None,
            )
    # ... then, on the 10th day, seven carbon-monoxide calls at station-b (the cluster)
    for _ in range(7):
        n += 1
        _incident_event(
            server,
            f"INC-C{n}",
            "IncidentOpened",
            9 * 1440 + n,
            dispatch_reason="carbon monoxide",
            priority="1",
            station_id="station-b",
            unit_id="B1",
            scene=None,
        )
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        alerts = wait_until("the alert", lambda: _json(http.get("/command/alerts"), 200)["alerts"])
        assert [(a["signal"], a["area"], a["day"]) for a in alerts] == [
            ("dispatch-reason:carbon monoxide", "station-b", "2026-12-10")
        ]
        assert alerts[0]["method"] == "EARS-C2" and alerts[0]["statistic"] > 3
        alert_id = alerts[0]["alert_id"]
        _json(
            http.post(
                f"/command/alerts/{alert_id}/acknowledge", json={"acknowledged_by": "值班员李"}
            ),
            202,
        )
        wait_until(
            "the acknowledgement",
            lambda: (
                _json(http.get("/command/alerts"), 200)["alerts"][0]["acknowledged_by"]
                == "值班员李"
            ),
        )
        page = http.get("/command/")
        assert page.status_code == 200 and "指挥中心" in page.text


def test_auth__crews_tag_as_their_station_hospitals_report_and_see_only_their_own(
    make_server: Callable[..., Server],
) -> None:
    """With tokens: the casualty's station and crew member come from the token (a body
    naming another station is 403), a crew of a station not responding is 403, a hospital
    reports only its own capacity, and reads the FHIR Flag of a casualty sent to it but not
    one sent to another hospital of the same MCI."""
    server = make_server(auth_required=True, auth_dev_issuer=True, rate_limit_per_s=0)

    def as_(role: str, site: str) -> dict[str, str]:
        minted = mint_dev(server.settings, f"{role}-{site}", role, site, DEFAULT_SCOPES[role])
        return {"Authorization": f"Bearer {minted}"}

    dispatch, crew = as_("dispatch", "county-120"), as_("crew", "station-a")
    hospital_a, hospital_b = as_("hospital", "hospital-a"), as_("hospital", "hospital-b")
    mci = f"MCI-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        _json(
            http.post(
                "/command/incidents",
                headers=dispatch,
                json={
                    "mci_id": mci,
                    "kind": "fire",
                    "title": "仓库火灾",
                    "scene": {"address": "工业园"},
                    "estimated_casualties": 3,
                    "station_ids": ["station-a"],
                },
            ),
            202,
        )
        assert http.post("/command/incidents", headers=crew, json={}).status_code == 403
        for casualty in ("T1", "T2"):
            written = _json(
                http.post(
                    f"/command/incidents/{mci}/casualties",
                    headers=crew,
                    json={"casualty_id": casualty, "tag": "RED"},
                ),
                202,
            )
            event = written["events"][0]
            assert (event["station_id"], event["triaged_by"]) == ("station-a", "crew-station-a")
        lying = http.post(
            f"/command/incidents/{mci}/casualties",
            headers=crew,
            json={"casualty_id": "T3", "tag": "RED", "station_id": "station-z"},
        )
        assert lying.status_code == 403
        outsider = as_("crew", "station-z")
        assert (
            http.post(
                f"/command/incidents/{mci}/casualties",
                headers=outsider,
                json={"casualty_id": "T3", "tag": "RED"},
            ).status_code
            == 403
        )
        body = {
            "beds": [{"category": "red", "available": 2}],
            "surgical_teams": 1,
            "cath_lab_open": True,
            "ed_status": "normal",
        }
        _json(http.put("/command/capacity/hospital-a", headers=hospital_a, json=body), 202)
        assert (
            http.put("/command/capacity/hospital-b", headers=hospital_a, json=body).status_code
            == 403
        )
        for casualty, hospital in (("T1", "hospital-a"), ("T2", "hospital-b")):
            wait_until(
                "the casualty folded",
                lambda c=casualty: any(
                    x["casualty_id"] == c
                    for x in _json(http.get(f"/command/incidents/{mci}", headers=dispatch), 200)[
                        "casualties"
                    ]
                ),
            )
            _json(
                http.post(
                    f"/command/incidents/{mci}/casualties/{casualty}/assignment",
                    headers=dispatch,
                    json={"hospital_id": hospital},
                ),
                202,
            )

        def flags(headers: dict[str, str]) -> list[str]:
            found = _json(http.get("/fhir/Flag", headers=headers, params={"_count": 50}), 200)
            return sorted(e["resource"]["id"] for e in found.get("entry", []))

        seen_a = wait_until("hospital-a's casualty", lambda: flags(hospital_a))
        seen_b = wait_until("hospital-b's casualty", lambda: flags(hospital_b))
        assert len(seen_a) == 1 and len(seen_b) == 1 and seen_a != seen_b
        expected = _json(http.get("/command/expected/hospital-a", headers=hospital_a), 200)
        assert [c["casualty_id"] for c in expected["casualties"]] == ["T1"]
        assert http.get("/command/expected/hospital-b", headers=hospital_a).status_code == 403
        # Each hospital's board shows the casualties sent to it (tag number and colour), and
        # not those of another hospital of the same MCI.
        for hospital, token, mine, other in (
            ("hospital-a", hospital_a, "T1", "T2"),
            ("hospital-b", hospital_b, "T2", "T1"),
        ):
            board = _json(http.get(f"/board/{hospital}.json", headers=token), 200)
            shown = board["expected_mci"]
            assert [c["casualty_id"] for c in shown["casualties"]] == [mine]
            assert shown["counts"] == {"RED": 1, "YELLOW": 0, "GREEN": 0, "BLACK": 0}
            page = http.get(f"/board/{hospital}", headers=token)
            assert page.status_code == 200 and "预计成批伤员" in page.text
            assert f'data-casualty="{mine}"' in page.text
            assert f'data-casualty="{other}"' not in page.text
        assert http.get("/board/hospital-b.json", headers=hospital_a).status_code == 403
