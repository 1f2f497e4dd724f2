"""The one write path of patient identity links, shared by HL7 v2 ADT (A40, an admission
naming the ambulance incident) and FHIR `Patient/$merge` / `$unmerge`.

Writers name both Patients by id *and* by one of the Patient's own identifiers, resolved
here from the views (Patient.identifier lookup, the incident's record): the event then says
exactly which resources it links, a rebuild folds it the same way, and a link folded before
the Patient's own events (stub) ends as the other order would (identity_to_fhir.py).

Rules checked before anything is appended (`LinkRefused`, mapped to AE or OperationOutcome):
- both Patients must exist (a link to a Patient nobody recorded is refused, not stubbed);
- a Patient never replaces itself;
- a source already replaced by *another* Patient, or a target that is itself replaced, is
  refused (unmerge first); the same link again is accepted and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

from avro_schemas.catalogue import IDENTITY
from avro_schemas.events import PATIENT_LINKED, PATIENT_UNLINKED
from kernel.ids import primary_identifier
from kernel.jsontypes import Json
from services.ingest.submit import append_event
from services.system import System
from stream_processors.fhir_projector.published import record_ref
from viewstore.base import ViewStore


class LinkRefused(ValueError):
    """A link or unlink that must not be written. `code` is a FHIR issue type (not-found,
    conflict, invalid); `role` is source or target (which Patient is at fault)."""

    def __init__(self, message: str, code: str, role: str):
        super().__init__(message)
        self.code = code
        self.role = role


@dataclass(frozen=True)
class PatientAt:
    """A Patient in the views: its id, the identifier writers name it by, its body."""

    id: str
    identifier: Json
    resource: Json


def _at(store: ViewStore, patient_id: str) -> PatientAt | None:
    stored = store.read("Patient", patient_id)
    if stored is None:
        return None
    body: Json = json.loads(stored.body)
    body.pop("meta", None)
    own = [{"system": i["system"], "value": i["value"]} for i in body.get("identifier", [])]
    return PatientAt(patient_id, dict(primary_identifier(own)), body) if own else None


def by_id(store: ViewStore, patient_id: str) -> PatientAt | None:
    """The Patient with this id, or None."""
    return _at(store, patient_id)


def by_identifier(store: ViewStore, system: str, value: str) -> PatientAt | None:
    """The Patient holding this identifier (the first by id if several do), or None."""
    hits = sorted(i for t, i in store.lookup("Patient.identifier", f"{system}|{value}"))
    found = _at(store, hits[0]) if hits else None
    return (
        PatientAt(found.id, {"system": system, "value": value}, found.resource) if found else None
    )


def by_incident(store: ViewStore, incident_id: str) -> PatientAt | None:
    """The patient of an ambulance incident (the one its FHIR resources refer to), or None."""
    stored = store.read(*record_ref(incident_id))
    record = json.loads(stored.body) if stored else {}
    return _at(store, record["patient_id"]) if record.get("patient_id") else None


def links_of(patient: PatientAt, link_type: str) -> set[str]:
    """Ids of the Patients `patient` has a link of this type to."""
    return {
        link["other"]["reference"].removeprefix("Patient/")
        for link in patient.resource.get("link", [])
        if link["type"] == link_type
    }


def check_link(source: PatientAt, target: PatientAt) -> bool:
    """Raises `LinkRefused`; returns True when the link already exists (nothing to change)."""
    if source.id == target.id:
        raise LinkRefused(
            f"source and target are the same Patient/{source.id}", "invalid", "source"
        )
    replaced_by = links_of(source, "replaced-by")
    if replaced_by - {target.id}:
        raise LinkRefused(
            f"Patient/{source.id} is already merged into Patient/"
            f"{', Patient/'.join(sorted(replaced_by))}; unmerge it first",
            "conflict",
            "source",
        )
    if links_of(target, "replaced-by"):
        raise LinkRefused(
            f"Patient/{target.id} is itself merged into another patient (inactive); "
            "merge into the surviving patient",
            "conflict",
            "target",
        )
    return target.id in replaced_by


def check_unlink(source: PatientAt, target: PatientAt) -> None:
    if target.id not in links_of(source, "replaced-by"):
        raise LinkRefused(
            f"Patient/{source.id} is not merged into Patient/{target.id}: nothing to unmerge",
            "conflict",
            "source",
        )


def meta(event_id: str, occurred_at: dt.datetime, source: Json) -> Json:
    """Event metadata; `source` is a goldenhour.common.Source (channel, device, user, site)."""
    full = {"device_id": None, "user_id": None, "site_id": None, **source}
    return {
        "event_id": event_id,
        "occurred_at": occurred_at,
        "recorded_at": dt.datetime.now(dt.UTC),
        "source": full,
    }


def linked_event(
    source: PatientAt, target: PatientAt, reason: str, meta_: Json, incident_id: str | None = None
) -> Json:
    return {
        "meta": meta_,
        "patient_key": source.id,
        "source": source.identifier,
        "target": target.identifier,
        "reason": reason,
        "source_patient_id": source.id,
        "target_patient_id": target.id,
        "incident_id": incident_id,
    }


def unlinked_event(source: PatientAt, target: PatientAt, reason: str, meta_: Json) -> Json:
    return {
        "meta": meta_,
        "patient_key": source.id,
        "source": source.identifier,
        "target": target.identifier,
        "source_patient_id": source.id,
        "target_patient_id": target.id,
        "reason": reason,
    }


def append_linked(system: System, event: Json) -> bool:
    """Append a PatientLinked (durable on return); True if its event id was already there.
    Raises `eventlog.base.LogUnavailable`."""
    return append_event(system, IDENTITY, event["patient_key"], PATIENT_LINKED, event)[3]


def append_unlinked(system: System, event: Json) -> bool:
    return append_event(system, IDENTITY, event["patient_key"], PATIENT_UNLINKED, event)[3]


def new_event_id() -> str:
    """For API writes, which carry no client id: a repeat is recognised by the views (the
    link already exists) rather than by the log."""
    return str(uuid.uuid4())
