"""OBX segments of an ECG ORU^R01 -> leads, sample rate, device measurements, statements and
the device identifier. The accepted profile is documented in `oru_ecg`; this module holds
the code tables and the per-OBX rules.

Waveform values (OBX-5 of `NA` OBXs) are lifted out of the message text *before* the
segments are parsed (`lift_arrays`) and converted by numpy in one C pass a lead
(`plain_integers`, ~0.1 ms for 5,000 samples), straight into the int64 arrays `EcgIn` takes;
only values that are not plain integers (decimals, '+' signs, spaces) go sample by sample.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from avro_schemas.lead_samples import Samples
from kernel.codes import ECG_LEADS, ECG_MEASUREMENTS
from services.hl7_gateway.er7 import Separators, components, unescape
from services.hl7_gateway.errors import (
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE_ERROR,
    TABLE_VALUE_NOT_FOUND,
    VALUE_TOO_LONG,
    Hl7Error,
    Location,
)
from services.i18n import Msg

# Coding systems (HL7 table 0396) under which OBX-3 codes are read.
MDC_SYSTEMS = {"MDC", ""}
LOINC_SYSTEMS = {"LN", "LOINC"}

LEAD_BY_CODE = {code: lead for lead, (code, _) in ECG_LEADS.items()}
# Lead names as text: "V1", "aVR", the MDC reference ids MDC_ECG_ELEC_POTL_V1 and the
# older MDC_ECG_LEAD_V1 some monitors send; compared case-insensitively.
LEAD_BY_NAME = {
    alias.lower(): lead
    for lead, (_, ref) in ECG_LEADS.items()
    for alias in (lead, f"lead {lead}", ref, ref.replace("ELEC_POTL", "LEAD"))
}

_Factor = TypeVar("_Factor", int, float)  # a unit's factor to ours: µV per unit, ms per unit...

# OBX-6 of a lead -> factor to integer microvolts. UCUM codes, MDC reference ids and
# MDC unit codes (MDC_DIM_MILLI_VOLT 266418 as in IHE PCD examples; micro = milli + 1).
LEAD_UNITS = {
    "uV": 1,
    "µV": 1,
    "μV": 1,
    "266419": 1,
    "MDC_DIM_MICRO_VOLT": 1,
    "mV": 1000,
    "266418": 1000,
    "MDC_DIM_MILLI_VOLT": 1000,
}

# The sample rate, as IHE PCD waveform senders (Mindray, and the IHE PCD-01 test tools)
# write it: an NM OBX "0^MDC_ATTR_SAMP_RATE^MDC" (the term has no numeric code in their
# messages) with sub-id <lead sub-id>.1 and unit 264608^MDC_DIM_PER_SEC^MDC.
SAMPLE_RATE_REF = "MDC_ATTR_SAMP_RATE"
# Hz by UCUM, by MDC code (MDC_DIM_PER_SEC 264608, MDC_DIM_HZ 264640 = 4::2496, as IHE PCD-01
# waveform senders write it) or by MDC reference id; compared case-insensitively.
PER_SECOND_UNITS = {"", "hz", "/s", "1/s", "264608", "mdc_dim_per_sec", "264640", "mdc_dim_hz"}

# 8-lead carts send I, II and V1-V6 (the independent leads); the other limb leads follow
# from Einthoven's law (III = II - I) and Goldberger's augmented leads.
INDEPENDENT_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
DERIVED_LEADS = {
    "III": "III = II - I (Einthoven)",
    "aVR": "aVR = -(I + II) / 2 (Goldberger)",
    "aVL": "aVL = I - II / 2 (Goldberger)",
    "aVF": "aVF = II - I / 2 (Goldberger)",
}

# Device measurement field -> {accepted OBX-6 unit: factor to the field's unit}.
_MS = {
    "": 1.0,
    "ms": 1.0,
    "264338": 1.0,
    "MDC_DIM_MILLI_SEC": 1.0,
    "s": 1000.0,
    "264320": 1000.0,
    "MDC_DIM_SEC": 1000.0,
}
_PER_MIN = {
    "": 1.0,
    "/min": 1.0,
    "{beats}/min": 1.0,
    "bpm": 1.0,
    "264864": 1.0,
    "MDC_DIM_BEAT_PER_MIN": 1.0,
}
_DEG = {"": 1.0, "deg": 1.0, "262880": 1.0, "MDC_DIM_ANG_DEG": 1.0}
MEASUREMENT_UNITS = {
    "heart_rate_bpm": _PER_MIN,
    "pr_ms": _MS,
    "qrs_ms": _MS,
    "qt_ms": _MS,
    "qtc_ms": _MS,
    "p_axis_deg": _DEG,
    "qrs_axis_deg": _DEG,
    "t_axis_deg": _DEG,
}
MEASUREMENT_BY_LOINC = {code: name for name, (code, _, _) in ECG_MEASUREMENTS.items()}
# Heart rate is also sent under its MDC code by monitors (GE, Philips PCD-01 feeds).
MEASUREMENT_BY_MDC = {"147842": "heart_rate_bpm", "MDC_ECG_HEART_RATE": "heart_rate_bpm"}
STATEMENT_LOINC = "8601-7"  # EKG impression
TEXT_TYPES = {"ST", "TX", "FT", "CE", "CWE"}

# The longest recording the ECG model takes (60 s) at the highest rate (2000 Hz).
MAX_SAMPLES_PER_LEAD = 120_000
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
# Deletes the characters of a plain integer, so what is left of an NA value of integers
# is its separators only (`plain_integers`).
_NOT_INTEGER_TEXT = str.maketrans("", "", "0123456789-")
_NOT_DECIMAL_TEXT = str.maketrans("", "", "0123456789-.")
# Sub-microvolt fractions are rounded, and samples beyond int64 clipped to this (far
# outside any ECG: EcgIn's range check refuses them by name).
_CLIP = 2**62


@dataclass(frozen=True)
class Obx:
    """One OBX, as raw ER7 fields (1-based: `fields[3]` is OBX-3), with its waveform."""

    sequence: int  # occurrence among the message's OBX segments
    fields: list[str]
    array: str | None  # OBX-5 of an NA OBX, lifted before hl7apy parsed the message

    def at(self, position: int, component: int | None = None) -> Location:
        return Location("OBX", self.sequence, position, component)

    def value(self, position: int) -> str:
        return self.fields[position] if position < len(self.fields) else ""


@dataclass
class Observations:
    """What the OBXs of one ECG say, and where each part came from (for error locations)."""

    leads: dict[str, Samples] = field(default_factory=dict)
    sampling_rate_hz: float | None = None
    measurements: dict[str, Any] = field(default_factory=dict)
    device_id: str | None = None
    site_name: str | None = None
    document: dict[str, Any] | None = None  # the device's report (ED OBX), e.g. its PDF
    sources: dict[tuple[str, ...], Location] = field(default_factory=dict)


def lift_arrays(segments: list[str], seps: Separators) -> tuple[list[str], dict[int, str]]:
    """The segments with OBX-5 of every `NA` OBX emptied, and those values by OBX sequence."""
    arrays: dict[int, str] = {}
    out: list[str] = []
    sequence = 0
    for segment in segments:
        if segment.startswith("OBX" + seps.field):
            sequence += 1
            fields = segment.split(seps.field)
            if len(fields) > 5 and fields[2].strip().upper() == "NA":
                arrays[sequence], fields[5] = fields[5], ""
                segment = seps.field.join(fields)
        out.append(segment)
    return out, arrays


def read_observations(obxs: Iterable[Obx], seps: Separators) -> Observations:
    """Classify and convert every OBX; OBXs that are none of ours are ignored."""
    found = Observations()
    for obx in obxs:
        _read_one(obx, seps, found)
    if found.leads and found.sampling_rate_hz is None:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            Msg(
                "no sample rate: send an NM OBX 0^{code}^MDC with the rate in Hz",
                code=SAMPLE_RATE_REF,
            ),
            Location("OBX"),
        )
    return found


def derive_limb_leads(leads: MutableMapping[str, Any]) -> list[str]:
    """When exactly the 8 independent leads were sent, add III, aVR, aVL and aVF computed
    from I and II (integer uV arrays, rounded half away from zero); the names of the leads
    added (empty when the message had other leads: those are validated as sent)."""
    if set(leads) != set(INDEPENDENT_LEADS):
        return []
    i, ii = (np.asarray(leads[name], dtype=np.int64) for name in ("I", "II"))
    if i.shape != ii.shape:
        return []  # the 12-lead check reports the unequal lengths
    leads["III"] = ii - i
    leads["aVR"] = _half(-(i + ii))
    leads["aVL"] = _half(2 * i - ii)
    leads["aVF"] = _half(2 * ii - i)
    return list(DERIVED_LEADS)


def _half(twice: Samples) -> Samples:
    """twice / 2 rounded half away from zero (symmetric for positive and negative waves)."""
    halves: Samples = np.sign(twice) * ((np.abs(twice) + 1) // 2)
    return halves


def _read_one(obx: Obx, seps: Separators, found: Observations) -> None:
    code = components(obx.value(3), seps)
    lead = lead_of(code, obx)
    if lead:
        _read_lead(obx, lead, seps, found)
    elif _is_sample_rate(code):
        _read_sample_rate(obx, seps, found)
    elif name := _measurement_of(code):
        _read_measurement(obx, name, seps, found)
    elif code[0] == STATEMENT_LOINC and code[2].upper() in LOINC_SYSTEMS:
        _read_statements(obx, seps, found)
    elif obx.value(2).strip().upper() == "ED" and found.document is None:
        found.document = document(obx, code, seps)
        found.sources[("document",)] = obx.at(5)
    if found.site_name is None and (org := components(obx.value(23), seps)[0]):
        found.site_name = org  # OBX-23 performing organization name (XON.1)


def lead_of(code: list[str], obx: Obx) -> str | None:
    """The lead an OBX-3 names by MDC code or by text; refuses a code and text that disagree
    (a lead filed under the wrong name would be read as another lead)."""
    by_code = LEAD_BY_CODE.get(code[0]) if code[2].upper() in MDC_SYSTEMS else None
    by_text = LEAD_BY_NAME.get(code[1].lower()) or (
        LEAD_BY_NAME.get(code[0].lower()) if not code[0].isdigit() else None
    )
    if by_code and not by_text and code[1].upper().startswith("MDC_"):
        # The text names another MDC term (Mindray feeds send 131330^MDC_PULS_OXIM_PLETH):
        # taking the code's lead would file a pleth wave as lead II.
        raise Hl7Error(
            TABLE_VALUE_NOT_FOUND,
            Msg(
                "OBX-3 code {code} is lead {lead} but its text {text} is not a lead",
                code=code[0],
                lead=by_code,
                text=code[1],
            ),
            obx.at(3),
        )
    if by_code and by_text and by_code != by_text:
        raise Hl7Error(
            TABLE_VALUE_NOT_FOUND,
            Msg(
                "OBX-3 code {code} is lead {lead} but its text {text} names lead {other}",
                code=code[0],
                lead=by_code,
                text=code[1],
                other=by_text,
            ),
            obx.at(3),
        )
    return by_code or by_text


def _read_lead(obx: Obx, lead: str, seps: Separators, found: Observations) -> None:
    if obx.value(2).strip().upper() != "NA":
        raise Hl7Error(
            DATA_TYPE_ERROR,
            Msg(
                "lead {lead}: value type must be NA (numeric array, samples separated by "
                "{separator}), got {value_type}",
                lead=lead,
                separator=seps.component,
                value_type=repr(obx.value(2)),
            ),
            obx.at(2),
        )
    if lead in found.leads:
        raise Hl7Error(
            SEGMENT_SEQUENCE_ERROR, Msg("lead {lead} is sent twice", lead=lead), obx.at(3)
        )
    factor = _lead_factor(obx, lead, seps)
    found.leads[lead] = samples(obx.array or "", factor, seps, obx.at(5), lead)
    found.sources[("leads", lead)] = obx.at(5)
    if found.device_id is None and (device := components(obx.value(18), seps)[0]):
        found.device_id = device  # OBX-18 equipment instance identifier (EI.1)
        found.sources[("device",)] = obx.at(18)


def _lead_factor(obx: Obx, lead: str, seps: Separators) -> int:
    unit = components(obx.value(6), seps)
    if not unit[0] and not unit[1]:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            Msg("lead {lead}: units missing (uV or mV)", lead=lead),
            obx.at(6),
        )
    return _unit_factor(obx, seps, LEAD_UNITS, f"lead {lead}")


def _unit_factor(obx: Obx, seps: Separators, units: Mapping[str, _Factor], what: str) -> _Factor:
    """The factor from OBX-6's unit to ours, found by the unit's code (CE.1) or its name
    (CE.2), as carts send either; AE 103 at OBX-6.1 naming the units we take."""
    unit = components(obx.value(6), seps)
    factor = units.get(unit[0]) or units.get(unit[1])
    if factor is None:
        raise Hl7Error(
            TABLE_VALUE_NOT_FOUND,
            Msg(
                "{what}: unit {unit} not accepted (one of {units})",
                what=what,
                unit=repr(unit[0] or unit[1]),
                units=", ".join(u for u in units if u),
            ),
            obx.at(6, 1),
        )
    return factor


def samples(raw: str, factor: int, seps: Separators, where: Location, lead: str) -> Samples:
    """Integer microvolts of an NA value; `factor` converts the sender's unit (1000 for mV).
    Sub-microvolt fractions are rounded: they are below any ECG's resolution."""
    if not raw.strip():
        raise Hl7Error(REQUIRED_FIELD_MISSING, Msg("lead {lead}: no samples", lead=lead), where)
    if seps.repetition in raw or seps.subcomponent in raw:
        raise Hl7Error(
            DATA_TYPE_ERROR,
            Msg(
                "lead {lead}: NA samples must be separated by {separator} only",
                lead=lead,
                separator=seps.component,
            ),
            where,
        )
    count = separators_in(raw, seps.component) + 1  # counted before any conversion
    if count > MAX_SAMPLES_PER_LEAD:
        raise Hl7Error(
            VALUE_TOO_LONG,
            Msg(
                "lead {lead}: {count} samples; the limit is {limit} per lead (60 s at 2000 Hz)",
                lead=lead,
                count=count,
                limit=MAX_SAMPLES_PER_LEAD,
            ),
            where,
            reject=True,
        )
    plain = plain_integers(raw, seps.component, count)
    if plain is not None:  # the common case: integers (uV, or whole mV)
        scaled: Samples = plain * factor if factor != 1 else plain
        return scaled
    numbers = plain_decimals(raw, seps.component, count)
    if numbers is None:  # signs, spaces, leading zeros, or no number: read one by one
        parts = raw.split(seps.component)
        numbers = np.array([_number(p, i, where, lead) for i, p in enumerate(parts)])
    return np.rint(np.clip(numbers * factor, -_CLIP, _CLIP)).astype(np.int64)


def plain_integers(raw: str, separator: str, count: int) -> Samples | None:
    """The `count` values of `raw` as an int64 array when each is a plain integer (-?digits)
    between single separators, else None (the caller reads it value by value and names
    what is wrong). Checked first, by numpy over the text's bytes (str methods take ~15x
    longer), so numpy's parser only ever sees text it reads whole: digits, '-' and
    separators alone, `count - 1` separators, no empty value, each '-' opening a value and
    followed by a digit (else it would read a lone '-' as 0). Values beyond int64 saturate
    (refused as out of range)."""
    text = _ascii_bytes(raw, separator)
    if text is None or not text.size:
        return None
    digit = (text >= ord("0")) & (text <= ord("9"))
    minus, between = text == ord("-"), text == ord(separator)
    if not (digit | minus | between).all() or np.count_nonzero(between) != count - 1:
        return None
    if between[0] or between[-1] or (between[1:] & between[:-1]).any():
        return None  # an empty value
    if minus.any() and (
        minus[-1] or (minus[:-1] & ~digit[1:]).any() or (minus[1:] & ~between[:-1]).any()
    ):
        return None  # a '-' that is not followed by a digit, or not at a value's start
    try:
        values = np.fromstring(raw, dtype=np.int64, sep=separator)
    except ValueError:
        return None
    return values if values.size == count else None


def separators_in(raw: str, separator: str) -> int:
    """How many `separator`s `raw` holds (numpy over its bytes when the separator is one
    ASCII character: `str.count` takes ~70 us on a 5,000-sample lead)."""
    text = _ascii_bytes(raw, separator)
    if text is None:
        return raw.count(separator)
    return int(np.count_nonzero(text == ord(separator)))


def _ascii_bytes(raw: str, separator: str) -> NDArray[np.uint8] | None:
    """`raw` as a byte array when it and `separator` (one character) are ASCII, else None."""
    if len(separator) != 1 or not separator.isascii() or not raw.isascii():
        return None
    return np.frombuffer(raw.encode("ascii"), dtype=np.uint8)


def plain_decimals(raw: str, separator: str, count: int) -> NDArray[np.float64] | None:
    """The `count` values of `raw` when each is a JSON number made of digits, '-' and '.'
    (mV carts send 0.125^-0.05^...), parsed as a JSON array in one C pass; else None. Safe
    for the same reason as `plain_integers`: without 'e', quotes or brackets such text is
    a JSON array of numbers or not JSON at all ('3.', '.5', '007' are not: read one by one)."""
    if raw.translate(_NOT_DECIMAL_TEXT) != separator * (count - 1):
        return None
    try:
        values = np.asarray(json.loads(f"[{raw.replace(separator, ',')}]"), dtype=np.float64)
    except (ValueError, OverflowError):  # not JSON; an integer too long for a float
        return None
    return values if values.shape == (count,) else None


def _number(text: str, index: int, where: Location, lead: str) -> float:
    if not _NUMBER.match(text.strip()):
        raise Hl7Error(
            DATA_TYPE_ERROR,
            Msg(
                "lead {lead}: sample {index} is {value}, not a number",
                lead=lead,
                index=index + 1,
                value=repr(text[:20]),
            ),
            where,
        )
    return float(text)


# ED (encapsulated data) OBX-5: source application ^ type of data ^ data subtype ^
# encoding ^ data. The subtypes carts use for their printed report, as MIME types.
DOCUMENT_TYPES = {
    "PDF": "application/pdf",
    "APPLICATION/PDF": "application/pdf",
    "JPEG": "image/jpeg",
    "JPG": "image/jpeg",
    "IMAGE/JPEG": "image/jpeg",
    "PNG": "image/png",
    "IMAGE/PNG": "image/png",
}


def document(obx: Obx, code: list[str], seps: Separators) -> dict[str, Any]:
    """The report an ED OBX carries (Base64 or hex encoded), as DocumentIn fields."""
    parts = obx.value(5).split(seps.repetition)[0].split(seps.component)
    parts += [""] * (5 - len(parts))
    subtype, encoding, data = parts[2].strip().upper(), parts[3].strip().upper(), parts[4]
    content_type = DOCUMENT_TYPES.get(subtype)
    if content_type is None:
        raise Hl7Error(
            TABLE_VALUE_NOT_FOUND,
            Msg(
                "encapsulated data subtype {subtype} is not one we keep (PDF, JPEG, PNG)",
                subtype=repr(parts[2]),
            ),
            obx.at(5, 3),
        )
    if encoding not in ("BASE64", "HEX"):
        raise Hl7Error(
            TABLE_VALUE_NOT_FOUND,
            Msg(
                "encapsulated data encoding {encoding} is not Base64 or Hex (table 0299)",
                encoding=repr(parts[3]),
            ),
            obx.at(5, 4),
        )
    text = re.sub(r"\s+", "", unescape(data, seps))
    if not text:
        raise Hl7Error(REQUIRED_FIELD_MISSING, Msg("encapsulated data is empty"), obx.at(5, 5))
    if encoding == "HEX":
        try:
            text = base64.b64encode(bytes.fromhex(text)).decode("ascii")
        except ValueError as exc:
            problem = Msg("encapsulated data: {reason}", reason=str(exc))
            raise Hl7Error(DATA_TYPE_ERROR, problem, obx.at(5, 5)) from exc
    return {"content_type": content_type, "title": code[1] or code[0] or None, "data": text}


def _is_sample_rate(code: list[str]) -> bool:
    return SAMPLE_RATE_REF.lower() in (code[0].lower(), code[1].lower())


def _read_sample_rate(obx: Obx, seps: Separators, found: Observations) -> None:
    if obx.value(2).strip().upper() != "NM":
        raise Hl7Error(
            DATA_TYPE_ERROR,
            Msg(
                "sample rate: value type must be NM, got {value_type}",
                value_type=repr(obx.value(2)),
            ),
            obx.at(2),
        )
    unit = components(obx.value(6), seps)
    if unit[0].lower() not in PER_SECOND_UNITS and unit[1].lower() not in PER_SECOND_UNITS:
        raise Hl7Error(
            TABLE_VALUE_NOT_FOUND,
            Msg(
                "sample rate: unit {unit} is not Hz (Hz, 264608^MDC_DIM_PER_SEC^MDC or "
                "264640^MDC_DIM_HZ^MDC)",
                unit=repr(unit[0]),
            ),
            obx.at(6, 1),
        )
    rate = _numeric_value(obx, seps, "sample rate")
    if found.sampling_rate_hz is not None and rate != found.sampling_rate_hz:
        raise Hl7Error(
            DATA_TYPE_ERROR,
            Msg(
                "leads at different sample rates ({first} and {second} Hz) are not supported",
                first=f"{found.sampling_rate_hz:g}",
                second=f"{rate:g}",
            ),
            obx.at(5),
        )
    found.sampling_rate_hz = rate
    found.sources[("sampling_rate_hz",)] = obx.at(5)


def _numeric_value(obx: Obx, seps: Separators, what: str) -> float:
    text = components(obx.value(5), seps)[0]
    if not text:
        raise Hl7Error(REQUIRED_FIELD_MISSING, Msg("{what}: no value", what=what), obx.at(5))
    if not _NUMBER.match(text):
        problem = Msg("{what}: {value} is not a number", what=what, value=repr(text[:20]))
        raise Hl7Error(DATA_TYPE_ERROR, problem, obx.at(5))
    return float(text)


def _measurement_of(code: list[str]) -> str | None:
    if code[2].upper() in LOINC_SYSTEMS:
        return MEASUREMENT_BY_LOINC.get(code[0])
    if code[2].upper() in MDC_SYSTEMS:
        return MEASUREMENT_BY_MDC.get(code[0]) or MEASUREMENT_BY_MDC.get(code[1].upper())
    return None


def _read_measurement(obx: Obx, name: str, seps: Separators, found: Observations) -> None:
    if obx.value(2).strip().upper() != "NM":
        raise Hl7Error(
            DATA_TYPE_ERROR,
            Msg(
                "{what}: value type must be NM, got {value_type}",
                what=name,
                value_type=repr(obx.value(2)),
            ),
            obx.at(2),
        )
    factor = _unit_factor(obx, seps, MEASUREMENT_UNITS[name], name)
    found.measurements[name] = _numeric_value(obx, seps, name) * factor
    found.sources[("measurements", name)] = obx.at(5)


def _read_statements(obx: Obx, seps: Separators, found: Observations) -> None:
    value_type = obx.value(2).strip().upper()
    if value_type not in TEXT_TYPES:
        raise Hl7Error(
            DATA_TYPE_ERROR,
            Msg(
                "ECG statements: value type must be one of {types}, got {value_type}",
                types=", ".join(sorted(TEXT_TYPES)),
                value_type=repr(value_type),
            ),
            obx.at(2),
        )
    coded = value_type in ("CE", "CWE")
    for rep in obx.value(5).split(seps.repetition):
        parts = components(rep, seps)
        text = (parts[1] or parts[0]) if coded else unescape(rep, seps).strip()
        if text:
            found.measurements.setdefault("statements", []).append(text)
    found.sources[("measurements", "statements")] = obx.at(5)
