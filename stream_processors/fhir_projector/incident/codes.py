"""Code systems, identifier systems and codes of the incident's FHIR resources.

Real codes where a standard has them (LOINC, SNOMED CT, HL7 v3 and FHIR terminology, UCUM);
this platform's own CodeSystems (`https://goldenhour.health/CodeSystem/...`) only for what
no standard names (the ATMIST handover sections, our unit status symbols)."""

from __future__ import annotations

from kernel.codes import (
    DEVICE_ID,
    EMS_TEMPORARY_ID,
    LOINC,
    OBSERVATION_CATEGORY,
    SITE_ID,
    UCUM,
)

__all__ = ["DEVICE_ID", "EMS_TEMPORARY_ID", "LOINC", "OBSERVATION_CATEGORY", "SITE_ID", "UCUM"]

SNOMED = "http://snomed.info/sct"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
LIST_EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"

# Identifier systems of this platform (NamingSystems a region registers once).
INCIDENT_ID = "https://goldenhour.health/sid/incident-id"
STATION_ID = "https://goldenhour.health/sid/ems-station-id"
UNIT_ID = "https://goldenhour.health/sid/ems-unit-id"
CREW_USER_ID = "https://goldenhour.health/sid/crew-user-id"
CLINICIAN_ID = "https://goldenhour.health/sid/clinician-id"
HANDOVER_DOCUMENT_ID = "https://goldenhour.health/sid/handover-document-id"

# Our own code systems and extensions.
UNIT_STATUS = "https://goldenhour.health/CodeSystem/ems-unit-status"
DISPATCH_PRIORITY = "https://goldenhour.health/CodeSystem/dispatch-priority"
PREALERT_KIND = "https://goldenhour.health/CodeSystem/prealert-kind"
HANDOVER_SECTION = "https://goldenhour.health/CodeSystem/handover-section"
TIMELINE_URL = "https://goldenhour.health/fhir/StructureDefinition/ems-timeline-point"
ETA_URL = "https://goldenhour.health/fhir/StructureDefinition/prealert-eta"
DESTINATION_URL = "https://goldenhour.health/fhir/StructureDefinition/prealert-destination"

EMERGENCY_CLASS = {"system": ACT_CODE, "code": "EMER", "display": "emergency"}
# SNOMED CT 409971007 |Emergency medical services|: the encounter is prehospital EMS care.
EMS_ENCOUNTER_TYPE = {
    "system": SNOMED,
    "code": "409971007",
    "display": "Emergency medical services",
}
VEHICLE = {"system": LOCATION_PHYSICAL_TYPE, "code": "ve", "display": "Vehicle"}
SITE = {"system": LOCATION_PHYSICAL_TYPE, "code": "si", "display": "Site"}

# Unit status -> (display, NEMSIS v3 eTimes element it corresponds to), in timeline order.
UNIT_STATUSES: dict[str, tuple[str, str]] = {
    "CALL_RECEIVED": ("Call received", "eTimes.01"),
    "DISPATCHED": ("Unit notified by dispatch", "eTimes.03"),
    "EN_ROUTE": ("Unit en route", "eTimes.05"),
    "ON_SCENE": ("Unit arrived on scene", "eTimes.06"),
    "AT_PATIENT": ("Arrived at patient", "eTimes.07"),
    "LEFT_SCENE": ("Unit left scene", "eTimes.09"),
    "AT_DESTINATION": ("Patient arrived at destination", "eTimes.11"),
    "TRANSFER_OF_CARE": ("Destination patient transfer of care", "eTimes.12"),
    "BACK_IN_SERVICE": ("Unit back in service", "eTimes.13"),
    "UNKNOWN": ("Unknown status", ""),
}
# Statuses after which the patient is no longer in the crew's care.
ENDING_STATUSES = ("TRANSFER_OF_CARE", "BACK_IN_SERVICE")

# 120 dispatch priority (1 = most urgent) -> HL7 v3 ActPriority; others keep their own code.
ACT_PRIORITIES: dict[str, tuple[str, str]] = {
    "1": ("EM", "emergency"),
    "2": ("UR", "urgent"),
    "3": ("R", "routine"),
}

# Pre-alert kind -> SNOMED CT finding the receiving team prepares for.
PREALERT_FINDINGS: dict[str, tuple[str, str]] = {
    "STEMI": ("401303003", "Acute ST segment elevation myocardial infarction"),
    "STROKE": ("230690007", "Cerebrovascular accident"),
    "TRAUMA": ("417746004", "Traumatic injury"),
    "SEPSIS": ("91302008", "Sepsis"),
    "CARDIAC_ARREST": ("410429000", "Cardiac arrest"),
}
PREALERT_KINDS = ("STEMI", "STROKE", "TRAUMA", "SEPSIS", "CARDIAC_ARREST", "OTHER")

# Vital signs (FHIR vital-signs profile conventions): LOINC -> (display, label, UCUM unit).
VITAL_SIGNS_PANEL = (
    "85353-1",
    "Vital signs, weight, height, head circumference, oxygen saturation and BMI panel",
)
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
SPO2, SPO2_ARTERIAL = "59408-5", ("2708-6", "Oxygen saturation in Arterial blood")
VITALS: dict[str, tuple[str, str, str]] = {
    "8867-4": ("Heart rate", "HR", "/min"),
    SYSTOLIC: ("Systolic blood pressure", "SBP", "mm[Hg]"),
    DIASTOLIC: ("Diastolic blood pressure", "DBP", "mm[Hg]"),
    "9279-1": ("Respiratory rate", "RR", "/min"),
    SPO2: ("Oxygen saturation in Arterial blood by Pulse oximetry", "SpO2", "%"),
    "8310-5": ("Body temperature", "Temp", "Cel"),
    "9269-2": ("Glasgow coma score total", "GCS", "{score}"),
    "15074-8": ("Glucose [Moles/volume] in Blood", "Glucose", "mmol/L"),
    "19889-5": ("Carbon dioxide/Gas.total.at end expiration in Exhaled gas", "EtCO2", "mm[Hg]"),
    "72514-3": ("Pain severity - 0-10 verbal numeric rating [Score] - Reported", "Pain", "{score}"),
}
AGE = ("30525-0", "Age")

HANDOVER_DOCUMENT = ("67796-3", "EMS patient care report")

# Handover sections, ATMIST first: key (a HANDOVER_SECTION code) -> (title, LOINC or None).
SECTIONS: dict[str, tuple[str, tuple[str, str] | None]] = {
    "age": ("Age", AGE),
    "time": ("Time of onset", ("11368-8", "Illness or injury onset date and time")),
    "mechanism": ("Mechanism", ("11374-6", "Injury incident description Narrative")),
    "injuries": ("Injuries / illness", ("10154-3", "Chief complaint Narrative - Reported")),
    "signs": ("Signs (vital signs trend)", ("8716-3", "Vital signs")),
    "treatment": ("Treatment", ("62387-6", "Interventions Document")),
    "ecg": ("12-lead ECGs", ("11524-6", "EKG study")),
    "prealerts": ("Pre-alerts", None),
    "narrative": ("Crew narrative", None),
}
