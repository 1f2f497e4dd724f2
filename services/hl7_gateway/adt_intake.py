"""One ADT message in, one ACK out: `AdtIn` -> the ADT event on `hospital.adt` (and, for an
A40 or an admission naming the ambulance incident, a PatientLinked on `identity.links`) ->
AA once the log acknowledged everything the message asked for.

Order of work, and why:
1. Parse and validate (adt_in.py), then check the sending hospital against the registry
   (intake.py, as for an ORU's site): any error is AE/AR and nothing is appended.
2. Plan the link from the views (patient_links.py): an unknown incident or prior patient,
   or a link that contradicts an existing merge, is AE and nothing is appended. Projection
   lag can make a just-recorded incident unknown for a moment; the HIS resends on AE.
3. Append the ADT event (event id "<MSH-4.1>:<MSH-10>"), then the link (+ ":link"). The two
   appends are not atomic: after a failure between them the answer is AE 207 and the HIS's
   resend appends only what is missing (both ids derive from MSH-10), so AA always means
   both are in the log. A control id reused for a different message is AE 205.
"""

from __future__ import annotations

import logging

from avro_schemas.catalogue import ADT
from eventlog.base import LogUnavailable
from kernel.ids import patient_id, primary_identifier
from kernel.jsontypes import Json
from kernel.jurisdiction import Viewer
from services.hl7_gateway import ack
from services.hl7_gateway.adt_in import AdtIn
from services.hl7_gateway.er7 import MessageHeader
from services.hl7_gateway.errors import (
    APPLICATION_INTERNAL_ERROR,
    DATA_TYPE_ERROR,
    DUPLICATE_KEY_IDENTIFIER,
    UNKNOWN_KEY_IDENTIFIER,
    Hl7Error,
    Location,
)
from services.i18n import Msg
from services.ingest import patient_links as links
from services.ingest.submit import append_event
from services.system import System
from viewstore.guarded import viewing

log = logging.getLogger("goldenhour.hl7")

CHANNEL = "mllp"

REFUSAL_CODES = {
    "not-found": UNKNOWN_KEY_IDENTIFIER,
    "conflict": DUPLICATE_KEY_IDENTIFIER,
    "invalid": DATA_TYPE_ERROR,
}


def handle_adt(system: System, header: MessageHeader, adt: AdtIn) -> bytes:
    """The ACK of one ADT message, read (`adt_in.to_adt`) and its hospital checked against
    the registry by the caller (intake.py); raises `Hl7Error` (the caller answers AE/AR)."""
    # The link is planned as the sending hospital sees the views: an incident it was not
    # told of (pre-alert, handover) or another hospital's patient is unknown to it (AE),
    # so an ADT cannot pull another hospital's patient into its own record.
    with viewing(Viewer(frozenset({adt.hospital_id}), f"hl7@{adt.hospital_id}")):
        link = plan_link(system, adt, _source(header, adt))
    try:
        duplicate = _append_adt(system, adt.event_name, adt_event(adt, _source(header, adt)))
        if link is not None:
            links.append_linked(system, link)
    except LogUnavailable as exc:
        raise Hl7Error(
            APPLICATION_INTERNAL_ERROR,
            Msg("event log unavailable, resend later: {reason}", reason=str(exc)),
        ) from exc
    log.info(
        "%s:%s: AA ADT^%s%s%s",
        adt.hospital_id,
        adt.control_id,
        adt.trigger,
        " + link" if link else "",
        " (duplicate)" if duplicate else "",
    )
    return ack.accept(header, _accept_text(adt, duplicate))


def _accept_text(adt: AdtIn, duplicate: bool) -> str:
    """MSA-3 of an AA: what the sender should know about what was (not) recorded."""
    if duplicate:
        return "duplicate, already recorded"
    if adt.visit is None and adt.trigger in ("A01", "A02", "A03"):
        return "no visit number (PV1-19): patient recorded, no encounter"
    return ""


def _source(header: MessageHeader, adt: AdtIn) -> Json:
    return {
        "channel": CHANNEL,
        "device_id": header.component(header.sending_application) or None,
        "user_id": None,
        "site_id": adt.hospital_id,
    }


def adt_event(adt: AdtIn, source: Json) -> Json:
    """The goldenhour.adt.* record of a validated message."""
    visit = adt.visit
    return {
        "meta": links.meta(adt.event_id, adt.occurred_at, source),
        "patient_key": adt.patient_key,
        "patient": adt.patient,
        "visit_number": visit.visit_number if visit else None,
        "location": visit.location if visit else None,
        "message_control_id": adt.control_id,
        "hospital_id": adt.hospital_id,
        "trigger_event": adt.trigger,
        "patient_class": visit.patient_class if visit else None,
        "admitted_at": visit.admitted_at if visit else None,
        "discharged_at": visit.discharged_at if visit else None,
    }


def _append_adt(system: System, name: str, event: Json) -> bool:
    stored, _, _, duplicate = append_event(system, ADT, event["patient_key"], name, event)
    same = (stored["patient_key"], stored.get("trigger_event")) == (
        event["patient_key"],
        event["trigger_event"],
    )
    if duplicate and not same:
        raise Hl7Error(
            DUPLICATE_KEY_IDENTIFIER,
            Msg(
                "control id {control_id} was already used for another message "
                "(ADT^{trigger} of patient {patient})",
                control_id=event["message_control_id"],
                trigger=stored.get("trigger_event"),
                patient=stored["patient_key"],
            ),
            Location("MSH", 1, 10),
        )
    return duplicate


# -- the link a message asks for ----------------------------------------------------------


def target_of(system: System, adt: AdtIn) -> links.PatientAt:
    """The message's own patient (PID), as it is or will be once its event is folded."""
    identifiers = adt.patient["identifiers"]
    rid = patient_id(identifiers)
    found = links.by_id(system.store, rid)
    own = dict(primary_identifier(identifiers))
    return links.PatientAt(rid, own, found.resource if found else {})


def plan_link(system: System, adt: AdtIn, source: Json) -> Json | None:
    """The PatientLinked the message asks for, or None; raises `Hl7Error` when refused."""
    if adt.trigger == "A40":
        where, reason, prior = Location("MRG", 1, 1), "adt-a40", _prior(system, adt)
    elif adt.incident_id:
        where, reason = Location("PV1", 1, 50), "adt-incident-reference"
        prior = _incident_patient(system, adt.incident_id, where)
    else:
        return None
    target = target_of(system, adt)
    if prior.id == target.id:
        return None  # already one Patient (e.g. the same resident ID): nothing to link
    try:
        links.check_link(prior, target)
    except links.LinkRefused as exc:
        raise Hl7Error(REFUSAL_CODES[exc.code], str(exc), where) from exc
    meta = links.meta(f"{adt.event_id}:link", adt.occurred_at, source)
    return links.linked_event(prior, target, reason, meta, adt.incident_id)


def _incident_patient(system: System, incident_id: str, where: Location) -> links.PatientAt:
    found = links.by_incident(system.store, incident_id)
    if found is None:
        raise Hl7Error(
            UNKNOWN_KEY_IDENTIFIER,
            Msg(
                "incident {incident} (PV1-50) has no patient recorded here (yet); "
                "resend later or without PV1-50",
                incident=incident_id,
            ),
            where,
        )
    return found


def _prior(system: System, adt: AdtIn) -> links.PatientAt:
    """The first MRG-1 identifier that names a Patient here."""
    for ident in adt.prior:
        found = links.by_identifier(system.store, ident["system"], ident["value"])
        if found is not None:
            return found
    names = ", ".join(f"{i['system']}|{i['value']}" for i in adt.prior)
    raise Hl7Error(
        UNKNOWN_KEY_IDENTIFIER,
        Msg("prior patient (MRG-1) not known here: {identifiers}", identifiers=names),
        Location("MRG", 1, 1),
    )
