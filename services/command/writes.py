"""The command centre's one write path: a request -> checks against the MCI's own events
(read from the log by key and folded with the processor's own fold, so a check never sees
a view that lags) -> one or more events appended.

Exactly once: event ids are the caller's (a tablet's `event_id`) or derived from what the
request means (an MCI's declaration from its id; a plan's assignment from the casualty, the
hospital and the MCI's version), so a retried request appends nothing new and is answered
as the first time (`replayed`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from avro_schemas.catalogue import ALERTS, CAPACITY, ESCORT, MCI
from avro_schemas.events import (
    CASUALTY_ASSIGNED,
    CASUALTY_TRIAGED,
    ESCORT_ACKNOWLEDGED,
    ESCORT_ROUTE_UPDATED,
    HOSPITAL_CAPACITY_REPORTED,
    MCI_CLOSED,
    MCI_DECLARED,
    SURVEILLANCE_ALERT_ACKNOWLEDGED,
)
from kernel.jsontypes import Json
from services.command.models import (
    AcknowledgeIn,
    CapacityIn,
    CasualtyIn,
    LocationIn,
    MciIn,
    RouteUpdateIn,
)
from services.ingest.submit import append_event
from services.outcome import FhirError
from services.system import System
from stream_processors.mci.published import ACTIVE, fold_state
from stream_processors.registry.published import is_known, registry_in_force

NAMESPACE = uuid.UUID("5c0f6a8e-2b7d-5e41-8f3a-9d6c1b2e4a70")


@dataclass(frozen=True)
class Written:
    """What a write appended: the stored event(s) and whether all were already there."""

    events: list[Json]
    replayed: bool


def derived_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _meta(event_id: str, at: dt.datetime, channel: str, user: str, site: str | None) -> Json:
    now = dt.datetime.now(dt.UTC)
    return {
        "event_id": event_id,
        "occurred_at": at,
        "recorded_at": now,
        "source": {"channel": channel, "device_id": None, "user_id": user, "site_id": site},
    }


def _location(loc: LocationIn | None) -> Json | None:
    return loc.model_dump() if loc is not None else None


def _append(system: System, topic: str, key: str, name: str, event: Json) -> Written:
    stored, _, _, duplicate = append_event(system, topic, key, name, event)
    return Written([stored], duplicate)


# --- an MCI's truth, from the log ---------------------------------------------------------------


def mci_now(system: System, mci_id: str) -> tuple[Json | None, int]:
    """The MCI's summary folded from its events in the log (None: never declared), and the
    number of its events (its version)."""
    records = system.log.key_records(MCI, mci_id)
    state = None
    for record in records:
        name, event = system.codec.decode(record.value)
        state = fold_state(state, name, event)
    if state is not None and "declared_at" not in state:
        return None, len(records)
    return state, len(records)


def _active_mci(system: System, mci_id: str) -> tuple[Json, int]:
    state, version = mci_now(system, mci_id)
    if state is None:
        raise FhirError(404, f"no MCI {mci_id}", "not-found")
    if state["status"] != ACTIVE:
        raise FhirError(409, f"MCI {mci_id} is closed", "conflict")
    return state, version


def _check_known(system: System, kind: str, party_id: str, field: str) -> None:
    if registry_in_force(system.store) and not is_known(system.store, kind, party_id):
        raise FhirError(
            422, f"{field}: {party_id} is not a {kind} of the registry", expression=[field]
        )


# --- the writes ---------------------------------------------------------------------------------


def declare(system: System, body: MciIn, user: str, site: str | None) -> Written:
    """MciDeclared, once per MCI id (a second declaration of the id is a replay if it says
    the same, else 409)."""
    for i, station in enumerate(body.station_ids):
        _check_known(system, "station", station, f"station_ids[{i}]")
    existing, _ = mci_now(system, body.mci_id)
    event = {
        "meta": _meta(
            derived_id("declared", body.mci_id), dt.datetime.now(dt.UTC), "http", user, site
        ),
        "mci_id": body.mci_id,
        "kind": body.kind,
        "title": body.title,
        "scene": _location(body.scene),
        "estimated_casualties": body.estimated_casualties,
        "station_ids": list(dict.fromkeys(body.station_ids)),
        "declared_by": user,
    }
    written = _append(system, MCI, body.mci_id, MCI_DECLARED, event)
    if written.replayed and existing and existing.get("title") != body.title:
        raise FhirError(409, f"MCI {body.mci_id} was declared already", "conflict")
    return written


def close(system: System, mci_id: str, user: str, reason: str | None) -> Written:
    _active_mci(system, mci_id)
    event = {
        "meta": _meta(derived_id("closed", mci_id), dt.datetime.now(dt.UTC), "http", user, None),
        "mci_id": mci_id,
        "closed_by": user,
        "reason": reason,
    }
    return _append(system, MCI, mci_id, MCI_CLOSED, event)


def triage(system: System, mci_id: str, body: CasualtyIn, station: str, user: str) -> Written:
    """CasualtyTriaged: the crew's station must respond to the MCI (403 otherwise)."""
    if body.event_id and _seen(system, mci_id, body.event_id):
        return _replay(system, mci_id, body.event_id)
    mci, _ = _active_mci(system, mci_id)
    if station not in mci["station_ids"]:
        raise FhirError(
            403,
            f"station {station} does not respond to MCI {mci_id}",
            "forbidden",
            expression=["station_id"],
        )
    at = body.occurred_at or dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        raise FhirError(422, "occurred_at needs a UTC offset", expression=["occurred_at"])
    event_id = body.event_id or str(uuid.uuid4())
    event = {
        "meta": _meta(event_id, at, "tablet", user, station),
        "mci_id": mci_id,
        "casualty_id": body.casualty_id,
        "station_id": station,
        "unit_id": body.unit_id,
        "tag": body.tag,
        "method": body.method,
        "category": body.category,
        "estimated_age": body.estimated_age,
        "sex": body.sex,
        "note": body.note,
        "triaged_by": user,
    }
    return _append(system, MCI, mci_id, CASUALTY_TRIAGED, event)


def _seen(system: System, mci_id: str, event_id: str) -> bool:
    return any(r.event_id == event_id for r in system.log.key_records(MCI, mci_id))


def _replay(system: System, mci_id: str, event_id: str) -> Written:
    record = next(r for r in system.log.key_records(MCI, mci_id) if r.event_id == event_id)
    return Written([system.codec.decode(record.value)[1]], True)


def assign(
    system: System,
    mci_id: str,
    casualty_id: str,
    hospital_id: str,
    user: str,
    *,
    unit_id: str | None = None,
    travel_min: float | None = None,
    planned: bool = False,
) -> Written:
    """CasualtyAssigned to a hospital; the same assignment again appends nothing."""
    mci, version = _active_mci(system, mci_id)
    casualty = mci["casualties"].get(casualty_id)
    if casualty is None or not casualty.get("tag"):
        raise FhirError(404, f"no casualty {casualty_id} tagged in MCI {mci_id}", "not-found")
    _check_known(system, "hospital", hospital_id, "hospital_id")
    if casualty.get("hospital_id") == hospital_id:
        return Written([], True)
    event = {
        "meta": _meta(
            derived_id("assigned", mci_id, casualty_id, hospital_id, str(version)),
            dt.datetime.now(dt.UTC),
            "http",
            user,
            None,
        ),
        "mci_id": mci_id,
        "casualty_id": casualty_id,
        "hospital_id": hospital_id,
        "unit_id": unit_id,
        "travel_min": travel_min,
        "planned": planned,
        "assigned_by": user,
    }
    return _append(system, MCI, mci_id, CASUALTY_ASSIGNED, event)


def report_capacity(system: System, hospital_id: str, body: CapacityIn, user: str) -> Written:
    _check_known(system, "hospital", hospital_id, "hospital_id")
    event = {
        "meta": _meta(
            body.event_id or str(uuid.uuid4()), dt.datetime.now(dt.UTC), "http", user, hospital_id
        ),
        "hospital_id": hospital_id,
        "beds": [b.model_dump() for b in body.beds],
        "surgical_teams": body.surgical_teams,
        "cath_lab_open": body.cath_lab_open,
        "ed_status": body.ed_status,
        "reported_by": user,
        "note": body.note,
    }
    return _append(system, CAPACITY, hospital_id, HOSPITAL_CAPACITY_REPORTED, event)


def route_updated(system: System, escort: Json, body: RouteUpdateIn, user: str) -> Written:
    """EscortRouteUpdated from the traffic platform's callback (its ack id must match)."""
    if body.ack_id != (escort.get("ack_id") or _logged_ack(system, escort)):
        raise FhirError(
            409, f"ack_id {body.ack_id} is not this escort's", "conflict", expression=["ack_id"]
        )
    event_id = body.event_id or derived_id("route", escort["escort_id"], body.model_dump_json())
    event = {
        "meta": _meta(event_id, dt.datetime.now(dt.UTC), "traffic", user, None),
        "escort_id": escort["escort_id"],
        "unit_id": escort["unit_id"],
        "ack_id": body.ack_id,
        "status": body.status,
        "eta": body.eta,
        "route": [_location(p) for p in body.route],
        "signals_cleared": body.signals_cleared,
        "note": body.note,
    }
    return _append(system, ESCORT, escort["unit_id"], ESCORT_ROUTE_UPDATED, event)


def _logged_ack(system: System, escort: Json) -> str:
    """The escort's ack id from the log: the platform may call back before the escort
    processor folded our EscortAcknowledged."""
    for record in system.log.key_records(ESCORT, escort["unit_id"]):
        name, event = system.codec.decode(record.value)
        if name == ESCORT_ACKNOWLEDGED and event["escort_id"] == escort["escort_id"]:
            return str(event["ack_id"])
    return ""


def acknowledge_alert(system: System, alert_id: str, body: AcknowledgeIn, user: str) -> Written:
    event = {
        "meta": _meta(
            derived_id("ack", alert_id, user), dt.datetime.now(dt.UTC), "http", user, None
        ),
        "alert_id": alert_id,
        "acknowledged_by": user,
        "note": body.note,
    }
    return _append(system, ALERTS, alert_id, SURVEILLANCE_ALERT_ACKNOWLEDGED, event)
