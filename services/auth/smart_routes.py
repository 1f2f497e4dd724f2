"""SMART discovery and the Backend Services token endpoint over HTTP (services/auth/smart.py
says what they check).

| route                                      | what                                           |
|--------------------------------------------|------------------------------------------------|
| GET /.well-known/smart-configuration       | discovery, at the server root and at the FHIR  |
| GET /fhir/.well-known/smart-configuration  | base (where the spec puts it: `[base]/.well-...`)|
| POST /auth/token                           | client_credentials + private_key_jwt -> token  |
| GET /auth/jwks                             | this server's public key for its access tokens |

All public (services/auth/policy.py): the token endpoint authenticates its callers itself.
Errors are RFC 6749 JSON (`error`, `error_description`), not OperationOutcomes: OAuth clients
read those.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.auth import audit, smart
from services.auth.clients import ClientRegistry, ClientRegistryError, SmartClient, clients_path
from services.auth.principal import Principal
from services.deps import SystemDep
from services.settings import Settings
from services.system import System

log = logging.getLogger(__name__)
router = APIRouter(tags=["SMART"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 section 5.1
FORM = "application/x-www-form-urlencoded"
_STATE_LOCK = threading.Lock()  # two first requests at once must share one client registry


def server_base(request: Request, settings: Settings) -> str:
    """The URL clients reach this server at: the configured public URL, else the request's."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


@router.get("/.well-known/smart-configuration")
def smart_configuration(request: Request, system: SystemDep) -> JSONResponse:
    return JSONResponse(smart.configuration(server_base(request, system.settings)))


@router.get("/fhir/.well-known/smart-configuration")
def fhir_smart_configuration(request: Request, system: SystemDep) -> JSONResponse:
    return JSONResponse(smart.configuration(server_base(request, system.settings)))


@router.get(smart.JWKS_PATH)
def issuer_jwks(system: SystemDep) -> JSONResponse:
    return JSONResponse(smart.jwks(system.settings))


@router.post(smart.TOKEN_PATH)
async def token(request: Request, system: SystemDep) -> JSONResponse:
    """RFC 6749 section 4.4 with RFC 7523 client authentication, as SMART Backend
    Services profiles them."""
    try:
        form = _form(request.headers.get("content-type", ""), await request.body())
        client, jti, scopes = _grant(form, request, system.settings)
        await _spend(system, request, client, jti, scopes)
    except smart.OAuthError as exc:
        log.info("token refused: %s (%s)", exc.error, exc.description)
        body = {"error": exc.error, "error_description": exc.description}
        return JSONResponse(body, status_code=exc.status, headers=NO_STORE)
    log.info("token issued to %s: %s", client.client_id, " ".join(scopes))
    return JSONResponse(smart.issue(system.settings, client, scopes), headers=NO_STORE)


async def _spend(
    system: System, request: Request, client: SmartClient, jti: str, scopes: list[str]
) -> None:
    """Audit the grant under the jti's event id, durably, before the token goes out; the
    log answering `duplicate` means the jti was spent before, by any instance (replay)."""
    access = audit.Access(
        principal=Principal(client.client_id, client.role, client.site, frozenset(scopes)),
        client_address=request.client.host if request.client else None,
        channel="http",
        method="POST",
        route=smart.TOKEN_PATH,
        path=smart.TOKEN_PATH,
        status=200,
        params={},
        reason="token issued: " + " ".join(scopes),
        event_id=smart.assertion_event_id(client.client_id, jti),
    )
    try:
        appended = await asyncio.wrap_future(audit.submit(system, access))
    except Exception as exc:  # noqa: BLE001 - not recorded, so not issued
        log.warning("token grant not recorded: %r", exc)
        raise smart.OAuthError(
            "temporarily_unavailable", "the grant could not be recorded; retry", 503
        ) from exc
    if appended.duplicate:
        raise smart.client_error(smart.REPLAYED)


def _form(content_type: str, body: bytes) -> dict[str, str]:
    if content_type.split(";")[0].strip().lower() != FORM:
        raise smart.OAuthError("invalid_request", f"the token request must be {FORM}")
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):  # RFC 6749 section 3.2: no parameter twice
        raise smart.OAuthError("invalid_request", "a parameter is repeated")
    return dict(pairs)


def _grant(
    form: dict[str, str], request: Request, settings: Settings
) -> tuple[SmartClient, str, list[str]]:
    """The authenticated client, its assertion's jti and the scopes it is granted."""
    if form.get("grant_type") != "client_credentials":
        raise smart.OAuthError("unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != smart.ASSERTION_TYPE:
        raise smart.client_error(f"client_assertion_type must be {smart.ASSERTION_TYPE}")
    if not form.get("client_assertion"):
        raise smart.client_error("client_assertion is required")
    if not form.get("scope", "").strip():
        raise smart.OAuthError("invalid_scope", "scope is required")
    url = server_base(request, settings) + smart.TOKEN_PATH
    try:
        signed = smart.authenticate(
            form["client_assertion"], _registry(request, settings), url, settings.auth_leeway_s
        )
    except ClientRegistryError as exc:
        log.error("SMART client registry unusable: %s", exc)
        raise smart.OAuthError("server_error", "the client registry is unusable", 500) from exc
    scopes = smart.narrow(form["scope"], signed.client.scopes)
    if not scopes:
        raise smart.OAuthError(
            "invalid_scope", f"none of {form['scope']!r} is within the client's registration"
        )
    return signed.client, signed.jti, scopes


def _registry(request: Request, settings: Settings) -> ClientRegistry:
    """The app's client registry (one per app, made by the first request)."""
    state = request.app.state
    with _STATE_LOCK:
        if getattr(state, "smart_clients", None) is None:
            state.smart_clients = ClientRegistry(clients_path(settings))
        return state.smart_clients  # type: ignore[no-any-return]
