"""HL7 v2 ADT from a hospital's HIS -> `AdtIn`, the validated content of one message.

Accepted profile (HL7 v2.3 to 2.8 as for ORU^R01, narrowed per hospital by its profile,
profiles.py; framing, character sets, separators, Z-segments and times without offset as
for ORU^R01, see oru_ecg.py; an unsupported trigger is AR 201):

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
         offset (20261123101500+0800), or local time in the hospital's zone (profile)
    PID  exactly one
         -3 repeating CX id^^^authority^type:
              type MR or PI, or no type   -> urn:goldenhour:mrn:<MSH-4.1>: a HIS is the
                                         authority of its own record numbers, whatever it
                                         names its CX.4; at least one is required
              an authority the hospital's profile maps -> the system it maps to (any
                                         type but account/visit/staff numbers)
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
             optional in HL7: without it only the Patient is updated (MSA-3 says so)
         -44 admit date/time, -45 discharge date/time (with offset)
         -50 alternate visit id: <incident id>^^^EMS names the ambulance incident that
             brought the patient: the incident's patient (often unidentified, by its EMS
             temporary id) is linked to this patient (PatientLinked, reason
             adt-incident-reference). CX.4 must be EMS; other alternate visit ids are ignored.
    MRG  A40 only, required: -1 prior patient identifier list (repeating CX): MR, PI or
         untyped (the hospital's), resident ID (NNCHN), or an EMS temporary id (authority EMS, e.g.
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
from dataclasses import dataclass, field

from avro_schemas.events import (
    PATIENT_ADMITTED,
    PATIENT_DISCHARGED,
    PATIENT_REGISTERED,
    PATIENT_TRANSFERRED,
    PATIENT_UPDATED,
)
from kernel.codes import EMS_TEMPORARY_ID, RESIDENT_ID
from kernel.jsontypes import Json
from services.hl7_gateway import er7, profiles
from services.hl7_gateway.er7 import MessageHeader, RawSegment, Separators
from services.hl7_gateway.errors import (
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE_ERROR,
    TABLE_VALUE_NOT_FOUND,
    UNSUPPORTED_EVENT_CODE,
    Hl7Error,
    Location,
)
from services.hl7_gateway.oru_ecg import (
    fields_of,
    gender,
    parse_skeleton,
    require_supported_version,
)
from services.hl7_gateway.profiles import DEFAULT_PROFILE, PeerProfile
from services.i18n import Msg
from services.ingest import resident_id

EVENTS = {
    "A01": PATIENT_ADMITTED,
    "A04": PATIENT_REGISTERED,
    "A08": PATIENT_UPDATED,
    "A02": PATIENT_TRANSFERRED,
    "A03": PATIENT_DISCHARGED,
    "A40": PATIENT_UPDATED,
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
    message_key: str  # MessageHeader.message_key: the event id
    occurred_at: dt.datetime
    patient: Json
    mrn: str
    visit: Visit | None = None
    incident_id: str | None = None  # PV1-50 with authority EMS
    prior: list[Json] = field(default_factory=list)  # A40: MRG-1 identifiers

    @property
    def event_name(self) -> str:
        return EVENTS[self.trigger]

    @property
    def event_id(self) -> str:
        return self.message_key

    @property
    def patient_key(self) -> str:
        return f"{self.hospital_id}|{self.mrn}"


def is_adt(header: MessageHeader) -> bool:
    return header.component(header.message_type) == "ADT"


def to_adt(
    header: MessageHeader, segments: list[str], profile: PeerProfile = DEFAULT_PROFILE
) -> AdtIn:
    """The content of an ADT message whose header was read, read by the sending hospital's
    profile; raises `Hl7Error`."""
    hospital = er7.require_sender(header, "the hospital")  # the peer first, as the intake
    trigger = check_supported(header, profile)
    seps = header.separators
    children = parse_skeleton(segments, header)
    names = [s.name for s in children]
    parts = {s.name: s for s in reversed(children)}  # the first of each name
    pid = _one(names, parts, "PID")
    ids = Ids(seps, hospital, profile)
    identifiers, mrn = patient_identifiers(_at(fields_of(pid), 3), ids)
    patient = demographics(fields_of(pid), seps, identifiers)
    visit, incident = None, None
    if trigger != "A40":
        visit, incident = _visit(parts.get("PV1"), trigger, seps, profile.tz)
    prior = _prior(names, parts, ids) if trigger == "A40" else []
    return AdtIn(
        trigger=trigger,
        hospital_id=hospital,
        control_id=header.control_id,
        message_key=header.message_key,
        occurred_at=occurred_at(segments[0], parts.get("EVN"), seps, profile.tz),
        patient=patient,
        mrn=mrn,
        visit=visit,
        incident_id=incident,
        prior=prior,
    )


def check_supported(header: MessageHeader, profile: PeerProfile = DEFAULT_PROFILE) -> str:
    """The trigger event of a supported ADT message; AR 201 (unsupported event code)
    otherwise."""
    trigger = header.component(header.message_type, 2).upper()
    if trigger not in EVENTS:
        raise Hl7Error(
            UNSUPPORTED_EVENT_CODE,
            Msg(
                "ADT^{trigger} is not accepted here (accepted: {accepted})",
                trigger=trigger,
                accepted="ADT^" + ", ADT^".join(EVENTS),
            ),
            Location("MSH", 1, 9, component=2),
            reject=True,
        )
    require_supported_version(header, profile)
    return trigger


def _one(names: list[str], parts: dict[str, RawSegment], name: str) -> RawSegment:
    count = names.count(name)
    if count == 0:
        raise Hl7Error(
            SEGMENT_SEQUENCE_ERROR, Msg("{segment} segment missing", segment=name), Location(name)
        )
    if count > 1:
        raise Hl7Error(
            SEGMENT_SEQUENCE_ERROR,
            Msg("one {segment} per message", segment=name),
            Location(name, 2),
        )
    return parts[name]


def _at(fields: list[str], position: int) -> str:
    return fields[position] if position < len(fields) else ""


def _time(raw: str, where: Location, local: dt.tzinfo) -> dt.datetime | None:
    return er7.parse_dtm(raw, where, local=local) if raw.strip() else None


def occurred_at(
    msh: str, evn: RawSegment | None, seps: Separators, local: dt.tzinfo
) -> dt.datetime:
    """EVN-6, else EVN-2, else MSH-7 (a time without offset is in the hospital's zone)."""
    fields = fields_of(evn) if evn is not None else []
    for position in (6, 2):
        found = _time(_at(fields, position), Location("EVN", 1, position), local)
        if found:
            return found
    msh7 = _at(msh.split(seps.field), 6)
    return er7.parse_dtm(msh7, Location("MSH", 1, 7), local=local)


# -- PID ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ids:
    """How this message's identifiers are read: its separators, the sending hospital (the
    authority of its record numbers) and the hospital's profile."""

    seps: Separators
    hospital: str
    profile: PeerProfile = DEFAULT_PROFILE

    @property
    def own_mrn_system(self) -> str:
        return profiles.mrn_system(self.hospital)


def identifier(cx: str, ids: Ids, where: Location) -> Json | None:
    """One CX as {system, value}: record number, resident ID (check digit verified), EMS
    temporary id; None for types this gateway does not keep (rules: profiles.cx_system)."""
    value, _, _, authority, kind = er7.components(cx, ids.seps)[:5]
    authority = authority.split(ids.seps.subcomponent)[0]
    if not value:
        return None
    if authority.upper() == EMS_AUTHORITY:
        return {"system": EMS_TEMPORARY_ID, "value": value}
    system = profiles.cx_system(kind, authority, ids.profile, ids.hospital, his=True)
    if system == RESIDENT_ID:
        value = value.upper()  # GB 11643's check character X, sent lower-case by some HIS
        if problem := resident_id.problem(value):
            text = Msg("resident ID {value}: {problem}", value=repr(value), problem=problem)
            raise Hl7Error(DATA_TYPE_ERROR, text, where)
    return {"system": system, "value": value} if system else None


def identifiers_of(raw: str, ids: Ids, segment: str) -> list[Json]:
    """Identifiers of the repetitions of a CX list (PID-3, MRG-1)."""
    out = []
    for rep, cx in enumerate(raw.split(ids.seps.repetition), start=1):
        where = Location(segment, 1, 3 if segment == "PID" else 1, component=1, repetition=rep)
        if found := identifier(cx, ids, where):
            out.append(found)
    return out


def patient_identifiers(raw: str, ids: Ids) -> tuple[list[Json], str]:
    """PID-3 -> (identifiers, the hospital's MRN); EMS ids are left out (see the profile)."""
    seps = ids.seps
    if not raw.strip(seps.repetition + seps.component + " "):
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            Msg("patient identifier list (PID-3) missing"),
            Location("PID", 1, 3),
        )
    found = [i for i in identifiers_of(raw, ids, "PID") if i["system"] != EMS_TEMPORARY_ID]
    mrns = [i["value"] for i in found if i["system"] == ids.own_mrn_system]
    if not mrns:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            Msg(
                "PID-3 has no medical record number of {hospital} (type MR or PI, or an "
                "assigning authority the hospital's profile maps to its MRNs)",
                hospital=ids.hospital,
            ),
            Location("PID", 1, 3, component=5),
        )
    return found, mrns[0]


def demographics(pid: list[str], seps: Separators, identifiers: list[Json]) -> Json:
    """goldenhour.common.PatientDetails from PID-5, -7, -8."""
    name = er7.components(_at(pid, 5), seps)
    return {
        "identifiers": identifiers,
        "family": name[0].split(seps.subcomponent)[0] or None,
        "given": name[1] or None,
        "gender": gender(er7.components(_at(pid, 8), seps)[0]),
        "birth_date": er7.parse_date(_at(pid, 7), Location("PID", 1, 7)),
        "estimated_age_years": None,
    }


# -- PV1 / MRG ---------------------------------------------------------------------------


def _visit(
    pv1: RawSegment | None, trigger: str, seps: Separators, local: dt.tzinfo
) -> tuple[Visit | None, str | None]:
    if pv1 is None:
        if trigger in NEEDS_VISIT:
            raise Hl7Error(
                SEGMENT_SEQUENCE_ERROR,
                Msg("ADT^{trigger} needs a PV1 segment", trigger=trigger),
                Location("PV1"),
            )
        return None, None
    fields = fields_of(pv1)
    incident = _incident(_at(fields, 50), seps)
    number = er7.components(_at(fields, 19), seps)[0]
    if not number:
        # PV1-19 is optional in HL7 (chapter 3): without it there is no visit to key an
        # Encounter on, so only the Patient is recorded (the ACK says so).
        return None, incident
    return Visit(
        visit_number=number,
        patient_class=patient_class(_at(fields, 2), seps),
        location=location_text(_at(fields, 3), seps),
        admitted_at=_time(_at(fields, 44), Location("PV1", 1, 44), local),
        discharged_at=_time(_at(fields, 45), Location("PV1", 1, 45), local),
    ), incident


def patient_class(raw: str, seps: Separators) -> str:
    code = er7.components(raw, seps)[0].upper()
    if code not in PATIENT_CLASSES:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING if not code else TABLE_VALUE_NOT_FOUND,
            Msg(
                "patient class (PV1-2) {code} is not one of {classes} (table 0004)",
                code=repr(code),
                classes="/".join(PATIENT_CLASSES),
            ),
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


def _prior(names: list[str], parts: dict[str, RawSegment], ids: Ids) -> list[Json]:
    mrg = _one(names, parts, "MRG")
    raw = _at(fields_of(mrg), 1)
    found = identifiers_of(raw, ids, "MRG")
    if not found:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            Msg("prior patient identifier list (MRG-1) has no MR, resident ID or EMS id"),
            Location("MRG", 1, 1),
        )
    return found
