"""An ambulance incident (topic ems.incident) as FHIR R4 resources, by a pure fold.

`record.py` folds each event into an internal `IncidentRecord` (what later events need to
know: the patient, the timeline, the ids of what was recorded); the `*_to_fhir`-style
modules map it to Encounter (`encounter.py`), vital-sign Observations (`vitals.py`),
Procedure and MedicationAdministration (`treatment.py`), pre-alert Flags (`prealerts.py`)
and the handover Composition (`handover.py`); `fold.py` binds them to events for the FHIR
projector's `FOLDS` table, so the incident's Patient is written by the same projection as
the ECG's.
"""
