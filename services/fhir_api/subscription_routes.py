"""Topic-based Subscriptions (R4 Subscriptions Backport IG) over FHIR REST.

| method, path                                        | what                                         |
|-----------------------------------------------------|----------------------------------------------|
| GET    /fhir/SubscriptionTopic[/{id}]               | the topics offered (R4B SubscriptionTopic)   |
| POST   /fhir/Subscription                           | validate, append SubscriptionRequested, 201  |
| GET    /fhir/Subscription[?status=]                 | search: the caller's own subscriptions       |
| GET    /fhir/Subscription/{id}                      | the Subscription with its current status     |
| DELETE /fhir/Subscription/{id}                      | append SubscriptionDeleted: status off       |
| GET    /fhir/Subscription/{id}/$status              | SubscriptionStatus (query-status)            |
| GET    /fhir/Subscription/{id}/$events              | any eventNumber range again (query-event)    |
| GET    /fhir/Subscription/{id}/$get-ws-binding-token| token for the websocket channel              |
| WS     /fhir/ws                                     | `bind-with-token: <token>`, then live Bundles|

A Subscription is a fact in the log (`fhir.subscriptions`); the resource served is the
notifier's view of it, so a GET right after the 201 may answer 404 until the notifier has
folded the request (`$status` says `requested` from then on). Matching, numbering and
delivery: `stream_processors/notifier/`, `services/subscriptions/`.

Ownership. A Subscription belongs to the organization whose token created it (the token's
`site`; `meta.security` `org/<site>`). With auth required, only that organization (and
admin) reads, searches, deletes, replays (`$events`), asks `$status` of, or binds
(`$get-ws-binding-token`) it: any other caller gets the same 404 as for an id never
created (existence is not disclosed), and the access audit records why
(`services/auth/audit.py` REASON_KEY). Header values and the HMAC secret are write-only;
a rest-hook endpoint must pass the SSRF guard (`services/subscriptions/endpoints.py`).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response, WebSocket

from avro_schemas.catalogue import SUBSCRIPTIONS
from avro_schemas.events import SUBSCRIPTION_DELETED, SUBSCRIPTION_REQUESTED
from eventlog.base import LogUnavailable
from kernel.jsontypes import Json
from kernel.text import ascii_digits
from services.auth.audit import REASON_KEY
from services.auth.context import current_principal, enforced
from services.auth.principal import Principal
from services.deps import SystemDep
from services.fhir_api.negotiate import negotiate
from services.fhir_api.paging import entry
from services.ingest.submit import append_event
from services.outcome import FHIR_JSON, FhirError, log_unavailable
from services.subscriptions.bundle import notification_bundle, status_bundle
from services.subscriptions.endpoints import EndpointGuard, EndpointRefused
from services.subscriptions.request import CONTENTS, subscription_requested
from services.subscriptions.views import as_owner_sees, load_events, load_state
from services.subscriptions.websocket import TokenSigner, WebsocketFeed
from services.system import System
from stream_processors.notifier.published import (
    ALL_OWNERS,
    OWNER_INDEX,
    STATE,
    TOPICS,
    owner_key,
    subscription_resource,
    to_fhir,
)

router = APIRouter(prefix="/fhir", tags=["fhir subscriptions"])
fhir = [Depends(negotiate)]

MAX_EVENTS = 1000  # notifications per $events answer; ask again from the next number
WS_POLL_S = 0.2


def _json(doc: Json, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def _base(request: Request) -> str:
    return str(request.base_url) + "fhir"


def _signer(system: System) -> TokenSigner:
    return TokenSigner(system.settings.subscription_token_key)


def _not_known(sid: str) -> FhirError:
    return FhirError(404, f"Subscription/{sid} is not known", "not-found")


def _caller() -> Principal | None:
    """The authenticated caller when auth is required; None when anyone may (the demo)."""
    return current_principal.get() if enforced.get() else None


def _sees_all(caller: Principal | None) -> bool:
    return caller is None or caller.role == "admin"


def _live_state(system: System, sid: str, request: Request) -> Json:
    """The subscription's state, if the caller owns it (or is admin); 404 otherwise, with
    the refusal's reason left for the audit."""
    state = load_state(system.store, sid)
    if state is None:
        raise _not_known(sid)
    caller = _caller()
    if not _sees_all(caller) and caller is not None and state.get("owner") != caller.site:
        setattr(
            request.state,
            REASON_KEY,
            f"Subscription/{sid} belongs to another organization than {caller.site or '(none)'}",
        )
        raise _not_known(sid)
    return state


def _checked_endpoint(system: System, channel: Json) -> None:
    """422 for a rest-hook endpoint the SSRF guard refuses (resolved now)."""
    if channel.get("type") != "rest-hook":
        return
    guard = EndpointGuard(system.settings.subscription_endpoint_allowlist)
    try:
        guard.check(str(channel.get("endpoint") or ""))
    except EndpointRefused as exc:
        raise FhirError(
            422, f"endpoint refused: {exc}", "invalid", ["Subscription.channel.endpoint"]
        ) from exc


def _append(system: System, sid: str, name: str, event: Json) -> None:
    try:
        append_event(system, SUBSCRIPTIONS, sid, name, event)
    except LogUnavailable as exc:
        raise log_unavailable(exc) from exc


# -- SubscriptionTopic ------------------------------------------------------------------


@router.get("/SubscriptionTopic", dependencies=fhir)
def topics(request: Request, url: str | None = None) -> Response:
    chosen = [to_fhir(t) for t in TOPICS.values() if url in (None, t.url)]
    return _searchset(request, "SubscriptionTopic", chosen)


@router.get("/SubscriptionTopic/{tid}", dependencies=fhir)
def topic(tid: str) -> Response:
    found = next((t for t in TOPICS.values() if t.slug == tid), None)
    if found is None:
        raise FhirError(404, f"SubscriptionTopic/{tid} is not known", "not-found")
    return _json(to_fhir(found))


# -- Subscription -----------------------------------------------------------------------


@router.post("/Subscription", dependencies=fhir, status_code=201)
def create(
    body: Annotated[dict[str, Any], Body()], request: Request, system: SystemDep
) -> Response:
    sid = str(uuid.uuid4())
    principal = current_principal.get()
    owner, user = (principal.site, principal.subject) if principal else ("", None)
    event = subscription_requested(body, sid, dt.datetime.now(dt.UTC), owner, user)
    _checked_endpoint(system, body.get("channel") or {})
    _append(system, sid, SUBSCRIPTION_REQUESTED, event)
    resource = {**json.loads(event["resource"]), "meta": {"versionId": "1"}}
    # http.html#create: Location names the version created (the notifier folds the request
    # into version 1 of the subscription's state; later versions record its status changes)
    location = f"{_base(request)}/Subscription/{sid}/_history/1"
    return _json(resource, 201, {"Location": location, "ETag": 'W/"1"'})


@router.get("/Subscription", dependencies=fhir)
def search(request: Request, system: SystemDep, status: str | None = None) -> Response:
    """The caller's own subscriptions (admin: all), optionally with one `status`."""
    unknown = sorted(set(request.query_params) - {"status", "_format"})
    if unknown:
        raise FhirError(400, f"unknown search parameters {unknown}: only status", "not-supported")
    caller = _caller()
    key = ALL_OWNERS if _sees_all(caller) else owner_key(caller.site if caller else "")
    states = [load_state(system.store, sid) for _, sid in system.store.lookup(OWNER_INDEX, key)]
    found = [subscription_resource(s) for s in states if s and status in (None, s["status"])]
    return _searchset(request, "Subscription", found)


def _searchset(request: Request, rtype: str, resources: list[Json]) -> Response:
    """A searchset of every match, unpaged: an organization has a handful of these."""
    entries = [entry(_base(request), rtype, r) for r in resources]
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(resources)}
    return _json({**bundle, "entry": entries})


@router.get("/Subscription/{sid}", dependencies=fhir)
def read(sid: str, request: Request, system: SystemDep) -> Response:
    """http.html#read; 410 Gone once deleted (http.html#delete), the state kept for $events."""
    state = _live_state(system, sid, request)
    if state["status"] == "off":  # only a SubscriptionDeleted turns a subscription off
        raise FhirError(410, f"Subscription/{sid} was deleted", "deleted")
    stored = system.store.read(STATE, sid)
    return _versioned(subscription_resource(state), stored.version if stored else 1)


@router.get("/Subscription/{sid}/_history/{vid}", dependencies=fhir)
def vread(sid: str, vid: str, request: Request, system: SystemDep) -> Response:
    """http.html#vread: version N is the subscription's state after its Nth change."""
    _live_state(system, sid, request)  # ownership
    stored = system.store.vread(STATE, sid, int(vid)) if ascii_digits(vid) else None
    if stored is None:
        raise FhirError(404, f"Subscription/{sid}/_history/{vid} not found", "not-found")
    state = json.loads(stored.body)
    return _versioned(subscription_resource(state), stored.version)


def _versioned(resource: Json, version: int) -> Response:
    meta = {**resource.get("meta", {}), "versionId": str(version)}
    return _json({**resource, "meta": meta}, headers={"ETag": f'W/"{version}"'})


@router.delete("/Subscription/{sid}", dependencies=fhir)
def delete(sid: str, request: Request, system: SystemDep) -> Response:
    caller = current_principal.get()
    _live_state(system, sid, request)
    now = dt.datetime.now(dt.UTC)
    meta = {
        "event_id": f"subscription-deleted:{sid}",
        "occurred_at": now,
        "recorded_at": now,
        "source": {
            "channel": "http",
            "device_id": None,
            "user_id": caller.subject if caller else None,
            "site_id": (caller.site or None) if caller else None,
        },
    }
    _append(system, sid, SUBSCRIPTION_DELETED, {"meta": meta, "subscription_id": sid})
    return Response(status_code=204)


@router.get("/Subscription/{sid}/$status", dependencies=fhir)
def status(sid: str, request: Request, system: SystemDep) -> Response:
    return _json(status_bundle(_live_state(system, sid, request), _base(request)))


def _number(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not ascii_digits(raw):
        raise FhirError(400, f"{name} must be a whole number", "invalid", [name])
    return int(raw)


@router.get("/Subscription/{sid}/$events", dependencies=fhir)
def events(
    sid: str,
    request: Request,
    system: SystemDep,
    eventsSinceNumber: str | None = None,  # noqa: N803 (FHIR parameter names)
    eventsUntilNumber: str | None = None,  # noqa: N803
    content: str | None = None,
) -> Response:
    """Notifications eventsSinceNumber..eventsUntilNumber (inclusive; default all, at most
    MAX_EVENTS), with the subscription's payload content unless `content` says otherwise."""
    state = _live_state(system, sid, request)
    first = max(1, _number(eventsSinceNumber, "eventsSinceNumber", 1))
    last = min(_number(eventsUntilNumber, "eventsUntilNumber", state["events"]), state["events"])
    last = min(last, first + MAX_EVENTS - 1)
    if content is not None and content not in CONTENTS:
        raise FhirError(400, f"content must be one of {list(CONTENTS)}", "invalid", ["content"])
    shown = {**state, "payload_content": content or state["payload_content"]}
    found, resources = as_owner_sees(
        system.store,
        load_events(system.store, sid, first, last),
        state.get("owner", ""),
        shown["payload_content"],
    )
    return _json(notification_bundle(shown, "query-event", _base(request), found, resources))


# GET and POST, as FHIR operations allow; one operationId each (OpenAPI wants them unique)
@router.get(
    "/Subscription/{sid}/$get-ws-binding-token", dependencies=fhir, operation_id="ws_token_get"
)
@router.post(
    "/Subscription/{sid}/$get-ws-binding-token", dependencies=fhir, operation_id="ws_token_post"
)
def ws_binding_token(sid: str, request: Request, system: SystemDep) -> Response:
    state = _live_state(system, sid, request)
    if state["channel_type"] != "websocket" or state["status"] == "off":
        raise FhirError(422, f"Subscription/{sid} is not a live websocket subscription", "invalid")
    token, expires = _signer(system).issue(sid, time.time())
    ws_url = _base(request).replace("http", "ws", 1) + "/ws"
    expiry = dt.datetime.fromtimestamp(expires, dt.UTC).isoformat().replace("+00:00", "Z")
    return _json(
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "token", "valueString": token},
                {"name": "expiration", "valueDateTime": expiry},
                {"name": "subscription", "valueString": f"{_base(request)}/Subscription/{sid}"},
                {"name": "websocket-url", "valueUrl": ws_url},
            ],
        }
    )


@router.websocket("/ws")
async def websocket(ws: WebSocket) -> None:
    system: System = ws.app.state.system
    base = str(ws.base_url).replace("ws", "http", 1).rstrip("/") + "/fhir"
    await WebsocketFeed(ws, system.store, _signer(system), base, WS_POLL_S).serve()
