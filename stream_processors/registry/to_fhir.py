"""A registry entry as FHIR R4: Organization (+ the Location of its site), Location (an
ambulance: physical type vehicle), Practitioner and PractitionerRole, Device, Endpoint (an
HL7 v2 peer, its profile in extensions). Pure: the same entry gives the same bytes.

Every resource carries the `public` compartment: who is who is readable by every
authenticated role (kernel/jurisdiction.py). Names are Chinese first (`name`), other
languages as the FHIR translation extension and `alias`.
"""

from __future__ import annotations

from typing import Any

from kernel.codes import DEVICE_ID, SITE_ID
from kernel.ids import resource_id
from kernel.jsontypes import Json
from kernel.jurisdiction import PUBLIC, security_labels
from stream_processors.registry import codes as c

SECURITY = {"security": security_labels([PUBLIC])}


def organization_id(org_id: str) -> str:
    return resource_id("Organization", org_id)


def site_location_id(org_id: str) -> str:
    return resource_id("Location", "site", org_id)


def unit_location_id(unit_id: str) -> str:
    return resource_id("Location", "unit", unit_id)


def practitioner_id(practitioner: str) -> str:
    return resource_id("Practitioner", practitioner)


def role_id(practitioner: str, org_id: str, role: str) -> str:
    return resource_id("PractitionerRole", practitioner, org_id, role)


def device_id(device: str) -> str:
    return resource_id("Device", device)


def endpoint_id(peer: str) -> str:
    return resource_id("Endpoint", peer)


def org_reference(org_id: str) -> Json:
    return {
        "reference": f"Organization/{organization_id(org_id)}",
        "identifier": {"system": SITE_ID, "value": org_id},
    }


def _clean(doc: Json) -> Json:
    return {k: v for k, v in doc.items() if v not in (None, [], {}, "")}


def _identifiers(system: str, party_id: str, details: Json, *more: Json) -> list[Json]:
    own = [{"system": system, "value": party_id}, *more]
    return own + [
        {"system": i["system"], "value": i["value"]} for i in details.get("identifiers") or []
    ]


def _translations(names: dict[str, str]) -> Json | None:
    if not names:
        return None
    return {
        "extension": [
            {
                "url": c.TRANSLATION,
                "extension": [
                    {"url": "lang", "valueCode": lang},
                    {"url": "content", "valueString": text},
                ],
            }
            for lang, text in sorted(names.items())
        ]
    }


def _base(rtype: str, rid: str, active: bool) -> Json:
    return {"resourceType": rtype, "id": rid, "meta": dict(SECURITY), "active": active}


# -- organizations --------------------------------------------------------------------------


def _kind(kind: str) -> list[Json]:
    hl7 = c.ORGANIZATION_KINDS.get(kind)
    codings = [{"system": c.KIND_SYSTEM, "code": kind, "display": c.KIND_DISPLAY.get(kind, kind)}]
    if hl7:
        codings.append({"system": c.ORGANIZATION_TYPE, "code": hl7[0], "display": hl7[1]})
    return [{"coding": codings}]


def _org_extensions(d: Json) -> list[Json]:
    out = []
    if d.get("region_id"):
        out.append({"url": c.EXTENSION + "region", "valueReference": org_reference(d["region_id"])})
    out += [
        {"url": c.EXTENSION + "reads-for", "valueReference": org_reference(clinic)}
        for clinic in d.get("serves") or []
    ]
    return out


def organization(entry: Json) -> Json:
    d, oid = entry["details"], entry["party_id"]
    extra = [{"system": c.STATION_ID, "value": oid}] if d["kind"] == c.STATION else []
    location = d.get("location") or {}
    doc = {
        **_base("Organization", organization_id(oid), entry["active"]),
        "extension": _org_extensions(d),
        "identifier": _identifiers(SITE_ID, oid, d, *extra),
        "type": _kind(d["kind"]),
        "name": d["name"],
        "_name": _translations(d.get("names") or {}),
        "alias": [text for _, text in sorted((d.get("names") or {}).items())],
        "telecom": [{"system": "phone", "value": d["phone"], "use": "work"}]
        if d.get("phone")
        else [],
        "address": [{"text": location["address"]}] if location.get("address") else [],
        "partOf": org_reference(d["parent_id"]) if d.get("parent_id") else None,
    }
    return _clean(doc)


def has_site(entry: Json) -> bool:
    d = entry["details"]
    return d["kind"] in c.SITE_KINDS or bool((d.get("location") or {}).get("latitude"))


def _position(location: Json) -> Json | None:
    if location.get("latitude") is None or location.get("longitude") is None:
        return None
    return {"latitude": location["latitude"], "longitude": location["longitude"]}


def site_location(entry: Json) -> Json:
    """The site of a station, clinic or hospital (an Encounter's destination names it by
    SITE_ID)."""
    d, oid = entry["details"], entry["party_id"]
    location = d.get("location") or {}
    hospital = d["kind"] == c.HOSPITAL
    doc = {
        **_base("Location", site_location_id(oid), entry["active"]),
        "identifier": [{"system": SITE_ID, "value": oid}],
        "status": "active" if entry["active"] else "inactive",
        "name": d["name"],
        "_name": _translations(d.get("names") or {}),
        "mode": "instance",
        "type": [{"coding": [{"system": c.V3_ROLE_CODE, "code": "HOSP", "display": "Hospital"}]}]
        if hospital
        else [],
        "physicalType": {
            "coding": [{"system": c.LOCATION_PHYSICAL_TYPE, "code": "si", "display": "Site"}]
        },
        "address": {"text": location["address"]} if location.get("address") else None,
        "position": _position(location),
        "managingOrganization": org_reference(oid),
    }
    doc.pop("active")  # Location has status, not active
    return _clean(doc)


# -- units ----------------------------------------------------------------------------------


def unit_location(entry: Json) -> Json:
    """An ambulance as a mobile Location (physical type vehicle, v3 RoleCode AMB)."""
    d, uid = entry["details"], entry["party_id"]
    identifiers = [{"system": c.UNIT_ID, "value": uid}]
    if d.get("plate"):
        identifiers.append({"system": c.EXTENSION + "vehicle-plate", "value": d["plate"]})
    doc = {
        **_base("Location", unit_location_id(uid), entry["active"]),
        "identifier": identifiers,
        "status": "active" if entry["active"] else "inactive",
        "name": d["name"],
        "_name": _translations(d.get("names") or {}),
        "alias": [d["call_sign"]] if d.get("call_sign") else [],
        "mode": "instance",
        "type": [{"coding": [{"system": c.V3_ROLE_CODE, "code": "AMB", "display": "Ambulance"}]}],
        "physicalType": {
            "coding": [{"system": c.LOCATION_PHYSICAL_TYPE, "code": "ve", "display": "Vehicle"}]
        },
        "managingOrganization": org_reference(d["station_id"]),
    }
    doc.pop("active")
    return _clean(doc)


# -- practitioners --------------------------------------------------------------------------


def _human_names(d: Json) -> list[Json]:
    main = _clean(
        {
            "use": "official",
            "text": d["name"],
            "family": d.get("family"),
            "given": [d["given"]] if d.get("given") else [],
        }
    )
    others = [
        {
            "extension": [{"url": c.LANGUAGE, "valueCode": lang}],
            "use": "usual",
            "text": text,
        }
        for lang, text in sorted((d.get("names") or {}).items())
    ]
    return [main, *others]


def practitioner(entry: Json) -> Json:
    d, pid = entry["details"], entry["party_id"]
    held = sorted({r["role"] for r in entry["roles"] if r["active"]})
    by_role = [
        {"system": c.ROLE_IDENTIFIERS[r], "value": pid} for r in held if r in c.ROLE_IDENTIFIERS
    ]
    doc = {
        **_base("Practitioner", practitioner_id(pid), entry["active"]),
        "identifier": _identifiers(c.PRACTITIONER_ID, pid, d, *by_role),
        "name": _human_names(d),
        "gender": d.get("gender"),
    }
    return _clean(doc)


def practitioner_role(entry: Json, org_id: str, role: str) -> Json:
    pid = entry["party_id"]
    held = next(
        (r for r in entry["roles"] if (r["organization_id"], r["role"]) == (org_id, role)), None
    )
    active = bool(held and held["active"]) and entry["active"]
    doc = {
        **_base("PractitionerRole", role_id(pid, org_id, role), active),
        "practitioner": {
            "reference": f"Practitioner/{practitioner_id(pid)}",
            "identifier": {"system": c.PRACTITIONER_ID, "value": pid},
        },
        "organization": org_reference(org_id),
        "code": [
            {
                "coding": [
                    {
                        "system": c.ROLE_SYSTEM,
                        "code": role,
                        "display": c.ROLE_DISPLAY.get(role, role),
                    }
                ]
            }
        ],
    }
    return _clean(doc)


# -- devices and peers ----------------------------------------------------------------------


def device(entry: Json) -> Json:
    d, did = entry["details"], entry["party_id"]
    doc: dict[str, Any] = {
        "resourceType": "Device",
        "id": device_id(did),
        "meta": dict(SECURITY),
        "identifier": [{"system": DEVICE_ID, "value": did}],
        "status": "active" if entry["active"] else "inactive",
        "manufacturer": d.get("manufacturer"),
        "serialNumber": d.get("serial_number"),
        "deviceName": [{"name": d["name"], "type": "user-friendly-name"}],
        "modelNumber": d.get("model"),
        "type": {"coding": [{"system": c.DEVICE_KIND_SYSTEM, "code": d["kind"]}]},
        "owner": org_reference(d["organization_id"]),
        "location": {
            "reference": f"Location/{unit_location_id(d['unit_id'])}",
            "identifier": {"system": c.UNIT_ID, "value": d["unit_id"]},
        }
        if d.get("unit_id")
        else None,
    }
    return _clean(doc)


def _ext(name: str, kind: str, value: Any) -> list[Json]:
    return [] if value in (None, "", [], {}) else [{"url": c.EXTENSION + name, kind: value}]


def _peer_extensions(d: Json) -> list[Json]:
    out = _ext("hl7-sending-facility", "valueString", d["sending_facility"])
    out += _ext("hl7-sending-application", "valueString", d.get("sending_application"))
    out += [{"url": c.EXTENSION + "hl7-allowed-address", "valueString": a} for a in d["addresses"]]
    out += _ext("tls-client-subject", "valueString", d.get("certificate_subject"))
    out += _ext("time-zone", "valueCode", d["time_zone"])
    out += _ext("hl7-charset", "valueString", d["charset"])
    out += [{"url": c.EXTENSION + "hl7-version", "valueString": v} for v in d["hl7_versions"]]
    out += [
        {
            "url": c.EXTENSION + "hl7-identifier-authority",
            "extension": [
                {"url": "authority", "valueString": authority},
                {"url": "system", "valueUri": system},
            ],
        }
        for authority, system in sorted(d["identifier_authorities"].items())
    ]
    return out


def endpoint(entry: Json) -> Json:
    """An HL7 v2 peer (connection type hl7v2-mllp). `address` is where signed reads go back,
    or a URN naming the peer when it only sends."""
    d, peer = entry["details"], entry["party_id"]
    address = d.get("report_destination")
    doc = {
        "resourceType": "Endpoint",
        "id": endpoint_id(peer),
        "meta": dict(SECURITY),
        "extension": _peer_extensions(d),
        "identifier": [
            {"system": c.PEER_ID, "value": peer},
            {"system": c.SENDING_FACILITY, "value": d["sending_facility"]},
        ],
        "status": "active" if entry["active"] else "off",
        "connectionType": {"system": c.ENDPOINT_CONNECTION_TYPE, "code": "hl7v2-mllp"},
        "name": d["sending_facility"],
        "managingOrganization": org_reference(d["organization_id"]),
        "payloadType": [{"text": "HL7 v2 (ORU^R01, ADT)"}],
        "address": f"mllp://{address}" if address else f"urn:goldenhour:hl7-peer:{peer}",
    }
    return _clean(doc)
