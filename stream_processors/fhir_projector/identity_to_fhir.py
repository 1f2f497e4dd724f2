"""Patient identity links (topic `identity.links`) -> Patient.link / active and a Provenance.

`PatientLinked` (source -> target, e.g. an unidentified ambulance patient -> the hospital's
patient): the source gets `link replaced-by target` (and so `active: false`), the target
`link replaces source`, and a Provenance (activity ISO 21089 `merge`) records who linked
them, when and why. `PatientUnlinked` (unmerge) removes exactly those two link entries, so
both Patients are again what they were before the link (their `active` is derived from
their links); its own Provenance (`unmerge`) is added, the merge's is kept: the history of
who did what is not undone.

Who writes what: the FHIR projector the Provenance (`provenance_only`); each Patient's side
(`link_side`) is re-keyed by that Patient to `patient.facts` (patient_facts.py) and written
by the patient projector (patients.py), as every Patient fact is. `fold_linked` and
`fold_unlinked` give both at once, for the $merge / $unmerge answers.

Order: what the folds here commute with, and what they do not.
- Links vs. every other Patient event (ECGs, incidents, ADT, from other topics): they
  commute. `merge_patient` carries `link`/`active` over untouched and the folds here touch
  nothing else, so a Patient's current body does not depend on which came first. A link to
  a Patient not seen yet creates a stub (id and the identifier that named it), into which
  its later events merge; the result equals the other order because writers name a
  Patient by one of its own identifiers (services/ingest/patient_links.py resolves them).
- A link and the unlink of the same pair do NOT commute (unlink-then-link leaves a link).
  Both are keyed by the source Patient's id, so they are in one partition, in log order,
  live and on a rebuild alike.
- Two links of one source to different targets: writers refuse a source that is already
  replaced by another patient; if two raced, the source would keep both links (a set), and
  the result is still independent of their order.
"""

from __future__ import annotations

from kernel.codes import DEVICE_ID, SITE_ID
from kernel.ids import patient_id, resource_id
from kernel.jsontypes import Json
from kernel.time import instant
from stream_processors.adapter import Fold, Ref, State
from stream_processors.fhir_projector.patient_to_fhir import add_link, remove_link, stub_patient

LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
ACTIVITY = {"merge": "Merge Record Lifecycle Event", "unmerge": "Unmerge Record Lifecycle Event"}
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
USER_ID = "https://goldenhour.health/sid/user-id"


def source_id(event: Json) -> str:
    """The source Patient's id: as the writer resolved it, else derived from its identifier."""
    return str(event.get("source_patient_id") or patient_id([event["source"]]))


def target_id(event: Json) -> str:
    return str(event.get("target_patient_id") or patient_id([event["target"]]))


def provenance_id(event_id: str) -> str:
    return resource_id("Provenance", "identity", event_id)


def link_refs(event: Json) -> list[Ref]:
    return [
        ("Patient", source_id(event)),
        ("Patient", target_id(event)),
        ("Provenance", provenance_id(event["meta"]["event_id"])),
    ]


def link_side(
    patient: Json | None, rid: str, identifier: Json, other_id: str, link_type: str, linked: bool
) -> Json | None:
    """One Patient's side of a link (`linked`) or unlink: its link to `other_id` added (a stub
    named by `identifier` if it is not known yet) or removed (None: unknown, left unknown)."""
    if linked:
        return add_link(patient or stub_patient(rid, identifier), other_id, link_type)
    return None if patient is None else remove_link(patient, other_id, link_type)


def link_sides(event: Json) -> list[tuple[Ref, Json, str, str]]:
    """Each Patient a link event changes: its ref, the identifier naming it, the other's id
    and its link-type to it (none when a Patient would link to itself: writers refuse it)."""
    source_ref, target_ref, _ = link_refs(event)
    if source_ref == target_ref:
        return []
    return [
        (source_ref, event["source"], target_ref[1], "replaced-by"),
        (target_ref, event["target"], source_ref[1], "replaces"),
    ]


def _fold_sides(state: State, event: Json, linked: bool) -> dict[Ref, Json]:
    out: dict[Ref, Json] = {}
    for ref, identifier, other, link_type in link_sides(event):
        after = link_side(state.get(ref), ref[1], identifier, other, link_type, linked)
        if after is not None:
            out[ref] = after
    return out


def fold_linked(state: State, event: Json) -> dict[Ref, Json]:
    """Source replaced-by target, target replaces source (stubs for unseen Patients)."""
    sides = _fold_sides(state, event, linked=True)
    return {**sides, link_refs(event)[2]: provenance(event, "merge")} if sides else {}


def fold_unlinked(state: State, event: Json) -> dict[Ref, Json]:
    """The two link entries of the pair removed; an unknown Patient is left unknown."""
    return {link_refs(event)[2]: provenance(event, "unmerge"), **_fold_sides(state, event, False)}


def provenance_only(fold: Fold) -> Fold:
    """The FHIR projector's part of a link or unlink: its Provenance. The Patients' sides
    are re-keyed to `patient.facts` (patient_facts.py) and folded by the patient projector
    (patients.py); the projector loads them only for the Provenance's compartments."""

    def only(state: State, event: Json) -> dict[Ref, Json]:
        return {ref: r for ref, r in fold(state, event).items() if ref[0] == "Provenance"}

    return only


def provenance(event: Json, activity: str) -> Json:
    """Who linked (or unlinked) the two Patients, when, and why."""
    meta = event["meta"]
    return {
        "resourceType": "Provenance",
        "id": provenance_id(meta["event_id"]),
        "target": [
            {"reference": f"Patient/{source_id(event)}"},
            {"reference": f"Patient/{target_id(event)}"},
        ],
        "occurredDateTime": instant(meta["occurred_at"]),
        "recorded": instant(meta["recorded_at"]),
        "activity": {
            "coding": [{"system": LIFECYCLE, "code": activity, "display": ACTIVITY[activity]}]
        },
        **({"reason": [{"text": event["reason"]}]} if event.get("reason") else {}),
        "agent": agents(meta["source"]),
    }


def agents(source: Json) -> list[Json]:
    """The author: the user when known (on behalf of the site), else the device, else the
    site (e.g. a hospital's HIS); the channel when nothing else names it."""
    site = (
        {"type": "Organization", "identifier": {"system": SITE_ID, "value": source["site_id"]}}
        if source.get("site_id")
        else None
    )
    if source.get("user_id"):
        who: Json = {
            "identifier": {"system": USER_ID, "value": source["user_id"]},
            "display": source["user_id"],
        }
    elif source.get("device_id"):
        who = {"type": "Device", "identifier": {"system": DEVICE_ID, "value": source["device_id"]}}
    elif site:
        who, site = site, None
    else:
        who = {"display": f"goldenhour {source['channel']} client"}
    author = {"coding": [{"system": PARTICIPANT_TYPE, "code": "author", "display": "Author"}]}
    return [{"type": author, "who": who, **({"onBehalfOf": site} if site else {})}]
