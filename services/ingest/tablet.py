"""The tablet's write path: a validated batch of one incident's events -> rules checked
against the incident's record -> appended at the tablet's expected version, all or nothing.

Exactly once: a batch any of whose event ids the incident already holds is a retry; it is
answered from the log (only events that never landed are appended) and never re-checked.
Concurrent first attempts of the same batch meet in the log's per-key version check: one
appends, the others find their ids there and are answered as retries.

The incident's facts (version, timeline, handover state) are folded from its records and
cached per process; the cache is a speed-up only, caught up from the log (records after the
cached version) before every use, so writes by other processes (the hospital board) count.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from avro_schemas.catalogue import INCIDENT
from avro_schemas.codec import Codec
from avro_schemas.events import INCIDENT_OPENED
from eventlog.base import EventLog, KeyAppended, NewRecord, StaleVersion
from kernel.jsontypes import Json
from kernel.time import now
from services.auth.context import check_crew_station
from services.ingest.incident_rules import IncidentFacts, advance, check_batch
from services.ingest.tablet_events import to_event, to_tablet
from services.ingest.tablet_models import BatchAccepted, EventAccepted, IncidentBatch
from stream_processors.fhir_projector.published import encounter_id

CACHED_INCIDENTS = 10_000


class IncidentUnknown(LookupError):
    """Events for an incident that was never opened."""


@dataclass
class BatchRefused(ValueError):
    """Events that break the incident's order rules: (index in batch, reason)."""

    problems: list[tuple[int, str]]


@dataclass
class StaleTablet(RuntimeError):
    """The tablet expected another version; `missed` are the events after its version."""

    expected: int
    current: int
    missed: list[Json]


class EventIdOfAnotherIncident(ValueError):
    """An event id already used on another incident (a tablet bug, not a retry)."""


def encounter_ref(incident_id: str) -> str:
    return f"Encounter/{encounter_id(incident_id)}"


def _station(facts: IncidentFacts, events: list[tuple[str, Json]]) -> str:
    """The incident's station: as opened in the log, or as this batch opens it."""
    if facts.opened:
        return facts.station_id
    opened = [e for n, e in events if n.endswith(".IncidentOpened")]
    return str(opened[0].get("station_id") or "") if opened else ""


class IncidentWriter:
    def __init__(self, log: EventLog, codec: Codec) -> None:
        self._log = log
        self._codec = codec
        self._facts: OrderedDict[str, IncidentFacts] = OrderedDict()
        self._lock = threading.Lock()

    def facts(self, incident_id: str) -> IncidentFacts:
        """The incident's facts as the log holds them now."""
        with self._lock:
            cached = self._facts.get(incident_id, IncidentFacts())
        facts = cached
        for record in self._log.key_records(INCIDENT, incident_id, cached.version):
            name, event = self._codec.decode(record.value)
            facts = advance(facts, name, event)
        self._remember(incident_id, facts)
        return facts

    def events_since(self, incident_id: str, version: int) -> list[Json]:
        """The incident's events after `version`, as the tablet sends them (403 for a crew
        of another station)."""
        check_crew_station(self.facts(incident_id).station_id, f"incident {incident_id}")
        out = []
        for record in self._log.key_records(INCIDENT, incident_id, version):
            name, event = self._codec.decode(record.value)
            out.append(to_tablet(name, event))
        return out

    def submit(self, incident_id: str, batch: IncidentBatch) -> tuple[BatchAccepted, bool]:
        """Append the batch (durable on return); the answer and whether it was a replay.
        Raises IncidentUnknown, BatchRefused, StaleTablet, EventIdOfAnotherIncident and the
        log's LogUnavailable (then retrying the same batch is safe)."""
        recorded_at = now()
        events = [
            to_event(item, incident_id, recorded_at, batch.device_id, batch.user_id)
            for item in batch.events
        ]
        records = [
            NewRecord(incident_id, self._codec.encode(name, event), event["meta"]["event_id"])
            for name, event in events
        ]
        facts = self.facts(incident_id)
        check_crew_station(_station(facts, events), f"incident {incident_id}")
        if any(e.event_id in facts.event_ids for e in batch.events):
            result = self._log.append_at_version(INCIDENT, incident_id, None, records)
        else:
            self._check(incident_id, batch, facts, events)
            try:
                result = self._log.append_at_version(
                    INCIDENT, incident_id, batch.expected_version, records
                )
            except StaleVersion as stale:
                raise self._stale(incident_id, batch.expected_version, stale.current) from stale
            if not any(a.duplicate for a in result.appended):
                for name, event in events:
                    facts = advance(facts, name, event)
                self._remember(incident_id, facts)
        self._refuse_foreign_ids(incident_id, batch, result)
        return self._answer(incident_id, batch, result), all(a.duplicate for a in result.appended)

    def _check(
        self,
        incident_id: str,
        batch: IncidentBatch,
        facts: IncidentFacts,
        events: list[tuple[str, Json]],
    ) -> None:
        if not facts.opened and all(name != INCIDENT_OPENED for name, _ in events):
            raise IncidentUnknown(f"incident {incident_id} was never opened")
        if batch.expected_version != facts.version:
            raise self._stale(incident_id, batch.expected_version, facts.version)
        if problems := check_batch(facts, events):
            raise BatchRefused(problems)

    def _stale(self, incident_id: str, expected: int, current: int) -> StaleTablet:
        missed = self.events_since(incident_id, expected) if expected < current else []
        return StaleTablet(expected, current, missed)

    def _refuse_foreign_ids(
        self, incident_id: str, batch: IncidentBatch, result: KeyAppended
    ) -> None:
        for item, appended in zip(batch.events, result.appended, strict=True):
            if not appended.duplicate:
                continue
            stored = self._log.read(INCIDENT, appended.partition, appended.offset, 1)
            if stored and stored[0].key != incident_id:
                raise EventIdOfAnotherIncident(
                    f"event_id {item.event_id} was already used on incident {stored[0].key}"
                )

    @staticmethod
    def _answer(incident_id: str, batch: IncidentBatch, result: KeyAppended) -> BatchAccepted:
        return BatchAccepted(
            incident_id=incident_id,
            version=result.version,
            encounter=encounter_ref(incident_id),
            events=[
                EventAccepted(
                    event_id=item.event_id,
                    type=item.type,
                    sequence=sequence,
                    duplicate=appended.duplicate,
                )
                for item, appended, sequence in zip(
                    batch.events, result.appended, result.sequences, strict=True
                )
            ],
        )

    def _remember(self, incident_id: str, facts: IncidentFacts) -> None:
        with self._lock:
            known = self._facts.get(incident_id)
            if known is None or known.version <= facts.version:
                self._facts[incident_id] = facts
            self._facts.move_to_end(incident_id)
            while len(self._facts) > CACHED_INCIDENTS:
                self._facts.popitem(last=False)
