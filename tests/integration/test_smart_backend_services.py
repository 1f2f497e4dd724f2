"""SMART Backend Services and Bulk Data, as an EMR's system client does them, over real
HTTP with auth required, on each backend pair (issue 13, item 3).

The client side is written from the specs alone (hl7.org/fhir/smart-app-launch/
backend-services.html, hl7.org/fhir/uv/bulkdata/export.html), with PyJWT and cryptography
as any Backend Services client would: it reads `.well-known/smart-configuration`, signs a
client assertion (RS384 with an RSA key, ES384 with an EC P-384 key), gets a token,
kicks off `Group/<hospital>/$export`, polls the status URL and downloads the NDJSON with the
bearer token. A third-party client, `smart-fetch` (PyPI; by the SMART Health IT / Cumulus
team at Boston Children's), does the same whole flow with its own JWT code (jwcrypto).
The refusals expected are the OAuth 2.0 (RFC 6749 section 5.2) codes the SMART spec names:
`invalid_client` for any failed client authentication, `invalid_scope`,
`unsupported_grant_type`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fhir.resources.R4B import get_fhir_model_class

from services.auth.tokens import mint_dev
from services.server import Server
from services.simulate.stemi_incident import DESTINATION, stemi_incident, valid_resident_id
from stream_processors.fhir_projector.incident.encounter import encounter_id
from tests.bulk_export import finished_export
from tests.conftest import free_port

CLIENT_ID = "emr-county-hospital"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523
WAIT_S = 90.0
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())
STRANGER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = (
        jwt.algorithms.RSAAlgorithm
        if isinstance(key, rsa.RSAPrivateKey)
        else jwt.algorithms.ECAlgorithm
    )
    return {**algorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid}


def registry() -> dict[str, Any]:
    """What the region's operator registers for the hospital's EMR: its public keys, whom it
    acts for, and at most read access."""
    keys = [public_jwk(RSA_KEY, "rsa-1"), public_jwk(EC_KEY, "ec-1")]
    return {
        "clients": [
            {
                "client_id": CLIENT_ID,
                "jwks": {"keys": keys},
                "role": "hospital",
                "site": DESTINATION,
                "scope": "system/*.read",
            }
        ]
    }


def assertion(
    token_url: str,
    *,
    key: Any = RSA_KEY,
    alg: str = "RS384",
    kid: str = "rsa-1",
    client_id: str = CLIENT_ID,
    exp_in_s: float = 240,
    jti: str | None = None,
) -> str:
    """A client assertion as backend-services.html specifies it."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "exp": now + int(exp_in_s),
        "jti": jti or uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


def token_request(client: httpx.Client, token_url: str, signed: str, scope: str) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
    }
    return client.post(token_url, data=form)


@pytest.fixture
def smart_server(make_server: Callable[..., Server], tmp_path: Path) -> Server:
    clients = tmp_path / "smart-clients.json"
    clients.write_text(json.dumps(registry()))
    return make_server(
        auth_required=True, auth_dev_issuer=True, rate_limit_per_s=0, smart_clients_file=clients
    )


def discover(client: httpx.Client) -> dict[str, Any]:
    answer = client.get("/fhir/.well-known/smart-configuration")
    assert answer.status_code == 200, answer.text
    config: dict[str, Any] = answer.json()
    assert client.get("/.well-known/smart-configuration").json() == config
    return config


def post_incident(server: Server, client: httpx.Client) -> str:
    """An ambulance patient bound for DESTINATION (posted with the operator's dev token);
    the patient's id once the Encounter names its destination."""
    admin = {
        "Authorization": "Bearer "
        + mint_dev(server.settings, "ops", "admin", "county", ["system/*.*"])
    }
    incident = f"inc-{uuid.uuid4().hex[:6]}"
    script = stemi_incident(incident, resident_id=valid_resident_id("11010519800101002"))
    body = {"expected_version": 0, "device_id": "tab-1", "events": script}
    posted = client.post(f"/ingest/incidents/{incident}/events", json=body, headers=admin)
    assert posted.status_code == 202, posted.text
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        enc = client.get(f"/fhir/Encounter/{encounter_id(incident)}", headers=admin)
        if enc.status_code == 200 and "hospitalization" in enc.json() and "subject" in enc.json():
            return str(enc.json()["subject"]["reference"]).split("/")[1]
        time.sleep(0.2)
    raise AssertionError("the incident's Encounter never showed its destination and patient")


def bulk_export(client: httpx.Client, token: str, kickoff: str) -> dict[str, list[dict[str, Any]]]:
    """Kick-off, poll, download (export.html), the bearer token on every request."""
    auth = {"Authorization": f"Bearer {token}"}
    manifest = finished_export(client, kickoff, auth, WAIT_S).json()
    assert manifest["requiresAccessToken"] is True  # the files below need the token
    files: dict[str, list[dict[str, Any]]] = {}
    for output in manifest["output"]:
        assert client.get(output["url"]).status_code == 401  # not without the token
        got = client.get(output["url"], headers={**auth, "Accept": "application/fhir+ndjson"})
        assert got.status_code == 200, got.text
        lines = [json.loads(line) for line in got.text.splitlines() if line]
        for resource in lines:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        files.setdefault(output["type"], []).extend(lines)
    return files


def test_a_backend_services_client_gets_a_token_and_exports_its_hospitals_group(
    smart_server: Server,
) -> None:
    with httpx.Client(base_url=smart_server.base_url, timeout=30) as client:
        patient = post_incident(smart_server, client)
        config = discover(client)
        assert config["grant_types_supported"] == ["client_credentials"]
        assert "private_key_jwt" in config["token_endpoint_auth_methods_supported"]
        assert {"RS384", "ES384"} <= set(config["token_endpoint_auth_signing_alg_values_supported"])
        assert "client-confidential-asymmetric" in config["capabilities"]
        token_url = config["token_endpoint"]
        metadata = client.get("/fhir/metadata").json()
        oauth = metadata["rest"][0]["security"]["extension"][0]
        assert {"url": "token", "valueUri": token_url} in oauth["extension"]

        # RS384; asking beyond the registration grants the registration's part only
        answer = token_request(
            client, token_url, assertion(token_url), "system/*.read system/Patient.write"
        )
        assert answer.status_code == 200, answer.text
        granted = answer.json()
        assert granted["token_type"].lower() == "bearer"
        assert granted["scope"] == "system/*.read"
        assert 0 < granted["expires_in"] <= 300
        assert answer.headers["Cache-Control"] == "no-store"

        files = bulk_export(client, granted["access_token"], f"/fhir/Group/{DESTINATION}/$export")
        assert patient in {p["id"] for p in files["Patient"]}
        assert all(e["subject"]["reference"] == f"Patient/{patient}" for e in files["Encounter"])

        # the token acts for its hospital only: another hospital's Group is refused
        other = client.get(
            "/fhir/Group/another-hospital/$export",
            headers={
                "Authorization": f"Bearer {granted['access_token']}",
                "Prefer": "respond-async",
            },
        )
        assert other.status_code == 403

        # ES384, v2 scopes; the token reads the hospital's incoming patient
        es = token_request(
            client,
            token_url,
            assertion(token_url, key=EC_KEY, alg="ES384", kid="ec-1"),
            "system/Patient.rs",
        )
        assert es.status_code == 200, es.text
        assert es.json()["scope"] == "system/Patient.rs"
        read = client.get(
            f"/fhir/Patient/{patient}",
            headers={"Authorization": f"Bearer {es.json()['access_token']}"},
        )
        assert read.status_code == 200 and read.json()["id"] == patient
        observations = client.get(
            "/fhir/Observation", headers={"Authorization": f"Bearer {es.json()['access_token']}"}
        )
        assert observations.status_code == 403  # Patient only, as granted


def refusal(answer: httpx.Response) -> str:
    assert answer.status_code in (400, 401), answer.text
    body = answer.json()
    assert set(body) <= {"error", "error_description", "error_uri"}
    return str(body["error"])


def test_a_token_request_is_refused_as_oauth_says(smart_server: Server) -> None:
    with httpx.Client(base_url=smart_server.base_url, timeout=30) as client:
        token_url = discover(client)["token_endpoint"]

        def ask(signed: str, scope: str = "system/*.read") -> str:
            return refusal(token_request(client, token_url, signed, scope))

        assert ask(assertion(smart_server.base_url + "/fhir")) == "invalid_client"  # wrong aud
        assert ask(assertion(token_url, exp_in_s=-600)) == "invalid_client"  # expired
        assert ask(assertion(token_url, exp_in_s=3600)) == "invalid_client"  # > 5 min ahead
        assert ask(assertion(token_url, client_id="no-such-client")) == "invalid_client"
        assert ask(assertion(token_url, key=STRANGER_KEY)) == "invalid_client"  # not its key
        assert ask(assertion(token_url, kid="rsa-9")) == "invalid_client"  # no such kid
        hs256 = jwt.encode(
            {
                "iss": CLIENT_ID,
                "sub": CLIENT_ID,
                "aud": token_url,
                "exp": int(time.time()) + 60,
                "jti": "h",
            },
            "a-secret-anyone-could-have-guessed-long-enough",
            algorithm="HS256",
        )
        assert ask(hs256) == "invalid_client"
        assert ask(assertion(token_url), scope="system/*.write") == "invalid_scope"
        assert ask(assertion(token_url), scope="patient/*.read") == "invalid_scope"

        once = assertion(token_url)
        assert token_request(client, token_url, once, "system/*.read").status_code == 200
        assert ask(once) == "invalid_client"  # the same jti again: a replay

        wrong_grant = client.post(
            token_url,
            data={
                "grant_type": "password",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion(token_url),
                "scope": "system/*.read",
            },
        )
        assert refusal(wrong_grant) == "unsupported_grant_type"
        as_json = client.post(token_url, json={"grant_type": "client_credentials"})
        assert refusal(as_json) == "invalid_request"  # RFC 6749: form-encoded only


def test_an_assertion_spent_at_one_instance_is_a_replay_at_another_and_the_grant_is_audited(
    smart_server: Server, make_server: Callable[..., Server]
) -> None:
    """Two API instances of one region behind one token URL (same log, same store): an
    assertion that got a token from the first is refused by the second (RFC 7523 section 3:
    a jti is used once), and the grant is an AuditEvent an operator can find, typed as
    DICOM "User Authentication" / "Login" (DCM 110114 / 110122)."""
    other = make_server(
        http_port=free_port(),
        auth_required=True,
        auth_dev_issuer=True,
        rate_limit_per_s=0,
        smart_clients_file=smart_server.settings.smart_clients_file,
        run_processors=False,
        public_url=smart_server.base_url,  # the region's one URL, as a load balancer gives it
    )
    with (
        httpx.Client(base_url=smart_server.base_url, timeout=30) as first,
        httpx.Client(base_url=other.base_url, timeout=30) as second,
    ):
        token_url = discover(first)["token_endpoint"]
        assert discover(second)["token_endpoint"] == token_url  # one region, one token URL
        once = assertion(token_url)
        assert token_request(first, token_url, once, "system/*.read").status_code == 200
        replayed = token_request(second, "/auth/token", once, "system/*.read")
        assert refusal(replayed) == "invalid_client", replayed.text
        assert "already used" in replayed.json()["error_description"]

        admin = {
            "Authorization": "Bearer "
            + mint_dev(smart_server.settings, "ops", "admin", "county", ["system/*.*"])
        }
        deadline = time.monotonic() + WAIT_S
        logins: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not logins:
            found = first.get(f"/fhir/AuditEvent?agent={CLIENT_ID}&_count=100", headers=admin)
            assert found.status_code == 200, found.text
            logins = [
                e["resource"]
                for e in found.json().get("entry", [])
                if e["resource"]["type"]["code"] == "110114"
            ]
            time.sleep(0.2)
    assert len(logins) == 1, logins  # the grant once; the refused replay was not a grant
    login = logins[0]
    get_fhir_model_class("AuditEvent").model_validate(login)
    assert login["type"]["system"] == "http://dicom.nema.org/resources/ontology/DCM"
    assert login["subtype"][0]["code"] == "110122"
    assert login["outcome"] == "0"
    assert login["agent"][0]["who"]["identifier"]["value"] == CLIENT_ID


def test_smart_fetch_a_third_party_bulk_client_exports_with_backend_services(
    smart_server: Server, tmp_path: Path
) -> None:
    with httpx.Client(base_url=smart_server.base_url, timeout=30) as client:
        patient = post_incident(smart_server, client)
    # The client's own key set (private), whose public half the operator registered: the
    # kid in smart-fetch's assertion header is the registered one.
    private = jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY, as_dict=True)
    key_file = tmp_path / "client.jwks"
    jwks = {"keys": [{**private, "kid": "rsa-1", "alg": "RS384", "key_ops": ["sign"]}]}
    key_file.write_text(json.dumps(jwks))
    out = tmp_path / "export"
    command = [
        str(Path(sys.executable).parent / "smart-fetch"),
        "bulk",
        "--fhir-url", f"{smart_server.base_url}/fhir",
        "--smart-client-id", CLIENT_ID,
        "--smart-key", str(key_file),
        "--group", DESTINATION,
        "--type", "Patient,Encounter",
        "--no-default-filters",
        "--no-compression",
        str(out),
    ]  # fmt: skip
    ran = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    patients = [
        json.loads(line)
        for f in out.rglob("*Patient*.ndjson")
        for line in f.read_text().splitlines()
        if line
    ]
    assert patient in {p["id"] for p in patients}, sorted(str(p) for p in out.rglob("*"))
