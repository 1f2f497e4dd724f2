"""Issue 11, item 5, over real HTTP: whom to believe about the client's address, and which
tokens to believe at all.

- X-Forwarded-For is believed only from configured proxies (`trusted_proxies`, none by
  default): a client cannot spread itself over many rate-limit buckets nor write another
  address into the access audit by sending the header.
- A token living longer than `auth_max_token_lifetime_s` (12 h) is refused (401).
- One issuer with an RSA public key and an HS256 secret side by side: each verifies its own
  tokens (selected by `kid` and `alg`); an HS256 token whose secret is the RSA public key
  (the algorithm-confusion attack, RFC 8725 section 2.1) is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.auth.tokens import mint_dev
from services.server import Server

ISSUER = "https://idp.county.example"
SCOPES = "user/Subscription.read user/Subscription.write"
SPOOFED = "203.0.113.77"  # TEST-NET-3 (RFC 5737): what a client claims to be


def claims(minutes: float = 30) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "iss": ISSUER,
        "aud": "goldenhour",
        "sub": "emr-a",
        "role": "hospital",
        "site": "hospital-a",
        "scope": SCOPES,
        "iat": now,
        "exp": now + dt.timedelta(minutes=minutes),
    }


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_hs256(secret: bytes, kid: str) -> str:
    """An HS256 JWT made by hand (PyJWT refuses to use a PEM key as an HMAC secret)."""
    body = {k: int(v.timestamp()) if isinstance(v, dt.datetime) else v for k, v in claims().items()}
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(body).encode())
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(mac)}"


def get(server: Server, token: str, headers: dict[str, str] | None = None) -> httpx.Response:
    auth = {"Authorization": f"Bearer {token}", **(headers or {})}
    return httpx.get(f"{server.base_url}/fhir/Subscription", headers=auth, timeout=30)


def test_x_forwarded_for_from_an_untrusted_peer_does_not_buy_a_new_rate_bucket(
    make_server: Callable[..., Server],
) -> None:
    server = make_server(rate_limit_per_s=0.01, rate_limit_burst=3)
    codes = [
        httpx.get(
            f"{server.base_url}/healthz", headers={"X-Forwarded-For": f"198.51.100.{n}"}
        ).status_code
        for n in range(5)
    ]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]


def test_x_forwarded_for_from_a_configured_proxy_names_the_client(
    make_server: Callable[..., Server],
) -> None:
    server = make_server(rate_limit_per_s=0.01, rate_limit_burst=3, trusted_proxies=["127.0.0.1"])
    codes = [
        httpx.get(
            f"{server.base_url}/healthz", headers={"X-Forwarded-For": f"198.51.100.{n}"}
        ).status_code
        for n in range(5)
    ]
    assert codes == [200] * 5  # five clients behind the proxy, one request each
    same = [
        httpx.get(
            f"{server.base_url}/healthz", headers={"X-Forwarded-For": "198.51.100.200"}
        ).status_code
        for _ in range(4)
    ]
    assert same[-1] == 429  # one client behind the proxy is still limited


def test_the_audit_records_the_peer_address_not_the_claimed_one(
    make_server: Callable[..., Server],
) -> None:
    server = make_server(auth_required=True, auth_dev_issuer=True, rate_limit_per_s=0)
    hospital = mint_dev(server.settings, "emr-a", "hospital", "hospital-a", SCOPES.split())
    admin = {
        "Authorization": "Bearer " + mint_dev(server.settings, "ops", "admin", "c", ["system/*.*"])
    }
    assert get(server, hospital, {"X-Forwarded-For": SPOOFED}).status_code == 200
    url = f"{server.base_url}/fhir/AuditEvent?agent=emr-a"
    deadline = time.monotonic() + 60
    while not (found := httpx.get(url, headers=admin, timeout=30).json().get("entry")):
        assert time.monotonic() < deadline, "no AuditEvent for emr-a"
        time.sleep(0.1)
    addresses = [
        a["network"]["address"] for e in found for a in e["resource"]["agent"] if "network" in a
    ]
    assert addresses and set(addresses) == {"127.0.0.1"}
    assert SPOOFED not in json.dumps(found)


def test_a_token_living_longer_than_the_maximum_is_refused(
    make_server: Callable[..., Server],
) -> None:
    server = make_server(auth_required=True, auth_dev_issuer=True, rate_limit_per_s=0)
    scopes = SCOPES.split()
    shift = mint_dev(server.settings, "emr-a", "hospital", "hospital-a", scopes, minutes=11 * 60)
    assert get(server, shift).status_code == 200
    forever = mint_dev(server.settings, "emr-a", "hospital", "hospital-a", scopes, minutes=13 * 60)
    refused = get(server, forever)
    assert refused.status_code == 401
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert "lifetime" in refused.json()["issue"][0]["diagnostics"]
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_rs256_and_hs256_side_by_side_and_the_algorithm_confusion_attack(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "idp.pem").write_bytes(public_pem)
    hs_secret = b"a shared secret of the county's identity provider, 32+ bytes"
    (tmp_path / "idp.secret").write_bytes(hs_secret)
    server = make_server(
        auth_required=True,
        auth_issuer=ISSUER,
        auth_public_key_file=tmp_path / "idp.pem",
        auth_public_key_kid="rsa-2026",
        auth_hs256_secret_file=tmp_path / "idp.secret",
        auth_hs256_kid="hs-2026",
        rate_limit_per_s=0,
    )
    rs = jwt.encode(claims(), private, algorithm="RS256", headers={"kid": "rsa-2026"})
    hs = jwt.encode(claims(), hs_secret, algorithm="HS256", headers={"kid": "hs-2026"})
    assert get(server, rs).status_code == 200
    assert get(server, hs).status_code == 200
    # the attack: HS256, keyed with the RSA public key an attacker can download
    for kid in ("rsa-2026", "hs-2026", ""):
        forged = forged_hs256(public_pem, kid)
        answer = get(server, forged)
        assert answer.status_code == 401, (kid, answer.text)
        assert answer.json()["resourceType"] == "OperationOutcome"
    # a key used under the other key's kid does not verify either
    swapped = jwt.encode(claims(), hs_secret, algorithm="HS256", headers={"kid": "rsa-2026"})
    assert get(server, swapped).status_code == 401
