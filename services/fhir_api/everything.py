"""`Patient/{id}/$everything` (patient-operation-everything.html): the Patient and every
resource that references it, found through the view store's lookups.

Served inputs: `_type` (comma-separated resource types, repeatable), `_since` (an instant:
only resources whose meta.lastUpdated is at or after it), `_at` (an instant: each resource as
the view held it then, see services/fhir_api/time_travel.py for what it costs and misses),
`_count` / `_offset` paging.
The result is a searchset Bundle: the Patient first, then the others by type and id.

Merged patients (Patient.link replaces / replaced-by, from $merge, ADT A40 or an admission
naming the ambulance incident) are one person: the operation follows the links both ways,
transitively (at most `MAX_LINKED` Patients, read as of `_at` when given), and returns the
linked Patients (after the requested one, by id) and their resources too, on either id. An
unmerge removes the links, and with them the reach.
"""

from __future__ import annotations

import json

from kernel.search_params import SEARCH_PARAMS
from services.fhir_api.instants import parse_instant, parse_stored
from services.fhir_api.params import Params, once, refuse_unknown
from services.fhir_api.time_travel import Reader, parse_at, reader, refers_to
from services.outcome import FhirError
from viewstore.base import StoredResource, ViewStore

# lookup index holding "Patient/<id>" for each type that references a Patient
# Types in a patient's compartment, and the lookup index of their `patient` parameter
# (kernel/search_params.py), in Bundle order.
PATIENT_LINKS: dict[str, str] = {
    rtype: params["patient"].index for rtype, params in SEARCH_PARAMS.items() if "patient" in params
}
MERGE_LINKS = ("replaces", "replaced-by")
MAX_LINKED = 20  # Patients of one person followed through links; a longer chain is a data error
EVERYTHING_TYPES = ("Patient", *PATIENT_LINKS)
EVERYTHING_PARAMS = {"_type", "_since", "_at", "_count", "_offset", "_format"}
DEFINITION = "http://hl7.org/fhir/OperationDefinition/Patient-everything"


def parse_types(params: Params) -> set[str]:
    """`_type` values (comma lists, repeated parameters united); all types when absent."""
    raw = [t.strip() for p, v in params if p == "_type" for t in v.split(",")]
    if not raw:
        return set(EVERYTHING_TYPES)
    unknown = sorted({t for t in raw if t not in EVERYTHING_TYPES})
    if unknown:
        raise FhirError(
            400,
            f"_type: {', '.join(repr(t) for t in unknown)} not served by Patient/$everything "
            f"(one of {', '.join(EVERYTHING_TYPES)})",
            "not-supported",
            ["_type"],
        )
    return set(raw)


def everything(store: ViewStore, patient_id: str, params: Params) -> list[StoredResource]:
    """The Patient and its referencing resources, filtered, in Bundle order; 404 if no Patient."""
    refuse_unknown(params, EVERYTHING_PARAMS, "Patient/$everything")
    types = parse_types(params)
    raw_since = once(params, "_since")
    since = parse_instant(raw_since, "_since") if raw_since is not None else None
    at = parse_at(params)
    read = reader(store, at)
    patient = read("Patient", patient_id)
    if patient is None:
        when = "" if at is None else f" at {at.isoformat()}"
        raise FhirError(404, f"Patient/{patient_id} not found{when}", "not-found")
    patients = linked_patients(read, patient)
    refs = {f"Patient/{p.id}" for p in patients}
    found = list(patients) if "Patient" in types else []
    for rtype, index in PATIENT_LINKS.items():
        if rtype not in types:
            continue
        ids = sorted({i for ref in refs for t, i in store.lookup(index, ref) if t == rtype})
        linked = [r for r in (read(rtype, i) for i in ids) if r is not None]
        if at is not None:  # linked now, but was it then?
            element = index.split(".", 1)[1]
            linked = [r for r in linked if _refers(r, element, refs)]
        found.extend(linked)
    if since is None:
        return found
    return [r for r in found if parse_stored(r.last_updated) >= since]


def _refers(resource: StoredResource, element: str, refs: set[str]) -> bool:
    """`refers_to`, also for a list of references (Provenance.target)."""
    value = json.loads(resource.body).get(element)
    if isinstance(value, list):
        return any(isinstance(v, dict) and v.get("reference") in refs for v in value)
    return refers_to(resource, element, refs)


def _merge_links(patient: StoredResource) -> list[str]:
    links = json.loads(patient.body).get("link", [])
    return [
        str(link["other"]["reference"]).removeprefix("Patient/")
        for link in links
        if link.get("type") in MERGE_LINKS and "reference" in link.get("other", {})
    ]


def linked_patients(read: Reader, patient: StoredResource) -> list[StoredResource]:
    """`patient` first, then every Patient merged with it (either way, transitively) by id."""
    seen = {patient.id: patient}
    todo = _merge_links(patient)
    while todo and len(seen) < MAX_LINKED:
        rid = todo.pop()
        if rid in seen:
            continue
        found = read("Patient", rid)
        if found is not None:
            seen[rid] = found
            todo.extend(_merge_links(found))
    others = sorted((p for p in seen.values() if p.id != patient.id), key=lambda p: p.id)
    return [patient, *others]
