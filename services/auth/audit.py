"""The access audit: every read, search or write of patient data, allowed or refused,
becomes an `AccessRecorded` event on `audit.access` (key: the principal's subject), durable
*before* the answer is sent, so nothing answered is unaudited; if the append fails the
caller answers 503 (HTTP) or AE (MLLP) instead. Concurrent requests' records share one
commit (group commit), so auditing costs one fsync / produce per batch, not per read; an
ECG accepted over HTTP or MLLP has its record in the ECG's own commit (`Carried`). The audit projection
(stream_processors/audit/) folds the events into FHIR AuditEvents, readable by admin only.

There is no setting that turns the audit off: not for a role, not for the demo.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from avro_schemas.catalogue import AUDIT
from avro_schemas.events import ACCESS_RECORDED
from eventlog.base import Appended, NewRecord
from eventlog.group_commit import group_appender
from kernel.ids import ecg_observation_id
from kernel.time import now
from services.auth.principal import Principal
from services.hl7_gateway import er7
from services.system import System
from stream_processors.fhir_projector.published import encounter_id

# A route that refuses without saying so (404: the caller may not know the resource exists)
# leaves its reason under this key of the request's state (`request.state`); the
# middleware records it with the answer's status.
REASON_KEY = "audit_reason"
ANONYMOUS = "anonymous"
# Search parameters naming the Patient a search is about.
PATIENT_PARAMS = ("patient", "subject")


@dataclass(frozen=True)
class Access:
    """What happened, as the entry point saw it."""

    principal: Principal | None
    client_address: str | None
    channel: str  # http | mllp
    method: str
    route: str
    path: str
    status: int
    params: dict[str, str]  # path parameters of the route
    query: str = ""
    reason: str = ""
    patients_shown: tuple[str, ...] = ()  # "Patient/<id>": whose data the answer showed
    # Derived when the fact must be recorded once across instances (a SMART jti, spent);
    # empty: a fresh uuid, every access its own record.
    event_id: str = ""


def record(system: System, access: Access) -> None:
    """Append the access's event and wait until it is durable; raises whatever the log
    raises (the caller answers 503)."""
    submit(system, access).result()


def submit(system: System, access: Access) -> Future[Appended]:
    """Queue the access's event for the process's group commit (eventlog/group_commit.py):
    records of concurrent requests share one durable append. The future resolves when this
    one is durable, or fails with the append's exception; the caller answers after it."""
    return group_appender(system.log, AUDIT).submit(access_record(system, access))


def access_record(system: System, access: Access) -> NewRecord:
    """The access's event as a record of the `AUDIT` topic, keyed by the agent."""
    event = access_event(access)
    value = system.codec.encode(ACCESS_RECORDED, event)
    # A fresh uuid4 needs no look for an earlier append (Kafka: one round trip less);
    # a derived id (a SMART jti, recorded once across instances) does.
    fresh = not access.event_id
    return NewRecord(event["agent_subject"], value, event["meta"]["event_id"], fresh)


@dataclass
class Carried:
    """An exchange's audit record, offered to the one commit its write makes (an ECG
    submission: `services/ingest/submit.py`), so that what the exchange wrote and the
    record of it are durable together: one fsync (one wait for Kafka's acks), not a second
    one for the audit. The entry point (HTTP middleware, MLLP listener) makes one per
    exchange; the write path takes `record(status)`, the record as answered with the
    status it is about to answer, and once its commit is durable sets `recorded` to that
    status. The entry point records the answer on its own unless the status it sends is
    the one `recorded` says (a refusal, another route, a failed append: as before), so what
    went out is always recorded. An answer that changed after such a commit (an event id
    reused for another ECG: 409, AE 205) is then recorded twice: as committed, as sent."""

    record: Callable[[int], NewRecord | None]
    recorded: int | None = None


CARRIED_KEY = "audit_carried"  # the request's `Carried`, under this key of its state


def carried_by(state: Any) -> Carried | None:
    """The request's `Carried` (starlette `request.state`), None when nothing audits it."""
    found = getattr(state, CARRIED_KEY, None)
    return found if isinstance(found, Carried) else None


def access_event(access: Access) -> dict[str, Any]:
    at = now()
    who = access.principal
    rtype, rid = _resource(access)
    return {
        "meta": {
            "event_id": access.event_id or str(uuid.uuid4()),
            "occurred_at": at,
            "recorded_at": at,
            "source": {
                "channel": access.channel,
                "device_id": None,
                "user_id": who.subject if who else None,
                "site_id": who.site if who else None,
            },
        },
        "agent_subject": who.subject if who else ANONYMOUS,
        "agent_role": who.role if who else None,
        "agent_site": (who.site or None) if who else None,
        "client_address": access.client_address,
        "channel": access.channel,
        "method": access.method,
        "route": access.route,
        "path": access.path,
        "query": access.query or None,
        "resource_type": rtype,
        "resource_id": rid,
        "patient": _patient(access, rtype, rid),
        "status": access.status,
        "reason": access.reason or None,
        "patients_shown": list(access.patients_shown),
    }


def _resource(access: Access) -> tuple[str | None, str | None]:
    """The FHIR resource a route names: `{rtype}`/`{rid}`, a typed path (/fhir/Patient/...),
    or what an ingest/board/reading route is about."""
    p = access.params
    if "rtype" in p:
        return p["rtype"], p.get("rid")
    if access.route.startswith("/fhir/"):
        parts = access.route.split("/")
        rtype = parts[2] if len(parts) > 2 and parts[2][:1].isupper() else None
        return rtype, p.get("rid") or p.get("sid")
    if "incident_id" in p:
        return "Encounter", encounter_id(p["incident_id"])
    if "ecg_id" in p:
        return "Observation", ecg_observation_id(p["ecg_id"])
    return None, None


def _patient(access: Access, rtype: str | None, rid: str | None) -> str | None:
    if rtype == "Patient" and rid:
        return f"Patient/{rid}"
    for name, value in parse_qsl(access.query):
        if name in PATIENT_PARAMS and value:
            return value if "/" in value else f"Patient/{value}"
    return None


# -- MLLP ---------------------------------------------------------------------------------

MLLP_ROLE = "mllp-peer"
# ACK -> the HTTP-like status the audit records: AA 200; AE 400 (207: 500); AR 422, and 403
# for a peer refused by facility/address (103 at MSH-4, services/auth/peers.py).
_REFUSED_PEER = "|MSH^1^4|103^"  # ERR-2 and -3, whether or not ERR-1 (v2.3/2.4) is filled


def mllp_carried(system: System, payload: bytes, address: str | None) -> Carried:
    """The frame's audit record for the commit of the ORU it carries to take."""

    def record(status: int) -> NewRecord | None:
        access = _mllp_access(payload, address, status)
        return None if access is None else access_record(system, access)

    return Carried(record)


def mllp_access(payload: bytes, address: str | None, reply: bytes) -> Access | None:
    """The access one MLLP frame made, or None when its header is unreadable (it was
    answered AR and nothing was written)."""
    return _mllp_access(payload, address, _ack_status(reply.decode("utf-8", "replace")))


def _mllp_access(payload: bytes, address: str | None, status: int) -> Access | None:
    try:
        header = er7.peek_header(payload)
    except Exception:  # noqa: BLE001 - any unreadable header: nothing to audit
        return None
    facility = header.component(header.sending_facility)
    peer = Principal(f"mllp:{facility}", MLLP_ROLE, facility, frozenset())
    return Access(
        principal=peer,
        client_address=address,
        channel="mllp",
        method=header.message_type.replace(header.separators.component, "^"),
        route="mllp",
        path=header.control_id,
        status=status,
        params={},
    )


def _ack_status(reply: str) -> int:
    segments = reply.split("\r")
    msa = next((s.split("|") for s in segments if s.startswith("MSA|")), ["MSA", "AR"])
    code = msa[1] if len(msa) > 1 else "AR"
    if code == "AA":
        return 200
    if code == "AE":
        return 500 if "|207^" in reply else 400
    return 403 if _REFUSED_PEER in reply else 422
