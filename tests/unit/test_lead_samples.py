"""ECG samples packed as little-endian int16 in `LeadSamples.samples` (schema v10,
avro_schemas/lead_samples.py): packing and reading both branches, and the guarantee views
rely on: an event written before v10 (int array) and a packed one of the same samples fold
to the same FHIR bytes and the same measurements."""

from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np
import pytest
from fastavro import schemaless_writer

from avro_schemas.codec import MAGIC, Codec, fingerprint_of, released_versions
from avro_schemas.events import ECG_SUBMITTED
from avro_schemas.lead_samples import lead_samples, pack
from kernel.canonical_json import canonical_json
from stream_processors.ecg_measurement.processor import measured_event
from stream_processors.fhir_projector.ecg_to_fhir import sampled_data_text
from stream_processors.fhir_projector.fold import fold, refs
from tests.unit.test_fhir_fold import event

INT16_EDGES = [-32768, -32767, -1, 0, 1, 32766, 32767]


def test_pack__int16_edges_are_little_endian_two_bytes_each() -> None:
    packed = pack(INT16_EDGES)
    assert packed == struct.pack(f"<{len(INT16_EDGES)}h", *INT16_EDGES)
    assert lead_samples({"samples": packed}).tolist() == INT16_EDGES


def test_pack__an_array_packs_as_its_list_does() -> None:
    assert pack(np.array(INT16_EDGES, dtype=np.int64)) == pack(INT16_EDGES)


@pytest.mark.parametrize("outside", [32768, -32769, 2**31 - 1])
def test_pack__a_value_outside_int16_keeps_the_int_array_unclipped(outside: int) -> None:
    samples = [0, outside, -5]
    assert pack(samples) == samples
    assert lead_samples({"samples": pack(samples)}).tolist() == samples


def test_pack__an_empty_lead_is_empty_bytes_and_reads_back_empty() -> None:
    assert pack([]) == b""
    assert lead_samples({"samples": b""}).size == 0
    assert lead_samples({"samples": []}).size == 0


def test_lead_samples__an_int_array_written_before_v10_reads_as_is() -> None:
    assert lead_samples({"samples": [3, -40000, 7]}).tolist() == [3, -40000, 7]


@pytest.mark.parametrize(
    ("samples", "text"),
    [([], ""), ([-7], "-7"), ([-32768, 0, 32767], "-32768 0 32767"), ([40000, -1], "40000 -1")],
)
def test_sampled_data_text__decimal_integers_separated_by_one_space(
    samples: list[int], text: str
) -> None:
    assert sampled_data_text(lead_samples({"samples": pack(samples)})) == text
    assert sampled_data_text(np.array(samples, dtype=np.int64)) == text


def _v9_encoded(e: dict[str, Any]) -> bytes:
    """`e` as a v9 writer wrote it: every lead's samples an int array."""
    v9 = next(s for v, name, s in released_versions() if (v, name) == (9, ECG_SUBMITTED))
    leads = [{**lead, "samples": lead_samples(lead).tolist()} for lead in e["waveform"]["leads"]]
    buf = io.BytesIO()
    schemaless_writer(buf, v9, {**e, "waveform": {**e["waveform"], "leads": leads}})
    return MAGIC + fingerprint_of(v9) + buf.getvalue()


def _folded(e: dict[str, Any]) -> dict[tuple[str, str], bytes]:
    return {ref: canonical_json(r) for ref, r in fold({}, ECG_SUBMITTED, e).items()}


def test_v9_int_array_and_packed_events_fold_to_identical_fhir_and_measurements() -> None:
    codec, e = Codec(), event()
    _, old = codec.decode(_v9_encoded(e))
    _, new = codec.decode(codec.encode(ECG_SUBMITTED, e))
    assert isinstance(old["waveform"]["leads"][0]["samples"], list)
    assert isinstance(new["waveform"]["leads"][0]["samples"], bytes)
    assert refs(ECG_SUBMITTED, old) == refs(ECG_SUBMITTED, new)
    assert _folded(old) == _folded(new)
    assert measured_event(old) == measured_event(new)


def test_a_lead_outside_int16_survives_the_codec_unclipped() -> None:
    e = event()
    lead = e["waveform"]["leads"][0]
    values = lead_samples(lead).tolist()
    values[10] = 45_000
    lead["samples"] = pack(values)
    _, back = Codec().decode(Codec().encode(ECG_SUBMITTED, e))
    assert lead_samples(back["waveform"]["leads"][0]).tolist() == values
