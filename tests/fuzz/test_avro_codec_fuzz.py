"""The Avro codec on arbitrary and corrupted bytes: `decode` succeeds or raises
`UndecodableEvent` (which the processors dead-letter), never anything else; and generated
valid events of every catalogued type come back from encode -> decode unchanged."""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from avro_schemas.catalogue import EVENT_TYPES
from avro_schemas.codec import HEADER_LEN, MAGIC, Codec, UndecodableEvent, load_current
from avro_schemas.lead_samples import lead_samples, pack
from tests.fuzz.avro_strategies import record_of
from tests.fuzz.budget import examples, tallied
from tests.unit.test_fhir_fold import event

ECG = "goldenhour.ecg.EcgSubmitted"
NAMES = sorted(EVENT_TYPES)


@functools.cache
def codec() -> Codec:
    return Codec()


@functools.cache
def valid_encodings() -> tuple[bytes, ...]:
    """A real ECG event's encoding (waveform shortened) to corrupt."""
    ecg = event()
    ecg["waveform"]["leads"] = [
        {**lead, "samples": pack(lead_samples(lead)[:40])} for lead in ecg["waveform"]["leads"]
    ]
    return (codec().encode(ECG, ecg),)


def decodes_or_refuses(data: bytes) -> None:
    try:
        name, record = codec().decode(data)
    except UndecodableEvent:
        return
    assert name in codec()._current and isinstance(record, dict)


@examples(2000)
@given(st.binary(max_size=200))
@tallied("avro: arbitrary bytes")
def test_decode__arbitrary_bytes_decode_or_are_undecodable(data: bytes) -> None:
    decodes_or_refuses(data)


@examples(1500)
@given(st.sampled_from(NAMES), st.binary(max_size=200))
@tallied("avro: known header, garbage body")
def test_decode__a_known_header_with_a_garbage_body_decodes_or_is_undecodable(
    name: str, body: bytes
) -> None:
    decodes_or_refuses(codec()._header[name] + body)


@st.composite
def encoded_events(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from(NAMES))
    return codec().encode(name, draw(record_of(load_current(name))))


@st.composite
def corrupted(draw: st.DrawFn) -> bytes:
    """A valid encoding with bytes flipped, cut, inserted or deleted (header kept intact
    mostly, so the body parser is what gets exercised)."""
    base = draw(st.one_of(st.sampled_from(valid_encodings()), encoded_events()))
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(HEADER_LEN, max(HEADER_LEN, len(data) - 1)))
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete", "byte"]))
        if op == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=9))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif at < len(data):
            data[at] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF]))
    return bytes(data)


@examples(2000)
@given(corrupted())
@tallied("avro: corrupted valid encodings")
def test_decode__corrupted_valid_encodings_decode_or_are_undecodable(data: bytes) -> None:
    decodes_or_refuses(data)


@examples(300)
@given(st.binary(max_size=12))
@tallied("avro: short or headerless")
def test_decode__short_or_headerless_bytes_are_undecodable(data: bytes) -> None:
    if len(data) < HEADER_LEN or data[:2] != MAGIC:
        try:
            codec().decode(data)
        except UndecodableEvent:
            return
        raise AssertionError(f"decoded {data!r}")


@st.composite
def valid_events(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(NAMES))
    return name, draw(record_of(load_current(name)))


@examples(1500)
@given(valid_events())
@tallied("avro: round trip of generated events")
def test_encode_decode__generated_events_of_every_type_round_trip(
    named: tuple[str, dict[str, Any]],
) -> None:
    name, record = named
    assert codec().decode(codec().encode(name, record)) == (name, record)
