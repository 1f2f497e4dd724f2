"""HL7 v2 and MLLP on garbage and on mutated valid messages, without sockets.

- The parsers (`read_message` + `to_ecg` / `to_adt`) return a model or raise `Hl7Error`,
  never anything else.
- `handle_frame` (one frame in, one ACK out, on a real embedded log) answers every frame
  with an ACK: AA only for a message the parser accepts, AE/AR with an ERR segment and the
  parser's own error code otherwise, never AE 207 (our internal error).
- `FrameDecoder` takes any byte stream in any chunks: it returns frames and `Oversized`
  markers or raises `FramingError`; a valid stream split anywhere gives its frames back.

hl7apy takes ~100 ms to parse one ORU^R01 skeleton, so the mutated-message tests have small
budgets; the header and framing tests, which are fast, carry the volume.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.codes import STANDARD_LEAD_ORDER
from services.hl7_gateway import er7
from services.hl7_gateway.adt_in import is_adt, to_adt
from services.hl7_gateway.errors import APPLICATION_INTERNAL_ERROR, Hl7Error
from services.hl7_gateway.intake import handle_frame
from services.hl7_gateway.mllp import END_BLOCK, FrameDecoder, FramingError, Oversized, frame
from services.hl7_gateway.oru_ecg import read_message, to_ecg
from services.settings import Settings
from services.system import System, bootstrap
from tests.ecg_payloads import ecg_payload
from tests.fuzz.budget import examples, tallied
from tests.hl7_messages import _join, lead_obxs, msh, obr, orc, pid

ADT_A01 = (
    "MSH|^~\\&|HIS|county-hospital|GOLDENHOUR|COUNTY|20261123101500+0800||ADT^A01^ADT_A01"
    "|adt-0001|P|2.5.1\r"
    "EVN|A01|20261123101500+0800\r"
    "PID|1||H-778^^^county-hospital^MR~610102196704150031^^^CHN^NNCHN||王^建国||19670415|M\r"
    "PV1|1|E|ED^3^1^county-hospital||||||||||||||||V-2026-001|||||||||||||||||||||||||"
    "20261123101200+0800|||||inc-0042^^^EMS\r"
)
# Characters that matter to ER7: separators, escapes, segment breaks, MLLP blocks, digits,
# a sign, non-ASCII text.
ER7_CHARS = st.sampled_from(list("|^~\\&\r\n\x0b\x1c\x00 .+-0123456789AEFRSTXMNHQ王é"))
ER7_TEXT = st.text(ER7_CHARS | st.characters(codec="utf-8"), max_size=30)


@functools.cache
def oru_segments() -> tuple[str, ...]:
    """A small valid ORU^R01: 2.5 s at 100 Hz, one rate OBX for all leads, measurements."""
    body = ecg_payload(ecg_id="ecg-fuzz", event_id="fuzz")
    body["leads"] = {lead: samples[:250] for lead, samples in body["leads"].items()}
    body["sampling_rate_hz"] = 100
    segments = [msh(body, "fuzz-0001", "2.5.1"), pid(body["patient"]), orc(body), obr(body)]
    for i, lead in enumerate(STANDARD_LEAD_ORDER, start=1):
        segments.append(lead_obxs(body, lead, i, "uV")[0])
    rate = {1: "13", 2: "NM", 3: "0^MDC_ATTR_SAMP_RATE^MDC", 5: "100", 6: "Hz", 11: "F"}
    segments.append(_join(rate, "OBX"))
    segments.append(_join({1: "14", 2: "NM", 3: "8867-4^Heart rate^LN", 5: "75", 6: "/min"}, "OBX"))
    return tuple(segments)


def parsed(payload: bytes) -> Hl7Error | None:
    """None if the message is valid, else the parser's refusal; anything else propagates."""
    try:
        header, segments = read_message(payload)
        if is_adt(header):
            to_adt(header, segments)
        else:
            to_ecg(header, segments)
    except Hl7Error as err:
        return err
    return None


def test_base_messages_are_valid() -> None:
    assert parsed("\r".join(oru_segments()).encode()) is None
    assert parsed(ADT_A01.encode()) is None


@st.composite
def mutated(draw: st.DrawFn, bases: tuple[tuple[str, ...], ...]) -> bytes:
    """A valid message with a few structural edits: fields replaced by ER7-ish text,
    segments dropped, duplicated or swapped, characters inserted, the end cut."""
    segments = [s.split("|") for s in draw(st.sampled_from(bases))]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(segments) - 1))
        op = draw(st.sampled_from(["field", "field", "field", "drop", "dup", "swap", "chars"]))
        if op == "field":
            j = draw(st.integers(0, len(segments[i]) + 1))
            segments[i][j : j + 1] = [draw(ER7_TEXT)]
        elif op == "drop" and len(segments) > 1:
            del segments[i]
        elif op == "dup":
            segments.insert(i, list(segments[i]))
        elif op == "swap":
            j = draw(st.integers(0, len(segments) - 1))
            segments[i], segments[j] = segments[j], segments[i]
        elif op == "chars":
            text = "|".join(segments[i])
            at = draw(st.integers(0, len(text)))
            segments[i] = (text[:at] + draw(ER7_TEXT) + text[at:]).split("|")
    text = "\r".join("|".join(s) for s in segments)
    cut = draw(st.one_of(st.none(), st.integers(0, len(text))))
    return text[:cut].encode(
        draw(st.sampled_from(["utf-8", "utf-8", "gb18030", "latin-1"])), "replace"
    )


def bases() -> tuple[tuple[str, ...], ...]:
    return (oru_segments(), tuple(s for s in ADT_A01.split("\r") if s))


@examples(400)
@given(st.data())
@tallied("hl7: mutated ORU/ADT through the parsers")
def test_parse__mutated_valid_messages_parse_or_raise_hl7_error(data: st.DataObject) -> None:
    parsed(data.draw(mutated(bases())))


MSH_PREFIXES = st.sampled_from(
    [
        "",
        "MSH|^~\\&|",
        "MSH|^~\\&|CART|clinic|GOLDENHOUR|COUNTY|20261123180215+0800||ORU^R01|c1|P|2.5.1\r",
        "MSH|^~\\&|HIS|hosp|GOLDENHOUR|COUNTY|20261123101500+0800||ADT^A08|a1|P|2.5\r",
        "MSH#$%*@|",
    ]
)


@examples(1500)
@given(MSH_PREFIXES, st.lists(ER7_TEXT, max_size=6), st.binary(max_size=20))
@tallied("hl7: garbage text and bytes after an MSH")
def test_parse__garbage_after_a_header_parses_or_raises_hl7_error(
    prefix: str, lines: list[str], tail: bytes
) -> None:
    parsed(prefix.encode() + "\r".join(lines).encode("utf-8", "replace") + tail)


@pytest.fixture(scope="module")
def system() -> Iterator[System]:
    with tempfile.TemporaryDirectory() as tmp:
        system = bootstrap(Settings(data_dir=Path(tmp), mllp_port=-1))
        yield system
        system.close()


def ack_code(ack: bytes) -> tuple[str, int | None]:
    """(MSA-1, ERR-3.1 as an int or None) of an ACK."""
    segments = er7.split_segments(er7.decode(ack))
    assert segments[0].startswith("MSH|") and "ACK" in segments[0].split("|")[8]
    fields = {s[:3]: s.split("|") for s in segments}
    err = fields.get("ERR")
    return fields["MSA"][1], int(err[3].split("^")[0]) if err else None


@examples(250)
@given(st.data())
@tallied("hl7: handle_frame ACKs (embedded log)")
def test_handle_frame__every_frame_gets_an_ack_and_aa_only_when_valid(
    system: System, data: st.DataObject
) -> None:
    payload = data.draw(st.one_of(mutated(bases()), MSH_PREFIXES.map(str.encode)))
    refusal = parsed(payload)
    code, err_code = ack_code(handle_frame(system, payload))
    assert err_code != APPLICATION_INTERNAL_ERROR, "a parse problem was answered as our failure"
    if refusal is not None:
        assert code == ("AR" if refusal.reject else "AE")
        assert err_code == refusal.code
    else:
        assert code in ("AA", "AE", "AR")  # AE/AR: e.g. a control id reused for other content
        assert (code == "AA") == (err_code is None)


# -- MLLP framing ----------------------------------------------------------------------

MLLP_BYTES = st.binary(max_size=40) | st.lists(
    st.sampled_from([b"\x0b", b"\x1c", b"\r", b"\n", b"\x1c\r", b"MSH|", b"x" * 17, b" "]),
    max_size=20,
).map(b"".join)


@examples(2000)
@given(st.lists(MLLP_BYTES, max_size=8), st.integers(1, 64))
@tallied("mllp: arbitrary chunks")
def test_decoder__arbitrary_chunks_give_frames_or_a_framing_error(
    chunks: list[bytes], limit: int
) -> None:
    decoder = FrameDecoder(max_frame_bytes=limit)
    try:
        for chunk in chunks:
            for item in decoder.feed(chunk):
                assert isinstance(item, bytes | Oversized)
                if isinstance(item, bytes):
                    assert len(item) <= limit and END_BLOCK not in item
            decoder.check()
        decoder.close()
    except FramingError:
        pass


@examples(1500)
@given(
    st.lists(st.binary(max_size=30).filter(lambda b: END_BLOCK not in b), max_size=5),
    st.lists(st.integers(0, 200), max_size=10),
    st.integers(1, 40),
)
@tallied("mllp: valid streams split anywhere")
def test_decoder__a_valid_stream_split_anywhere_gives_its_frames_back(
    payloads: list[bytes], cuts: list[int], limit: int
) -> None:
    stream = b"\r\n".join(frame(p) for p in payloads)
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    decoder = FrameDecoder(max_frame_bytes=limit)
    out = []
    for a, b in zip(points, points[1:], strict=False):
        out += decoder.feed(stream[a:b])
    decoder.close()
    expected = [p if len(p) <= limit else Oversized for p in payloads]
    assert [o if isinstance(o, bytes) else Oversized for o in out] == expected
