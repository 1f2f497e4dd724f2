"""Hospital outcomes (topic `hospital.outcome`, written by services/fhir_api/outcome_routes.py)
-> the FHIR resources the hospital posted.

A `ProcedureReported` or `ConditionReported` carries the resource as the write path accepted
it (validated with fhir.resources R4B, id assigned, no meta): the fold stores it as the
resource's next version, so `versionId` counts the hospital's writes of it. A
`DispositionReported` sets `hospitalization.dischargeDisposition` on an Encounter the views
already hold (the hospital's Encounter from ADT); the rest of that Encounter stays what ADT
made it (hospital_to_fhir.py keeps the disposition on later ADT events). That Encounter is
fed by ADT too, so both are re-keyed by it (patient_facts.py) and the patient projector
writes it (`with_disposition`).
"""

from __future__ import annotations

import json

from avro_schemas.events import CONDITION_REPORTED, PROCEDURE_REPORTED
from kernel.jsontypes import Json
from stream_processors.adapter import Fold, Ref, Refs, State, Step


def _posted_refs(rtype: str) -> Refs:
    return lambda event: [(rtype, event["resource_id"])]


def _fold_posted(rtype: str) -> Fold:
    """The resource as posted becomes its next version."""

    def fold(state: State, event: Json) -> dict[Ref, Json]:
        return {(rtype, event["resource_id"]): json.loads(event["resource"])}

    return fold


def with_disposition(current: Json | None, fact: Json) -> Json | None:
    """The hospital Encounter with the disposition of a `DispositionStated` (the patient
    projector's fold: patient_facts.py re-keys each DispositionReported by its Encounter)."""
    if current is None:  # checked by the write path; its visits come first in the partition
        return None
    posted = json.loads(fact["resource"])
    disposition = (posted.get("hospitalization") or {}).get("dischargeDisposition")
    hospitalization = {
        **(current.get("hospitalization") or {}),
        "dischargeDisposition": disposition,
    }
    return {**current, "hospitalization": hospitalization}


OUTCOME_FOLDS: dict[str, Step] = {
    PROCEDURE_REPORTED: Step(_posted_refs("Procedure"), _fold_posted("Procedure")),
    CONDITION_REPORTED: Step(_posted_refs("Condition"), _fold_posted("Condition")),
}
