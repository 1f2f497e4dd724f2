"""ORU^R01 test messages built from an `ecg_payload()`-like dict, in the profile that
`services.hl7_gateway.oru_ecg` documents; plus small edits for tests that break one thing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from services.hl7_gateway.er7 import escape
from tests.standard_codes import (
    LEAD_ORDER,
    LOINC_EKG_IMPRESSION,
    LOINC_MEASUREMENTS,
    MDC_ECG_ELEC_POTL,
    MDC_LEADS,
    MDC_MICRO_VOLT,
    MDC_MILLI_VOLT,
    MDC_PER_SEC,
)

# The ingest API's identifier systems as clients send them (README, `POST /ingest/ecg`);
# codes below come from the standards (tests/standard_codes.py), never from the code under
# test, so a wrong production table fails instead of round-tripping.
RESIDENT_ID = "https://goldenhour.health/sid/cn-resident-id"
MRN_PREFIX = "urn:goldenhour:mrn:"
SEX = {"male": "M", "female": "F", "other": "O", "unknown": "U"}
PRIORITY = {"stat": "S", "urgent": "A", "routine": "R"}


def hl7_time(iso: str) -> str:
    """An ISO 8601 date/time as HL7 DTM with offset (20261123180211+0800)."""
    return dt.datetime.fromisoformat(iso).strftime("%Y%m%d%H%M%S%z")


def oru_r01(
    body: dict[str, Any],
    *,
    control_id: str | None = None,
    version: str = "2.5.1",
    units: str = "uV",
    segment_separator: str = "\r",
) -> str:
    """The ECG `body` as an ORU^R01 message (one OBX per lead, each followed by its
    MDC_ATTR_SAMP_RATE OBX, then measurements and statements)."""
    control_id = control_id or uuid.uuid4().hex[:20]
    segments = [msh(body, control_id, version), pid(body["patient"]), orc(body), obr(body)]
    for i, lead in enumerate(LEAD_ORDER, start=1):
        segments += lead_obxs(body, lead, i, units)
    segments += measurement_obxs(body.get("measurements"), len(segments))
    return segment_separator.join(segments) + segment_separator


def event_id_of(message: str) -> str:
    """The event id the gateway derives from a message: MSH-4.1:MSH-10."""
    fields = message.split("\r")[0].split("\n")[0].split("|")
    return f"{fields[3].split('^')[0]}:{fields[9]}"


def _join(fields: dict[int, str], name: str) -> str:
    """A segment from {field position: ER7 value}."""
    values = [""] * (max(fields) + 1)
    values[0] = name
    for position, value in fields.items():
        values[position] = value
    return "|".join(values)


def msh(body: dict[str, Any], control_id: str, version: str) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S%z")
    device = body["device"]
    return "MSH|^~\\&|" + "|".join(
        [
            f"{escape(device.get('model') or 'CART')}^{escape(device.get('manufacturer') or '')}",
            escape(body["site"]["id"]),
            "GOLDENHOUR",
            "COUNTY",
            now,
            "",
            "ORU^R01^ORU_R01",
            control_id,
            "P",
            version,
            "",
            "",
            "AL",
            "NE",
            "",
            "UNICODE UTF-8",
        ]
    )


def pid(patient: dict[str, Any]) -> str:
    ids = "~".join(cx(i) for i in patient["identifiers"])
    name = f"{escape(patient.get('family') or '')}^{escape(patient.get('given') or '')}"
    birth = (patient.get("birth_date") or "").replace("-", "")
    return _join(
        {1: "1", 3: ids, 5: name, 7: birth, 8: SEX.get(patient.get("gender") or "", "")}, "PID"
    )


def cx(ident: dict[str, str]) -> str:
    """One PID-3 repetition: resident IDs as type NNCHN, MRNs as type MR."""
    if ident["system"] == RESIDENT_ID:
        return f"{escape(ident['value'])}^^^CHN^NNCHN"
    authority = ident["system"].removeprefix(MRN_PREFIX)
    return f"{escape(ident['value'])}^^^{escape(authority)}^MR"


def orc(body: dict[str, Any]) -> str:
    return _join({1: "RE", 21: escape(body["site"].get("name") or "")}, "ORC")


def obr(body: dict[str, Any]) -> str:
    return _join(
        {
            1: "1",
            3: f"{escape(body['ecg_id'])}^{escape(body['device']['id'])}",
            4: f"{MDC_ECG_ELEC_POTL}^MDC_ECG_ELEC_POTL^MDC",
            5: PRIORITY[body.get("urgency") or "routine"],
            7: hl7_time(body["acquired_at"]),
            13: escape(body.get("clinical_question") or ""),
        },
        "OBR",
    )


def lead_obxs(body: dict[str, Any], lead: str, index: int, units: str) -> list[str]:
    """The lead's NA OBX and its sample rate OBX (IHE PCD style sub-ids)."""
    code, ref = MDC_LEADS[lead]
    samples = body["leads"][lead]
    if units == "mV":
        values, unit = "^".join(f"{s / 1000:.3f}" for s in samples), MDC_MILLI_VOLT
    else:
        values, unit = "^".join(str(s) for s in samples), MDC_MICRO_VOLT
    sub_id = f"1.1.1.{index}"
    wave = _join(
        {
            1: str(2 * index - 1),
            2: "NA",
            3: f"{code}^{ref}^MDC",
            4: sub_id,
            5: values,
            6: unit,
            11: "F",
            14: hl7_time(body["acquired_at"]),
            18: f"{escape(body['device']['id'])}^{escape(body['device'].get('manufacturer') or '')}",
        },
        "OBX",
    )
    rate = _join(
        {
            1: str(2 * index),
            2: "NM",
            3: "0^MDC_ATTR_SAMP_RATE^MDC",
            4: f"{sub_id}.1",
            5: f"{body['sampling_rate_hz']:g}",
            6: MDC_PER_SEC,
            11: "F",
        },
        "OBX",
    )
    return [wave, rate]


def measurement_obxs(measurements: dict[str, Any] | None, start: int) -> list[str]:
    """NM OBXs with LOINC codes, and the statements as one ST OBX (8601-7)."""
    out: list[str] = []
    for name, value in (measurements or {}).items():
        if name in LOINC_MEASUREMENTS and value is not None:
            code, display, unit = LOINC_MEASUREMENTS[name]
            out.append(
                _join(
                    {
                        1: str(start + len(out)),
                        2: "NM",
                        3: f"{code}^{display}^LN",
                        5: f"{value:g}",
                        6: unit,
                        11: "F",
                    },
                    "OBX",
                )
            )
    statements = (measurements or {}).get("statements") or []
    if statements:
        out.append(
            _join(
                {
                    1: str(start + len(out)),
                    2: "ST",
                    3: f"{LOINC_EKG_IMPRESSION}^EKG impression^LN",
                    5: "~".join(escape(s) for s in statements),
                    11: "F",
                },
                "OBX",
            )
        )
    return out


# -- edits -------------------------------------------------------------------------------


def segments_of(message: str) -> list[str]:
    return [s for s in message.split("\r") if s]


def set_field(message: str, segment: str, position: int, value: str, occurrence: int = 1) -> str:
    """The message with field `position` of the `occurrence`-th `segment` replaced."""
    out, seen = [], 0
    for seg in segments_of(message):
        fields = seg.split("|")
        if fields[0] == segment:
            seen += 1
            if seen == occurrence:
                offset = 1 if segment == "MSH" else 0  # MSH-1 is the separator itself
                fields += [""] * (position - offset + 1 - len(fields))
                fields[position - offset] = value
                seg = "|".join(fields)
        out.append(seg)
    return "\r".join(out) + "\r"


def drop_lead(message: str, lead: str) -> str:
    """The message without the NA OBX of `lead` (its sample rate OBX stays)."""
    code = MDC_LEADS[lead][0]
    return without_obx(message, lambda f: f[3].split("^")[0] == code)


def without_obx(message: str, drop: Callable[[list[str]], bool]) -> str:
    """The message without the OBXs whose fields `drop` names."""
    kept = [s for s in segments_of(message) if not (s.startswith("OBX|") and drop(s.split("|")))]
    return "\r".join(kept) + "\r"


def eight_lead(message: str) -> str:
    """The message as an 8-lead cart sends it: I, II, V1-V6; no III, aVR, aVL, aVF OBX."""
    limb = {MDC_LEADS[name][0] for name in ("III", "aVR", "aVL", "aVF")}
    return without_obx(message, lambda f: f[3].split("^")[0] in limb)


def report_only(message: str, ed_value: str) -> str:
    """The message as a report-only cart sends it: no waveform (NA) nor sample rate OBX,
    its measurements, and the report as an ED OBX with `ed_value` (^AP^PDF^Base64^...)."""
    kept = without_obx(message, lambda f: f[2] == "NA" or "SAMP_RATE" in f[3])
    return kept + f"OBX|99|ED|11524-6^EKG study^LN||{ed_value}||||||F\r"


def obx_sequence_of(message: str, lead: str) -> int:
    """The occurrence (1-based, among OBXs) of the lead's NA OBX."""
    obxs = [s for s in segments_of(message) if s.startswith("OBX|")]
    code = MDC_LEADS[lead][0]
    return next(i for i, s in enumerate(obxs, start=1) if s.split("|")[3].split("^")[0] == code)
