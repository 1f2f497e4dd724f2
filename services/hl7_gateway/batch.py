"""HL7 v2 batches (chapter 2, "batch protocol"): [FHS] BHS {MSH ... } BTS [FTS] in one MLLP
frame, as HIS send their overnight ADT or a cart its backlog.

Every message of a batch goes through the one message path (`intake.handle_message`: peer
check, profile, parse, append, ACK), in order. The answer is a response batch, [FHS] BHS
... BTS [FTS], with BHS-12 (reference batch control id) naming the original BHS-11 and BTS-1
counting the messages in it. Which ACKs it holds follows the sender's profile:
    "message" (default)  one ACK per message, in the order of the messages
    "batch"              only the ACKs of messages not accepted (AE/AR): an empty response
                         batch means all were accepted (chapter 2's exception-only mode)

The split works on bytes: CR and LF are single bytes in every character set of table 0211
we read, and the header segments are ASCII, so no message needs decoding to be found.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

from services.hl7_gateway import ack, er7
from services.hl7_gateway.errors import NON_CONFORMANT_CARDINALITY, Hl7Error, Location
from services.hl7_gateway.profiles import PeerProfile
from services.i18n import Msg

# Messages per batch frame: each is a log append; 500 bounds one frame's work (the frame
# itself is bounded in bytes by the MLLP limit).
MAX_BATCH_MESSAGES = 500
_HEADERS = (b"FHS", b"BHS")
_TRAILERS = (b"BTS", b"FTS")
_LINES = re.compile(rb"[\r\n]+")


def is_batch(payload: bytes) -> bool:
    """Does the frame start with a file or batch header?"""
    return payload.lstrip(b"\r\n \t\x00")[:3] in _HEADERS


def split(payload: bytes) -> tuple[dict[bytes, bytes], list[bytes]]:
    """({"FHS"/"BHS"/"BTS"/"FTS": that segment}, [each message's bytes, CR-separated])."""
    envelope: dict[bytes, bytes] = {}
    messages: list[list[bytes]] = []
    for line in _LINES.split(payload):
        line = line.strip(b"\x00 \t")
        if not line:
            continue
        name = line[:3]
        if name in _HEADERS or name in _TRAILERS:
            envelope.setdefault(name, line)
        elif name == b"MSH" or not messages:
            messages.append([line])
        else:
            messages[-1].append(line)
    return envelope, [b"\r".join(m) + b"\r" for m in messages]


def answer(
    payload: bytes,
    handle: Callable[[bytes], bytes],
    profile_of: Callable[[str, str], PeerProfile],
) -> bytes:
    """The response batch to a batch frame; `handle` answers one message."""
    envelope, messages = split(payload)
    header = _fields(envelope.get(b"BHS") or envelope.get(b"FHS") or b"BHS|^~\\&")
    if len(messages) > MAX_BATCH_MESSAGES:
        return _refused(messages[0], len(messages))
    try:
        mode = profile_of(_first(header, 4), _first(header, 3)).batch_ack
    except Hl7Error:  # profile unreadable: every message says so in its own ACK
        mode = "message"
    acks = [handle(message) for message in messages]
    kept = [a for a in acks if mode != "batch" or not _accepted(a)]
    accepted = sum(_accepted(a) for a in acks)
    return _envelope(envelope, kept, f"{accepted} of {len(acks)} messages accepted")


def _envelope(envelope: dict[bytes, bytes], acks: list[bytes], comment: str) -> bytes:
    """Our [FHS] BHS, the ACKs, BTS [FTS]; header fields swapped as in an ACK's MSH."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S%z")
    out = []
    if b"FHS" in envelope:
        out.append(_reply_header("FHS", _fields(envelope[b"FHS"]), now))
    out.append(_reply_header("BHS", _fields(envelope.get(b"BHS", b"BHS|^~\\&")), now))
    lines = [*out] + [a.rstrip(b"\r") for a in acks]
    lines.append(f"BTS|{len(acks)}|{er7.escape(comment)}".encode())
    if b"FHS" in envelope:
        lines.append(b"FTS|1")
    return b"\r".join(lines) + b"\r"


def _reply_header(name: str, fields: list[str], now: str) -> bytes:
    """FHS/BHS of the response: applications/facilities swapped, our control id in -11,
    theirs in -12 (reference file/batch control id)."""
    fields += [""] * (13 - len(fields))
    values = [name, "^~\\&", fields[4], fields[5], fields[2], fields[3], now, "", "", ""]
    values += [uuid.uuid4().hex[:20], fields[10]]
    return "|".join(values).encode("ascii", "replace")


def _fields(line: bytes) -> list[str]:
    """A header segment's fields (index n is field n+1, as for MSH: -1 is the separator)."""
    text = line.decode("latin-1")
    return text.split(text[3]) if len(text) > 3 else [text]


def _first(fields: list[str], position: int) -> str:
    value = fields[position - 1] if position - 1 < len(fields) else ""
    return value.split("^")[0].strip()


def _accepted(reply: bytes) -> bool:
    return b"\rMSA|AA|" in reply or b"\rMSA|CA|" in reply


def _refused(first: bytes, count: int) -> bytes:
    """One AR, echoing the first message's control id, for a batch over the limit."""
    try:
        header = er7.peek_header(first)
    except Hl7Error:
        header = None
    err = Hl7Error(
        NON_CONFORMANT_CARDINALITY,
        Msg(
            "batch of {count} messages; the limit is {limit} per frame: send smaller batches",
            count=count,
            limit=MAX_BATCH_MESSAGES,
        ),
        Location("BHS"),
        reject=True,
    )
    return ack.error(header, err)
