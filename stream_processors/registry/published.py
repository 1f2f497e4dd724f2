"""What services may read of the registry: pure functions over the view store (reads and
lookups only, no writes, no clock).

**An empty registry is a development setup.** `registry_in_force` is True once any
organization was ever registered; until then nothing is checked against the registry
(`is_known` callers skip their checks), so the embedded demo, tests and a fresh install
accept any id. A region loads its registry (`goldenhour registry load`) before it opens
its doors; from then on an id the registry does not know is refused. The server logs a
warning at start-up while the registry is empty (services/registry/checks.py).

The registry is folded like every view: a party registered a moment ago is known once the
`registry` processor has folded it (normally well under a second).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kernel.jsontypes import Json
from stream_processors.registry import codes, to_fhir
from stream_processors.registry import codes as c
from stream_processors.registry.entry import ENTRY, EVENTS, KEY_FIELDS, entry_id, fold_entry
from stream_processors.registry.processor import (
    FACILITY_INDEX,
    KIND_INDEX,
    MEMBER_INDEX,
    PARTY_INDEX,
    READS_FOR_INDEX,
    REGION_INDEX,
    STATION_INDEX,
)
from viewstore.base import ViewStore

# What the registry's write side (services/registry) folds and names with: the vocabulary,
# the event table, the one fold of an entry (the admin API folds a party's own events from
# the log with it, so its checks see exactly what the views will).
__all__ = ["EVENTS", "KEY_FIELDS", "codes", "fold_entry"]

DEFAULT_LANG = "zh-CN"
# `is_known` kinds beyond the organization kinds: a party type, a role, a device kind.
PARTY_KINDS = {c.UNIT, c.PRACTITIONER, c.DEVICE, c.PEER}


@dataclass(frozen=True)
class Role:
    organization_id: str
    role: str


@dataclass(frozen=True)
class Party:
    """A registered party: its type, id, whether it is active, and its details as
    registered (the Avro `<Type>Details` record)."""

    party: str
    id: str
    active: bool
    details: Json
    roles: tuple[Role, ...] = field(default=())

    @property
    def kind(self) -> str:
        """An organization's or device's kind; the party type otherwise."""
        return str(self.details.get("kind") or self.party)

    def display_name(self, lang: str = DEFAULT_LANG) -> str:
        names: dict[str, str] = self.details.get("names") or {}
        base = lang.split("-")[0]
        if lang in names:
            return names[lang]
        if base != "zh" and base in names:
            return names[base]
        return str(self.details.get("name") or self.id)


def _party(doc: Json) -> Party | None:
    if doc.get("details") is None:
        return None
    roles = tuple(Role(r["organization_id"], r["role"]) for r in doc["roles"] if r["active"])
    return Party(doc["party"], doc["party_id"], doc["active"], doc["details"], roles)


def _read(store: ViewStore, party: str, party_id: str) -> Party | None:
    stored = store.read(ENTRY, entry_id(party, party_id))
    return _party(json.loads(stored.body)) if stored else None


def _listed(store: ViewStore, index: str, key: str) -> list[Party]:
    out = []
    for rtype, rid in store.lookup(index, key):
        stored = store.read(rtype, rid) if rtype == ENTRY else None
        party = _party(json.loads(stored.body)) if stored else None
        if party is not None:
            out.append(party)
    return sorted(out, key=lambda p: (p.party, p.id))


def registry_in_force(store: ViewStore) -> bool:
    """True once any organization was registered: ids are then checked (see the module doc)."""
    return bool(store.lookup(PARTY_INDEX, c.ORGANIZATION))


def organization(store: ViewStore, org_id: str) -> Party | None:
    """The organization (active or retired), or None if never registered."""
    return _read(store, c.ORGANIZATION, org_id)


def unit(store: ViewStore, unit_id: str) -> Party | None:
    return _read(store, c.UNIT, unit_id)


def practitioner(store: ViewStore, practitioner_id: str) -> Party | None:
    """The practitioner with the roles held now (`Party.roles`: organization and role)."""
    return _read(store, c.PRACTITIONER, practitioner_id)


def device(store: ViewStore, device_id: str) -> Party | None:
    return _read(store, c.DEVICE, device_id)


def party(store: ViewStore, party_id: str) -> Party | None:
    """Whatever party has this id: an organization first, then a unit, a practitioner, a
    device, a peer."""
    for kind in c.PARTIES:
        if (found := _read(store, kind, party_id)) is not None:
            return found
    return None


def kind(store: ViewStore, party_id: str) -> str | None:
    """ "hospital", "station", "clinic", "reading-centre", "dispatch-centre", "region" for an
    organization; "unit", "practitioner", "peer", or a device's kind; None when unknown."""
    found = party(store, party_id)
    return found.kind if found else None


def display_name(store: ViewStore, party_id: str, lang: str = DEFAULT_LANG) -> str:
    """What a page shows for a party: its name in `lang` (Chinese by default), or the id
    itself when the registry does not know it (pages never show nothing)."""
    found = party(store, party_id)
    return found.display_name(lang) if found else party_id


def unit_station(store: ViewStore, unit_id: str) -> str | None:
    """The station an active unit belongs to."""
    found = unit(store, unit_id)
    return str(found.details["station_id"]) if found and found.active else None


def organizations_of(store: ViewStore, practitioner_id: str) -> list[str]:
    """The organizations where the practitioner holds a role now."""
    found = practitioner(store, practitioner_id)
    if found is None or not found.active:
        return []
    return sorted({r.organization_id for r in found.roles})


def members(store: ViewStore, org_id: str) -> list[Party]:
    """The practitioners holding a role at the organization."""
    return [p for p in _listed(store, MEMBER_INDEX, org_id) if p.active]


def of_kind(store: ViewStore, kind_: str, party_: str = c.ORGANIZATION) -> list[Party]:
    """Active parties of a kind, e.g. every hospital, or every tablet (party "device")."""
    return [p for p in _listed(store, KIND_INDEX, f"{party_}:{kind_}") if p.active]


def region_hospitals(store: ViewStore, region_id: str) -> list[Party]:
    """The hospitals of a region."""
    return [p for p in _listed(store, REGION_INDEX, region_id) if p.active and p.kind == c.HOSPITAL]


def station_units(store: ViewStore, station_id: str) -> list[Party]:
    return [p for p in _listed(store, STATION_INDEX, station_id) if p.active]


def reading_centres_for(store: ViewStore, clinic_id: str) -> list[str]:
    """The reading centres that read the clinic's ECGs."""
    return [p.id for p in _listed(store, READS_FOR_INDEX, clinic_id) if p.active]


def served_clinics(store: ViewStore, centre_id: str) -> list[str]:
    found = organization(store, centre_id)
    return sorted(found.details.get("serves") or []) if found and found.active else []


def peer(store: ViewStore, sending_facility: str, application: str | None = None) -> Party | None:
    """The active HL7 peer profile for MSH-4 (and MSH-3 when the peer names one): its
    organization, allowed addresses, certificate subject, time zone, identifier
    authorities -> our systems, versions and charset (`Party.details`)."""
    for found in _listed(store, FACILITY_INDEX, sending_facility):
        wanted = found.details.get("sending_application")
        if found.active and (wanted is None or application is None or wanted == application):
            return found
    return None


def is_known(store: ViewStore, kind_: str, party_id: str) -> bool:
    """Is `party_id` an active party of this kind? `kind_` is an organization kind
    (hospital, station, clinic, reading-centre, dispatch-centre, region), "organization",
    "unit", "practitioner", "peer", "device", a device kind (ecg-cart, tablet) or a role
    (reader, crew, ed-clinician, ...: a practitioner holding it)."""
    if kind_ in c.ORGANIZATION_KINDS or kind_ == c.ORGANIZATION:
        found = organization(store, party_id)
        return bool(found and found.active and kind_ in (c.ORGANIZATION, found.kind))
    if kind_ in c.ROLES:
        found = practitioner(store, party_id)
        return bool(found and found.active and any(r.role == kind_ for r in found.roles))
    if kind_ in c.DEVICE_KINDS:
        found = device(store, party_id)
        return bool(found and found.active and found.kind == kind_)
    if kind_ in PARTY_KINDS:
        found = _read(store, kind_, party_id)
        return bool(found and found.active)
    raise ValueError(f"unknown registry kind {kind_!r}")


def fhir_reference(party_: str, party_id: str) -> str:
    """`Type/id` of the FHIR resource a party is read back as."""
    refs = {
        c.ORGANIZATION: lambda: f"Organization/{to_fhir.organization_id(party_id)}",
        c.UNIT: lambda: f"Location/{to_fhir.unit_location_id(party_id)}",
        c.PRACTITIONER: lambda: f"Practitioner/{to_fhir.practitioner_id(party_id)}",
        c.DEVICE: lambda: f"Device/{to_fhir.device_id(party_id)}",
        c.PEER: lambda: f"Endpoint/{to_fhir.endpoint_id(party_id)}",
    }
    return refs[party_]()
