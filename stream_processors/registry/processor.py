"""The registry processor as the runner sees it: `registry` topic -> `RegistryEntry` per
party (internal, read by published.py) and its FHIR resources, with lookups by kind, by
region, by station, by the clinics a reading centre reads for, by the organizations a
practitioner works at, by HL7 sending facility and by identifier; the FHIR resources'
lookups are their declared search parameters (kernel/search_params.py).

| event                         | writes                                                   |
|-------------------------------|----------------------------------------------------------|
| Organization*                 | RegistryEntry, Organization, Location (its site)         |
| Unit*                         | RegistryEntry, Location (vehicle)                        |
| Practitioner{Registered,...}  | RegistryEntry, Practitioner                              |
| PractitionerRole{Assigned,..} | RegistryEntry, Practitioner, PractitionerRole            |
| Device*                       | RegistryEntry, Device                                    |
| Peer*                         | RegistryEntry, Endpoint                                  |
"""

from __future__ import annotations

from avro_schemas.catalogue import REGISTRY
from kernel.jsontypes import Json
from kernel.search_params import index_entries
from stream_processors.adapter import Changes, Processor, Ref, State, Step
from stream_processors.registry import codes as c
from stream_processors.registry import to_fhir
from stream_processors.registry.entry import (
    ENTRY,
    EVENTS,
    ROLE_ASSIGNED,
    ROLE_ENDED,
    entry_id,
    fold_entry,
    party_of,
)
from viewstore.base import IndexEntry

# Lookups of RegistryEntry (published.py reads them).
PARTY_INDEX = "RegistryEntry.party"  # key: party type; every party ever registered
KIND_INDEX = "RegistryEntry.kind"  # key: "<party>:<kind>" (organization:hospital, device:tablet)
REGION_INDEX = "RegistryEntry.region"  # key: region id -> its organizations
STATION_INDEX = "RegistryEntry.station"  # key: station id -> its units
READS_FOR_INDEX = "RegistryEntry.reads-for"  # key: clinic id -> the reading centres reading for it
MEMBER_INDEX = "RegistryEntry.member"  # key: organization id -> practitioners with an active role
FACILITY_INDEX = "RegistryEntry.facility"  # key: MSH-4 sending facility -> peers
IDENTIFIER_INDEX = "RegistryEntry.identifier"  # key: system|value -> parties


def _role(event: Json) -> tuple[str, str]:
    return event["organization_id"], event["role"]


def refs(event_name: str, event: Json) -> list[Ref]:
    """The entry and every FHIR resource the event may rewrite (known from the event alone)."""
    party, pid = party_of(event_name, event)
    out = [(ENTRY, entry_id(party, pid))]
    if party == c.ORGANIZATION:
        out += [
            ("Organization", to_fhir.organization_id(pid)),
            ("Location", to_fhir.site_location_id(pid)),
        ]
    elif party == c.UNIT:
        out.append(("Location", to_fhir.unit_location_id(pid)))
    elif party == c.PRACTITIONER:
        out.append(("Practitioner", to_fhir.practitioner_id(pid)))
        if EVENTS[event_name][1] in (ROLE_ASSIGNED, ROLE_ENDED):
            out.append(("PractitionerRole", to_fhir.role_id(pid, *_role(event))))
    elif party == c.DEVICE:
        out.append(("Device", to_fhir.device_id(pid)))
    else:
        out.append(("Endpoint", to_fhir.endpoint_id(pid)))
    return out


def _resources(entry: Json, event_name: str, event: Json) -> list[Json]:
    party = entry["party"]
    if party == c.ORGANIZATION:
        site = [to_fhir.site_location(entry)] if to_fhir.has_site(entry) else []
        return [to_fhir.organization(entry), *site]
    if party == c.UNIT:
        return [to_fhir.unit_location(entry)]
    if party == c.PRACTITIONER:
        role = (
            [to_fhir.practitioner_role(entry, *_role(event))]
            if EVENTS[event_name][1] in (ROLE_ASSIGNED, ROLE_ENDED)
            else []
        )
        return [to_fhir.practitioner(entry), *role]
    if party == c.DEVICE:
        return [to_fhir.device(entry)]
    return [to_fhir.endpoint(entry)]


def fold(state: State, event_name: str, event: Json) -> Changes:
    """The entry after the event and the FHIR resources derived from it, whole."""
    party, pid = party_of(event_name, event)
    ref = (ENTRY, entry_id(party, pid))
    after = fold_entry(state.get(ref), event_name, event)
    if after is None:
        return {}
    changes = {ref: after}
    for resource in _resources(after, event_name, event):
        changes[(resource["resourceType"], resource["id"])] = resource
    return changes


# -- lookups --------------------------------------------------------------------------------


def _entry_keys(entry: Json) -> list[tuple[str, str]]:
    party, d = entry["party"], entry["details"] or {}
    keys = [(PARTY_INDEX, party)]
    if d.get("kind"):
        keys.append((KIND_INDEX, f"{party}:{d['kind']}"))
    if party == c.ORGANIZATION:
        keys += [(REGION_INDEX, d["region_id"])] if d.get("region_id") else []
        keys += [(READS_FOR_INDEX, clinic) for clinic in d.get("serves") or []]
    if party == c.UNIT:
        keys.append((STATION_INDEX, d["station_id"]))
    if party == c.PEER:
        keys.append((FACILITY_INDEX, d["sending_facility"]))
    keys += [(MEMBER_INDEX, r["organization_id"]) for r in entry["roles"] if r["active"]]
    keys += [(IDENTIFIER_INDEX, f"{i['system']}|{i['value']}") for i in d.get("identifiers") or []]
    return keys


def index(resource: Json) -> list[IndexEntry]:
    """The entry's lookups; a FHIR resource's search parameters (kernel/search_params.py)."""
    rtype, rid = resource["resourceType"], resource["id"]
    if rtype != ENTRY:
        return index_entries(resource)
    return [IndexEntry(name, key, rtype, rid) for name, key in dict.fromkeys(_entry_keys(resource))]


def _step(event_name: str) -> Step:
    return Step(lambda event: refs(event_name, event), lambda s, e: fold(s, event_name, e))


PROCESSOR = Processor(
    name="registry",
    topics=[REGISTRY],
    folds={name: _step(name) for name in EVENTS},
    index=index,
)
