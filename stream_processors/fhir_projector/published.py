"""What services may use of the FHIR projection: the ids of the incident's Encounter, Composition
and record, and the identity folds the $link operations preview.
"""

from __future__ import annotations

from stream_processors.fhir_projector.identity_to_fhir import fold_linked, fold_unlinked
from stream_processors.fhir_projector.incident.encounter import encounter_id
from stream_processors.fhir_projector.incident.handover import composition_id
from stream_processors.fhir_projector.incident.record import record_ref

__all__ = [
    "composition_id",
    "encounter_id",
    "fold_linked",
    "fold_unlinked",
    "record_ref",
]
