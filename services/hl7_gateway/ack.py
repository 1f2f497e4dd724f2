"""Acknowledgements (original mode): ACK^<trigger>^ACK with MSH, MSA and, on errors, ERR.

    MSH  sending/receiving application and facility swapped; a new control id; the
         original's version and processing id
    MSA  -1 AA accepted (only after the log acknowledged) | AE content error, or the log
         was unavailable (code 207: the cart retries) | AR refused as a whole (HL7 v2.5
         chapter 2.9.2: not HL7, unknown peer, unsupported type, event or version, a
         character set we cannot read, over our limits)   -2 the original's MSH-10,
         whenever the MSH could be read (it is read from the raw bytes before decoding)
         -3 a short text
    ERR  -1 ELD (v2.3/2.4 senders only)   -2 location SEG^seq^field^repetition^component
         (ERL)   -3 code^name^HL70357 (table 0357 names, errors.py)   -4 severity E
         -8 message for the user

Written in the standard encoding characters and in the character set the sender declared.
"""

from __future__ import annotations

import datetime as dt
import uuid

from services.hl7_gateway import charsets
from services.hl7_gateway.er7 import DEFAULT, MessageHeader, escape, unescape
from services.hl7_gateway.errors import Hl7Error

RECEIVER = "GOLDENHOUR"  # our MSH-3 when the sender did not name us in its MSH-5
FALLBACK_VERSION = "2.5.1"
CONTROL_ID_CHARS = 20  # MSH-10 is ST(20) in v2.5
MSA_TEXT_CHARS = 80  # MSA-3 is ST(80); the full message is in ERR-8
OLD_ERR_VERSIONS = {"2.3", "2.3.1", "2.4"}  # ERR-1 (ELD) is their only ERR field


def accept(header: MessageHeader, text: str = "") -> bytes:
    """AA: the message's event is durable in the log."""
    return encode(header, build(header, "AA", text))


def error(header: MessageHeader | None, err: Hl7Error) -> bytes:
    """AE or AR (per `err.reject`) with an ERR segment; `header` None when the frame had no
    readable MSH (a minimal AR)."""
    code = "AR" if err.reject else "AE"
    return encode(header, build(header, code, err.message, err))


def build(
    header: MessageHeader | None,
    code: str,
    text: str,
    err: Hl7Error | None = None,
    now: dt.datetime | None = None,
) -> str:
    """The ACK as ER7 text (segments separated by CR)."""
    segments = [msh(header, now or dt.datetime.now(dt.UTC)), msa(header, code, text)]
    if err is not None:
        segments.append(err_segment(err, header.version if header else ""))
    return "\r".join(segments) + "\r"


def msh(header: MessageHeader | None, now: dt.datetime) -> str:
    """Our MSH: we are the sender now, so the original's MSH-5/6 become our MSH-3/4."""
    h = header
    apps = (
        (h.receiving_application, h.receiving_facility, h.sending_application, h.sending_facility)
        if h
        else ("", "", "", "")
    )
    swapped = [_reencode(h, raw) for raw in apps]
    trigger = h.component(h.message_type, 2) if h else ""
    fields = [
        "MSH",
        DEFAULT.msh2,
        swapped[0] or RECEIVER,
        *swapped[1:],
        now.strftime("%Y%m%d%H%M%S%z"),
        "",
        f"ACK^{escape(trigger)}^ACK" if trigger else "ACK",
        uuid.uuid4().hex[:CONTROL_ID_CHARS],
        (_reencode(h, h.processing_id) if h else "") or "P",
        _version(h),
    ]
    if h and h.charset:
        fields += ["", "", "", "", "", _reencode(h, h.charset)]  # MSH-13..17, then MSH-18
    return DEFAULT.field.join(fields)


def msa(header: MessageHeader | None, code: str, text: str) -> str:
    control_id = escape(header.control_id) if header else ""
    parts = ["MSA", code, control_id] + ([escape(text[:MSA_TEXT_CHARS])] if text else [])
    return DEFAULT.field.join(parts)


def err_segment(err: Hl7Error, version: str = "") -> str:
    """ERR in the v2.5 layout (-2 ERL, -3 code, -4 severity, -8 text); for a v2.3/2.4
    sender also ERR-1 (ELD: segment^sequence^field^code&text&HL70357, the only ERR field
    those versions define), which v2.5 deprecates and later versions withdraw."""
    location = "^".join(escape(p) for p in err.location.erl()) if err.location else ""
    code = f"{err.code}^{escape(err.code_text)}^HL70357"
    eld = _eld(err) if version in OLD_ERR_VERSIONS else ""
    return DEFAULT.field.join(["ERR", eld, location, code, "E", "", "", "", escape(err.message)])


def _eld(err: Hl7Error) -> str:
    where = err.location
    parts = (
        [where.segment, str(where.sequence or ""), str(where.field or "")]
        if where
        else ["", "", ""]
    )
    sub = DEFAULT.subcomponent
    return "^".join([*map(escape, parts), f"{err.code}{sub}{escape(err.code_text)}{sub}HL70357"])


def encode(header: MessageHeader | None, text: str) -> bytes:
    """ACK bytes in the sender's declared character set (UTF-8 if none)."""
    name = header.component(header.charset.split(header.separators.repetition)[0]) if header else ""
    codec = charsets.codec_of(name) or "utf-8"
    return text.encode(codec, errors="replace")


def _reencode(header: MessageHeader | None, raw: str) -> str:
    """A raw field of the original in our encoding characters (components kept)."""
    if header is None:
        return ""
    seps = header.separators
    first = raw.split(seps.repetition)[0]
    return DEFAULT.component.join(escape(unescape(c, seps)) for c in first.split(seps.component))


def _version(header: MessageHeader | None) -> str:
    version = header.version if header else ""
    ok = version and all(part.isdigit() for part in version.split("."))
    return version if ok else FALLBACK_VERSION
