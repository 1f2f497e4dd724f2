"""Access control over real HTTP with `auth_required=True`, on each backend pair: for every
role and every route group a real request with a minted token is refused (401/403 as an
OperationOutcome) exactly where the role matrix says, and not refused elsewhere; tokens
that are missing, expired, from another issuer, for another audience or badly signed get
401; a crew cannot touch another station's incident, a hospital another's board or a
Patient outside its compartment."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.auth.principal import DEFAULT_SCOPES
from services.auth.tokens import DEV_ISSUER, dev_key, mint, mint_dev
from services.server import Server
from services.simulate.stemi_incident import stemi_incident
from tests.ecg_payloads import ecg_payload

Json = dict[str, Any]
STATION, OTHER_STATION = "station-chengguan", "station-baiyang"
HOSPITAL, OTHER_HOSPITAL = "county-hospital", "city-hospital"
WAIT_S = 30.0


def sites(server: Server) -> dict[str, str]:
    return {
        "crew": STATION,
        "clinic": "clinic-baiyang",
        "reader": server.settings.reading_centre_id,
        "hospital": HOSPITAL,
        "dispatch": server.settings.region_id,
        "quality": server.settings.region_id,
        "admin": "",
    }


def token(server: Server, role: str, site: str | None = None, **kw: Any) -> str:
    site = sites(server)[role] if site is None else site
    scopes = kw.pop("scopes", DEFAULT_SCOPES[role])
    return mint_dev(server.settings, f"{role}-{site or 'region'}", role, site, scopes, **kw)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def secured(make_server: Callable[..., Server]) -> Server:
    return make_server(auth_required=True, auth_dev_issuer=True, rate_limit_per_s=0)


def opening(incident: str, station: str = STATION) -> Json:
    events = stemi_incident(incident, station_id=station)[:3]
    return {"expected_version": 0, "device_id": "tab-1", "events": events}


def position(station: str = STATION) -> Json:
    fix = {
        "event_id": str(uuid.uuid4()),
        "unit_id": "amb-07",
        "station_id": station,
        "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
        "latitude": 30.1,
        "longitude": 104.2,
    }
    return {"positions": [fix]}


# route group -> (request maker, roles allowed). A request maker gets a fresh suffix so
# allowed writes never collide (a second IncidentOpened would be a 409, not a refusal).
Request = tuple[str, str, Json | None]
GROUPS: dict[str, tuple[Callable[[str], Request], set[str]]] = {
    "ingest ecg": (lambda s: ("POST", "/ingest/ecg", ecg_payload()), {"clinic", "admin"}),
    "tablet write": (
        lambda s: ("POST", f"/ingest/incidents/inc-{s}/events", opening(f"inc-{s}")),
        {"crew", "admin"},
    ),
    "tablet read": (
        lambda s: ("GET", "/ingest/incidents/inc-known/events", None),
        {"crew", "admin"},
    ),
    "positions": (lambda s: ("POST", "/ingest/positions", position()), {"crew", "admin"}),
    "fhir search": (
        lambda s: ("GET", "/fhir/Observation?patient=Patient/p1", None),
        {"hospital", "clinic", "reader", "admin"},
    ),
    "fhir read": (
        lambda s: ("GET", "/fhir/Observation/o1", None),
        {"hospital", "clinic", "reader", "admin"},
    ),
    "fhir type history": (
        lambda s: ("GET", "/fhir/Observation/_history", None),
        {"hospital", "clinic", "reader", "admin"},
    ),
    "fhir system history": (lambda s: ("GET", "/fhir/_history", None), {"admin"}),
    "bulk export": (lambda s: ("GET", "/fhir/$export", None), {"admin"}),
    "group export": (
        lambda s: ("GET", f"/fhir/Group/{HOSPITAL}/$export", None),
        {"hospital", "admin"},
    ),
    "merge": (lambda s: ("POST", "/fhir/Patient/$merge", {}), {"hospital", "admin"}),
    "subscription": (lambda s: ("POST", "/fhir/Subscription", {}), {"hospital", "admin"}),
    "audit": (lambda s: ("GET", "/fhir/AuditEvent?agent=x", None), {"admin"}),
    "reading queue": (lambda s: ("GET", "/reading/queue", None), {"reader", "admin"}),
    "reading claim": (
        lambda s: ("POST", "/reading/claims", {"reader_id": "dr-1"}),
        {"reader", "admin"},
    ),
    "board": (lambda s: ("GET", f"/board/{HOSPITAL}.json", None), {"hospital", "admin"}),
    "region": (lambda s: ("GET", "/region/units.json", None), {"dispatch", "admin"}),
    "kpi": (lambda s: ("GET", "/kpi", None), {"quality", "admin"}),
    "health": (lambda s: ("GET", "/healthz", None), set(DEFAULT_SCOPES) | {"anonymous"}),
    "capability": (lambda s: ("GET", "/fhir/metadata", None), set(DEFAULT_SCOPES) | {"anonymous"}),
}


def call(client: httpx.Client, req: Request, headers: dict[str, str]) -> httpx.Response:
    method, path, body = req
    return client.request(method, path, json=body, headers=headers)


def assert_refused(resp: httpx.Response, status: int) -> None:
    assert resp.status_code == status, (resp.request.url, resp.status_code, resp.text[:300])
    outcome = resp.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] in ("login", "expired", "forbidden")
    if status == 401:
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_role_x_every_route_group(secured: Server) -> None:
    with httpx.Client(base_url=secured.base_url, timeout=30) as client:
        opened = client.post(
            "/ingest/incidents/inc-known/events",
            json=opening("inc-known"),
            headers=bearer(token(secured, "crew")),
        )
        assert opened.status_code == 202, opened.text
        for role in [*DEFAULT_SCOPES, "anonymous"]:
            headers = {} if role == "anonymous" else bearer(token(secured, role))
            for group, (make, allowed) in GROUPS.items():
                resp = call(client, make(uuid.uuid4().hex[:8]), headers)
                if role in allowed:
                    assert resp.status_code not in (401, 403), (role, group, resp.text[:300])
                else:
                    assert_refused(resp, 401 if role == "anonymous" else 403)


def test_tokens_missing_expired_foreign_or_forged_get_401(secured: Server) -> None:
    path = "/fhir/Observation?patient=Patient/p1"
    now = dt.datetime.now(dt.UTC)
    other_key = ec.generate_private_key(ec.SECP256R1())
    claims: Any = {
        "subject": "h",
        "role": "hospital",
        "site": HOSPITAL,
        "scopes": ["user/*.read"],
    }
    key = dev_key(secured.settings.data_dir)
    aud = secured.settings.auth_audience
    bad = {
        "expired": mint(
            key, "ES256", issuer=DEV_ISSUER, audience=aud, now=now - dt.timedelta(hours=2), **claims
        ),
        "wrong issuer": mint(key, "ES256", issuer="urn:someone-else", audience=aud, **claims),
        "wrong audience": mint(key, "ES256", issuer=DEV_ISSUER, audience="another-api", **claims),
        "bad signature": mint(other_key, "ES256", issuer=DEV_ISSUER, audience=aud, **claims),
        "not a jwt": "not.a.jwt",
    }
    good = mint(key, "ES256", issuer=DEV_ISSUER, audience=aud, **claims)
    with httpx.Client(base_url=secured.base_url, timeout=30) as client:
        assert_refused(client.get(path), 401)
        assert_refused(client.get(path, headers={"Authorization": "Basic dTpw"}), 401)
        for why, value in bad.items():
            resp = client.get(path, headers=bearer(value))
            assert_refused(resp, 401)
            assert "invalid_token" in resp.headers["WWW-Authenticate"], why
        assert client.get(path, headers=bearer(bad["expired"])).json()["issue"][0]["code"] == (
            "expired"
        )
        assert client.get(path, headers=bearer(good)).status_code == 200


def test_an_rs256_issuer_from_a_key_file_is_trusted(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "issuer.pem"
    pem.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    issuer = "https://id.county.example/realms/goldenhour"
    server = make_server(
        auth_required=True, auth_issuer=issuer, auth_public_key_file=pem, auth_dev_issuer=False
    )
    claims: Json = {
        "subject": "emr",
        "role": "hospital",
        "site": HOSPITAL,
        "scopes": ["system/*.read"],
    }
    good = mint(private, "RS256", issuer=issuer, audience="goldenhour", **claims)
    # The dev issuer is off: its own tokens are not trusted here.
    dev = mint_dev(server.settings, "h", "hospital", HOSPITAL, ["user/*.read"])
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert client.get("/fhir/Observation?patient=p1", headers=bearer(good)).status_code == 200
        assert_refused(client.get("/fhir/Observation?patient=p1", headers=bearer(dev)), 401)


def test_a_crew_writes_and_reads_only_its_own_stations_incidents(secured: Server) -> None:
    ours, theirs = token(secured, "crew"), token(secured, "crew", site=OTHER_STATION)
    with httpx.Client(base_url=secured.base_url, timeout=30) as client:
        opened = client.post(
            "/ingest/incidents/inc-a/events", json=opening("inc-a"), headers=bearer(ours)
        )
        assert opened.status_code == 202, opened.text
        more = stemi_incident("inc-a", station_id=STATION)[3:5]
        batch = {"expected_version": 3, "device_id": "tab-9", "events": more}
        url = "/ingest/incidents/inc-a/events"
        assert_refused(client.post(url, json=batch, headers=bearer(theirs)), 403)
        assert_refused(client.get(url, headers=bearer(theirs)), 403)
        assert client.get(url, headers=bearer(ours)).status_code == 200
        assert client.post(url, json=batch, headers=bearer(ours)).status_code == 202
        # Opening an incident for another station is refused too, and nothing is appended.
        foreign = opening("inc-b", station=OTHER_STATION)
        url_b = "/ingest/incidents/inc-b/events"
        assert_refused(client.post(url_b, json=foreign, headers=bearer(ours)), 403)
        assert client.get(url_b, headers=bearer(token(secured, "admin"))).status_code == 404


def test_a_hospital_sees_only_its_own_board(secured: Server) -> None:
    other = token(secured, "hospital", site=OTHER_HOSPITAL)
    with httpx.Client(base_url=secured.base_url, timeout=30) as client:
        assert_refused(client.get(f"/board/{HOSPITAL}.json", headers=bearer(other)), 403)
        assert_refused(client.get(f"/board/{HOSPITAL}", headers=bearer(other)), 403)
        url = f"/board/{HOSPITAL}/incidents/inc-x/accept"
        assert_refused(client.post(url, json={}, headers=bearer(other)), 403)
        own = client.get(f"/board/{OTHER_HOSPITAL}.json", headers=bearer(other))
        assert own.status_code == 200


def test_a_hospital_reads_the_patients_brought_to_it_and_no_others(secured: Server) -> None:
    crew, admin = token(secured, "crew"), token(secured, "admin")
    ours, theirs = token(secured, "hospital"), token(secured, "hospital", site=OTHER_HOSPITAL)
    script = stemi_incident("inc-c", station_id=STATION, destination_id=HOSPITAL)
    with httpx.Client(base_url=secured.base_url, timeout=30) as client:
        body = {"expected_version": 0, "device_id": "tab-1", "events": script}
        answer = client.post("/ingest/incidents/inc-c/events", json=body, headers=bearer(crew))
        assert answer.status_code == 202, answer.text
        encounter = answer.json()["encounter"]
        patient = wait_for_destination(client, encounter, bearer(admin))
        for path in (
            f"/fhir/{patient}",
            f"/fhir/{patient}/$everything",
            f"/fhir/{patient}/_history",
        ):
            assert client.get(path, headers=bearer(ours)).status_code == 200, path
            assert_refused(client.get(path, headers=bearer(theirs)), 403)
        assert_refused(client.get("/fhir/Patient/no-such-patient", headers=bearer(ours)), 403)
        assert client.get("/fhir/Patient/no-such-patient", headers=bearer(admin)).status_code == 404


def wait_for_destination(client: httpx.Client, encounter: str, headers: dict[str, str]) -> str:
    """The Encounter's subject once the projector wrote it with its destination."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        resp = client.get(f"/fhir/{encounter}", headers=headers)
        if resp.status_code == 200:
            enc = resp.json()
            if "hospitalization" in enc and "subject" in enc:
                return str(enc["subject"]["reference"])
        time.sleep(0.1)
    raise AssertionError(f"{encounter} never named its destination and patient")
