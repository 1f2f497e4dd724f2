"""The registry's vocabulary: party types, organization kinds, roles, and the identifier
and code systems its FHIR resources carry.

The identifier systems are the ones other resources already use to name a party (an
Encounter's serviceProvider names its station by STATION_ID, a destination by SITE_ID, a
DiagnosticReport its reader by READER_ID), so `?identifier=` finds the party they name.
"""

from __future__ import annotations

from typing import Final

ORGANIZATION: Final = "organization"
UNIT: Final = "unit"
PRACTITIONER: Final = "practitioner"
DEVICE: Final = "device"
PEER: Final = "peer"
PARTIES = (ORGANIZATION, UNIT, PRACTITIONER, DEVICE, PEER)

# Organization kinds (OrganizationDetails.kind), with the HL7 organization-type each is.
REGION: Final = "region"
DISPATCH_CENTRE: Final = "dispatch-centre"
STATION: Final = "station"
CLINIC: Final = "clinic"
HOSPITAL: Final = "hospital"
READING_CENTRE: Final = "reading-centre"
ORGANIZATION_KINDS: dict[str, tuple[str, str]] = {
    REGION: ("govt", "Government"),
    DISPATCH_CENTRE: ("prov", "Healthcare Provider"),
    STATION: ("prov", "Healthcare Provider"),
    CLINIC: ("prov", "Healthcare Provider"),
    HOSPITAL: ("prov", "Healthcare Provider"),
    READING_CENTRE: ("dept", "Hospital Department"),
}
KIND_DISPLAY = {
    REGION: "卫生健康行政区域",
    DISPATCH_CENTRE: "120急救指挥中心",
    STATION: "120急救站",
    CLINIC: "乡镇卫生院",
    HOSPITAL: "医院",
    READING_CENTRE: "心电诊断中心",
}
# Organizations with a site of their own: they get a FHIR Location too.
SITE_KINDS = frozenset({STATION, CLINIC, HOSPITAL})

# Practitioner roles (PractitionerRoleAssigned.role).
CREW: Final = "crew"
READER: Final = "reader"
ED_CLINICIAN: Final = "ed-clinician"
CLINIC_CLINICIAN: Final = "clinic-clinician"
DISPATCHER: Final = "dispatcher"
ROLES = (CREW, READER, ED_CLINICIAN, CLINIC_CLINICIAN, DISPATCHER)
ROLE_DISPLAY = {
    CREW: "急救人员",
    READER: "心电诊断医师",
    ED_CLINICIAN: "急诊医护人员",
    CLINIC_CLINICIAN: "卫生院医护人员",
    DISPATCHER: "调度员",
}

DEVICE_KINDS = ("ecg-cart", "tablet")

# Identifier systems (NamingSystems of the platform).
PRACTITIONER_ID = "https://goldenhour.health/sid/practitioner-id"
PEER_ID = "https://goldenhour.health/sid/hl7-peer-id"
SENDING_FACILITY = "https://goldenhour.health/sid/hl7-sending-facility"
# The same systems the incident and reading folds write (fhir_projector/incident/codes.py,
# diagnosis_queue), so a reference by identifier there resolves to the party here.
STATION_ID = "https://goldenhour.health/sid/ems-station-id"
UNIT_ID = "https://goldenhour.health/sid/ems-unit-id"
READER_ID = "https://goldenhour.health/sid/reader-id"
CREW_USER_ID = "https://goldenhour.health/sid/crew-user-id"
CLINICIAN_ID = "https://goldenhour.health/sid/clinician-id"
ROLE_IDENTIFIERS = {READER: READER_ID, CREW: CREW_USER_ID, ED_CLINICIAN: CLINICIAN_ID}

# Code systems.
KIND_SYSTEM = "https://goldenhour.health/CodeSystem/organization-kind"
ROLE_SYSTEM = "https://goldenhour.health/CodeSystem/practitioner-role"
DEVICE_KIND_SYSTEM = "https://goldenhour.health/CodeSystem/device-kind"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
ENDPOINT_CONNECTION_TYPE = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
LANGUAGE = "http://hl7.org/fhir/StructureDefinition/language"
EXTENSION = "https://goldenhour.health/fhir/StructureDefinition/"
