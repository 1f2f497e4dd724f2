"""Topic-based Subscriptions (R4 Subscriptions Backport IG) over FHIR REST.

| method, path                                        | what                                         |
|-----------------------------------------------------|----------------------------------------------|
| GET    /fhir/SubscriptionTopic[/{id}]               | the topics offered (R4B SubscriptionTopic)   |
| POST   /fhir/Subscription                           | validate, append SubscriptionRequested, 201  |
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
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response, WebSocket

from avro_schemas.catalogue import SUBSCRIPTIONS
from eventlog.base import LogUnavailable
from services.deps import SystemDep
from services.fhir_api.negotiate import negotiate
from services.ingest.submit import append_event
from services.outcome import FHIR_JSON, FhirError
from services.subscriptions.bundle import notification_bundle, status_bundle
from services.subscriptions.request import CONTENTS, subscription_requested
from services.subscriptions.views import load_events, load_focus, load_state
from services.subscriptions.websocket import TokenSigner, WebsocketFeed
from services.system import System
from stream_processors.notifier.fold import DELETED, REQUESTED, subscription_resource
from stream_processors.notifier.topics import TOPICS, to_fhir

router = APIRouter(prefix="/fhir", tags=["fhir subscriptions"])
fhir = [Depends(negotiate)]

MAX_EVENTS = 1000  # notifications per $events answer; ask again from the next number
WS_POLL_S = 0.2

Json = dict[str, Any]


def _json(doc: Json, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def _base(request: Request) -> str:
    return str(request.base_url) + "fhir"


def _signer(system: System) -> TokenSigner:
    return TokenSigner(system.settings.subscription_token_key)


def _live_state(system: System, sid: str) -> Json:
    state = load_state(system.store, sid)
    if state is None:
        raise FhirError(404, f"Subscription/{sid} is not known", "not-found")
    return state


def _append(system: System, sid: str, name: str, event: Json) -> None:
    try:
        append_event(system, SUBSCRIPTIONS, sid, name, event)
    except LogUnavailable as exc:
        raise FhirError(503, f"the log did not acknowledge: {exc}; retry", "transient") from exc


# -- SubscriptionTopic ------------------------------------------------------------------


@router.get("/SubscriptionTopic", dependencies=fhir)
def topics(request: Request, url: str | None = None) -> Response:
    chosen = [t for t in TOPICS.values() if url in (None, t.url)]
    base = _base(request)
    return _json(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(chosen),
            "entry": [
                {
                    "fullUrl": f"{base}/SubscriptionTopic/{t.slug}",
                    "resource": to_fhir(t),
                    "search": {"mode": "match"},
                }
                for t in chosen
            ],
        }
    )


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
    event = subscription_requested(body, sid, dt.datetime.now(dt.UTC))
    _append(system, sid, REQUESTED, event)
    resource = json.loads(event["resource"])
    location = f"{_base(request)}/Subscription/{sid}"
    return _json(resource, 201, {"Location": location})


@router.get("/Subscription/{sid}", dependencies=fhir)
def read(sid: str, system: SystemDep) -> Response:
    return _json(subscription_resource(_live_state(system, sid)))


@router.delete("/Subscription/{sid}", dependencies=fhir)
def delete(sid: str, system: SystemDep) -> Response:
    _live_state(system, sid)
    now = dt.datetime.now(dt.UTC)
    meta = {
        "event_id": f"subscription-deleted:{sid}",
        "occurred_at": now,
        "recorded_at": now,
        "source": {"channel": "http", "device_id": None, "user_id": None, "site_id": None},
    }
    _append(system, sid, DELETED, {"meta": meta, "subscription_id": sid})
    return Response(status_code=204)


@router.get("/Subscription/{sid}/$status", dependencies=fhir)
def status(sid: str, request: Request, system: SystemDep) -> Response:
    return _json(status_bundle(_live_state(system, sid), _base(request)))


def _number(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
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
    state = _live_state(system, sid)
    first = max(1, _number(eventsSinceNumber, "eventsSinceNumber", 1))
    last = min(_number(eventsUntilNumber, "eventsUntilNumber", state["events"]), state["events"])
    last = min(last, first + MAX_EVENTS - 1)
    if content is not None and content not in CONTENTS:
        raise FhirError(400, f"content must be one of {list(CONTENTS)}", "invalid", ["content"])
    shown = {**state, "payload_content": content or state["payload_content"]}
    found = load_events(system.store, sid, first, last)
    resources = (
        load_focus(system.store, found) if shown["payload_content"] == "full-resource" else {}
    )
    return _json(notification_bundle(shown, "query-event", _base(request), found, resources))


@router.api_route(
    "/Subscription/{sid}/$get-ws-binding-token", methods=["GET", "POST"], dependencies=fhir
)
def ws_binding_token(sid: str, request: Request, system: SystemDep) -> Response:
    state = _live_state(system, sid)
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
