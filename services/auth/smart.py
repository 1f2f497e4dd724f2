"""SMART App Launch 2.0 for systems: discovery and the Backend Services token endpoint
(hl7.org/fhir/smart-app-launch/backend-services.html, client-confidential-asymmetric.html).

A registered client (services/auth/clients.py) gets an access token by
`POST /auth/token` (form-encoded) with `grant_type=client_credentials`,
`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`, a
`client_assertion` it signed with its private key, and the `scope` it wants. The assertion
must be signed RS384 or ES384 by a key of the client's JWKS (the header's `kid` picks it),
carry `iss` = `sub` = the client id, `aud` = this token endpoint's URL, an `exp` at most
five minutes ahead, and a `jti` no token was issued for before (a replay, refused). Any
failure of client authentication is `invalid_client` (the spec's one answer for it).

The client gets the requested scopes narrowed to what it is registered for (v1
`system/*.read` or v2 `system/*.rs` forms, mixed freely): nothing in common is
`invalid_scope`. The access token is a JWT of this server's own issuer (`SMART_ISSUER`),
ES256-signed with a key generated on first use into `<data dir>/auth/smart-issuer-key.pem`
(like the dev issuer's), carrying the client's `role` and `site` like every token here, so
the policy and the store's jurisdiction treat it like any other caller's
(services/auth/tokens.py verifies it). It lives five minutes (the spec's recommendation):
a client asks again, as Bulk Data clients do while they poll.

The replay memory is the log, so every API instance of a region shares it: a grant is
audited (an `AccessRecorded` on `audit.access`, folded into an AuditEvent typed DICOM
"User Authentication / Login") under an event id derived from the client and the jti, and
the log keeps one record per event id; an append answered `duplicate` is a replay. The jti
is spent when a token is issued, durably, before the token is sent. On Kafka two instances
appending the same id at the same instant can both miss the other's record
(eventlog/kafka/producer.py says why): a window of one round trip, not of the assertion's
lifetime.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from kernel.ids import resource_id
from services.auth.clients import ASSERTION_ALGORITHMS, ClientRegistry, SmartClient
from services.auth.principal import SCOPE
from services.auth.tokens import SMART_ISSUER, SMART_KEY_FILE, SMART_KID, ec_key, mint
from services.settings import Settings
from stream_processors.audit.published import LOGIN_ROUTE

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_MAX_AHEAD_S = 300.0  # the spec: exp no more than five minutes in the future
ACCESS_TOKEN_LIFETIME_S = 300  # the spec's recommended lifetime
TOKEN_PATH = LOGIN_ROUTE  # its grants are audited as logins
JWKS_PATH = "/auth/jwks"
# v1 permission words and the v2 letters each means; v2 letters are written in this order.
V1_LETTERS = {"read": "rs", "write": "cud", "*": "cruds"}
V2_ORDER = "cruds"


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error answer: `error` code, a description, the status."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def client_error(description: str) -> OAuthError:
    """Client authentication failed (401: RFC 6749 allows it, and it says what happened)."""
    return OAuthError("invalid_client", description, 401)


# -- discovery ------------------------------------------------------------------------------


def configuration(server_base: str) -> dict[str, Any]:
    """The `.well-known/smart-configuration` document. No `issuer` and no
    `authorization_endpoint`: they belong to OpenID Connect and to app launch, which this
    server does not offer (the spec says to omit them then)."""
    return {
        "token_endpoint": server_base + TOKEN_PATH,
        "jwks_uri": server_base + JWKS_PATH,
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "scopes_supported": [f"system/*.{p}" for p in ("read", "rs", "write", "cud", "*")],
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
    }


def jwks(settings: Settings) -> dict[str, Any]:
    """This server's public key set: what verifies the access tokens it issues."""
    public = jwt.algorithms.ECAlgorithm.to_jwk(issuer_key(settings).public_key(), as_dict=True)
    return {"keys": [{**public, "kid": SMART_KID, "alg": "ES256", "use": "sig"}]}


def issuer_key(settings: Settings) -> ec.EllipticCurvePrivateKey:
    return ec_key(settings.data_dir / SMART_KEY_FILE)


# -- scopes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    context: str
    rtype: str
    letters: str  # v2 letters, in V2_ORDER
    v1: str  # the v1 word it was written with ("": written in v2)


def parse_scope(text: str) -> Scope | None:
    m = SCOPE.match(text)
    if not m:
        return None
    word = m[3] if m[3] in V1_LETTERS else ""
    letters = V1_LETTERS.get(m[3], m[3])
    return Scope(m[1], m[2], "".join(c for c in V2_ORDER if c in letters), word)


def narrow(requested: str, allowed: tuple[str, ...]) -> list[str]:
    """The scopes granted for `requested` (space-separated) to a client allowed `allowed`:
    each requested system scope cut to what an allowed one covers (type `*` covers every
    type; permissions intersect letter by letter), written in the request's form where it
    survives whole. Other contexts (patient/, user/, launch, openid) are not granted."""
    grants = [parse_scope(a) for a in allowed]
    out: list[str] = []
    for text in requested.split():
        want = parse_scope(text)
        if want is None or want.context != "system":
            continue
        for have in grants:
            granted = _intersect(want, have) if have else None
            if granted and granted not in out:
                out.append(granted)
    return out


def _intersect(want: Scope, have: Scope) -> str | None:
    covers = have.rtype in ("*", want.rtype) or want.rtype == "*"
    if have.context != "system" or not covers:
        return None
    rtype = want.rtype if have.rtype == "*" else have.rtype
    letters = "".join(c for c in want.letters if c in have.letters)
    if not letters:
        return None
    words = {v: k for k, v in V1_LETTERS.items()}
    word = words.get(letters, "") if want.v1 else ""
    return f"system/{rtype}.{word or letters}"


# -- client authentication --------------------------------------------------------------------


def assertion_event_id(client_id: str, jti: str) -> str:
    """The id of the audit record that spends a client's jti (the log keeps one per id)."""
    return resource_id("smart-assertion", client_id, jti)


@dataclass(frozen=True)
class Authenticated:
    client: SmartClient
    jti: str  # spent by the caller when it issues the token (see the module docstring)


def authenticate(
    assertion: str, registry: ClientRegistry, token_url: str, leeway_s: float
) -> Authenticated:
    """The registered client that signed `assertion` for `token_url`; OAuthError
    (invalid_client) otherwise. Whether the jti was used before is the caller's question
    to the log."""
    header, claims = _unverified(assertion)
    client = registry.get(str(claims.get("iss", "")))
    if client is None:
        raise client_error(f"client {claims.get('iss')!r} is not registered")
    if claims.get("sub") != client.client_id:
        raise client_error("the assertion's sub must be its iss, the client id")
    verified = _verify(assertion, client, header, token_url, leeway_s)
    if float(verified["exp"]) - time.time() > ASSERTION_MAX_AHEAD_S + leeway_s:
        raise client_error("the assertion's exp is more than five minutes ahead")
    return Authenticated(client, str(verified["jti"]))


REPLAYED = "the assertion's jti was already used"


def _unverified(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = dict(jwt.get_unverified_header(assertion))
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise client_error(f"client_assertion is not a JWT: {exc}") from exc
    if header.get("alg") not in ASSERTION_ALGORITHMS:
        algs = " or ".join(ASSERTION_ALGORITHMS)
        raise client_error(f"client_assertion must be signed {algs}, not {header.get('alg')}")
    return header, claims


def _verify(
    assertion: str, client: SmartClient, header: dict[str, Any], token_url: str, leeway_s: float
) -> dict[str, Any]:
    algorithm, kid = str(header["alg"]), str(header.get("kid") or "")
    keys = client.keys_for(algorithm, kid)
    if not keys:
        raise client_error(f"no {algorithm} key of the client's JWKS has kid {kid!r}")
    for key in keys:
        try:
            return jwt.decode(
                assertion,
                key,
                algorithms=[algorithm],
                audience=token_url,
                issuer=client.client_id,
                leeway=dt.timedelta(seconds=leeway_s),
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError as exc:
            raise client_error("the assertion has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise client_error(f"the assertion's aud must be {token_url}") from exc
        except jwt.InvalidTokenError as exc:
            raise client_error(f"client_assertion: {exc}") from exc
    raise client_error("the assertion's signature verifies with no key of the client's JWKS")


# -- the token ----------------------------------------------------------------------------------


def issue(settings: Settings, client: SmartClient, scopes: list[str]) -> dict[str, Any]:
    """The access token answer (RFC 6749 section 5.1) for an authenticated client."""
    token = mint(
        issuer_key(settings),
        "ES256",
        issuer=SMART_ISSUER,
        audience=settings.auth_audience,
        subject=client.client_id,
        role=client.role,
        site=client.site,
        scopes=scopes,
        minutes=ACCESS_TOKEN_LIFETIME_S / 60,
        headers={"kid": SMART_KID},
        extra={"client_id": client.client_id, "jti": uuid.uuid4().hex},
    )
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_S,
        "scope": " ".join(scopes),
    }
