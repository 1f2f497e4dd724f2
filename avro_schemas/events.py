"""Every event's name, once: the full Avro record name of each event the system writes.

Writers and readers import the same constant (`events.ECG_SUBMITTED`), so a name is spelled
in one place and a typo is an ImportError, not an event nobody folds. `catalogue.py` binds
each name to its topic and key; `tests/unit/test_architecture.py` checks that no event name
is a string literal anywhere else. A new event: add its constant here, its `.avsc` beside
this module, and its topic and key in `catalogue.EVENT_TYPES`.
"""

from __future__ import annotations

from typing import Final

# ems.incident (key incident_id): what an ambulance crew records during one incident
INCIDENT_OPENED: Final = "goldenhour.ems.IncidentOpened"
UNIT_STATUS_CHANGED: Final = "goldenhour.ems.UnitStatusChanged"
PATIENT_RECORDED: Final = "goldenhour.ems.PatientRecorded"
VITALS_RECORDED: Final = "goldenhour.ems.VitalsRecorded"
INTERVENTION_PERFORMED: Final = "goldenhour.ems.InterventionPerformed"
MEDICATION_GIVEN: Final = "goldenhour.ems.MedicationGiven"
ECG_ACQUIRED: Final = "goldenhour.ems.EcgAcquired"
PRE_ALERT_RAISED: Final = "goldenhour.ems.PreAlertRaised"
HANDOVER_SUBMITTED: Final = "goldenhour.ems.HandoverSubmitted"
HANDOVER_ACCEPTED: Final = "goldenhour.ems.HandoverAccepted"

# ems.position (key unit_id)
UNIT_POSITION_REPORTED: Final = "goldenhour.ems.UnitPositionReported"

# clinic.ecg (key ecg_id)
ECG_SUBMITTED: Final = "goldenhour.ecg.EcgSubmitted"

# diagnosis.reading (key ecg_id): one ordered stream per ECG
READ_REQUESTED: Final = "goldenhour.ecg.ReadRequested"
ECG_MEASURED: Final = "goldenhour.reading.EcgMeasured"
READ_CLAIMED: Final = "goldenhour.reading.ReadClaimed"
READ_RELEASED: Final = "goldenhour.reading.ReadReleased"
READ_REPORTED: Final = "goldenhour.reading.ReadReported"
READ_ESCALATED: Final = "goldenhour.reading.ReadEscalated"
REPORT_DELIVERED: Final = "goldenhour.reading.ReportDelivered"
MEASUREMENT_EDITED: Final = "goldenhour.reading.MeasurementEdited"
READ_AMENDED: Final = "goldenhour.reading.ReadAmended"

# hospital.adt (key patient_key)
PATIENT_REGISTERED: Final = "goldenhour.adt.PatientRegistered"
PATIENT_ADMITTED: Final = "goldenhour.adt.PatientAdmitted"
PATIENT_TRANSFERRED: Final = "goldenhour.adt.PatientTransferred"
PATIENT_DISCHARGED: Final = "goldenhour.adt.PatientDischarged"
PATIENT_UPDATED: Final = "goldenhour.adt.PatientUpdated"

# identity.links (key patient_key)
PATIENT_LINKED: Final = "goldenhour.identity.PatientLinked"
PATIENT_UNLINKED: Final = "goldenhour.identity.PatientUnlinked"

# patient.facts: what the FHIR projector re-keys by the resource it changes, so one process
# (the patient projector) writes each Patient (key patient_key) and each hospital Encounter
# (key encounter_key)
PATIENT_STATED: Final = "goldenhour.patient.PatientStated"
PATIENT_LINK_CHANGED: Final = "goldenhour.patient.PatientLinkChanged"
VISIT_REPORTED: Final = "goldenhour.patient.VisitReported"
DISPOSITION_STATED: Final = "goldenhour.patient.DispositionStated"

# fhir.subscriptions (key subscription_id)
SUBSCRIPTION_REQUESTED: Final = "goldenhour.subscription.SubscriptionRequested"
SUBSCRIPTION_DELETED: Final = "goldenhour.subscription.SubscriptionDeleted"
NOTIFICATION_TRIGGERED: Final = "goldenhour.subscription.NotificationTriggered"
NOTIFICATION_DELIVERED: Final = "goldenhour.subscription.NotificationDelivered"
SUBSCRIPTION_STATUS_CHANGED: Final = "goldenhour.subscription.SubscriptionStatusChanged"

# audit.access (key agent_subject)
ACCESS_RECORDED: Final = "goldenhour.audit.AccessRecorded"

# registry (key: the party's id): who is who in the region (stream_processors/registry/)
ORGANIZATION_REGISTERED: Final = "goldenhour.registry.OrganizationRegistered"
ORGANIZATION_UPDATED: Final = "goldenhour.registry.OrganizationUpdated"
ORGANIZATION_RETIRED: Final = "goldenhour.registry.OrganizationRetired"
UNIT_REGISTERED: Final = "goldenhour.registry.UnitRegistered"
UNIT_UPDATED: Final = "goldenhour.registry.UnitUpdated"
UNIT_RETIRED: Final = "goldenhour.registry.UnitRetired"
PRACTITIONER_REGISTERED: Final = "goldenhour.registry.PractitionerRegistered"
PRACTITIONER_UPDATED: Final = "goldenhour.registry.PractitionerUpdated"
PRACTITIONER_RETIRED: Final = "goldenhour.registry.PractitionerRetired"
PRACTITIONER_ROLE_ASSIGNED: Final = "goldenhour.registry.PractitionerRoleAssigned"
PRACTITIONER_ROLE_ENDED: Final = "goldenhour.registry.PractitionerRoleEnded"
DEVICE_REGISTERED: Final = "goldenhour.registry.DeviceRegistered"
DEVICE_UPDATED: Final = "goldenhour.registry.DeviceUpdated"
DEVICE_RETIRED: Final = "goldenhour.registry.DeviceRetired"
PEER_REGISTERED: Final = "goldenhour.registry.PeerRegistered"
PEER_UPDATED: Final = "goldenhour.registry.PeerUpdated"
PEER_RETIRED: Final = "goldenhour.registry.PeerRetired"

# command.mci (key mci_id): mass-casualty incidents, their casualties' tags and destinations
MCI_DECLARED: Final = "goldenhour.command.MciDeclared"
MCI_CLOSED: Final = "goldenhour.command.MciClosed"
CASUALTY_TRIAGED: Final = "goldenhour.command.CasualtyTriaged"
CASUALTY_ASSIGNED: Final = "goldenhour.command.CasualtyAssigned"

# command.capacity (key hospital_id): what each hospital can take now
HOSPITAL_CAPACITY_REPORTED: Final = "goldenhour.command.HospitalCapacityReported"

# command.escort (key unit_id): one-click escort with the traffic platform
ESCORT_REQUESTED: Final = "goldenhour.command.EscortRequested"
ESCORT_ACKNOWLEDGED: Final = "goldenhour.command.EscortAcknowledged"
ESCORT_ROUTE_UPDATED: Final = "goldenhour.command.EscortRouteUpdated"

# command.alerts (key alert_id): early warning from the surveillance processor
SURVEILLANCE_ALERT_RAISED: Final = "goldenhour.command.SurveillanceAlertRaised"
SURVEILLANCE_ALERT_ACKNOWLEDGED: Final = "goldenhour.command.SurveillanceAlertAcknowledged"

# hospital.outcome (key patient_key): what a hospital reports back through FHIR (PCI, final
# diagnosis, disposition: services/fhir_api/outcome_routes.py)
PROCEDURE_REPORTED: Final = "goldenhour.outcome.ProcedureReported"
CONDITION_REPORTED: Final = "goldenhour.outcome.ConditionReported"
DISPOSITION_REPORTED: Final = "goldenhour.outcome.DispositionReported"

# <topic>.dlq: not an event of the catalogue, the envelope of a record no processor could fold
DEAD_LETTER: Final = "goldenhour.dlq.DeadLetter"


def short(name: str) -> str:
    """An event's record name without its namespace (`IncidentOpened`): the `type` of the
    tablet's JSON events and the key of tables that dispatch within one namespace."""
    return name.rsplit(".", 1)[1]


def names() -> list[str]:
    """Every event name declared here, the dead letter excluded (checked against the
    catalogue by tests/unit/test_architecture.py)."""
    return [v for k, v in globals().items() if k.isupper() and k != "DEAD_LETTER"]
