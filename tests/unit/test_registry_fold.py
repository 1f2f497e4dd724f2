"""The registry processor as pure functions: events (encoded and decoded with the real Avro
codec) folded into RegistryEntry documents and FHIR resources, which fhir.resources (R4B)
accepts; the published read model answered from those documents through a dict-backed
store; the same events give the same bytes."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any, cast

import pytest
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.endpoint import Endpoint
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.practitionerrole import PractitionerRole

from avro_schemas import events as ev
from avro_schemas.codec import Codec
from services.registry.checks import Named, unknown
from stream_processors.registry import published
from stream_processors.registry.processor import PROCESSOR
from viewstore.base import StoredResource, ViewStore

Json = dict[str, Any]
VALIDATORS = {
    "Organization": Organization,
    "Location": Location,
    "Practitioner": Practitioner,
    "PractitionerRole": PractitionerRole,
    "Device": Device,
    "Endpoint": Endpoint,
}
# Written from the HL7 terminology, not from the code under test.
HL7_ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
CODEC = Codec()
T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


class DictStore:
    """The two reads published.py makes (read, lookup), over folded documents."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], Json] = {}
        self.index: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)

    def read(self, rtype: str, rid: str) -> StoredResource | None:
        doc = self.docs.get((rtype, rid))
        return None if doc is None else StoredResource(rtype, rid, 1, "", json.dumps(doc).encode())

    def lookup(self, index: str, key: str) -> list[tuple[str, str]]:
        return sorted(self.index.get((index, key), set()))


def event(name: str, n: int, **fields: Any) -> tuple[str, Json]:
    meta = {
        "event_id": f"e-{n}",
        "occurred_at": T0 + dt.timedelta(seconds=n),
        "recorded_at": T0 + dt.timedelta(seconds=n),
        "source": {"channel": "admin", "device_id": None, "user_id": "admin-1", "site_id": None},
    }
    return CODEC.decode(CODEC.encode(name, {"meta": meta, **fields}))


def org(n: int, oid: str, kind: str, name: str, **d: Any) -> tuple[str, Json]:
    details = {"kind": kind, "name": name, **d}
    return event(ev.ORGANIZATION_REGISTERED, n, organization_id=oid, details=details)


REGION = [
    org(1, "county", "region", "示范县", names={"en": "Demo County"}),
    org(
        2,
        "county-hospital",
        "hospital",
        "县人民医院",
        names={"en": "County People's Hospital"},
        region_id="county",
        parent_id="county",
        location={"latitude": 30.1, "longitude": 120.2, "address": "人民路1号"},
    ),
    org(3, "station-chengguan", "station", "城关急救站", region_id="county"),
    org(4, "clinic-baiyang", "clinic", "白杨镇卫生院", region_id="county"),
    org(5, "ecg-centre", "reading-centre", "县心电诊断中心", serves=["clinic-baiyang"]),
    event(
        ev.UNIT_REGISTERED,
        6,
        unit_id="amb-07",
        details={"station_id": "station-chengguan", "name": "城关1号车", "plate": "浙A12345"},
    ),
    event(
        ev.PRACTITIONER_REGISTERED,
        7,
        practitioner_id="赵医生",
        details={"name": "赵明", "family": "赵", "given": "明", "names": {"en": "Zhao Ming"}},
    ),
    event(
        ev.PRACTITIONER_ROLE_ASSIGNED,
        8,
        practitioner_id="赵医生",
        organization_id="ecg-centre",
        role="reader",
    ),
    event(
        ev.DEVICE_REGISTERED,
        9,
        device_id="cart-017",
        details={"kind": "ecg-cart", "name": "白杨心电图机", "organization_id": "clinic-baiyang"},
    ),
    event(
        ev.PEER_REGISTERED,
        10,
        peer_id="baiyang-cart",
        details={
            "sending_facility": "BAIYANG",
            "organization_id": "clinic-baiyang",
            "addresses": ["10.1.2.0/24"],
            "identifier_authorities": {"BYWSY": "https://example.org/sid/baiyang-mrn"},
            "hl7_versions": ["2.5.1"],
            "charset": "GB 18030-2000",
        },
    ),
]


def fold_all(events: list[tuple[str, Json]]) -> DictStore:
    store = DictStore()
    for name, e in events:
        refs = PROCESSOR.refs(name, e)
        state = {r: store.docs[r] for r in refs if r in store.docs}
        for ref, doc in PROCESSOR.fold(state, name, e).items():
            assert ref in refs, f"{ref} written but not named by refs"
            if ref in store.docs:
                for old in PROCESSOR.index(store.docs[ref]):
                    store.index[(old.index, old.key)].discard((old.resource_type, old.id))
            store.docs[ref] = doc
            for entry in PROCESSOR.index(doc):
                store.index[(entry.index, entry.key)].add((entry.resource_type, entry.id))
    return store


def canonical(store: DictStore) -> str:
    docs = {"/".join(ref): doc for ref, doc in store.docs.items()}
    return json.dumps(docs, sort_keys=True, ensure_ascii=False)


def view(store: DictStore) -> ViewStore:
    return cast(ViewStore, store)


def fhir(store: DictStore, rtype: str) -> list[Json]:
    return [d for (t, _), d in sorted(store.docs.items()) if t == rtype]


def test_fold__every_fhir_resource_validates_and_is_public() -> None:
    store = fold_all(REGION)
    written = [d for (t, _), d in store.docs.items() if t in VALIDATORS]
    assert {d["resourceType"] for d in written} == set(VALIDATORS)
    for doc in written:
        VALIDATORS[doc["resourceType"]].model_validate(doc)
        assert doc["meta"]["security"] == [
            {"system": "https://goldenhour.example/fhir/CodeSystem/compartment", "code": "public"}
        ]


def test_fold__hospital_is_a_provider_organization_with_a_site() -> None:
    store = fold_all(REGION)
    hospital = next(o for o in fhir(store, "Organization") if o["name"] == "县人民医院")
    codings = hospital["type"][0]["coding"]
    assert {"system": HL7_ORG_TYPE, "code": "prov", "display": "Healthcare Provider"} in codings
    assert "County People's Hospital" in hospital["alias"]
    site = next(loc for loc in fhir(store, "Location") if loc["name"] == "县人民医院")
    assert site["position"] == {"latitude": 30.1, "longitude": 120.2}
    assert site["managingOrganization"]["reference"] == f"Organization/{hospital['id']}"


def test_fold__an_ambulance_is_a_vehicle_location_of_its_station() -> None:
    store = fold_all(REGION)
    amb = next(loc for loc in fhir(store, "Location") if loc["name"] == "城关1号车")
    assert amb["physicalType"]["coding"][0]["system"] == PHYSICAL_TYPE
    assert amb["physicalType"]["coding"][0]["code"] == "ve"
    assert published.unit_station(view(store), "amb-07") == "station-chengguan"
    assert [u.id for u in published.station_units(view(store), "station-chengguan")] == ["amb-07"]


def test_fold__a_reader_role_is_a_practitioner_role_and_makes_the_id_a_known_reader() -> None:
    store = fold_all(REGION)
    (role,) = fhir(store, "PractitionerRole")
    assert role["active"] is True
    assert role["code"][0]["coding"][0]["code"] == "reader"
    (doctor,) = fhir(store, "Practitioner")
    assert doctor["name"][0]["text"] == "赵明"
    assert {"system": "https://goldenhour.health/sid/reader-id", "value": "赵医生"} in doctor[
        "identifier"
    ]
    assert published.is_known(view(store), "reader", "赵医生")
    assert published.organizations_of(view(store), "赵医生") == ["ecg-centre"]


def test_fold__ending_the_role_and_retiring_make_ids_unknown_but_the_registry_stays_in_force() -> (
    None
):
    ended = event(
        ev.PRACTITIONER_ROLE_ENDED,
        11,
        practitioner_id="赵医生",
        organization_id="ecg-centre",
        role="reader",
    )
    retired = event(ev.ORGANIZATION_RETIRED, 12, organization_id="county-hospital", reason="merged")
    store = fold_all([*REGION, ended, retired])
    assert not published.is_known(view(store), "reader", "赵医生")
    assert fhir(store, "PractitionerRole")[0]["active"] is False
    assert not published.is_known(view(store), "hospital", "county-hospital")
    hospital = next(o for o in fhir(store, "Organization") if o["name"] == "县人民医院")
    assert hospital["active"] is False
    assert published.registry_in_force(view(store))
    assert published.region_hospitals(view(store), "county") == []


def test_published__kinds_names_and_what_a_reading_centre_reads_for() -> None:
    store = view(fold_all(REGION))
    assert published.kind(store, "county-hospital") == "hospital"
    assert published.kind(store, "station-chengguan") == "station"
    assert published.kind(store, "amb-07") == "unit"
    assert published.kind(store, "nowhere") is None
    assert published.display_name(store, "county-hospital") == "县人民医院"
    assert published.display_name(store, "county-hospital", "en") == "County People's Hospital"
    assert published.display_name(store, "赵医生", "en-GB") == "Zhao Ming"
    assert published.display_name(store, "unregistered-id") == "unregistered-id"
    assert published.reading_centres_for(store, "clinic-baiyang") == ["ecg-centre"]
    assert published.served_clinics(store, "ecg-centre") == ["clinic-baiyang"]
    assert [h.id for h in published.region_hospitals(store, "county")] == ["county-hospital"]
    assert not published.is_known(store, "hospital", "station-chengguan")  # wrong kind
    with pytest.raises(ValueError):
        published.is_known(store, "spaceship", "x")


def test_published__peer_profile_by_sending_facility_with_defaults() -> None:
    store = view(fold_all(REGION))
    profile = published.peer(store, "BAIYANG")
    assert profile is not None
    assert profile.details["organization_id"] == "clinic-baiyang"
    assert profile.details["time_zone"] == "Asia/Shanghai"  # the schema's default
    assert profile.details["identifier_authorities"] == {
        "BYWSY": "https://example.org/sid/baiyang-mrn"
    }
    assert profile.details["charset"] == "GB 18030-2000"
    assert published.peer(store, "SOMEONE-ELSE") is None
    (endpoint,) = fhir(fold_all(REGION), "Endpoint")
    assert endpoint["connectionType"]["code"] == "hl7v2-mllp"


def test_an_empty_registry_checks_nothing_and_a_loaded_one_names_the_unknown_field() -> None:
    wanted = [Named("events[0].destination_id", "hospital", "county-hospitl")]
    assert unknown(view(fold_all([])), wanted) == []
    assert not published.registry_in_force(view(fold_all([])))
    assert unknown(view(fold_all(REGION)), wanted) == wanted
    ok = [Named("events[0].destination_id", "hospital", "county-hospital")]
    assert unknown(view(fold_all(REGION)), ok) == []


def test_an_update_replaces_the_details_and_the_same_events_give_the_same_bytes() -> None:
    renamed = event(
        ev.ORGANIZATION_UPDATED,
        11,
        organization_id="station-chengguan",
        details={"kind": "station", "name": "城关急救分站", "region_id": "county"},
    )
    first, again = fold_all([*REGION, renamed]), fold_all([*REGION, renamed])
    assert canonical(first) == canonical(again)
    assert published.display_name(view(first), "station-chengguan") == "城关急救分站"


def test_a_role_for_a_practitioner_never_registered_changes_nothing() -> None:
    stray = event(
        ev.PRACTITIONER_ROLE_ASSIGNED, 1, practitioner_id="ghost", organization_id="x", role="crew"
    )
    assert fold_all([stray]).docs == {}
