"""One party's registry entry, folded from its events: the internal `RegistryEntry`
document every read of the registry starts from (services read it through published.py).

The topic is keyed by the party's id, so one party's events arrive in order. A registration
or an update replaces the details whole (the event carries all of them); a retirement keeps
them and makes the party inactive; a role is a fact of its practitioner.
"""

from __future__ import annotations

from collections.abc import Callable

from avro_schemas import events as ev
from kernel.ids import resource_id
from kernel.jsontypes import Json
from kernel.jurisdiction import PUBLIC, security_labels
from stream_processors.registry.codes import DEVICE, ORGANIZATION, PEER, PRACTITIONER, UNIT

ENTRY = "RegistryEntry"

# event name -> (party type, what happened)
REGISTERED, UPDATED, RETIRED, ROLE_ASSIGNED, ROLE_ENDED = (
    "registered",
    "updated",
    "retired",
    "role-assigned",
    "role-ended",
)
EVENTS: dict[str, tuple[str, str]] = {
    ev.ORGANIZATION_REGISTERED: (ORGANIZATION, REGISTERED),
    ev.ORGANIZATION_UPDATED: (ORGANIZATION, UPDATED),
    ev.ORGANIZATION_RETIRED: (ORGANIZATION, RETIRED),
    ev.UNIT_REGISTERED: (UNIT, REGISTERED),
    ev.UNIT_UPDATED: (UNIT, UPDATED),
    ev.UNIT_RETIRED: (UNIT, RETIRED),
    ev.PRACTITIONER_REGISTERED: (PRACTITIONER, REGISTERED),
    ev.PRACTITIONER_UPDATED: (PRACTITIONER, UPDATED),
    ev.PRACTITIONER_RETIRED: (PRACTITIONER, RETIRED),
    ev.PRACTITIONER_ROLE_ASSIGNED: (PRACTITIONER, ROLE_ASSIGNED),
    ev.PRACTITIONER_ROLE_ENDED: (PRACTITIONER, ROLE_ENDED),
    ev.DEVICE_REGISTERED: (DEVICE, REGISTERED),
    ev.DEVICE_UPDATED: (DEVICE, UPDATED),
    ev.DEVICE_RETIRED: (DEVICE, RETIRED),
    ev.PEER_REGISTERED: (PEER, REGISTERED),
    ev.PEER_UPDATED: (PEER, UPDATED),
    ev.PEER_RETIRED: (PEER, RETIRED),
}
KEY_FIELDS = {
    ORGANIZATION: "organization_id",
    UNIT: "unit_id",
    PRACTITIONER: "practitioner_id",
    DEVICE: "device_id",
    PEER: "peer_id",
}


def entry_id(party: str, party_id: str) -> str:
    return resource_id(ENTRY, party, party_id)


def party_of(event_name: str, event: Json) -> tuple[str, str]:
    """(party type, party id) an event is about."""
    party = EVENTS[event_name][0]
    return party, event[KEY_FIELDS[party]]


def _new(party: str, party_id: str) -> Json:
    return {
        "resourceType": ENTRY,
        "id": entry_id(party, party_id),
        # Who is who is readable by every authenticated role (kernel/jurisdiction.py).
        "meta": {"security": security_labels([PUBLIC])},
        "party": party,
        "party_id": party_id,
        "active": False,
        "details": None,
        "roles": [],
        "retired_reason": None,
    }


def _described(entry: Json, event: Json) -> Json:
    return {**entry, "active": True, "details": event["details"], "retired_reason": None}


def _retired(entry: Json, event: Json) -> Json:
    return {**entry, "active": False, "retired_reason": event.get("reason")}


def _role_key(role: Json) -> tuple[str, str]:
    return role["organization_id"], role["role"]


def _with_role(entry: Json, event: Json, active: bool) -> Json:
    key = (event["organization_id"], event["role"])
    roles = [r for r in entry["roles"] if _role_key(r) != key]
    if active or any(_role_key(r) == key for r in entry["roles"]):
        roles.append({"organization_id": key[0], "role": key[1], "active": active})
    return {**entry, "roles": sorted(roles, key=_role_key)}


STEPS: dict[str, Callable[[Json, Json], Json]] = {
    REGISTERED: _described,
    UPDATED: _described,
    RETIRED: _retired,
    ROLE_ASSIGNED: lambda entry, event: _with_role(entry, event, True),
    ROLE_ENDED: lambda entry, event: _with_role(entry, event, False),
}


def fold_entry(before: Json | None, event_name: str, event: Json) -> Json | None:
    """The entry after `event`; None when the event changes nothing (a retirement or a role
    of a party never registered: the admin API refuses those, a hand-made log may not)."""
    party, party_id = party_of(event_name, event)
    what = EVENTS[event_name][1]
    if before is None and what not in (REGISTERED, UPDATED):
        return None
    after = STEPS[what](before or _new(party, party_id), event)
    return {**after, "meta": _new(party, party_id)["meta"]}  # the state came without meta
