"""Bearer JWTs (RFC 6750, RFC 7519) verified with PyJWT, and the demo's dev issuer.

Trusted issuers come from settings, each with the one algorithm its key allows (never the
token's own choice, so an RS256 public key can never verify an HS256 token):
- the region's identity provider: `auth_issuer` with a PEM public key file (RSA: RS256,
  EC P-256: ES256) and/or an HS256 secret (from `auth_hs256_secret_file`, or the env var
  GOLDENHOUR_AUTH_HS256_SECRET; never in the repository);
- the dev issuer (`DEV_ISSUER`), when `auth_dev_issuer` is on: an ES256 key generated on
  first use into `<data dir>/auth/dev-issuer-key.pem` (mode 0600; the data dir is not
  committed), the key `goldenhour token` mints with;
- this server's own token endpoint (`SMART_ISSUER`, services/auth/smart.py): SMART Backend
  Services clients' access tokens, ES256 with the key in `<data dir>/auth/smart-issuer-key.pem`
  (kid `SMART_KID`), always trusted: it only ever signs for registered clients.

Every token must carry `iss`, `aud` (= `auth_audience`), `sub`, `exp`, `iat`, and our
claims `role` and `site`; `scope` is the OAuth2 space-separated list. `exp`/`iat`/`nbf`
allow `auth_leeway_s` of clock skew (30 s: tablets and carts keep NTP time, and a token
lives minutes, not seconds). A token may live at most `auth_max_token_lifetime_s` (12 h):
one whose `exp - iat`, or whose remaining `exp - now`, is longer is refused, so a leaked
"never expires" token from a misconfigured issuer is worthless here.

One issuer may have several keys side by side (an RSA or EC public key and an HS256
secret, during a rotation or a migration). The token's header picks one: `alg` must be the
key's own algorithm (so an HS256 token "signed" with the RSA public key as the secret, the
classic algorithm-confusion attack, finds no HS256 key it verifies under), and `kid`, when
the key was given one (`auth_public_key_kid`, `auth_hs256_kid`), must be the key's.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.auth.principal import ROLES, Principal
from services.settings import Settings

DEV_ISSUER = "urn:goldenhour:dev-issuer"
DEV_KEY_FILE = Path("auth") / "dev-issuer-key.pem"  # under the data dir
# This server's own token endpoint (services/auth/smart.py): SMART Backend Services clients.
SMART_ISSUER = "urn:goldenhour:smart"
SMART_KEY_FILE = Path("auth") / "smart-issuer-key.pem"  # under the data dir
SMART_KID = "smart-1"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat"]


class InvalidToken(Exception):
    """The token is malformed, expired, from an unknown issuer, or badly signed.
    `expired` tells the 401's issue code (`expired` rather than `login`)."""

    def __init__(self, reason: str, expired: bool = False):
        super().__init__(reason)
        self.expired = expired


@dataclass(frozen=True)
class TrustedKey:
    key: Any  # a public key object or an HS256 secret (bytes)
    algorithm: str
    kid: str = ""  # "": the key answers to any kid (or none)


class TokenVerifier:
    """Verifies a bearer token against the trusted issuers; thread-safe (immutable)."""

    def __init__(
        self,
        keys: dict[str, list[TrustedKey]],
        audience: str,
        leeway_s: float,
        max_lifetime_s: float = 12 * 3600.0,
    ):
        self.keys = keys
        self.audience = audience
        self.leeway_s = leeway_s
        self.max_lifetime_s = max_lifetime_s

    def verify(self, token: str) -> Principal:
        issuer = self._issuer(token)
        if issuer not in self.keys:
            raise InvalidToken(f"issuer {issuer!r} is not trusted")
        candidates = _candidates(self.keys[issuer], _header(token))
        last = InvalidToken("no key of the issuer for this token's alg and kid")
        for trusted in candidates:
            try:
                claims = self._decode(token, issuer, trusted)
                self._check_lifetime(claims)
                return _principal(claims)
            except jwt.ExpiredSignatureError as exc:
                raise InvalidToken("token expired", expired=True) from exc
            except jwt.InvalidSignatureError:
                last = InvalidToken("signature does not verify")
            except jwt.InvalidTokenError as exc:
                raise InvalidToken(str(exc)) from exc
        raise last

    @staticmethod
    def _issuer(token: str) -> str:
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"not a JWT: {exc}") from exc
        return str(claims.get("iss", ""))

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """InvalidToken when the token lives, or still has to live, longer than allowed."""
        exp, iat = float(claims["exp"]), float(claims["iat"])
        now = dt.datetime.now(dt.UTC).timestamp()
        longest = self.max_lifetime_s + self.leeway_s
        if exp - iat > longest or exp - now > longest:
            raise InvalidToken(f"token lifetime exceeds the maximum of {self.max_lifetime_s:g} s")

    def _decode(self, token: str, issuer: str, trusted: TrustedKey) -> dict[str, Any]:
        return jwt.decode(
            token,
            trusted.key,
            algorithms=[trusted.algorithm],
            audience=self.audience,
            issuer=issuer,
            leeway=dt.timedelta(seconds=self.leeway_s),
            options={"require": REQUIRED_CLAIMS},
        )


def _header(token: str) -> dict[str, Any]:
    try:
        return dict(jwt.get_unverified_header(token))
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(f"not a JWT: {exc}") from exc


def _candidates(keys: list[TrustedKey], header: dict[str, Any]) -> list[TrustedKey]:
    """The keys a token's header selects: same algorithm; the key named by `kid` if one
    is, else the keys given no kid."""
    same_alg = [k for k in keys if k.algorithm == header.get("alg")]
    kid = str(header.get("kid") or "")
    named = [k for k in same_alg if kid and k.kid == kid]
    return named or [k for k in same_alg if not k.kid]


def _principal(claims: dict[str, Any]) -> Principal:
    role = claims.get("role")
    if role not in ROLES:
        raise InvalidToken(f"claim role must be one of {', '.join(ROLES)}")
    scopes = claims.get("scope", "")
    if not isinstance(scopes, str):
        raise InvalidToken("claim scope must be a space-separated string")
    return Principal(
        subject=str(claims["sub"]),
        role=str(role),
        site=str(claims.get("site") or ""),
        scopes=frozenset(scopes.split()),
    )


# -- keys from settings -------------------------------------------------------------------


def dev_issuer_on(settings: Settings) -> bool:
    """The dev issuer is trusted when asked for, and by default only where tokens are not
    required anyway (the embedded demo): a region that requires tokens must opt in."""
    if settings.auth_dev_issuer is not None:
        return settings.auth_dev_issuer
    return not settings.auth_required


def verifier(settings: Settings) -> TokenVerifier:
    keys: dict[str, list[TrustedKey]] = {}
    if settings.auth_issuer:
        keys[settings.auth_issuer] = _configured_keys(settings)
    if dev_issuer_on(settings):
        private = dev_key(settings.data_dir)
        keys.setdefault(DEV_ISSUER, []).append(TrustedKey(private.public_key(), "ES256"))
    # Our own token endpoint's tokens: issued only to registered clients, so always trusted.
    smart = ec_key(settings.data_dir / SMART_KEY_FILE).public_key()
    keys.setdefault(SMART_ISSUER, []).append(TrustedKey(smart, "ES256", SMART_KID))
    return TokenVerifier(
        keys, settings.auth_audience, settings.auth_leeway_s, settings.auth_max_token_lifetime_s
    )


def _configured_keys(settings: Settings) -> list[TrustedKey]:
    out = []
    if settings.auth_public_key_file:
        key = public_key(settings.auth_public_key_file.read_bytes())
        out.append(TrustedKey(key.key, key.algorithm, settings.auth_public_key_kid))
    secret = hs256_secret(settings)
    if secret:
        out.append(TrustedKey(secret, "HS256", settings.auth_hs256_kid))
    if not out:
        raise ValueError(
            "auth_issuer is set but no key: set GOLDENHOUR_AUTH_PUBLIC_KEY_FILE, "
            "GOLDENHOUR_AUTH_HS256_SECRET_FILE or GOLDENHOUR_AUTH_HS256_SECRET"
        )
    return out


def hs256_secret(settings: Settings) -> bytes:
    if settings.auth_hs256_secret_file:
        return settings.auth_hs256_secret_file.read_bytes().strip()
    return settings.auth_hs256_secret.get_secret_value().encode()


def public_key(pem: bytes) -> TrustedKey:
    """A PEM public key (or certificate's key) with the one algorithm its type allows."""
    key = serialization.load_pem_public_key(pem)
    if isinstance(key, rsa.RSAPublicKey):
        return TrustedKey(key, "RS256")
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return TrustedKey(key, "ES256")
    raise ValueError("public key must be RSA (RS256) or EC P-256 (ES256)")


# -- the dev issuer -------------------------------------------------------------------------


def dev_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The dev issuer's ES256 key, generated on first use (file mode 0600)."""
    return ec_key(data_dir / DEV_KEY_FILE)


def ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """An ES256 signing key kept at `path`, generated on first use (file mode 0600)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:  # O_EXCL: of two processes starting at once, one key wins
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC private key")
    return key


def mint(
    key: Any,
    algorithm: str,
    *,
    issuer: str,
    audience: str,
    subject: str,
    role: str,
    site: str,
    scopes: list[str],
    minutes: float = 60.0,
    now: dt.datetime | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    """A signed token (the dev issuer's, the token endpoint's, or a test's with its own
    key); `extra` claims beside ours (e.g. `client_id`, `jti`), `headers` e.g. a `kid`."""
    issued = now or dt.datetime.now(dt.UTC)
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "role": role,
        "site": site,
        "scope": " ".join(scopes),
        "iat": issued,
        "exp": issued + dt.timedelta(minutes=minutes),
    }
    claims = {**(extra or {}), **claims}  # ours win: an extra never rewrites role or site
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def mint_dev(
    settings: Settings, subject: str, role: str, site: str, scopes: list[str], minutes: float = 60.0
) -> str:
    """A token of the dev issuer for `settings`' data dir and audience."""
    return mint(
        dev_key(settings.data_dir),
        "ES256",
        issuer=DEV_ISSUER,
        audience=settings.auth_audience,
        subject=subject,
        role=role,
        site=site,
        scopes=scopes,
        minutes=minutes,
    )
