"""Clinical code systems and the codes we emit. Real codes only: MDC (ISO/IEEE 11073-10101)
for ECG leads, LOINC for measurements, UCUM for units."""

from __future__ import annotations

# The FHIR URI of ISO/IEEE 11073-10101 (terminologies-systems.html; not the HL7 v2 OID)
MDC = "urn:iso:std:iso:11073:10101"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"

# Identifier systems of this platform (NamingSystems a region registers once).
RESIDENT_ID = "https://goldenhour.health/sid/cn-resident-id"
ECG_ID = "https://goldenhour.health/sid/ecg-id"
SITE_ID = "https://goldenhour.health/sid/site-id"
DEVICE_ID = "https://goldenhour.health/sid/device-id"
EMS_TEMPORARY_ID = "https://goldenhour.health/sid/ems-temporary-id"

# Which identifier names a patient, best first: the id derived from it is the Patient's id.
IDENTIFIER_PRECEDENCE = (RESIDENT_ID,)

ECG_CODE = ("131328", "MDC_ECG_ELEC_POTL")

# MDC_ECG_ELEC_POTL_<lead>: 131328 + the MDC_ECG_LEAD_* term code.
ECG_LEADS: dict[str, tuple[str, str]] = {
    "I": ("131329", "MDC_ECG_ELEC_POTL_I"),
    "II": ("131330", "MDC_ECG_ELEC_POTL_II"),
    "V1": ("131331", "MDC_ECG_ELEC_POTL_V1"),
    "V2": ("131332", "MDC_ECG_ELEC_POTL_V2"),
    "V3": ("131333", "MDC_ECG_ELEC_POTL_V3"),
    "V4": ("131334", "MDC_ECG_ELEC_POTL_V4"),
    "V5": ("131335", "MDC_ECG_ELEC_POTL_V5"),
    "V6": ("131336", "MDC_ECG_ELEC_POTL_V6"),
    "III": ("131389", "MDC_ECG_ELEC_POTL_III"),
    "aVR": ("131390", "MDC_ECG_ELEC_POTL_AVR"),
    "aVL": ("131391", "MDC_ECG_ELEC_POTL_AVL"),
    "aVF": ("131392", "MDC_ECG_ELEC_POTL_AVF"),
}
STANDARD_LEAD_ORDER = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

# Device measurement field -> (LOINC code, display, UCUM unit).
ECG_MEASUREMENTS: dict[str, tuple[str, str, str]] = {
    "heart_rate_bpm": ("8867-4", "Heart rate", "/min"),
    "pr_ms": ("8625-6", "P-R Interval", "ms"),
    "qrs_ms": ("8633-0", "QRS duration", "ms"),
    "qt_ms": ("8634-8", "Q-T interval", "ms"),
    "qtc_ms": ("8636-3", "Q-T interval corrected", "ms"),
    "p_axis_deg": ("8626-4", "P wave axis", "deg"),
    "qrs_axis_deg": ("8632-2", "QRS axis", "deg"),
    "t_axis_deg": ("8638-9", "T wave axis", "deg"),
}

# Unit statuses the folds act on (values of the goldenhour.ems.UnitStatus enum).
AT_DESTINATION = "AT_DESTINATION"
TRANSFER_OF_CARE = "TRANSFER_OF_CARE"
BACK_IN_SERVICE = "BACK_IN_SERVICE"
