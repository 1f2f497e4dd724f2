"""Patient demographics from events, merged so the result does not depend on arrival order.

Events about one patient come from many partitions (every ECG, every incident), so their
processing order differs between a live run and a rebuild. The merge is therefore
commutative: identifiers are a sorted union; each demographic field is taken from the event
that occurred last (the instant is kept in an extension so the rule survives restarts).

Identity links (`link`, `active`) are written only by the identity folds
(`identity_to_fhir.py`) and carried over untouched by `merge_patient`, so demographics and
links commute. `link` is a sorted set; `active` is derived from it: false while the Patient
is replaced by another, absent otherwise (as before any link).
"""

from __future__ import annotations

import datetime as dt
import json

from kernel.codes import IDENTIFIER_TYPE, RESIDENT_ID
from kernel.ids import patient_id
from kernel.jsontypes import Json
from kernel.time import instant

AS_OF_URL = "https://goldenhour.health/fhir/StructureDefinition/demographics-as-of"
LINK_FIELDS = ("active", "link")


def _identifier(i: Json) -> Json:
    out: Json = {"system": i["system"], "value": i["value"]}
    if i["system"] == RESIDENT_ID:
        out["type"] = {"coding": [{"system": IDENTIFIER_TYPE, "code": "NNCHN"}]}
    return out


def demographics(details: Json) -> Json:
    """The FHIR demographic fields the sender stated (absent ones omitted)."""
    out: Json = {}
    if details.get("family") or details.get("given"):
        name: Json = {}
        if details.get("family"):
            name["family"] = details["family"]
        if details.get("given"):
            name["given"] = [details["given"]]
        out["name"] = [name]
    if details.get("gender"):
        out["gender"] = details["gender"]
    if details.get("birth_date"):
        out["birthDate"] = details["birth_date"].isoformat()
    return out


def _as_of(patient: Json | None) -> str:
    for ext in (patient or {}).get("extension", []):
        if ext["url"] == AS_OF_URL:
            return str(ext["valueInstant"])
    return ""


def _order_key(stated: tuple[str, Json]) -> tuple[str, str]:
    # Ties broken by content so that the order of arrival never decides.
    return stated[0], json.dumps(stated[1], sort_keys=True)


def _newer_first(a: tuple[str, Json], b: tuple[str, Json]) -> tuple[Json, Json]:
    return (a[1], b[1]) if _order_key(a) >= _order_key(b) else (b[1], a[1])


def merge_patient(current: Json | None, details: Json, occurred_at: dt.datetime) -> Json:
    """`current` Patient (or None) updated with what one event says of the patient."""
    stated = instant(occurred_at)
    old_demo = {k: v for k, v in (current or {}).items() if k in ("name", "gender", "birthDate")}
    newer, older = _newer_first((stated, demographics(details)), (_as_of(current), old_demo))
    identifiers = {(i["system"], i["value"]): i for i in (current or {}).get("identifier", [])}
    identifiers.update({(i["system"], i["value"]): _identifier(i) for i in details["identifiers"]})
    return {
        "resourceType": "Patient",
        "id": patient_id(details["identifiers"]) if current is None else current["id"],
        "extension": [{"url": AS_OF_URL, "valueInstant": max(stated, _as_of(current))}],
        "identifier": [identifiers[k] for k in sorted(identifiers)],
        **{**older, **newer},
        **{k: current[k] for k in LINK_FIELDS if current and k in current},
    }


def stub_patient(rid: str, identifier: Json) -> Json:
    """A Patient known so far only from a link: its id and the identifier that named it.
    Later events merge into it (`merge_patient` keeps the id and unites identifiers)."""
    return {"resourceType": "Patient", "id": rid, "identifier": [_identifier(identifier)]}


def _link_key(link: Json) -> tuple[str, str]:
    return str(link["other"]["reference"]), str(link["type"])


def with_links(patient: Json, links: list[Json]) -> Json:
    """`patient` with exactly these links (deduplicated, sorted) and the `active` they imply."""
    unique = {_link_key(link): link for link in links}
    out = {k: v for k, v in patient.items() if k not in LINK_FIELDS}
    if unique:
        out["link"] = [unique[k] for k in sorted(unique)]
    if any(link["type"] == "replaced-by" for link in unique.values()):
        out["active"] = False
    return out


def link_to(other_id: str, link_type: str) -> Json:
    """A Patient.link entry (link-type: replaced-by, replaces, refer, seealso)."""
    return {"other": {"reference": f"Patient/{other_id}"}, "type": link_type}


def add_link(patient: Json, other_id: str, link_type: str) -> Json:
    return with_links(patient, [*patient.get("link", []), link_to(other_id, link_type)])


def remove_link(patient: Json, other_id: str, link_type: str) -> Json:
    gone = _link_key(link_to(other_id, link_type))
    return with_links(patient, [x for x in patient.get("link", []) if _link_key(x) != gone])
