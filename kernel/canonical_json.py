"""The one serialisation of a stored resource, at compiled speed.

The canonical form is what `json.dumps(doc, sort_keys=True, separators=(",", ":"),
ensure_ascii=False).encode()` writes: sorted keys, no spaces, UTF-8. Stored bodies are those
bytes, and a rebuild must reproduce them byte for byte, so the fast path (orjson, ~5x
faster: a rebuild serialises every version it writes) is used only where it writes the
same bytes, and the standard library writes the rest:
- floats Python writes with an exponent (|x| < 1e-4 or >= 1e16): orjson writes `1e-7` or
  `0.00001` where Python writes `1e-07` or `1e-05`;
- NaN and Infinity: orjson writes `null`, Python `NaN` / `Infinity` (a body with a `null`
  is read back and compared: Python's NaN is not equal to the None it comes back as);
- what orjson refuses (ints beyond 64 bits, non-string keys, depth over 254) or would
  write where the standard library raises (datetimes, dataclasses, str/int subclasses:
  passed through to the standard library, which raises or writes them as before).
tests/unit/test_canonical_json.py checks the two agree on real resources and edge cases.
"""

from __future__ import annotations

import json
import re

import orjson

from kernel.jsontypes import Json

_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
# A float Python writes with an exponent is written by orjson either with one (`e-7`,
# `e+16`) or, for 1e-5 <= |x| < 1e-4, as `0.0000...`; a number token ends at `,`, `}` or
# `]`, which tells it from a timestamp (`00.000000Z`) or an id (`971e-775675a7`). Text
# that looks like one ("1e-5," in a string) only sends the document to the standard
# library for nothing, never the other way. Two literal-prefix searches: a single
# pattern over the whole body costs more than the standard library's serialisation.
_DIFFERING_FLOATS = (re.compile(rb"e[-+]\d+[,}\]]"), re.compile(rb"0\.0000\d*[,}\]]"))


def canonical_json(doc: Json) -> bytes:
    """The one serialisation of a resource: sorted keys, no spaces, UTF-8."""
    try:
        out = orjson.dumps(doc, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return stdlib_canonical_json(doc)
    return stdlib_canonical_json(doc) if _may_differ(doc, out) else out


def _may_differ(doc: Json, out: bytes) -> bool:
    """Whether json.dumps might write `doc` otherwise than orjson wrote `out` (see above)."""
    if any(pattern.search(out) for pattern in _DIFFERING_FLOATS):
        return True
    # A `null` is None or NaN/Infinity (internal views hold Nones): read back, NaN differs.
    return b"null" in out and orjson.loads(out) != doc


def stdlib_canonical_json(doc: Json) -> bytes:
    """The definition of the canonical form (and the fallback of `canonical_json`)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
