"""The FHIR projection as its two processors fold it, in memory, for unit tests: the FHIR
projector's fold of an event, then the patient projector's fold of each fact the projector
re-keys to `patient.facts` (encoded and decoded, as they travel through the log)."""

from __future__ import annotations

from avro_schemas.codec import Codec
from kernel.jsontypes import Json
from stream_processors.fhir_projector.patients import PROCESSOR as PATIENTS
from stream_processors.fhir_projector.processor import PROCESSOR as FHIR

Ref = tuple[str, str]
CODEC = Codec()


def fold(state: dict[Ref, Json], name: str, event: Json) -> dict[Ref, Json]:
    """New content of every resource `event` changes; `state`: every resource so far. Each
    fold is given only the resources its refs name, as the runner does."""
    named = FHIR.refs(name, event)
    given = {r: state[r] for r in named if r in state}
    changed = FHIR.fold(given, name, event)
    assert set(changed) <= set(named), "a fold returned a resource its refs did not name"
    assert FHIR.emit is not None
    for fact in FHIR.emit(given, name, event):
        fact_name, body = CODEC.decode(CODEC.encode(fact.name, fact.event))
        now = {**state, **changed}
        mine = {r: now[r] for r in PATIENTS.refs(fact_name, body) if r in now}
        changed.update(PATIENTS.fold(mine, fact_name, body))
    return changed
