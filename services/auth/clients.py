"""The SMART Backend Services clients this server knows: who each client acts as and
with which public keys it proves it (hl7.org/fhir/smart-app-launch/backend-services.html,
"registering a SMART backend service").

The registry is a JSON file (`smart_clients_file`, by default
`<data dir>/auth/smart-clients.json`; in a region, a file mounted from a config map like
the issuer's public key), re-read when it changes, so registering a client needs no restart:

    {"clients": [{
        "client_id": "emr-county-hospital",
        "jwks": {"keys": [{"kty": "RSA", "kid": "k1", "n": "...", "e": "AQAB"}]},
        "role": "hospital",             # the role (services/auth/principal.py) it acts as
        "site": "county-hospital",      # the organization it acts for (jurisdiction)
        "scope": "system/*.rs"          # the most it may be granted (v1 or v2 scopes)
    }]}

The JWKS holds public keys only: a registry entry with a private part (`d`) is refused, so
a copied private key never sits in configuration. Keys are RSA (assertions signed RS384)
or EC P-384 (ES384), the two algorithms the SMART spec requires servers to accept.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.auth.principal import ROLES, SCOPE
from services.settings import Settings

CLIENTS_FILE = Path("auth") / "smart-clients.json"  # under the data dir, unless configured
# The assertion algorithms accepted, and the key type each needs.
ASSERTION_ALGORITHMS = ("RS384", "ES384")


class ClientRegistryError(ValueError):
    """The registry file is malformed; the token endpoint answers 500, not a guess."""


@dataclass(frozen=True)
class SmartClient:
    client_id: str
    role: str
    site: str
    scopes: tuple[str, ...]  # the most it may be granted
    jwks: tuple[dict[str, Any], ...]  # its public JWKs

    def keys_for(self, algorithm: str, kid: str) -> list[Any]:
        """The client's public keys that can verify an assertion signed with `algorithm`
        under header `kid` ("": any of its keys of the right type)."""
        out = []
        for jwk in self.jwks:
            if kid and jwk.get("kid") != kid:
                continue
            if jwk.get("alg") not in (None, algorithm):
                continue
            key = _public_key(jwk)
            if key is not None and _fits(key, algorithm):
                out.append(key)
        return out


def _public_key(jwk: dict[str, Any]) -> Any:
    try:
        return jwt.PyJWK(jwk).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, KeyError):
        return None  # a key type PyJWT cannot use: never matches


def _fits(key: Any, algorithm: str) -> bool:
    if algorithm == "RS384":
        return isinstance(key, rsa.RSAPublicKey)
    if algorithm == "ES384":
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1)
    return False


def clients_path(settings: Settings) -> Path:
    return settings.smart_clients_file or settings.data_dir / CLIENTS_FILE


def parse_clients(doc: Any) -> dict[str, SmartClient]:
    """The registry document as clients by id; ClientRegistryError names what is wrong."""
    if not isinstance(doc, dict) or not isinstance(doc.get("clients"), list):
        raise ClientRegistryError('the registry must be {"clients": [...]}')
    out: dict[str, SmartClient] = {}
    for entry in doc["clients"]:
        client = _client(entry)
        if client.client_id in out:
            raise ClientRegistryError(f"client {client.client_id!r} is registered twice")
        out[client.client_id] = client
    return out


def _client(entry: Any) -> SmartClient:
    if not isinstance(entry, dict) or not isinstance(entry.get("client_id"), str):
        raise ClientRegistryError("every client needs a client_id")
    cid = entry["client_id"]
    role, scope = entry.get("role"), entry.get("scope", "")
    if role not in ROLES:
        raise ClientRegistryError(f"client {cid!r}: role must be one of {', '.join(ROLES)}")
    if not isinstance(scope, str) or not all(SCOPE.match(s) for s in scope.split()):
        raise ClientRegistryError(f"client {cid!r}: scope must be SMART scopes")
    return SmartClient(
        cid, role, str(entry.get("site") or ""), tuple(scope.split()), _jwks(cid, entry)
    )


def _jwks(cid: str, entry: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    keys = (entry.get("jwks") or {}).get("keys")
    if not isinstance(keys, list) or not keys:
        raise ClientRegistryError(f"client {cid!r}: jwks must hold at least one key")
    if any(not isinstance(k, dict) or "d" in k for k in keys):
        raise ClientRegistryError(f"client {cid!r}: jwks must hold public keys only")
    return tuple(keys)


class ClientRegistry:
    """The registry file, parsed again whenever its modification time changes."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self._clients: dict[str, SmartClient] = {}

    def get(self, client_id: str) -> SmartClient | None:
        return self._current().get(client_id)

    def _current(self) -> dict[str, SmartClient]:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        with self._lock:
            if stamp != self._stamp:
                try:
                    doc = json.loads(self.path.read_text(encoding="utf-8"))
                except json.JSONDecodeError as exc:
                    raise ClientRegistryError(f"{self.path}: not JSON: {exc}") from exc
                self._clients = parse_clients(doc)
                self._stamp = stamp
            return self._clients
