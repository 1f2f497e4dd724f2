"""One `AccessRecorded` event -> one FHIR R4 AuditEvent (auditevent.html), pure.

Coded with the FHIR code systems for the purpose: type `rest` (audit-event-type) for HTTP,
DICOM 110100 "Application Activity" for HL7 v2 over MLLP, DICOM 110114 "User Authentication"
(subtype 110122 "Login") for a SMART client's token grant; subtype from restful-interaction
(read, vread, history-*, search-type, create, operation, ...); action C/R/U/D/E; outcome
0 (success) / 4 (minor failure: a refusal or a client error) / 8 (serious: 5xx). The agent
is the token's subject (`who.identifier`), with its role and site, and its network address;
entities are the resource asked for, the Patient when known (role 1, patient), and a
search's query (base64, as AuditEvent.entity.query wants it).

The id derives from the event id; `recorded` is the event's recorded_at: a rebuild gives
the same AuditEvent byte for byte.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from kernel.ids import resource_id
from kernel.jsontypes import Json
from kernel.time import instant

RESOURCE_TYPE = "AuditEvent"
AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
NETWORK_IP = "2"  # AuditEventAgentNetworkType: IP address
SUBJECT_SYSTEM = "https://goldenhour.health/sid/token-subject"
ROLE_SYSTEM = "https://goldenhour.health/CodeSystem/role"
SITE_SYSTEM = "https://goldenhour.health/sid/site-id"
# The SMART token endpoint (services/auth/smart.py): its grants are logins, not REST reads.
LOGIN_ROUTE = "/auth/token"


def audit_event_id(event_id: str) -> str:
    return resource_id(RESOURCE_TYPE, event_id)


def audit_event(event: Json) -> Json:
    """The AuditEvent of one access (without meta)."""
    status = int(event["status"])
    out: Json = {
        "resourceType": RESOURCE_TYPE,
        "id": audit_event_id(event["meta"]["event_id"]),
        "type": _type(event["channel"]),
        "subtype": [_coding(RESTFUL_INTERACTION, _interaction(event))],
        **_login(event),
        "action": _action(event),
        "recorded": _instant(event["meta"]["recorded_at"]),
        "outcome": "0" if status < 400 else ("4" if status < 500 else "8"),
        "outcomeDesc": _outcome_desc(event),
        "agent": [_agent(event)],
        "source": _source(event),
    }
    entities = _entities(event)
    if entities:
        out["entity"] = entities
    return out


def _coding(system: str, code: str, display: str | None = None) -> Json:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _instant(value: Any) -> str:
    return instant(value) if isinstance(value, dt.datetime) else str(value)


def _login(event: Json) -> Json:
    """A token grant's type and subtype (DICOM), replacing the REST ones."""
    if event["route"] != LOGIN_ROUTE:
        return {}
    return {
        "type": _coding(DCM, "110114", "User Authentication"),
        "subtype": [_coding(DCM, "110122", "Login")],
    }


def _type(channel: str) -> Json:
    if channel == "mllp":
        return _coding(DCM, "110100", "Application Activity")
    return _coding(AUDIT_EVENT_TYPE, "rest", "RESTful Operation")


def _interaction(event: Json) -> str:
    """The restful-interaction code of a route template and method."""
    route, method = event["route"], event["method"]
    if event["channel"] == "mllp":
        return "create"
    if "$" in route:
        return "operation"
    if method == "POST":
        return "create" if route.startswith("/fhir/") or "/ingest/" in route else "operation"
    if method == "DELETE":
        return "delete"
    if route.endswith("/_history/{vid}"):
        return "vread"
    if route.endswith("{rid}/_history"):
        return "history-instance"
    if route.endswith("/_history"):
        return "history-type" if "{rtype}" in route else "history-system"
    if route.endswith("{rid}") or route.endswith("{sid}"):
        return "read"
    return "search-type"


def _action(event: Json) -> str:
    """C create, R read/view/print, U update, D delete, E execute (searches, operations)."""
    code = _interaction(event)
    return {"create": "C", "delete": "D", "search-type": "E", "operation": "E"}.get(code, "R")


def _outcome_desc(event: Json) -> str:
    text = f"{event['method']} {event['path']}: {event['status']}"
    return f"{text} ({event['reason']})" if event.get("reason") else text


def _agent(event: Json) -> Json:
    agent: Json = {
        "who": {
            "identifier": {"system": SUBJECT_SYSTEM, "value": event["agent_subject"]},
            "display": event["agent_subject"],
        },
        "requestor": True,
    }
    if event.get("agent_role"):
        agent["role"] = [{"coding": [_coding(ROLE_SYSTEM, event["agent_role"])]}]
    if event.get("agent_site"):
        agent["location"] = {"identifier": {"system": SITE_SYSTEM, "value": event["agent_site"]}}
    if event.get("client_address"):
        agent["network"] = {"address": event["client_address"], "type": NETWORK_IP}
    return agent


def _source(event: Json) -> Json:
    code, display = (
        ("4", "Application Server")
        if event["channel"] == "mllp"
        else (
            "3",
            "Web Server",
        )
    )
    return {
        "site": event["channel"],
        "observer": {"display": "goldenhour"},
        "type": [_coding(SOURCE_TYPE, code, display)],
    }


def _entities(event: Json) -> list[Json]:
    out: list[Json] = []
    patient = event.get("patient")
    if patient:
        out.append(
            {
                "what": {"reference": patient},
                "type": _coding(ENTITY_TYPE, "1", "Person"),
                "role": _coding(OBJECT_ROLE, "1", "Patient"),
            }
        )
    for shown in event.get("patients_shown") or []:  # every Patient the answer showed
        if shown != patient:
            out.append(
                {
                    "what": {"reference": shown},
                    "type": _coding(ENTITY_TYPE, "1", "Person"),
                    "role": _coding(OBJECT_ROLE, "1", "Patient"),
                }
            )
    rtype, rid = event.get("resource_type"), event.get("resource_id")
    if rtype and rid and f"{rtype}/{rid}" != patient:
        out.append({"what": {"reference": f"{rtype}/{rid}"}, "type": _system_object()})
    if event.get("query"):
        out.append(
            {
                "type": _system_object(),
                "role": _coding(OBJECT_ROLE, "24", "Query"),
                "description": event["path"],
                "query": base64.b64encode(event["query"].encode()).decode(),
            }
        )
    if not out and event["route"] not in ("", "mllp"):
        out.append({"type": _system_object(), "description": event["path"]})
    return out


def _system_object() -> Json:
    return _coding(ENTITY_TYPE, "2", "System Object")


def entity_references(resource: Json) -> list[str]:
    """`Type/id` of every entity of an AuditEvent (its `entity` search keys)."""
    return [
        str(e["what"]["reference"])
        for e in resource.get("entity", [])
        if "reference" in e.get("what", {})
    ]
