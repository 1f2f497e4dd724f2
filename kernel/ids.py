"""Resource ids derive from business keys (uuid5), never from counters or clocks, so the
same events always give the same ids: upserts are idempotent and rebuilds identical."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from kernel.codes import IDENTIFIER_PRECEDENCE

NAMESPACE = uuid.UUID("6b1f6f3e-8d0a-5c56-9a53-1f0c9b0e7a11")


@functools.lru_cache(maxsize=65536)  # a rebuild asks for the same ids once per event
def resource_id(resource_type: str, *parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join((resource_type, *parts))))


def primary_identifier(identifiers: Iterable[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The identifier that names a patient: by system precedence, then sorted (deterministic)."""
    ranked = sorted(
        identifiers,
        key=lambda i: (
            IDENTIFIER_PRECEDENCE.index(i["system"])
            if i["system"] in IDENTIFIER_PRECEDENCE
            else len(IDENTIFIER_PRECEDENCE),
            i["system"],
            i["value"],
        ),
    )
    if not ranked:
        raise ValueError("patient has no identifier")
    return ranked[0]


def patient_id(identifiers: Iterable[Mapping[str, Any]]) -> str:
    ident = primary_identifier(identifiers)
    return resource_id("Patient", ident["system"], ident["value"])


def ecg_observation_id(ecg_id: str) -> str:
    return resource_id("Observation", "ecg", ecg_id)
