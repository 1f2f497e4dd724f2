"""Which compartments an event puts the resources it touches in (kernel/jurisdiction.py has
the model). The runner applies this to every resource every processor writes, so no fold
can forget it; a fold may add its own labels (a Subscription's owner, the registry's
`public`) in the resource's `meta.security`, and the runner keeps them.

| topic (key)               | compartments of what its events touch                         |
|---------------------------|---------------------------------------------------------------|
| ems.incident (incident)   | `incident/<id>` (granted to the station and destinations)    |
| clinic.ecg (ecg)          | `ecg/<id>`, `org/<submitting site>`, `incident/<id>` if the   |
|                           | ECG was taken on an ambulance                                 |
| diagnosis.reading (ecg)   | `ecg/<id>` (granted to the clinic and the reading centre)    |
| hospital.adt (patient)    | `org/<hospital>` (the sender of the ADT)                     |
| hospital.outcome (patient)| `org/<hospital>` (the reporting hospital, from its token),    |
|                           | `incident/<id>` and `ecg/<id>` of its ECGs when the outcome   |
|                           | names the ambulance Encounter: the crew's station and the     |
|                           | reading centre see the outcome of their patient               |
| identity.links            | a Provenance: the union of the linked Patients' compartments; |
|                           | the Patients keep their own (an unlink restores them exactly) |
| patient.facts (Patient)   | those the fact carries: what its source event (above) gave    |
|                           | the Patient when the FHIR projector re-keyed it               |
| command.mci (mci)         | a casualty's resources: `incident/<mci>/<casualty>` (granted  |
|                           | to its station and its destination); the MCI summary: none    |
| command.* others          | none (capacity, escorts, alerts: no patient data)             |
| others                    | none from the event (audit: admin only; subscriptions and the |
|                           | registry are labelled by their folds)                         |
"""

from __future__ import annotations

from avro_schemas.catalogue import (
    ADT,
    CLINIC_ECG,
    IDENTITY,
    INCIDENT,
    MCI,
    OUTCOME,
    PATIENT_FACTS,
    READING,
)
from kernel import jurisdiction as j
from kernel.jsontypes import Json
from viewstore.base import IndexEntry


def event_compartments(
    topic: str, key: str, event: Json, resource_type: str, loaded: set[str]
) -> set[str]:
    """Compartments a resource of `resource_type` gains from this event; `loaded` is the
    union of the compartments of every resource the event's fold was given."""
    if topic == INCIDENT:
        return {j.incident(key)}
    if topic == CLINIC_ECG:
        codes = {j.ecg(key)}
        if site := (event.get("site") or {}).get("id"):
            codes.add(j.org(site))
        if incident_id := event.get("incident_id"):
            codes.add(j.incident(incident_id))
        return codes
    if topic == READING:
        return {j.ecg(key)}
    if topic == ADT:
        hospital = event.get("hospital_id") or key.partition("|")[0]
        return {j.org(hospital)} if hospital else set()
    if topic == OUTCOME:
        codes = {j.org(event["hospital_id"])} if event.get("hospital_id") else set()
        if incident_id := event.get("incident_id"):
            codes.add(j.incident(incident_id))
        return codes | {j.ecg(e) for e in event.get("ecg_ids") or []}
    if topic == MCI and event.get("casualty_id"):
        return {j.casualty(key, event["casualty_id"])}
    if topic == IDENTITY and resource_type == "Provenance":
        return set(loaded)
    if topic == PATIENT_FACTS:
        return set(event.get("compartments") or [])
    return set()


def grant_entries(compartment: str, org_ids: list[str]) -> list[IndexEntry]:
    """The lookup entries that open `compartment` to these organizations (written by the
    fold that knows who takes part: see kernel/jurisdiction.py)."""
    return [
        IndexEntry(j.GRANT_INDEX, compartment, "Organization", o)
        for o in dict.fromkeys(org_ids)
        if o
    ]
