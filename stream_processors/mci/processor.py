"""The MCI processor as the runner sees it: `command.mci` (key mci_id) and
`command.capacity` (key hospital_id).

| event                     | writes                                                     |
|---------------------------|------------------------------------------------------------|
| MciDeclared, MciClosed    | MciState                                                   |
| CasualtyTriaged           | MciState, MciCasualty, Patient (first tag), Encounter, Flag|
| CasualtyAssigned          | MciState, MciCasualty, Encounter                           |
| HospitalCapacityReported  | HospitalCapacity                                           |

A casualty's resources are in the compartment `incident/<mci>/<casualty>`
(stream_processors/jurisdiction.py), granted by its MciCasualty's index to its station and
its current destination only: a hospital sees the casualties sent to it, not the whole MCI,
and a reassigned casualty leaves the first hospital's view (the runner drops the old grant).
"""

from __future__ import annotations

from avro_schemas.catalogue import CAPACITY, MCI
from avro_schemas.events import (
    CASUALTY_ASSIGNED,
    CASUALTY_TRIAGED,
    HOSPITAL_CAPACITY_REPORTED,
    MCI_CLOSED,
    MCI_DECLARED,
)
from kernel.jsontypes import Json
from kernel.jurisdiction import casualty as casualty_compartment
from kernel.search_params import index_entries as search_index_entries
from stream_processors.adapter import Changes, Processor, Ref, State, Step, one_document
from stream_processors.jurisdiction import grant_entries
from stream_processors.mci import to_fhir
from stream_processors.mci.capacity import CAPACITY as CAPACITY_TYPE
from stream_processors.mci.capacity import capacity_id, fold_capacity
from stream_processors.mci.casualty import (
    RECORD,
    STATE,
    casualty_record,
    casualty_record_id,
    fold_state,
    mci_state_id,
)
from viewstore.base import IndexEntry

ALL_KEY = "all"
MCI_INDEX = "MciState.all"  # key ALL_KEY: every MCI ever declared
CAPACITY_INDEX = "HospitalCapacity.all"  # key ALL_KEY: every hospital that reported
EXPECTED_INDEX = "MciCasualty.hospital"  # key hospital id: casualties sent there


def _state_ref(e: Json) -> Ref:
    return STATE, mci_state_id(e["mci_id"])


def _record_ref(e: Json) -> Ref:
    return RECORD, casualty_record_id(e["mci_id"], e["casualty_id"])


def _triaged_refs(e: Json) -> list[Ref]:
    return [_state_ref(e), _record_ref(e), *to_fhir.refs(e["mci_id"], e["casualty_id"])]


def _assigned_refs(e: Json) -> list[Ref]:
    encounter = ("Encounter", to_fhir.encounter_id(e["mci_id"], e["casualty_id"]))
    return [_state_ref(e), _record_ref(e), encounter]


def _mci_only(state: State, e: Json, name: str) -> Changes:
    return {_state_ref(e): fold_state(state.get(_state_ref(e)), name, e)}


def _triaged(state: State, e: Json) -> Changes:
    mci = fold_state(state.get(_state_ref(e)), CASUALTY_TRIAGED, e)
    mci_id, cid = e["mci_id"], e["casualty_id"]
    first_at = mci["casualties"][cid]["history"][0]["at"]
    changes: Changes = {
        _state_ref(e): mci,
        _record_ref(e): casualty_record(mci, mci_id, cid),
        ("Encounter", to_fhir.encounter_id(mci_id, cid)): to_fhir.encounter(mci, cid, first_at),
        ("Flag", to_fhir.flag_id(mci_id, cid)): to_fhir.flag(mci, cid, e),
    }
    patient_ref = ("Patient", to_fhir.patient_id(mci_id, cid))
    if patient_ref not in state:  # a re-triage changes the tag, not the person
        changes[patient_ref] = to_fhir.patient(mci_id, cid, e)
    return changes


def _assigned(state: State, e: Json) -> Changes:
    mci = fold_state(state.get(_state_ref(e)), CASUALTY_ASSIGNED, e)
    mci_id, cid = e["mci_id"], e["casualty_id"]
    changes: Changes = {_state_ref(e): mci, _record_ref(e): casualty_record(mci, mci_id, cid)}
    history = mci["casualties"][cid].get("history")
    if history:  # an Encounter exists once the casualty was tagged
        start = history[0]["at"]
        encounter_ref = ("Encounter", to_fhir.encounter_id(mci_id, cid))
        changes[encounter_ref] = to_fhir.encounter(mci, cid, start)
    return changes


def _capacity(before: Json | None, name: str, e: Json) -> Json | None:
    after = fold_capacity(before, name, e)
    return None if after is before else after


def _index(resource: Json) -> list[IndexEntry]:
    """The lookups: the summaries' lists, a casualty's FHIR search parameters (declared in
    kernel/search_params.py, as for every FHIR resource), its grants and its hospital."""
    rtype, rid = resource["resourceType"], resource["id"]
    if rtype == STATE:
        return [IndexEntry(MCI_INDEX, ALL_KEY, rtype, rid)]
    if rtype == CAPACITY_TYPE:
        return [IndexEntry(CAPACITY_INDEX, ALL_KEY, rtype, rid)]
    if rtype != RECORD:  # a casualty's FHIR resources: their search parameters
        return search_index_entries(resource)
    compartment = casualty_compartment(resource["mci_id"], resource["casualty_id"])
    out = grant_entries(compartment, [resource["station_id"], resource["hospital_id"]])
    if resource["hospital_id"]:
        out.append(IndexEntry(EXPECTED_INDEX, resource["hospital_id"], rtype, rid))
    return out


PROCESSOR = Processor(
    name="mci",
    topics=[MCI, CAPACITY],
    folds={
        MCI_DECLARED: Step(lambda e: [_state_ref(e)], lambda s, e: _mci_only(s, e, MCI_DECLARED)),
        MCI_CLOSED: Step(lambda e: [_state_ref(e)], lambda s, e: _mci_only(s, e, MCI_CLOSED)),
        CASUALTY_TRIAGED: Step(_triaged_refs, _triaged),
        CASUALTY_ASSIGNED: Step(_assigned_refs, _assigned),
        **one_document(
            [HOSPITAL_CAPACITY_REPORTED],
            lambda e: (CAPACITY_TYPE, capacity_id(e["hospital_id"])),
            _capacity,
        ),
    },
    index=_index,
)
