"""One ECG lead's samples as `goldenhour.common.LeadSamples.samples` carries them.

Since schema v10 the field is a union. `bytes`: the samples packed as little-endian int16,
2 bytes a sample, which Avro copies in one piece (a 10 s 12-lead at 500 Hz is 120 KB; as
60,000 varints it cost ~4 ms to encode and as much to decode). `array<int>`: what every
event before v10 holds, and what a lead keeps when one of its values does not fit in 16
bits, so a clinical signal is never clipped. `pack` is the one writer and `lead_samples`
the one reader: nothing else looks at the field's branch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

Samples = NDArray[np.signedinteger[Any]]
PACKED = np.dtype("<i2")  # little-endian whatever the host, as the schema's doc says
_LOW, _HIGH = np.iinfo(np.int16).min, np.iinfo(np.int16).max


def pack(samples: Sequence[int] | Samples) -> bytes | list[int]:
    """The `samples` field for a lead: packed int16 bytes, or the int array when a value
    is outside -32768..32767. One array conversion, no per-sample Python loop."""
    x = np.asarray(samples, dtype=np.int64)
    if not fits_int16(x):
        unpacked: list[int] = x.tolist()
        return unpacked
    return x.astype(PACKED).tobytes()


def fits_int16(samples: Samples) -> bool:
    """Is every sample within -32768..32767 (true of an empty lead)?"""
    return not samples.size or (int(samples.min()) >= _LOW and int(samples.max()) <= _HIGH)


def lead_samples(lead: Mapping[str, Any]) -> Samples:
    """A decoded `LeadSamples` record's samples as an integer array, whichever branch it
    was written with (packed: a read-only view of the event's bytes, not a copy)."""
    samples = lead["samples"]
    if isinstance(samples, bytes | bytearray | memoryview):
        return np.frombuffer(samples, dtype=PACKED)
    return np.asarray(samples, dtype=np.int64)
