"""The registry: who is who in the region. Organizations (the region, its 120 dispatch
centre, stations, township clinics, hospitals, reading centres), units (ambulances),
practitioners and their roles, devices and HL7 v2 peers, folded from the `registry` topic
into an internal `RegistryEntry` per party and the FHIR resources other systems read
(Organization, Location, Practitioner, PractitionerRole, Device, Endpoint).

Services read it through `published.py` only.
"""
