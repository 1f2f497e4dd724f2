"""Access control over real HTTP with `auth_required=True`, on each backend pair: for every
role and every route group a real request with a minted token is refused (401/403 as an
OperationOutcome) exactly where the role matrix says, and not refused elsewhere; tokens
that are missing, expired, from another issuer, for another audience or badly signed get
401; a crew cannot touch another station's incident, a hospital another's board or a
Patient outside its jurisdiction (absent: 404, as one that does not exist)."""

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

from kernel.jsontypes import Json
from services.auth.principal import DEFAULT_SCOPES
from services.auth.tokens import DEV_ISSUER, dev_key, mint, mint_dev
from services.server import Server
from services.simulate.stemi_incident import stemi_incident
from tests.ecg_payloads import ecg_payload

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


def subject(server: Server, role: str, site: str | None = None) -> str:
    """The subject `token` names for `role` at `site` (its default site)."""
    site = sites(server).get(role, "") if site is None else site
    return f"{role}-{site or 'region'}"


def token(server: Server, role: str, site: str | None = None, **kw: Any) -> str:
    site = sites(server)[role] if site is None else site
    scopes = kw.pop("scopes", DEFAULT_SCOPES[role])
    return mint_dev(server.settings, subject(server, role, site), role, site, scopes, **kw)


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


# route group -> (request maker, roles allowed, what an allowed role gets). A request maker
# gets a fresh suffix so allowed writes never collide (a second IncidentOpened would be a 409,
# not a refusal). What an allowed role gets is the route's success status, or, where the
# matrix's minimal request cannot succeed, the route's own non-auth answer (status and
# OperationOutcome issue code): never a 5xx, never "anything but 401/403".
Request = tuple[str, str, Json | None, dict[str, str]]
Expect = tuple[int, str | None]  # status, issue code of an error answer
OK, ACCEPTED = (200, None), (202, None)
ASYNC = {"Prefer": "respond-async"}  # bulk export is asynchronous (FHIR Bulk Data)


def req(method: str, path: str, body: Json | None = None, **headers: str) -> Request:
    return method, path, body, headers


Maker = Callable[[str, str], Request]  # (fresh suffix, the caller's token subject) -> request
GROUPS: dict[str, tuple[Maker, set[str], Expect]] = {
    "ingest ecg": (
        lambda s, who: req("POST", "/ingest/ecg", ecg_payload()),
        {"clinic", "admin"},
        ACCEPTED,
    ),
    "tablet write": (
        lambda s, who: req("POST", f"/ingest/incidents/inc-{s}/events", opening(f"inc-{s}")),
        {"crew", "admin"},
        ACCEPTED,
    ),
    "tablet read": (
        lambda s, who: req("GET", "/ingest/incidents/inc-known/events"),
        {"crew", "admin"},
        OK,
    ),
    "positions": (
        lambda s, who: req("POST", "/ingest/positions", position()),
        {"crew", "admin"},
        ACCEPTED,
    ),
    "fhir search": (
        lambda s, who: req("GET", "/fhir/Observation?patient=Patient/p1"),
        {"hospital", "clinic", "reader", "admin"},
        OK,
    ),
    "fhir read": (  # no Observation o1: the read itself answers, with not-found
        lambda s, who: req("GET", "/fhir/Observation/o1"),
        {"hospital", "clinic", "reader", "admin"},
        (404, "not-found"),
    ),
    "fhir type history": (
        lambda s, who: req("GET", "/fhir/Observation/_history"),
        {"hospital", "clinic", "reader", "admin"},
        OK,
    ),
    "fhir system history": (lambda s, who: req("GET", "/fhir/_history"), {"admin"}, OK),
    "bulk export": (lambda s, who: req("GET", "/fhir/$export", **ASYNC), {"admin"}, ACCEPTED),
    "group export": (
        lambda s, who: req("GET", f"/fhir/Group/{HOSPITAL}/$export", **ASYNC),
        {"hospital", "admin"},
        ACCEPTED,
    ),
    "merge": (  # an empty body is not a Parameters resource
        lambda s, who: req("POST", "/fhir/Patient/$merge", {}),
        {"hospital", "admin"},
        (400, "structure"),
    ),
    "subscription": (  # an empty body names no topic, channel or endpoint
        lambda s, who: req("POST", "/fhir/Subscription", {}),
        {"hospital", "admin"},
        (422, "invalid"),
    ),
    "audit": (lambda s, who: req("GET", "/fhir/AuditEvent?agent=x"), {"admin"}, OK),
    "reading queue": (lambda s, who: req("GET", "/reading/queue"), {"reader", "admin"}, OK),
    "reading claim": (  # the ECG queued before the matrix; a reader claims as itself
        lambda s, who: req("POST", "/reading/claims", {"reader_id": who}),
        {"reader", "admin"},
        OK,
    ),
    "board": (lambda s, who: req("GET", f"/board/{HOSPITAL}.json"), {"hospital", "admin"}, OK),
    "region": (lambda s, who: req("GET", "/region/units.json"), {"dispatch", "admin"}, OK),
    "kpi": (lambda s, who: req("GET", "/kpi"), {"quality", "admin"}, OK),
    "health": (lambda s, who: req("GET", "/healthz"), set(DEFAULT_SCOPES) | {"anonymous"}, OK),
    "capability": (
        lambda s, who: req("GET", "/fhir/metadata"),
        set(DEFAULT_SCOPES) | {"anonymous"},
        OK,
    ),
}


def call(client: httpx.Client, req: Request, headers: dict[str, str]) -> httpx.Response:
    method, path, body, extra = req
    return client.request(method, path, json=body, headers={**extra, **headers})


def assert_answered(resp: httpx.Response, expect: Expect, why: tuple[str, str]) -> None:
    """An allowed role gets the route's own answer: its success status, or its own error
    (an OperationOutcome with the expected issue code)."""
    status, code = expect
    assert resp.status_code == status, (*why, resp.status_code, resp.text[:300])
    if code is not None:
        outcome = resp.json()
        assert outcome["resourceType"] == "OperationOutcome", (*why, outcome)
        assert outcome["issue"][0]["code"] == code, (*why, outcome)


def assert_refused(resp: httpx.Response, status: int) -> None:
    assert resp.status_code == status, (resp.request.url, resp.status_code, resp.text[:300])
    outcome = resp.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] in ("login", "expired", "forbidden")
    if status == 401:
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_role_x_every_route_group(secured: Server) -> None:
    with httpx.Client(base_url=secured.base_url, timeout=30) as client:
        # A whole incident brought to HOSPITAL: its Group (the hospital's patients) exists
        script = stemi_incident("inc-known", station_id=STATION, destination_id=HOSPITAL)
        opened = client.post(
            "/ingest/incidents/inc-known/events",
            json={"expected_version": 0, "device_id": "tab-1", "events": script},
            headers=bearer(token(secured, "crew")),
        )
        assert opened.status_code == 202, opened.text
        wait_for_destination(client, opened.json()["encounter"], bearer(token(secured, "admin")))
        queue_one_ecg(client, secured)
        for role in [*DEFAULT_SCOPES, "anonymous"]:
            headers = {} if role == "anonymous" else bearer(token(secured, role))
            for group, (make, allowed, expect) in GROUPS.items():
                resp = call(client, make(uuid.uuid4().hex[:8], subject(secured, role)), headers)
                if role in allowed:
                    assert_answered(resp, expect, (role, group))
                else:
                    assert_refused(resp, 401 if role == "anonymous" else 403)


def queue_one_ecg(client: httpx.Client, server: Server) -> None:
    """An ECG in the read queue, so an allowed claim has something to claim."""
    sent = client.post("/ingest/ecg", json=ecg_payload(), headers=bearer(token(server, "clinic")))
    assert sent.status_code == 202, sent.text
    reader = bearer(token(server, "reader"))
    deadline = time.monotonic() + WAIT_S
    while not client.get("/reading/queue", headers=reader).json():
        assert time.monotonic() < deadline, "the ECG never reached the read queue"
        time.sleep(0.1)


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
            # another hospital's patient is absent, exactly as one that never existed
            hidden = client.get(path, headers=bearer(theirs))
            assert hidden.status_code == 404 and "王" not in hidden.text, (path, hidden.text)
        for who in (ours, admin):
            missing = client.get("/fhir/Patient/no-such-patient", headers=bearer(who))
            assert missing.status_code == 404


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
