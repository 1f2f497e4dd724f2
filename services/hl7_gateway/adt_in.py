"""HL7 v2 ADT from a hospital's HIS -> `AdtIn`, the validated content of one message.

Accepted profile (HL7 v2.5, 2.5.1 or 2.6; framing, character sets and separators as for
ORU^R01, see oru_ecg.py):

    MSH  -4 sending facility (HD.1 is the hospital id: the authority of its MRNs and visit
            numbers, and the Encounter's serviceProvider)
         -7 message date/time (the event time when EVN has none)
         -9 ADT^A01 admit -> PatientAdmitted          ADT^A04 register -> PatientRegistered
            ADT^A08 update -> PatientUpdated          ADT^A02 transfer -> PatientTransferred
            ADT^A03 discharge -> PatientDischarged    ADT^A40 merge -> PatientUpdated (the
            surviving patient) + PatientLinked (MRG-1 patient replaced by it)
         -10 message control id: event id "<MSH-4.1>:<MSH-10>" (the link's: + ":link"); a
            resend is acknowledged AA again without a second event
    EVN  optional; -6 event occurred, else -2 recorded date/time, else MSH-7; with a UTC
         offset (20261123101500+0800): a local time without its offset is not an instant
    PID  exactly one
         -3 repeating CX id^^^authority^type:
              type MR                 -> urn:goldenhour:mrn:<authority, else MSH-4.1>;
                                         at least one MR is required (the hospital's patient)
              type NNCHN, or authority CHN/NNCHN with type NN/NI/empty
                                      -> resident ID, GB 11643 check digit verified (AE 102)
              other types are ignored; EMS temporary ids are NOT taken from PID-3 (they
              would silently make the hospital patient the ambulance's: that is a link, see
              PV1-50 and MRG-1)
         -5 family^given   -7 birth date   -8 sex M/F/O/U/A/N (table 0001)
    PV1  required for A01, A02, A03; optional for A04, A08; ignored for A40
         -2 patient class (table 0004): I, B -> IMP; E -> EMER; O, R -> AMB; P -> PRENC
         -3 assigned location (PL): point of care^room^bed^facility -> location text
         -19 visit number (CX.1) -> Encounter identifier urn:goldenhour:visit:<hospital>;
             required with PV1 (without it only the Patient is updated)
         -44 admit date/time, -45 discharge date/time (with offset)
         -50 alternate visit id: <incident id>^^^EMS names the ambulance incident that
             brought the patient: the incident's patient (often unidentified, by its EMS
             temporary id) is linked to this patient (PatientLinked, reason
             adt-incident-reference). CX.4 must be EMS; other alternate visit ids are ignored.
    MRG  A40 only, required: -1 prior patient identifier list (repeating CX): MR (authority
         else MSH-4.1), resident ID (NNCHN), or an EMS temporary id (authority EMS, e.g.
         EMS-inc-0042^^^EMS) -> the patient merged into the PID patient

Example (A01 of the patient an ambulance brought in on incident inc-0042):

    MSH|^~\\&|HIS|county-hospital|GOLDENHOUR|COUNTY|20261123101500+0800||ADT^A01^ADT_A01|adt-0001|P|2.5.1
    EVN|A01|20261123101500+0800
    PID|1||H-778^^^county-hospital^MR~610102196704150031^^^CHN^NNCHN||王^建国||19670415|M
    PV1|1|E|ED^3^1^county-hospital||||||||||||||||V-2026-001|||||||||||||||||||||||||20261123101200+0800|||||inc-0042^^^EMS

Every refusal is an `Hl7Error` (table 0357 code, ERL location, message).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from hl7apy.core import Segment

from services.hl7_gateway import er7
from services.hl7_gateway.er7 import MessageHeader, Separators
from services.hl7_gateway.errors import (
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE_ERROR,
    TABLE_VALUE_NOT_FOUND,
    UNSUPPORTED_MESSAGE_TYPE,
    Hl7Error,
    Location,
)
from services.hl7_gateway.oru_ecg import (
    CHINA_AUTHORITIES,
    MRN_SYSTEM,
    RESIDENT_ID_TYPES,
    SEX,
    fields_of,
    parse_skeleton,
    require_supported_version,
)
from services.ingest import resident_id
from stream_processors.fhir_projector.codes import EMS_TEMPORARY_ID, RESIDENT_ID

Json = dict[str, Any]
ADT = "goldenhour.adt."
EVENTS = {
    "A01": "PatientAdmitted",
    "A04": "PatientRegistered",
    "A08": "PatientUpdated",
    "A02": "PatientTransferred",
    "A03": "PatientDischarged",
    "A40": "PatientUpdated",
}
NEEDS_VISIT = {"A01", "A02", "A03"}
PATIENT_CLASSES = {"I": "IMP", "B": "IMP", "E": "EMER", "O": "AMB", "R": "AMB", "P": "PRENC"}
EMS_AUTHORITY = "EMS"


@dataclass(frozen=True)
class Visit:
    """PV1: what the hospital Encounter is folded from."""

    visit_number: str
    patient_class: str  # HL7 v3 ActCode
    location: str | None
    admitted_at: dt.datetime | None
    discharged_at: dt.datetime | None


@dataclass(frozen=True)
class AdtIn:
    """One ADT message, validated. `patient` is a goldenhour.common.PatientDetails."""

    trigger: str
    hospital_id: str
    control_id: str
    occurred_at: dt.datetime
    patient: Json
    mrn: str
    visit: Visit | None = None
    incident_id: str | None = None  # PV1-50 with authority EMS
    prior: list[Json] = field(default_factory=list)  # A40: MRG-1 identifiers

    @property
    def event_name(self) -> str:
        return ADT + EVENTS[self.trigger]

    @property
    def event_id(self) -> str:
        return f"{self.hospital_id}:{self.control_id}"

    @property
    def patient_key(self) -> str:
        return f"{self.hospital_id}|{self.mrn}"


def is_adt(header: MessageHeader) -> bool:
    return header.component(header.message_type) == "ADT"


def to_adt(header: MessageHeader, segments: list[str]) -> AdtIn:
    """The content of an ADT message whose header was read; raises `Hl7Error`."""
    trigger = check_supported(header)
    hospital = _require_header(header)
    seps = header.separators
    children = list(parse_skeleton(segments, header).children)
    names = [s.name for s in children]
    parts = {s.name: s for s in reversed(children)}  # the first of each name
    pid = _one(names, parts, "PID")
    identifiers, mrn = patient_identifiers(_at(fields_of(pid), 3), seps, hospital)
    patient = demographics(fields_of(pid), seps, identifiers)
    visit, incident = None, None
    if trigger != "A40":
        visit, incident = _visit(parts.get("PV1"), trigger, seps)
    prior = _prior(names, parts, seps, hospital) if trigger == "A40" else []
    return AdtIn(
        trigger=trigger,
        hospital_id=hospital,
        control_id=header.control_id,
        occurred_at=occurred_at(segments[0], parts.get("EVN"), seps),
        patient=patient,
        mrn=mrn,
        visit=visit,
        incident_id=incident,
        prior=prior,
    )


def check_supported(header: MessageHeader) -> str:
    """The trigger event of a supported ADT message; AR otherwise."""
    trigger = header.component(header.message_type, 2).upper()
    if trigger not in EVENTS:
        raise Hl7Error(
            UNSUPPORTED_MESSAGE_TYPE,
            f"ADT^{trigger} is not accepted here (accepted: ADT^{', ADT^'.join(EVENTS)})",
            Location("MSH", 1, 9, component=2),
            reject=True,
        )
    require_supported_version(header)
    return trigger


def _require_header(header: MessageHeader) -> str:
    """MSH-4 names the hospital and, with MSH-10, the event: both are required."""
    hospital = header.component(header.sending_facility).strip()
    if not hospital:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            "sending facility (MSH-4) missing: it names the hospital",
            Location("MSH", 1, 4),
        )
    if not header.control_id:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING, "message control id (MSH-10) missing", Location("MSH", 1, 10)
        )
    return hospital


def _one(names: list[str], parts: dict[str, Segment], name: str) -> Segment:
    count = names.count(name)
    if count == 0:
        raise Hl7Error(SEGMENT_SEQUENCE_ERROR, f"{name} segment missing", Location(name))
    if count > 1:
        raise Hl7Error(SEGMENT_SEQUENCE_ERROR, f"one {name} per message", Location(name, 2))
    return parts[name]


def _at(fields: list[str], position: int) -> str:
    return fields[position] if position < len(fields) else ""


def _time(raw: str, where: Location) -> dt.datetime | None:
    return er7.parse_dtm(raw, where, need_offset=True) if raw.strip() else None


def occurred_at(msh: str, evn: Segment | None, seps: Separators) -> dt.datetime:
    """EVN-6, else EVN-2, else MSH-7 (with offset)."""
    fields = fields_of(evn) if evn is not None else []
    for position in (6, 2):
        found = _time(_at(fields, position), Location("EVN", 1, position))
        if found:
            return found
    msh7 = _at(msh.split(seps.field), 6)
    return er7.parse_dtm(msh7, Location("MSH", 1, 7), need_offset=True)


# -- PID ---------------------------------------------------------------------------------


def identifier(cx: str, seps: Separators, hospital: str, where: Location) -> Json | None:
    """One CX as {system, value}: MR, resident ID (check digit verified), EMS temporary id;
    None for types this gateway does not keep."""
    value, _, _, authority, kind = er7.components(cx, seps)[:5]
    authority = authority.split(seps.subcomponent)[0]
    kind = kind.upper()
    if not value:
        return None
    if kind == "NNCHN" or (authority.upper() in CHINA_AUTHORITIES and kind in RESIDENT_ID_TYPES):
        if problem := resident_id.problem(value):
            raise Hl7Error(DATA_TYPE_ERROR, f"resident ID {value!r}: {problem}", where)
        return {"system": RESIDENT_ID, "value": value}
    if kind == "MR":
        return {
            "system": MRN_SYSTEM + urllib.parse.quote(authority or hospital, safe=""),
            "value": value,
        }
    if authority.upper() == EMS_AUTHORITY:
        return {"system": EMS_TEMPORARY_ID, "value": value}
    return None


def identifiers_of(raw: str, seps: Separators, hospital: str, segment: str) -> list[Json]:
    """Identifiers of the repetitions of a CX list (PID-3, MRG-1)."""
    out = []
    for rep, cx in enumerate(raw.split(seps.repetition), start=1):
        where = Location(segment, 1, 3 if segment == "PID" else 1, component=1, repetition=rep)
        if found := identifier(cx, seps, hospital, where):
            out.append(found)
    return out


def patient_identifiers(raw: str, seps: Separators, hospital: str) -> tuple[list[Json], str]:
    """PID-3 -> (identifiers, the hospital's MRN); EMS ids are left out (see the profile)."""
    if not raw.strip(seps.repetition + seps.component + " "):
        raise Hl7Error(
            REQUIRED_FIELD_MISSING, "patient identifier list (PID-3) missing", Location("PID", 1, 3)
        )
    found = [
        i for i in identifiers_of(raw, seps, hospital, "PID") if i["system"] != EMS_TEMPORARY_ID
    ]
    own = MRN_SYSTEM + urllib.parse.quote(hospital, safe="")
    mrns = [i["value"] for i in found if i["system"] == own]
    if not mrns:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            f"PID-3 has no medical record number of {hospital} (type MR)",
            Location("PID", 1, 3, component=5),
        )
    return found, mrns[0]


def demographics(pid: list[str], seps: Separators, identifiers: list[Json]) -> Json:
    """goldenhour.common.PatientDetails from PID-5, -7, -8."""
    name = er7.components(_at(pid, 5), seps)
    sex = er7.components(_at(pid, 8), seps)[0].upper()
    if sex and sex not in SEX:
        raise Hl7Error(
            TABLE_VALUE_NOT_FOUND,
            f"administrative sex {sex!r} is not one of {'/'.join(SEX)} (table 0001)",
            Location("PID", 1, 8),
        )
    return {
        "identifiers": identifiers,
        "family": name[0].split(seps.subcomponent)[0] or None,
        "given": name[1] or None,
        "gender": SEX.get(sex),
        "birth_date": er7.parse_date(_at(pid, 7), Location("PID", 1, 7)),
        "estimated_age_years": None,
    }


# -- PV1 / MRG ---------------------------------------------------------------------------


def _visit(pv1: Segment | None, trigger: str, seps: Separators) -> tuple[Visit | None, str | None]:
    if pv1 is None:
        if trigger in NEEDS_VISIT:
            raise Hl7Error(
                SEGMENT_SEQUENCE_ERROR, f"ADT^{trigger} needs a PV1 segment", Location("PV1")
            )
        return None, None
    fields = fields_of(pv1)
    incident = _incident(_at(fields, 50), seps)
    number = er7.components(_at(fields, 19), seps)[0]
    if not number:
        if trigger in NEEDS_VISIT:
            raise Hl7Error(
                REQUIRED_FIELD_MISSING, "visit number (PV1-19) missing", Location("PV1", 1, 19)
            )
        return None, incident
    return Visit(
        visit_number=number,
        patient_class=patient_class(_at(fields, 2), seps),
        location=location_text(_at(fields, 3), seps),
        admitted_at=_time(_at(fields, 44), Location("PV1", 1, 44)),
        discharged_at=_time(_at(fields, 45), Location("PV1", 1, 45)),
    ), incident


def patient_class(raw: str, seps: Separators) -> str:
    code = er7.components(raw, seps)[0].upper()
    if code not in PATIENT_CLASSES:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING if not code else TABLE_VALUE_NOT_FOUND,
            f"patient class (PV1-2) {code!r} is not one of {'/'.join(PATIENT_CLASSES)} "
            "(table 0004)",
            Location("PV1", 1, 2),
        )
    return PATIENT_CLASSES[code]


def location_text(raw: str, seps: Separators) -> str | None:
    """PL point of care^room^bed^facility as text, e.g. "ED, room 3, bed 1, county-hospital"."""
    poc, room, bed, facility = er7.components(raw, seps)[:4]
    parts = [
        poc,
        f"room {room}" if room else "",
        f"bed {bed}" if bed else "",
        facility.split(seps.subcomponent)[0],
    ]
    return ", ".join(p for p in parts if p) or None


def _incident(raw: str, seps: Separators) -> str | None:
    value, _, _, authority = er7.components(raw, seps)[:4]
    ok = value and authority.split(seps.subcomponent)[0].upper() == EMS_AUTHORITY
    return value if ok else None


def _prior(
    names: list[str], parts: dict[str, Segment], seps: Separators, hospital: str
) -> list[Json]:
    mrg = _one(names, parts, "MRG")
    raw = _at(fields_of(mrg), 1)
    found = identifiers_of(raw, seps, hospital, "MRG")
    if not found:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            "prior patient identifier list (MRG-1) has no MR, resident ID or EMS id",
            Location("MRG", 1, 1),
        )
    return found
