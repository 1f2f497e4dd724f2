"""HL7 v2 ORU^R01 (one resting ECG) -> `EcgIn`, the one validated shape of a submission.

Accepted profile (HL7 v2.3, 2.3.1, 2.4, 2.5, 2.5.1, 2.6, 2.7, 2.7.1 or 2.8, narrowed per peer
by its profile, profiles.py; segments separated by CR, LF or CRLF; Z-segments and segments
we do not read are ignored; character set from MSH-18 (every table 0211 name and its common
spellings, charsets.py), else the peer's profile, else UTF-8; waveform OBXs follow the IHE
PCD-01 waveform convention, as public Mindray monitor messages and IHE PCD test senders
write it: one NA OBX per channel with an MDC code, then an NM OBX 0^MDC_ATTR_SAMP_RATE^MDC):

    MSH  -3 sending application (HD; .1 is the device id if no OBX-18)
         -4 sending facility (HD; .1 is the site id)         -9 ORU^R01[^ORU_R01]
         -10 message control id: event_id = "<MSH-4.1>:<MSH-10>" (a resend with the same
             control id is a duplicate: acknowledged AA again, no second event)
         -12 2.3 ... 2.8 (profiles.SUPPORTED_VERSIONS)       -18 charset (table 0211)
    PID  exactly one
         -3 repeating CX  id^^^authority^type                 -> patient.identifiers
              type NNCHN, or authority CHN/NNCHN with type NN/NI/empty
                  -> https://goldenhour.health/sid/cn-resident-id (GB 11643 check digit;
                     a lower-case check character x is taken as X)
              an authority the peer's profile maps -> the system it maps to
              type MR or PI  -> urn:goldenhour:mrn:<authority, %-encoded>, the sending
                  site's (MSH-4.1) when CX.4 is empty
              no type (CX.5 empty) -> as MR, unless the profile says untyped CX are ignored
              other types are ignored; at least one of the above is required
         -5 family^given   -7 birth date YYYYMMDD   -8 sex M/F/O/U (A -> other, N -> unknown)
    ORC  optional; -21 ordering facility name (XON.1) -> site name if no OBX-23
    OBR  exactly one, after PID
         -3 filler order number (EI.1), else -2 placer order number -> ecg_id
         -7 observation date/time, e.g. 20261123180211+0800 -> acquired_at; without an
            offset it is local time in the peer's zone (profile; Asia/Shanghai)
         -13 relevant clinical information -> clinical_question
         -5 priority, else -27 TQ.6: S -> stat, A -> urgent, R or empty -> routine
    OBX  after OBR, any order; each classified by OBX-3 (CE code^text^system):
      lead   NA, OBX-3 = MDC lead code (131329^MDC_ECG_ELEC_POTL_I^MDC, see
             kernel.codes.ECG_LEADS) or the lead name as text
             (V1, MDC_ECG_ELEC_POTL_V1, MDC_ECG_LEAD_V1); code and text must agree.
             OBX-5 samples separated by ^; OBX-6 uV (266419^MDC_DIM_MICRO_VOLT^MDC) or mV
             (266418^MDC_DIM_MILLI_VOLT^MDC, converted to integer uV); OBX-18 equipment
             instance identifier (EI.1) -> device id. All 12 leads are required, or the
             8 independent ones (I, II, V1-V6): III, aVR, aVL, aVF are then derived
             (Einthoven, Goldberger) and the FHIR Observation says so. At most 120 000
             samples per lead (AR 104).
      rate   NM, OBX-3 0^MDC_ATTR_SAMP_RATE^MDC (matched by the reference id; IHE PCD
             senders put 0 as the code), OBX-6 Hz, 264608^MDC_DIM_PER_SEC^MDC or
             264640^MDC_DIM_HZ^MDC (by code or name).
             One per lead (sub-id <lead sub-id>.1) or one for all; all must agree.
      measurement  NM, LOINC (system LN) from codes.ECG_MEASUREMENTS: 8867-4 HR /min,
             8625-6 PR, 8633-0 QRS, 8634-8 QT, 8636-3 QTc in ms (s converted),
             8626-4/8632-2/8638-9 axes in deg; also 147842^MDC_ECG_HEART_RATE^MDC.
      statements   ST/TX/FT/CE/CWE, 8601-7^EKG impression^LN, one statement per repetition.
      report ED (encapsulated data) ^AP^PDF^Base64^<data> (also JPEG/PNG, Hex): the
             device's own report -> a FHIR DocumentReference. Without any lead OBX the
             message is a report-only result (measurements, statements and/or the ED
             report) and the Observation says no waveform was sent; with none of these
             either it is no ECG (AE 100 at OBX).
      other OBXs (device headers, other waveforms) are ignored; an OBX whose code is a
             lead's but whose text names another MDC term is refused (103).
         -23 performing organization name (XON.1) -> site name

Example (waveforms shortened; a real one has 5000 samples per lead):

    MSH|^~\\&|SE1200^EDAN|clinic-baiyang|GOLDENHOUR|COUNTY|20261123180215+0800||ORU^R01^ORU_R01|c0ffee01|P|2.5.1|||AL|NE||UNICODE UTF-8
    PID|1||11010519491231002X^^^CHN^NNCHN~A-778^^^clinic-baiyang^MR||王^建国||19491231|M
    OBR|1||ecg-7f3a^SE1200|131328^MDC_ECG_ELEC_POTL^MDC|A||20261123180211+0800||||||Chest pain 40 min
    OBX|1|NA|131329^MDC_ECG_ELEC_POTL_I^MDC|1.1.1.1|12^15^21^...|266419^MDC_DIM_MICRO_VOLT^MDC|||||F|||20261123180211+0800|||cart-017^EDAN
    OBX|2|NM|0^MDC_ATTR_SAMP_RATE^MDC|1.1.1.1.1|500|264608^MDC_DIM_PER_SEC^MDC|||||F
    ... one NA OBX per lead ...
    OBX|14|NM|8867-4^Heart rate^LN||75|/min|||||F
    OBX|15|ST|8601-7^EKG impression^LN||Sinus rhythm~Normal ECG||||||F

Every refusal is an `Hl7Error` (table 0357 code, ERL location, message); pydantic errors
of `EcgIn` are mapped back to the segment and field the value came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from kernel.codes import RESIDENT_ID
from services.hl7_gateway import er7, profiles
from services.hl7_gateway.er7 import MessageHeader, RawSegment, Separators
from services.hl7_gateway.errors import (
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE_ERROR,
    TABLE_VALUE_NOT_FOUND,
    UNSUPPORTED_MESSAGE_TYPE,
    UNSUPPORTED_VERSION_ID,
    Hl7Error,
    Location,
)
from services.hl7_gateway.observations import (
    Observations,
    Obx,
    derive_limb_leads,
    lift_arrays,
    read_observations,
)
from services.hl7_gateway.profiles import (
    DEFAULT_PROFILE,
    PeerProfile,
)
from services.i18n import Msg
from services.ingest.ecg_models import EcgIn

SEX = {"M": "male", "F": "female", "O": "other", "U": "unknown", "A": "other", "N": "unknown"}
PRIORITY = {"S": "stat", "A": "urgent", "R": "routine", "": "routine"}
# EcgIn's lead checks name the offending lead in their message; used to locate its OBX.
_LEAD_IN_MESSAGE = re.compile(r"\blead (I|II|III|aVR|aVL|aVF|V[1-6]) ")


@dataclass(frozen=True)
class Parts:
    """The segments an ECG is made of, in the order the profile requires."""

    pid: RawSegment
    obr: RawSegment
    orc: RawSegment | None
    obxs: list[RawSegment]


def read_message(payload: bytes, charset: str = "") -> tuple[MessageHeader, list[str]]:
    """Decode a frame (`charset`: the peer's table 0211 name when MSH-18 is empty) and read
    its MSH; an `Hl7Error` (reject) if it is not HL7 v2 at all. As in the intake, the raw
    MSH is read first: a frame that is not HL7 is said so before its bytes are decoded."""
    er7.peek_header(payload)
    segments = er7.split_segments(er7.decode(payload, charset))
    return er7.read_header(segments), segments


def parse_oru_ecg(payload: bytes, profile: PeerProfile = DEFAULT_PROFILE) -> EcgIn:
    """A frame's ORU^R01 as a validated `EcgIn`; raises `Hl7Error`."""
    header, segments = read_message(payload, profile.charset)
    return to_ecg(header, segments, profile)


def to_ecg(
    header: MessageHeader, segments: list[str], profile: PeerProfile = DEFAULT_PROFILE
) -> EcgIn:
    """The ECG of an ORU^R01 whose header was read, read by the peer's profile; raises
    `Hl7Error`. The peer (MSH-4) first, as the intake identifies it before anything else.
    """
    er7.require_sender(header, "the site")
    check_supported(header, profile)
    skeleton, arrays = lift_arrays(segments, header.separators)
    parts = arrange(parse_skeleton(skeleton, header))
    body, sources = assemble(header, parts, arrays, profile)
    return validated(body, sources)


def check_supported(header: MessageHeader, profile: PeerProfile = DEFAULT_PROFILE) -> None:
    """Only ORU^R01 in the versions we parse; anything else is refused (AR)."""
    code, trigger = (header.component(header.message_type, i) for i in (1, 2))
    if (code, trigger) != ("ORU", "R01"):
        raise Hl7Error(
            UNSUPPORTED_MESSAGE_TYPE,
            Msg(
                "message type {message_type} is not accepted here; this endpoint takes ECGs "
                "as ORU^R01",
                message_type=f"{code}^{trigger}",
            ),
            Location("MSH", 1, 9),
            reject=True,
        )
    require_supported_version(header, profile)


def require_supported_version(
    header: MessageHeader, profile: PeerProfile = DEFAULT_PROFILE
) -> None:
    """AR 203 unless MSH-12 is a version whose segments we parse (ORU and ADT alike) and
    the peer's profile accepts."""
    if not profile.accepts_version(header.version):
        raise Hl7Error(
            UNSUPPORTED_VERSION_ID,
            Msg(
                "HL7 version {version} is not supported (use {versions})",
                version=repr(header.version),
                versions=", ".join(profile.accepted_versions()),
            ),
            Location("MSH", 1, 12),
            reject=True,
        )


def parse_skeleton(segments: list[str], header: MessageHeader) -> list[RawSegment]:
    """The message's segments as raw fields, in message order (Z-segments included: the
    readers skip what they do not know)."""
    return er7.parse_segments(segments, header.separators)


def arrange(segments: list[RawSegment]) -> Parts:
    """Exactly one PID, then exactly one OBR, then the OBXs (code 100 otherwise)."""
    names = [s.name for s in segments]
    pid_at = _only(names, "PID", Msg("one patient (PID) per message"))
    obr_at = _only(names, "OBR", Msg("one ECG (OBR) per message"))
    if obr_at < pid_at:
        raise Hl7Error(SEGMENT_SEQUENCE_ERROR, Msg("OBR must follow PID"), Location("OBR", 1))
    obxs = [s for s in segments if s.name == "OBX"]
    if not obxs:
        raise Hl7Error(SEGMENT_SEQUENCE_ERROR, Msg("no OBX: the ECG has no leads"), Location("OBX"))
    if names.index("OBX") < obr_at:
        raise Hl7Error(SEGMENT_SEQUENCE_ERROR, Msg("OBX must follow OBR"), Location("OBX", 1))
    orc = segments[names.index("ORC")] if "ORC" in names else None
    return Parts(segments[pid_at], segments[obr_at], orc, obxs)


def _only(names: list[str], name: str, why: Msg) -> int:
    count = names.count(name)
    if count == 0:
        raise Hl7Error(
            SEGMENT_SEQUENCE_ERROR, Msg("{segment} segment missing", segment=name), Location(name)
        )
    if count > 1:
        raise Hl7Error(SEGMENT_SEQUENCE_ERROR, why, Location(name, 2))
    return names.index(name)


def fields_of(segment: RawSegment) -> list[str]:
    """Raw ER7 of each field of a segment (index n is field n, repetitions joined)."""
    return segment.fields


def assemble(
    header: MessageHeader,
    parts: Parts,
    arrays: dict[int, str],
    profile: PeerProfile = DEFAULT_PROFILE,
) -> tuple[dict[str, Any], dict[tuple[str, ...], Location]]:
    """The `EcgIn` body, and where each part of it came from."""
    # Read in message order, so the first error reported is the first in the message.
    seps = header.separators
    er7.require_sender(header, "the site")
    person, repetitions = patient(fields_of(parts.pid), seps, profile, header)
    ordered, ecg_id_field = order(fields_of(parts.obr), seps, profile)
    obxs = [Obx(i, fields_of(s), arrays.get(i)) for i, s in enumerate(parts.obxs, start=1)]
    found = read_observations(obxs, seps)
    derived = derive_limb_leads(found.leads)
    body = {
        "event_id": header.message_key,
        "patient": person,
        "site": site(header, found, parts.orc),
        "device": {"id": found.device_id or header.component(header.sending_application)},
        **ordered,
        "sampling_rate_hz": found.sampling_rate_hz,
        "units": "uV",
        "leads": found.leads,
        "derived_leads": derived,
        "measurements": found.measurements or None,
        "document": found.document,
    }
    if not found.leads:
        require_report(found)
    if not body["device"]["id"]:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            Msg("no device id: send OBX-18 (equipment instance identifier) on the leads or MSH-3"),
            Location("OBX", 1, 18),
        )
    return body, {**fixed_sources(ecg_id_field, repetitions), **found.sources}


def require_report(found: Observations) -> None:
    """A message without a waveform is taken as a report-only result (the device's
    measurements, statements and/or printed report as ED) when it has one; otherwise it
    is no ECG at all (AE 100 at OBX)."""
    if not found.measurements and found.document is None:
        raise Hl7Error(
            SEGMENT_SEQUENCE_ERROR,
            Msg(
                "no ECG in this ORU^R01: no lead waveform (NA OBX with an MDC lead code), no "
                "device measurement or statement (LOINC) and no report document (ED OBX)"
            ),
            Location("OBX"),
        )


def site(header: MessageHeader, found: Observations, orc: RawSegment | None) -> dict[str, Any]:
    """SiteIn: MSH-4.1 is the id; the name is OBX-23 or ORC-21 when sent."""
    name = found.site_name
    if name is None and orc is not None:
        name = _component(_field(fields_of(orc), 21), header.separators) or None
    return {"id": header.component(header.sending_facility), "name": name, "kind": "clinic"}


def fixed_sources(ecg_id_field: int, repetitions: list[int]) -> dict[tuple[str, ...], Location]:
    """Where the EcgIn fields that do not come from an OBX came from (`()` is the fallback
    for whole-ECG errors such as the recording's duration)."""
    sources = {
        (): Location("OBX"),
        ("event_id",): Location("MSH", 1, 10),
        ("site",): Location("MSH", 1, 4),
        ("device",): Location("MSH", 1, 3),
        ("leads",): Location("OBX"),
        ("sampling_rate_hz",): Location("OBX"),
        ("measurements",): Location("OBX"),
        ("document",): Location("OBX"),
        ("acquired_at",): Location("OBR", 1, 7),
        ("ecg_id",): Location("OBR", 1, ecg_id_field),
        ("clinical_question",): Location("OBR", 1, 13),
        ("urgency",): Location("OBR", 1, 5),
        ("patient",): Location("PID", 1),
        ("patient", "family"): Location("PID", 1, 5),
        ("patient", "given"): Location("PID", 1, 5, component=2),
        ("patient", "birth_date"): Location("PID", 1, 7),
        ("patient", "gender"): Location("PID", 1, 8),
        ("patient", "identifiers"): Location("PID", 1, 3),
    }
    for i, rep in enumerate(repetitions):
        sources[("patient", "identifiers", str(i))] = Location(
            "PID", 1, 3, component=1, repetition=rep
        )
    return sources


def _field(fields: list[str], position: int) -> str:
    return fields[position] if position < len(fields) else ""


def _component(raw: str, seps: Separators, index: int = 1, *, first_sub: bool = False) -> str:
    """Component `index` of the first repetition of a raw field (its first subcomponent
    with `first_sub`), unescaped."""
    parts = raw.split(seps.repetition)[0].split(seps.component)
    part = parts[index - 1] if index <= len(parts) else ""
    if first_sub:
        part = part.split(seps.subcomponent)[0]
    return er7.unescape(part, seps).strip()


# -- PID ---------------------------------------------------------------------------------


def gender(sex: str) -> str | None:
    """PID-8 administrative sex (HL7 table 0001) as a FHIR gender (None when not sent); AE
    with TABLE_VALUE_NOT_FOUND for a code outside the table."""
    code = sex.upper()
    if code and code not in SEX:
        raise Hl7Error(
            TABLE_VALUE_NOT_FOUND,
            Msg(
                "administrative sex {code} is not one of {codes} (table 0001)",
                code=repr(code),
                codes="/".join(SEX),
            ),
            Location("PID", 1, 8),
        )
    return SEX.get(code)


def patient(
    pid: list[str], seps: Separators, profile: PeerProfile, header: MessageHeader
) -> tuple[dict[str, Any], list[int]]:
    """PatientIn fields from PID-3, -5, -7, -8, and the PID-3 repetition of each identifier
    (for error locations)."""
    site_id = header.component(header.sending_facility)
    identifiers, repetitions = patient_identifiers(_field(pid, 3), seps, profile, site_id)
    return {
        "identifiers": identifiers,
        "family": _component(_field(pid, 5), seps, first_sub=True) or None,
        "given": _component(_field(pid, 5), seps, 2) or None,
        "gender": gender(_component(_field(pid, 8), seps)),
        "birth_date": er7.parse_date(_field(pid, 7), Location("PID", 1, 7)),
    }, repetitions


def patient_identifiers(
    raw: str, seps: Separators, profile: PeerProfile = DEFAULT_PROFILE, site_id: str = ""
) -> tuple[list[dict[str, str]], list[int]]:
    """IdentifierIn dicts from the repetitions of PID-3 (mapping in the module docstring)."""
    if not raw.strip(seps.repetition + seps.component + " "):
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            Msg("patient identifier list (PID-3) missing"),
            Location("PID", 1, 3),
        )
    identifiers, repetitions = [], []
    for rep, cx in enumerate(raw.split(seps.repetition), start=1):
        if ident := identifier(cx, seps, profile, site_id):
            identifiers.append(ident)
            repetitions.append(rep)
    if not identifiers:
        raise Hl7Error(
            TABLE_VALUE_NOT_FOUND,
            Msg(
                "PID-3 has no resident ID (type NNCHN) and no medical record number (type MR or PI)"
            ),
            Location("PID", 1, 3, component=5),
        )
    return identifiers, repetitions


def identifier(
    cx: str, seps: Separators, profile: PeerProfile, site_id: str
) -> dict[str, str] | None:
    """One CX (id^check digit^scheme^authority^type) as an IdentifierIn dict, or None for
    an identifier type we do not keep (rules: `profiles.cx_system`)."""
    value, kind = _component(cx, seps, 1), _component(cx, seps, 5)
    authority = _component(cx, seps, 4, first_sub=True)
    system = profiles.cx_system(kind, authority, profile, site_id, his=False) if value else None
    if system == RESIDENT_ID:
        value = value.upper()  # GB 11643's check character X, sent lower-case by some HIS
    return {"system": system, "value": value} if system else None


# -- OBR / ORC ---------------------------------------------------------------------------


def order(
    obr: list[str], seps: Separators, profile: PeerProfile = DEFAULT_PROFILE
) -> tuple[dict[str, Any], int]:
    """ecg_id, acquired_at, clinical_question and urgency from the OBR, and the OBR field
    the ecg_id came from."""
    ecg_id, position = _component(_field(obr, 3), seps), 3
    if not ecg_id:
        ecg_id, position = _component(_field(obr, 2), seps), 2
    if not ecg_id:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            Msg(
                "filler order number (OBR-3) or placer order number (OBR-2) missing: it names "
                "the ECG"
            ),
            Location("OBR", 1, 3),
        )
    return {
        "ecg_id": ecg_id,
        "acquired_at": er7.parse_dtm(_field(obr, 7), Location("OBR", 1, 7), local=profile.tz),
        "clinical_question": er7.unescape(_field(obr, 13), seps).strip() or None,
        "urgency": urgency(obr, seps),
    }, position


def urgency(obr: list[str], seps: Separators) -> str:
    """OBR-5 priority, else the priority component of OBR-27 (TQ.6), as an EcgIn urgency."""
    code, where = _component(_field(obr, 5), seps).upper(), Location("OBR", 1, 5)
    if not code:
        code, where = (
            _component(_field(obr, 27), seps, 6).upper(),
            Location("OBR", 1, 27, component=6),
        )
    if code not in PRIORITY:
        raise Hl7Error(
            TABLE_VALUE_NOT_FOUND,
            Msg("priority {code} is not S (stat), A (asap) or R (routine)", code=repr(code)),
            where,
        )
    return PRIORITY[code]


# -- EcgIn -------------------------------------------------------------------------------


def validated(body: dict[str, Any], sources: dict[tuple[str, ...], Location]) -> EcgIn:
    """`EcgIn` of the body; its first validation error located in the message."""
    try:
        return EcgIn.model_validate(body)
    except ValidationError as exc:
        raise located(exc, sources) from exc


def located(exc: ValidationError, sources: dict[tuple[str, ...], Location]) -> Hl7Error:
    """The first pydantic error as an Hl7Error at the deepest known source of its path."""
    error = exc.errors()[0]
    path = tuple(str(p) for p in error["loc"])
    if path == ("leads",) and (named := _LEAD_IN_MESSAGE.search(error["msg"])):
        path = ("leads", named.group(1))  # e.g. "lead V2 has samples beyond ..."
    where = next(sources[path[:n]] for n in range(len(path), -1, -1) if path[:n] in sources)
    kind = error["type"]
    code = (
        REQUIRED_FIELD_MISSING
        if kind == "missing"
        else TABLE_VALUE_NOT_FOUND
        if kind in ("literal_error", "enum")
        else DATA_TYPE_ERROR
    )
    message = error["msg"].removeprefix("Value error, ")
    # EcgIn's own validation text, the one POST /ingest/ecg answers: not a catalogue id.
    validation = f"{'.'.join(path) or 'ecg'}: {message}"
    return Hl7Error(code, validation, where)
