"""ER7 (the pipe-and-hat encoding of HL7 v2) at the byte and string level: character sets,
segment splitting, separators, escaping, the MSH header and date/times.

hl7apy parses the message structure; these helpers cover what must work *before* (or
without) it: reading the header of a message too broken to parse, so it can still be
answered, and keeping bulk numeric arrays out of hl7apy's object-per-component model.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from services.hl7_gateway import charsets
from services.hl7_gateway.errors import (
    DATA_TYPE_ERROR,
    NON_CONFORMANT_CARDINALITY,
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE_ERROR,
    TABLE_VALUE_NOT_FOUND,
    Hl7Error,
    Location,
)
from services.i18n import Msg


@dataclass(frozen=True)
class Separators:
    """The encoding characters declared in MSH-1 and MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def msh2(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent


DEFAULT = Separators()


@dataclass(frozen=True)
class MessageHeader:
    """MSH fields needed to answer a message, read without hl7apy (raw ER7 per field)."""

    separators: Separators
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    message_type: str
    control_id: str
    processing_id: str
    version: str
    charset: str
    # MSH-4.1 as the peer sent it, when its profile maps it to another organization id
    # (intake.as_organization): part of the message key, so two peers read as one
    # organization keep their control ids apart.
    sent_as: str = ""

    @property
    def message_key(self) -> str:
        """What makes a message's event id, so a resend is recognised: MSH-4.1 and MSH-10
        (with the MSH-4 the peer sent, if its profile mapped it)."""
        facility = self.component(self.sending_facility).strip()  # as `require_sender`
        sender = f"{facility}:{self.sent_as}" if self.sent_as else facility
        return f"{sender}:{self.control_id}"

    def component(self, value: str, index: int = 1) -> str:
        """Component `index` (1-based) of one of the raw fields above, unescaped."""
        parts = value.split(self.separators.component)
        return unescape(parts[index - 1], self.separators) if index <= len(parts) else ""


def require_sender(header: MessageHeader, names: str) -> str:
    """MSH-4 (sending facility, component 1) and MSH-10 (message control id), required of
    every message we accept: together they make the event id, so a resend is recognised.
    `names`: what the facility stands for in this message ("the site", "the hospital").
    Returns the sending facility; raises `Hl7Error` (HL7 table 0357 code 101: AR for
    MSH-4, the peer being unidentified; the intake fills MSH-4 from the peer's profile or
    address first, services/hl7_gateway/intake.py)."""
    facility = header.component(header.sending_facility).strip()
    if not facility:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            Msg("sending facility (MSH-4) missing: it names {what}", what=names),
            Location("MSH", 1, 4),
            reject=True,
        )
    if not header.control_id:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            Msg("message control id (MSH-10) missing"),
            Location("MSH", 1, 10),
        )
    return facility


def charset_of(payload: bytes, fallback: str = "") -> str:
    """The Python codec of a raw message: a byte order mark's, else MSH-18's, else the
    peer's `fallback` (its profile's table 0211 name), else UTF-8 (HL7 says ASCII, but
    every cart we know of sends UTF-8 or GB 18030 and names the latter). AR 103 at MSH-18
    for a name that is neither in table 0211 nor a known spelling: guessing would store
    garbled names."""
    if codec := charsets.bom_codec(payload):
        return codec
    name = charsets.declared(payload) or fallback
    if not name:
        return "utf-8"
    codec = charsets.codec_of(name)
    if codec is None:
        raise Hl7Error(
            TABLE_VALUE_NOT_FOUND,
            Msg(
                "character set {name} (MSH-18) is not in HL7 table 0211 "
                "(e.g. UNICODE UTF-8, GB 18030-2000, 8859/1, BIG-5)",
                name=repr(name),
            ),
            Location("MSH", 1, 18),
            reject=True,
        )
    return codec


def decode(payload: bytes, fallback: str = "") -> str:
    """The message text, in the character set it declares (see `charset_of`)."""
    codec = charset_of(payload, fallback)
    try:
        return payload.decode(codec)
    except UnicodeDecodeError as exc:
        raise Hl7Error(
            DATA_TYPE_ERROR,
            Msg(
                "message is not valid {codec}: {reason} at byte {position}",
                codec=codec,
                reason=exc.reason,
                position=exc.start,
            ),
            Location("MSH", 1, 18),
            reject=True,
        ) from exc


def peek_header(payload: bytes) -> MessageHeader:
    """The MSH of a raw message read before decoding it (MSH is ASCII up to MSH-18, see
    charsets.py): enough to name the peer and echo MSH-10 in any answer. Non-ASCII bytes
    in it come out as Latin-1 characters. Raises `Hl7Error` (reject) if it is not HL7."""
    first: list[str] = []
    for segment in _head_segments(payload):  # one at a time: the MSH is first, or nearly
        if segment.startswith("MSH"):
            return read_header([segment])
        first = first or [segment]  # not HL7 if no MSH follows: read_header says why
    return read_header(first)


_LINE = re.compile(rb"[^\r\n]+")


def _head_segments(payload: bytes) -> Iterator[str]:
    """The non-empty segments in the first `charsets.HEAD_BYTES` of a raw frame, as
    `split_segments` cuts them, Latin-1 decoded, found lazily."""
    for line in _LINE.finditer(payload[: charsets.HEAD_BYTES]):
        segment = line.group().strip(b"\x00 \t")
        if segment:
            yield segment.decode("latin-1")


def split_segments(text: str) -> list[str]:
    """Segments of a message; accepts CR (the standard), LF and CRLF, skips empty lines."""
    if "\n" in text:  # a one-byte search; replacing costs ~0.3 ms on a 200 KB ORU
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    return [s for s in (seg.strip("\x00 \t") for seg in text.split("\r")) if s]


def separators_of(msh: str) -> Separators:
    """Encoding characters of an MSH segment; refuses anything that is not an MSH."""
    if not msh.startswith("MSH") or len(msh) < 8 or msh[3].isalnum():
        raise Hl7Error(
            SEGMENT_SEQUENCE_ERROR,
            Msg(
                "not an HL7 v2 message: it must start with an MSH segment and its encoding "
                "characters"
            ),
            Location("MSH"),
            reject=True,
        )
    chars = msh[4:8]
    if len(set(chars + msh[3])) != 5:
        raise Hl7Error(
            DATA_TYPE_ERROR,
            Msg(
                "MSH-2 encoding characters {chars} are not 4 distinct characters", chars=repr(chars)
            ),
            Location("MSH", 1, 2),
            reject=True,
        )
    return Separators(msh[3], chars[0], chars[1], chars[2], chars[3])


def read_header(segments: list[str]) -> MessageHeader:
    """The MSH of a message, as raw fields. MSH-n is `fields[n - 1]` since MSH-1 is the
    field separator itself."""
    if not segments:
        raise Hl7Error(SEGMENT_SEQUENCE_ERROR, Msg("empty message"), Location("MSH"), reject=True)
    seps = separators_of(segments[0])
    fields = segments[0].split(seps.field)
    fields += [""] * (19 - len(fields))
    return MessageHeader(
        seps,
        fields[2],
        fields[3],
        fields[4],
        fields[5],
        fields[8],
        unescape(fields[9], seps),
        fields[10],
        fields[11].split(seps.component)[0],
        fields[17],
    )


def components(raw: str, seps: Separators, count: int = 6) -> list[str]:
    """Unescaped, stripped components of the first repetition of a raw field, padded with
    empty strings to at least `count`."""
    parts = [unescape(p, seps).strip() for p in raw.split(seps.repetition)[0].split(seps.component)]
    return parts + [""] * (count - len(parts))


def escape(text: str, seps: Separators = DEFAULT) -> str:
    """Text made safe for one ER7 field component (escape char first, then the others)."""
    out = text.replace(seps.escape, f"{seps.escape}E{seps.escape}")
    for char, code in (
        (seps.field, "F"),
        (seps.component, "S"),
        (seps.subcomponent, "T"),
        (seps.repetition, "R"),
    ):
        out = out.replace(char, f"{seps.escape}{code}{seps.escape}")
    return " ".join(out.split("\r")).replace("\n", " ")


def unescape(text: str, seps: Separators = DEFAULT) -> str:
    """Text of an ER7 value: \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ restored, \\.br\\ as a line break,
    other escapes (highlighting, hex) dropped."""
    if seps.escape not in text:
        return text
    esc = re.escape(seps.escape)
    plain = {
        "F": seps.field,
        "S": seps.component,
        "T": seps.subcomponent,
        "R": seps.repetition,
        "E": seps.escape,
        ".br": "\n",
    }
    return re.sub(f"{esc}([^{esc}]*){esc}", lambda m: plain.get(m.group(1), ""), text)


_DTM = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?"
    r"([+-]\d{4})?$"
)


def parse_dtm(value: str, where: Location, *, local: dt.tzinfo | None = None) -> dt.datetime:
    """An HL7 DTM/TS (YYYYMMDDHHMM[SS[.SSSS]][+/-ZZZZ]) with at least minute precision.
    A time without UTC offset is read in the sender's zone `local` (its profile's: hospital
    systems send local time); with `local` None it is refused, a local time without its
    zone not being an instant."""
    m = _DTM.match(value.split("^")[0].strip())
    if not value.strip():
        raise Hl7Error(REQUIRED_FIELD_MISSING, Msg("date/time missing"), where)
    if not m or m.group(5) is None:
        raise Hl7Error(
            DATA_TYPE_ERROR,
            Msg("{value} is not a date/time YYYYMMDDHHMM[SS[.S]][+/-ZZZZ]", value=repr(value)),
            where,
        )
    if local is None and m.group(8) is None:
        raise Hl7Error(
            DATA_TYPE_ERROR,
            Msg(
                "{value} has no UTC offset (+/-ZZZZ); the device time must say its offset, "
                "e.g. 20261123180211+0800",
                value=repr(value),
            ),
            where,
        )
    found = _to_datetime(m, value, where)
    return found if found.tzinfo is not None else found.replace(tzinfo=local)


def _to_datetime(m: re.Match[str], value: str, where: Location) -> dt.datetime:
    y, mo, d, h, mi, s, frac, off = m.groups()
    tz = None
    if off:
        sign = 1 if off[0] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(off[1:3]), minutes=int(off[3:5])))
    try:
        return dt.datetime(
            int(y),
            int(mo or 1),
            int(d or 1),
            int(h or 0),
            int(mi or 0),
            int(s or 0),
            int((frac or "0").ljust(6, "0")[:6]),
            tzinfo=tz,
        )
    except ValueError as exc:
        raise Hl7Error(
            DATA_TYPE_ERROR,
            Msg("{value} is not a valid date/time: {reason}", value=repr(value), reason=str(exc)),
            where,
        ) from exc


def parse_date(value: str, where: Location) -> dt.date | None:
    """A DT/DTM reduced to its date; None when only the year or month is known."""
    digits = value.split("^")[0].strip()[:8]
    if len(digits) < 8:
        return None
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError as exc:
        raise Hl7Error(
            DATA_TYPE_ERROR, Msg("{value} is not a date YYYYMMDD", value=repr(value)), where
        ) from exc


# -- segments ----------------------------------------------------------------------------

# What one message may hold. A 12-lead ECG is ~40 segments and an ADT with next of kin,
# allergies, diagnoses and insurance rarely 100; 1000 leaves room for verbose senders while
# bounding the work a frame can ask for (a 4 MiB frame of 20 000 tiny OBXs is refused at
# once, not parsed).
MAX_SEGMENTS = 1000
_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")


@dataclass(frozen=True)
class RawSegment:
    """One segment as raw ER7: `fields[n]` is field n (for MSH, `fields[n]` is MSH-(n+1),
    MSH-1 being the separator itself)."""

    name: str
    fields: list[str]


def require_bounded(segments: list[str]) -> None:
    """AR when a message has more segments than we take (checked before any parsing)."""
    if len(segments) > MAX_SEGMENTS:
        raise Hl7Error(
            NON_CONFORMANT_CARDINALITY,
            Msg(
                "message has {count} segments; the limit is {limit} per message",
                count=len(segments),
                limit=MAX_SEGMENTS,
            ),
            Location("MSH"),
            reject=True,
        )


def parse_segments(segments: list[str], seps: Separators) -> list[RawSegment]:
    """The message's segments split into raw fields, in one linear pass (no object per
    component: hl7apy's model took ~100 ms per message and does not know v2.7.1). A line
    whose id is not 3 capitals/digits is AE 100 at its position."""
    require_bounded(segments)
    out = []
    for position, text in enumerate(segments, start=1):
        fields = text.split(seps.field)
        if not _SEGMENT_ID.match(fields[0]):
            raise Hl7Error(
                SEGMENT_SEQUENCE_ERROR,
                Msg(
                    "line {line} ({start}) is not an HL7 segment",
                    line=position,
                    start=repr(fields[0][:10]),
                ),
                Location(fields[0][:3] or "MSH"),
            )
        out.append(RawSegment(fields[0], fields))
    return out
