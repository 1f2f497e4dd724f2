"""The one write path of the registry, shared by the admin API and the seed loader:
a request -> checks against the party's own events (read from the log, so two admins and
a seed load see the same truth, not a view that may lag) -> one event appended at the
party's version.

Exactly once: the event id is the caller's, or derived from the content (the same body
sent twice is one event; a re-loaded seed appends nothing). A request whose event id the
party's stream already holds is a retry and is answered as the first time, unchecked.
Concurrent writes to one party meet in the log's per-key version check (409 to the loser).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from avro_schemas.catalogue import REGISTRY
from avro_schemas.codec import Codec
from eventlog.base import EventLog, NewRecord, StaleVersion
from kernel.jsontypes import Json
from stream_processors.registry.published import (
    EVENTS,
    KEY_FIELDS,
    fhir_reference,
    fold_entry,
)
from stream_processors.registry.published import codes as c

NAMESPACE = uuid.UUID("0d9e3c52-4f8a-5b7e-9c1d-2a6b8e4f7c30")
NAMES: dict[tuple[str, str], str] = {(p, what): name for name, (p, what) in EVENTS.items()}


class RegistryRefused(ValueError):
    """A request the registry cannot take: `status` (404, 409, 422) and the field at fault."""

    def __init__(self, status: int, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.field = field


@dataclass(frozen=True)
class Answer:
    """What a write did: `outcome` is registered, updated, unchanged, retired, role-assigned
    or role-ended; `replayed` when the event id was already in the log."""

    party: str
    id: str
    outcome: str
    event_id: str | None
    reference: str
    replayed: bool = False

    def to_json(self) -> Json:
        return {
            "party": self.party,
            "id": self.id,
            "outcome": self.outcome,
            "event_id": self.event_id,
            "resource": self.reference,
        }


@dataclass(frozen=True)
class Stream:
    """One party's events as the log holds them (all parties sharing its id are in one
    key; only its own type's count)."""

    entry: Json | None
    event_ids: dict[str, str]  # event id -> outcome it had
    version: int  # records of the key (every party type sharing the id)


class Registry:
    """Writes to the registry through the log (the API's and the seed loader's path)."""

    def __init__(self, log: EventLog, codec: Codec) -> None:
        self._log = log
        self._codec = codec

    def stream(self, party: str, party_id: str) -> Stream:
        records = self._log.key_records(REGISTRY, party_id)
        entry, ids = None, {}
        for record in records:
            name, event = self._codec.decode(record.value)
            if EVENTS[name][0] != party:
                continue
            entry = fold_entry(entry, name, event) or entry
            ids[record.event_id] = EVENTS[name][1]
        return Stream(entry, ids, len(records))

    def current(self, party: str, party_id: str) -> Json | None:
        """The party's entry as its events say now (None: never registered)."""
        return self.stream(party, party_id).entry

    # -- the writes ------------------------------------------------------------------------

    def _change(self, party: str, party_id: str, event_id: str | None, user: str | None) -> Change:
        return Change(party, party_id, event_id, user, self.stream(party, party_id))

    def upsert(
        self, party: str, party_id: str, details: Json, event_id: str | None, user: str | None
    ) -> Answer:
        """Register the party, or update it if its details differ; nothing if they do not."""
        change = self._change(party, party_id, event_id, user)
        if first := change.first_answer():
            return first
        before = change.stream.entry
        if before is not None and before["active"] and before["details"] == details:
            return change.unchanged()
        self.check_references(party, details)
        what = "updated" if before is not None else "registered"
        return self._commit(change, [change.event(what, {"details": details})])

    def register(
        self, party: str, party_id: str, details: Json, event_id: str | None, user: str | None
    ) -> Answer:
        """Register a new party; the same details again are `unchanged`; other details for a
        registered id are a 409 (update it instead)."""
        change = self._change(party, party_id, event_id, user)
        if first := change.first_answer():
            return first
        if change.stream.entry is not None:
            if change.stream.entry["active"] and change.stream.entry["details"] == details:
                return change.unchanged()
            raise RegistryRefused(
                409, f"{party} {party_id} is already registered: PUT to update it", "id"
            )
        self.check_references(party, details)
        return self._commit(change, [change.event("registered", {"details": details})])

    def retire(
        self, party: str, party_id: str, reason: str | None, event_id: str | None, user: str | None
    ) -> Answer:
        """Retire a party; a practitioner's roles end with it (one append, in order)."""
        change = self._change(party, party_id, event_id, user)
        if first := change.first_answer():
            return first
        entry = change.existing()
        if not entry["active"]:
            return change.unchanged()
        active = [r for r in entry["roles"] if r["active"]]
        ended = [
            change.event("role-ended", {**_role(r), "reason": reason}, n, derived=True)
            for n, r in enumerate(active)
        ]
        retired = change.event("retired", {"reason": reason}, len(ended))
        return self._commit(change, [*ended, retired])

    def role(
        self,
        practitioner_id: str,
        org_id: str,
        role: str,
        assign: bool,
        event_id: str | None,
        user: str | None,
    ) -> Answer:
        """Assign (or end) a practitioner's role at a registered organization."""
        change = self._change(c.PRACTITIONER, practitioner_id, event_id, user)
        if first := change.first_answer():
            return first
        held = any(
            r["active"] and (r["organization_id"], r["role"]) == (org_id, role)
            for r in change.existing()["roles"]
        )
        if held == assign:
            return change.unchanged()
        if assign:
            self.require(c.ORGANIZATION, org_id, "organization_id")
        fields: Json = {"organization_id": org_id, "role": role}
        if not assign:
            fields["reason"] = None
        return self._commit(
            change, [change.event("role-assigned" if assign else "role-ended", fields)]
        )

    # -- checks ----------------------------------------------------------------------------

    def check_references(self, party: str, details: Json) -> None:
        """Every party the details name is registered and active, of the right kind (a
        unit's station is a station, a reading centre reads for clinics): 422 naming the
        field otherwise. Parties are registered in order: parents first."""
        for ref_party, ref_id, field, kind in references(party, details):
            self.require(ref_party, ref_id, field, kind)

    def require(self, party: str, party_id: str, field: str, kind: str | None = None) -> Json:
        """The active party a request names, or 422 naming the field."""
        entry = self.current(party, party_id)
        if entry is None or not entry["active"]:
            raise RegistryRefused(
                422, f"{field}: no active {kind or party} {party_id!r} is registered", field
            )
        if kind and entry["details"].get("kind") != kind:
            raise RegistryRefused(
                422,
                f"{field}: {party_id!r} is a {entry['details'].get('kind')}, not a {kind}",
                field,
            )
        return entry

    # -- appending -------------------------------------------------------------------------

    def _commit(self, change: Change, events: list[tuple[str, Json]]) -> Answer:
        """Append the events at the party's version; the answer names the last one."""
        records = [
            NewRecord(change.party_id, self._codec.encode(name, e), e["meta"]["event_id"])
            for name, e in events
        ]
        try:
            result = self._log.append_at_version(
                REGISTRY, change.party_id, change.stream.version, records
            )
        except StaleVersion as exc:
            raise RegistryRefused(
                409, f"{change.party} {change.party_id} changed meanwhile; retry"
            ) from exc
        what = EVENTS[events[-1][0]][1]
        replayed = all(a.duplicate for a in result.appended)
        return change.answer(what, records[-1].event_id, replayed)


@dataclass(frozen=True)
class Change:
    """One request to change one party: who sends it (`user`), its event id (None: derived
    from the content), and the party's events as the log held them when it was decided."""

    party: str
    party_id: str
    event_id: str | None
    user: str | None
    stream: Stream

    def first_answer(self) -> Answer | None:
        """When the log already holds this event id (a retry), the answer it had then."""
        if not self.event_id or self.event_id not in self.stream.event_ids:
            return None
        return self.answer(self.stream.event_ids[self.event_id], self.event_id, True)

    def existing(self) -> Json:
        """The party's entry (404 if it was never registered)."""
        if self.stream.entry is None:
            raise RegistryRefused(404, f"{self.party} {self.party_id} is not registered")
        return self.stream.entry

    def answer(self, what: str, event_id: str | None, replayed: bool = False) -> Answer:
        reference = fhir_reference(self.party, self.party_id)
        return Answer(self.party, self.party_id, what, event_id, reference, replayed)

    def unchanged(self) -> Answer:
        return self.answer("unchanged", None)

    def event(self, what: str, fields: Json, n: int = 0, derived: bool = False) -> tuple[str, Json]:
        """The request's `n`-th event (0: the first appended): its id the request's, unless
        `derived` or none was given, then derived from the party's version before it and
        the content."""
        version = self.stream.version + n
        given = None if derived else self.event_id
        now = dt.datetime.now(dt.UTC)
        event = {
            "meta": {
                "event_id": given or _derived(what, self.party, self.party_id, version, fields),
                "occurred_at": now,
                "recorded_at": now,
                "source": {
                    "channel": "admin",
                    "device_id": None,
                    "user_id": self.user,
                    "site_id": None,
                },
            },
            KEY_FIELDS[self.party]: self.party_id,
            **fields,
        }
        return NAMES[(self.party, what)], event


def references(party: str, d: Json) -> list[tuple[str, str, str, str | None]]:
    """(party type, id, field, kind) of every party the details name."""
    org = c.ORGANIZATION
    out: list[tuple[str, str, str, str | None]] = []
    if party == c.ORGANIZATION:
        out += [(org, d["parent_id"], "parent_id", None)] if d.get("parent_id") else []
        out += [(org, d["region_id"], "region_id", c.REGION)] if d.get("region_id") else []
        out += [(org, x, f"serves[{i}]", c.CLINIC) for i, x in enumerate(d.get("serves") or [])]
    elif party == c.UNIT:
        out.append((org, d["station_id"], "station_id", c.STATION))
    elif party in (c.DEVICE, c.PEER):
        out.append((org, d["organization_id"], "organization_id", None))
        out += [(c.UNIT, d["unit_id"], "unit_id", None)] if d.get("unit_id") else []
    return out


def _role(role: Json) -> Json:
    return {"organization_id": role["organization_id"], "role": role["role"]}


def _derived(what: str, party: str, party_id: str, version: int, content: Any) -> str:
    """An event id from the party's version and the content: the same request sent twice
    against the same state is one event (a later A -> B -> A change is a new one)."""
    text = json.dumps(
        [what, party, party_id, version, content], sort_keys=True, ensure_ascii=False, default=str
    )
    return str(uuid.uuid5(NAMESPACE, text))
