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
) -> tuple[float, dict[str, np.ndarray]]:
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
    leads: dict[str, np.ndarray] = {}
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
            leads[lead] = uv.astype(np.int64)
    return round(1_000_000 / interval_us, 6), leads


def _default_huffman(coded: bytes, count: int) -> np.ndarray:
    """`count` values of one lead coded with the default Huffman table (see ESCAPE_8),
    decoded by numpy without a loop a sample: each bit position's code length is known
    from the run of ones there (`_code_lengths`); the codes' start positions are the
    chain 0, then each start + its length, followed for all samples at once by pointer
    doubling (log2(count) gathers); then every value is read at its start."""
    if count < 1:  # section 3's end sample before its start: nothing says how many
        raise EcgFileError(f"{FMT}: section 3 gives a Huffman-coded lead {count} samples")
    bits = np.unpackbits(np.frombuffer(coded, dtype=np.uint8))
    # zero padding: a code starting in the data can be read whole; reading into it is
    # refused below
    padded = np.concatenate((bits, np.zeros(LONGEST_CODE, dtype=np.uint8)))
    ones, lengths = _code_lengths(padded)
    sink = padded.size  # where a chain that ran off the padding stays
    jump = np.append(np.minimum(np.arange(sink) + lengths, sink), sink)
    starts = _chain_starts(jump, count)
    if jump[starts[-1]] > bits.size:
        raise EcgFileError(f"{FMT}: Huffman-coded lead data ends before its {count} samples")
    return _code_values(padded, starts, ones[starts])


# The longest code: ten ones, then a 16-bit value.
LONGEST_CODE = ESCAPE_16 + 16
_VALUE_BITS = {ESCAPE_8: 8, ESCAPE_16: 16}


def _code_lengths(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every bit position: the run of ones starting there (at most ESCAPE_16) and the
    length of a code starting there (a lone 0: 1; n ones: n + 0 + sign; escapes: their
    value too). `bits` must end with a 0."""
    at = np.arange(bits.size)
    # the next 0 at or after each position: a running minimum from the end
    next_zero = np.minimum.accumulate(np.where(bits == 0, at, bits.size)[::-1])[::-1]
    ones = np.minimum(next_zero - at, ESCAPE_16)
    lengths = np.where(ones == 0, 1, ones + 2)  # n ones, the 0, the sign bit
    lengths[ones == ESCAPE_8] = ESCAPE_8 + 1 + 8
    lengths[ones == ESCAPE_16] = ESCAPE_16 + 16  # no closing 0 after ten ones
    return ones, lengths


def _chain_starts(jump: np.ndarray, count: int) -> np.ndarray:
    """Positions jump^k(0) for k < count (the start of each code), by pointer doubling:
    knowing the first 2^m starts and jump^(2^m), the next 2^m are one gather away."""
    starts, step = np.zeros(1, dtype=np.int64), jump
    while starts.size < count:
        starts = np.concatenate((starts, step[starts]))
        if starts.size < count:
            step = step[step]
    return starts[:count]


def _code_values(bits: np.ndarray, starts: np.ndarray, ones: np.ndarray) -> np.ndarray:
    """The value of each code at `starts` (its run of ones given): 0; +-n by the sign
    bit after n ones and their 0; or the 8/16-bit two's complement value after an escape."""
    sign = bits[np.minimum(starts + ones + 1, bits.size - 1)]
    values = np.where(sign == 1, -ones, ones).astype(np.int64)
    for escape, width in _VALUE_BITS.items():
        chosen = np.flatnonzero(ones == escape)
        if chosen.size:
            first = starts[chosen] + ESCAPE_16  # after 9 ones and a 0, or after 10 ones
            window = bits[first[:, None] + np.arange(width)].astype(np.int64)
            raw = window @ (1 << np.arange(width - 1, -1, -1))
            values[chosen] = np.where(raw >> (width - 1), raw - (1 << width), raw)
    return values


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
