"""SCP-ECG (EN 1064:2005 / ISO 11073-91064): record CRC and length, section 0 pointers,
section 1 patient data, section 3 lead definition, section 6 rhythm data.

Read: rhythm data as 16-bit samples (no section 2) or coded with the standard's default
Huffman table (section 2 naming table 19999; prEN 1064:2002 C.2.7.4: carts that compress use
it), with or without first/second differences (section 6 byte 5). Refused with a reason
naming the feature: custom Huffman tables (section 2 carrying its own tables), bimodal
compression and reference-beat subtraction (those need the median beats of sections 4/5 to
rebuild the rhythm).
"""

from __future__ import annotations

import binascii
import datetime as dt
import struct
from typing import Any

import numpy as np

from services.ingest.ecg_files import EcgFileError, ParsedEcg, check_samples
from services.ingest.ecg_files.leads import LEAD_BY_NUMBER, complete

FMT = "SCP-ECG"
HEADER = 16  # section ID header: CRC 2, id 2, length 4, version 1, protocol 1, reserved 6
POINTER = 10  # section 0 entry: id 2, length 4, index 4 (1-based byte position)
SEX = {1: "male", 2: "female", 0: "unknown", 9: "unknown"}
# Section 1 tags (EN 1064 5.5.3.3)
LAST_NAME, FIRST_NAME, PATIENT_ID, BIRTH_DATE, SEX_TAG = 0, 1, 2, 5, 8
DEVICE, ACQ_DATE, ACQ_TIME, TIME_ZONE, END = 14, 25, 26, 34, 255
# Section 2's table count that means "the default table" (no tables follow).
DEFAULT_HUFFMAN = 19999
# The default table is a run of 1-bits closed by a 0: n ones (1-8) + 0 + a sign bit code
# +n (sign 0) or -n (sign 1); a lone 0 codes 0; nine ones + 0 are followed by the value as
# 8 bits, ten ones by the value as 16 bits (two's complement, most significant bit first).
ESCAPE_8, ESCAPE_16 = 9, 10


def crc(data: bytes) -> int:
    """CRC-CCITT (polynomial 0x1021, initial 0xFFFF), as the standard specifies."""
    return binascii.crc_hqx(data, 0xFFFF)


def parse(data: bytes) -> ParsedEcg:
    """The ECG in an SCP-ECG record; `EcgFileError` naming what is wrong."""
    try:
        return _parse(data)
    except (struct.error, IndexError) as exc:
        raise EcgFileError(f"{FMT}: truncated or inconsistent record: {exc}") from exc


def _parse(data: bytes) -> ParsedEcg:
    _check_record(data)
    sections = _pointers(data)
    huffman = 2 in sections and _default_table(_section(data, sections, 2))
    lead_ids, counts, flags = _lead_definition(_section(data, sections, 3))
    if flags & 0x01:
        raise EcgFileError(
            f"{FMT}: reference beat subtraction (sections 4/5) is not supported; "
            "send the rhythm without it"
        )
    rate, leads = _rhythm(_section(data, sections, 6), lead_ids, counts if huffman else None)
    derived = complete(FMT, leads)
    found = _patient_data(_section(data, sections, 1))
    return ParsedEcg(
        format="scp", sampling_rate_hz=rate, leads=leads, derived_leads=derived, **found
    )


def _check_record(data: bytes) -> None:
    (stored,) = struct.unpack_from("<H", data, 0)
    if crc(data[2:]) != stored:
        raise EcgFileError(f"{FMT}: record CRC mismatch")


def _pointers(data: bytes) -> dict[int, tuple[int, int]]:
    """Section id -> (start offset, length) for every present section (length > 0)."""
    header = _header(data, 6, 0)
    body = data[6 + HEADER : 6 + header]
    found: dict[int, tuple[int, int]] = {}
    for at in range(0, len(body) - POINTER + 1, POINTER):
        sid, length, index = struct.unpack_from("<HII", body, at)
        if length:
            if index < 1 or index - 1 + length > len(data):
                raise EcgFileError(f"{FMT}: section {sid} pointer outside the record")
            found[sid] = (index - 1, length)
    return found


def _header(data: bytes, start: int, sid: int) -> int:
    """Check a section's ID header and CRC; its length."""
    if start + HEADER > len(data):
        raise EcgFileError(f"{FMT}: section {sid} truncated")
    stored, found_id, length = struct.unpack_from("<HHI", data, start)
    if found_id != sid or length < HEADER or start + length > len(data):
        raise EcgFileError(f"{FMT}: section {sid} header is inconsistent")
    if crc(data[start + 2 : start + length]) != stored:
        raise EcgFileError(f"{FMT}: section {sid} CRC mismatch")
    return int(length)


def _section(data: bytes, sections: dict[int, tuple[int, int]], sid: int) -> bytes:
    if sid not in sections:
        raise EcgFileError(f"{FMT}: section {sid} is missing")
    start, _ = sections[sid]
    length = _header(data, start, sid)
    return data[start + HEADER : start + length]


def _default_table(body: bytes) -> bool:
    """Section 2 present: True when it names the default Huffman table; custom tables are
    refused by name."""
    (tables,) = struct.unpack_from("<H", body, 0)
    if tables != DEFAULT_HUFFMAN:
        raise EcgFileError(
            f"{FMT}: custom Huffman tables (section 2) are not supported; only the "
            "standard's default table is read"
        )
    return True


def _lead_definition(body: bytes) -> tuple[list[int], list[int], int]:
    """Section 3: each lead's id and sample count (end - start + 1), and the flags byte."""
    count, flags = body[0], body[1]
    ids, counts = [], []
    for n in range(count):
        start, end, lead_id = struct.unpack_from("<IIB", body, 2 + 9 * n)
        ids.append(lead_id)
        counts.append(end - start + 1)
    return ids, counts, flags


def _rhythm(
    body: bytes, lead_ids: list[int], counts: list[int] | None = None
) -> tuple[float, dict[str, list[int]]]:
    """Section 6; `counts` (section 3's samples per lead) when the data is Huffman-coded."""
    avm_nv, interval_us, difference, bimodal = struct.unpack_from("<HHBB", body, 0)
    if bimodal:
        raise EcgFileError(
            f"{FMT}: bimodal compression (section 6) is not supported; send the rhythm without it"
        )
    if not interval_us or not avm_nv:
        raise EcgFileError(f"{FMT}: section 6 has no sample interval or amplitude multiplier")
    sizes = struct.unpack_from(f"<{len(lead_ids)}H", body, 6)
    at = 6 + 2 * len(lead_ids)
    leads: dict[str, list[int]] = {}
    for n, (lead_id, size) in enumerate(zip(lead_ids, sizes, strict=True)):
        check_samples(FMT, counts[n] if counts else size // 2)
        if at + size > len(body):
            raise EcgFileError(f"{FMT}: section 6 lead data overruns the section")
        raw = (
            _default_huffman(body[at : at + size], counts[n])
            if counts
            else np.frombuffer(body, dtype="<i2", count=size // 2, offset=at).astype(np.int64)
        )
        at += size
        if (lead := LEAD_BY_NUMBER.get(lead_id)) and lead not in leads:
            uv = np.rint(_undifference(raw, difference) * (avm_nv / 1000))
            leads[lead] = uv.astype(np.int64).tolist()
    return round(1_000_000 / interval_us, 6), leads


def _default_huffman(coded: bytes, count: int) -> np.ndarray:
    """`count` values of one lead coded with the default Huffman table (see ESCAPE_8):
    one pass over the bits, each code found by the run of ones that opens it."""
    if count < 1:  # section 3's end sample before its start: nothing says how many
        raise EcgFileError(f"{FMT}: section 3 gives a Huffman-coded lead {count} samples")
    bits = "".join(f"{byte:08b}" for byte in coded)
    values = np.empty(count, dtype=np.int64)
    at = 0
    for i in range(count):
        zero = bits.find("0", at, at + ESCAPE_16)
        ones = zero - at if zero >= 0 else ESCAPE_16
        at += ones + (ones < ESCAPE_16)  # the ones, and the 0 that closes a shorter run
        if ones == 0:
            values[i] = 0
        elif ones < ESCAPE_8:
            values[i] = -ones if bits[at] == "1" else ones
            at += 1
        else:
            width = 8 if ones == ESCAPE_8 else 16
            values[i] = _twos_complement(bits[at : at + width], width)
            at += width
    if at > len(bits):
        raise EcgFileError(f"{FMT}: Huffman-coded lead data ends before its {count} samples")
    return values


def _twos_complement(bits: str, width: int) -> int:
    if len(bits) < width:
        raise EcgFileError(f"{FMT}: Huffman-coded lead data ends inside a value")
    value = int(bits, 2)
    return value - (1 << width) if value >> (width - 1) else value


def _undifference(values: np.ndarray, difference: int) -> np.ndarray:
    """Section 6 byte 5: 0 samples, 1 first differences, 2 second differences (the first
    one or two values are samples): undone by running sums, linear in the lead."""
    if difference == 0:
        return values
    if difference == 1:
        return np.cumsum(values)
    if difference == 2 and len(values) >= 2:
        steps = np.cumsum(np.concatenate(([values[1] - values[0]], values[2:])))
        return np.concatenate(([values[0]], values[0] + np.cumsum(steps)))
    raise EcgFileError(f"{FMT}: difference encoding {difference} unknown")


def _patient_data(body: bytes) -> dict[str, Any]:
    tags = _tags(body)
    found: dict[str, Any] = {
        "family": _string(tags.get(LAST_NAME)),
        "given": _string(tags.get(FIRST_NAME)),
        "patient_id": _string(tags.get(PATIENT_ID)),
        "gender": SEX.get(tags[SEX_TAG][0]) if tags.get(SEX_TAG) else None,
        "birth_date": _date(tags.get(BIRTH_DATE)),
        "acquired_at": _acquired(tags),
    }
    found.update(_device(tags.get(DEVICE)))
    return found


def _tags(body: bytes) -> dict[int, bytes]:
    tags: dict[int, bytes] = {}
    at = 0
    while at + 3 <= len(body):
        tag, length = struct.unpack_from("<BH", body, at)
        if tag == END:
            break
        tags.setdefault(tag, body[at + 3 : at + 3 + length])
        at += 3 + length
    return tags


def _string(raw: bytes | None) -> str | None:
    """A null-terminated string; UTF-8 if it decodes, else GB 18030 (Chinese carts)."""
    if not raw:
        return None
    text = raw.split(b"\0", 1)[0]
    try:
        return text.decode("utf-8").strip() or None
    except UnicodeDecodeError:
        return text.decode("gb18030", "replace").strip() or None


def _date(raw: bytes | None) -> dt.date | None:
    if not raw or len(raw) < 4:
        return None
    year, month, day = struct.unpack_from("<HBB", raw)
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _acquired(tags: dict[int, bytes]) -> dt.datetime | None:
    day, time = _date(tags.get(ACQ_DATE)), tags.get(ACQ_TIME)
    if day is None or not time or len(time) < 3:
        return None
    when = dt.datetime(day.year, day.month, day.day, time[0], time[1], time[2])
    zone = tags.get(TIME_ZONE)
    if zone and len(zone) >= 2:
        (minutes,) = struct.unpack_from("<h", zone)
        if minutes != 0x7FFF:  # "not used" per the standard
            when = when.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes)))
    return when


def _device(raw: bytes | None) -> dict[str, Any]:
    """Tag 14 (acquiring device): model description at bytes 8-13; after 35 fixed bytes a
    length-prefixed analysing program revision, then null-terminated serial number, system
    software, SCP implementation software and manufacturer trade name."""
    if not raw or len(raw) < 36:
        return {}
    model = _string(raw[8:14])
    strings = raw[36 + raw[35] :].split(b"\0")
    serial = _string(strings[0]) if strings else None
    maker = _string(strings[3]) if len(strings) > 3 else None
    return {"model": model, "device_id": serial, "manufacturer": maker}
