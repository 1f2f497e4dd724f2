"""The FHIR projector as the runner sees it: its group name, its topics, its pure functions."""

from __future__ import annotations

from typing import Any

from avro_schemas.catalogue import ADT, CLINIC_ECG, IDENTITY, INCIDENT, READING
from stream_processors.fhir_projector import fold as fhir_fold
from viewstore.base import IndexEntry

Json = dict[str, Any]


class FhirProjection:
    name = "fhir-projector"
    topics = [CLINIC_ECG, READING, INCIDENT, ADT, IDENTITY]

    def refs(self, event_name: str, event: Json) -> list[tuple[str, str]]:
        return fhir_fold.refs(event_name, event)

    def fold(
        self, state: dict[tuple[str, str], Json], event_name: str, event: Json
    ) -> dict[tuple[str, str], Json]:
        return fhir_fold.fold(state, event_name, event)

    def index(self, resource: Json) -> list[IndexEntry]:
        return fhir_fold.index_entries(resource)
