"""Signed ECG read -> outbound HL7 v2.5.1 ORU^R01, sent back to the site that sent the ECG.

Pure: an `OutboxItem` (the report as the outbox folded it) and the FHIR Patient in, ER7
text out. Profile (original acknowledgement mode: MSH-15/16 empty, the receiver answers
AA/AE/AR):

    MSH  -3 GOLDENHOUR   -4 the reading centre id   -5 empty   -6 the clinic's site id
         -7 time of this message   -9 ORU^R01^ORU_R01
         -10 control id: derived from ecg id + report event id (`control_id`), so a
             resend of the same report carries the same MSH-10 and the receiver can
             recognise it as a duplicate
         -11 P   -12 2.5.1   -18 UNICODE UTF-8
    PID  -3 resident IDs as id^^^CHN^NNCHN, MRNs as id^^^<authority>^MR (as received)
         -5 family^given   -7 birth date YYYYMMDD   -8 sex M/F/O/U
    OBR  -1 1   -3 the ecg_id the clinic sent (its OBR-3)   -4 11524-6^EKG study^LN
         -7 acquisition time   -22 time the read was signed   -25 F (final), C after an addendum
         -32 principal result interpreter: the reader id (NDL.1, CNN.1)
    OBX  1: TX 8601-7^EKG impression^LN, the interpretation (FT with \\.br\\ line breaks
            when the reader wrote several lines)
         2..n: CWE 8601-7^EKG impression^LN, one per conclusion code
            (code^display^SCT for SNOMED CT, LN for LOINC, L for anything else)
         each: -4 sub-id n   -11 F   -14 acquisition time   -16 the reader
               -19 time the read was signed

Text is escaped for ER7 (| ^ & ~ \\ become \\F\\ \\S\\ \\T\\ \\R\\ \\E\\).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
import uuid

from kernel.codes import LOINC, RESIDENT_ID
from kernel.jsontypes import Json
from services.hl7_gateway.er7 import escape
from stream_processors.report_outbox.published import OutboxItem

VERSION = "2.5.1"
SENDING_APPLICATION = "GOLDENHOUR"
CHARSET = "UNICODE UTF-8"
CONTROL_ID_CHARS = 20  # MSH-10 is ST(20)
MRN_SYSTEM = "urn:goldenhour:mrn:"  # as services.hl7_gateway.oru_ecg maps MR identifiers
SNOMED = "http://snomed.info/sct"
CODING_SYSTEMS = {SNOMED: "SCT", LOINC: "LN"}  # FHIR system -> HL7 table 0396
LOCAL_CODING_SYSTEM = "L"
EKG_STUDY = "11524-6^EKG study^LN"
EKG_IMPRESSION = "8601-7^EKG impression^LN"
SEX = {"male": "M", "female": "F", "other": "O", "unknown": "U"}
_CONTROL_NAMESPACE = uuid.UUID("0f5c1a8e-2b6d-5e47-9c3a-7d18e4b2a960")


class NotReportable(ValueError):
    """The item has no signed report to send."""


def control_id(ecg_id: str, report_event_id: str) -> str:
    """MSH-10 of the report's message: the same for every resend of the same report."""
    return uuid.uuid5(_CONTROL_NAMESPACE, f"{ecg_id}/{report_event_id}").hex[:CONTROL_ID_CHARS]


def build_oru(item: OutboxItem, patient: Json, now: dt.datetime) -> str:
    """The ORU^R01 (segments joined by CR) carrying the item's signed report."""
    if not item.report:
        raise NotReportable(f"ECG {item.ecg_id} has no signed report")
    segments = [msh(item, now), pid(patient), obr(item), *observations(item)]
    return "\r".join(segments) + "\r"


def encode(message: str) -> bytes:
    """The message's bytes, in the character set MSH-18 declares."""
    return message.encode("utf-8")


def hl7_time(value: dt.datetime | str) -> str:
    """A datetime or FHIR instant as HL7 DTM in UTC with its offset (20261123100211+0000)."""
    t = dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return t.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S+0000")


def _segment(name: str, fields: dict[int, str]) -> str:
    """A segment from {field position: ER7 value} (values already escaped)."""
    values = [""] * (max(fields) + 1)
    values[0] = name
    for position, value in fields.items():
        values[position] = value
    return "|".join(values)


# -- MSH / PID -----------------------------------------------------------------------------


def msh(item: OutboxItem, now: dt.datetime) -> str:
    # MSH-n is at index n - 1: MSH-1 is the field separator itself.
    fields = [
        "MSH",
        "^~\\&",
        SENDING_APPLICATION,
        escape(item.reading_centre_id),
        "",
        escape(item.destination),
        hl7_time(now),
        "",
        "ORU^R01^ORU_R01",
        control_id(item.ecg_id, item.report["event_id"]),
        "P",
        VERSION,
        "",
        "",
        "",
        "",
        "",
        CHARSET,
    ]
    return "|".join(fields)


def pid(patient: Json) -> str:
    names = patient.get("name") or [{}]
    family = escape(names[0].get("family") or "")
    given = escape((names[0].get("given") or [""])[0])
    return _segment(
        "PID",
        {
            1: "1",
            3: "~".join(cx for i in patient.get("identifier", []) if (cx := identifier(i))),
            5: f"{family}^{given}" if given else family,
            7: (patient.get("birthDate") or "").replace("-", ""),
            8: SEX.get(patient.get("gender") or "", ""),
        },
    )


def identifier(ident: Json) -> str:
    """One PID-3 repetition (CX) for the identifier systems the intake profile knows."""
    value = escape(ident["value"])
    if ident["system"] == RESIDENT_ID:
        return f"{value}^^^CHN^NNCHN"
    if ident["system"].startswith(MRN_SYSTEM):
        authority = urllib.parse.unquote(ident["system"].removeprefix(MRN_SYSTEM))
        return f"{value}^^^{escape(authority)}^MR"
    return ""


# -- OBR / OBX -----------------------------------------------------------------------------


def obr(item: OutboxItem) -> str:
    signed = hl7_time(item.report["signed_at"])
    return _segment(
        "OBR",
        {
            1: "1",
            3: escape(item.ecg_id),
            4: EKG_STUDY,
            7: hl7_time(item.acquired_at) if item.acquired_at else "",
            22: signed,
            25: result_status(item),
            32: escape(item.report["reader_id"]),
        },
    )


def result_status(item: OutboxItem) -> str:
    """HL7 table 0123 (OBR-25) / 0085 (OBX-11): F final, C corrected (an addendum)."""
    return str(item.report.get("result_status") or "F")


def observations(item: OutboxItem) -> list[str]:
    """The interpretation, then one coded statement per conclusion code."""
    kind, text = interpretation(item.report["interpretation"])
    out = [obx(item, 1, kind, EKG_IMPRESSION, text)]
    for n, code in enumerate(item.report.get("codes") or [], start=2):
        out.append(obx(item, n, "CWE", EKG_IMPRESSION, cwe(code)))
    return out


def obx(item: OutboxItem, n: int, kind: str, code: str, value: str) -> str:
    return _segment(
        "OBX",
        {
            1: str(n),
            2: kind,
            3: code,
            4: str(n),
            5: value,
            11: result_status(item),
            14: hl7_time(item.acquired_at) if item.acquired_at else "",
            16: escape(item.report["reader_id"]),
            19: hl7_time(item.report["signed_at"]),
        },
    )


def interpretation(text: str) -> tuple[str, str]:
    """(value type, OBX-5): TX for one line; FT with \\.br\\ where the reader broke lines
    (only FT may carry formatting escapes)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n").split("\n")
    if len(lines) == 1:
        return "TX", escape(lines[0])
    return "FT", "\\.br\\".join(escape(line) for line in lines)


def cwe(coding: Json) -> str:
    """A FHIR Coding as CWE identifier^text^coding system."""
    system = CODING_SYSTEMS.get(coding["system"], LOCAL_CODING_SYSTEM)
    return f"{escape(coding['code'])}^{escape(coding.get('display') or '')}^{system}"
