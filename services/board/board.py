"""The receiving hospital's board and the region's unit view: queries over the views, and
the one command (accept a handover).

Queries read the views only (the board may run in another process than the processors, on
Cassandra). Each has a cheap *digest*, the (id, version) pairs it shows, which the
server-sent-event streams poll to push only when something changed. The ECG of an
incoming ambulance is shown from two other processors' views, read at render time: the
waveform Observation (FHIR projector) and the read-queue item, whose `measurements` hold
the automatic triage class of the `EcgMeasured` event (the queue's own class also counts
the sender's urgency and the pre-alert). The casualties of an active mass-casualty
incident assigned to the hospital are shown from the MCI processor's published views,
through the command centre's read (services/command/queries.py), so the board and
`GET /command/expected/{hospital}` cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time

from avro_schemas.catalogue import INCIDENT
from avro_schemas.events import HANDOVER_ACCEPTED, short
from kernel.ids import ecg_observation_id, resource_id
from kernel.jsontypes import Json
from kernel.time import instant, parse_instant
from services.command import queries as command
from services.ingest.submit import append_event
from services.system import System
from stream_processors.diagnosis_queue.published import QueueItem, queue_item_id
from stream_processors.hospital_board.published import (
    BOARD_INDEX,
    PROCESSOR,
    RESOURCE_TYPE,
    incoming_id,
)
from stream_processors.mci.published import COLOURS
from stream_processors.unit_tracker.published import REGION_INDEX, REGION_KEY

HANDED_OVER_SHOWN = 20  # handed-over cards kept on the board (newest first) until cleared
FOLD_WAIT_S = 5.0  # an accept waits this long for the board to show it, then answers anyway
FOLD_POLL_S = 0.02
OBSERVED_CACHE = 4096  # ECG ids known to have their Observation stored (it never goes away)


class HandoverRefused(LookupError):
    """The handover cannot be accepted here (unknown incident, none submitted, elsewhere)."""


def _read(system: System, rtype: str, rid: str) -> Json | None:
    stored = system.store.read(rtype, rid)
    return None if stored is None else dict(json.loads(stored.body))


def _version(doc: Json | None) -> str:
    return str((doc or {}).get("meta", {}).get("versionId", "-"))


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


# --- the hospital board -----------------------------------------------------------------


def listed(system: System, hospital_id: str) -> list[Json]:
    """IncomingAmbulance resources on the hospital's board, in id order."""
    docs = (_read(system, t, i) for t, i in system.store.lookup(BOARD_INDEX, hospital_id))
    return [d for d in docs if d is not None and d.get("destination_id") == hospital_id]


def incoming(system: System, incident_id: str) -> Json | None:
    return _read(system, RESOURCE_TYPE, incoming_id(incident_id))


def queue_item(system: System, ecg_id: str) -> QueueItem | None:
    doc = _read(system, "QueueItem", queue_item_id(ecg_id))
    return None if doc is None else QueueItem.from_json(doc)


_observed: dict[tuple[int, str], None] = {}


def has_observation(system: System, ecg_id: str) -> bool:
    """Is the ECG's waveform Observation stored? Remembered once seen: it is large, and
    the board's stream asks every second."""
    key = (id(system.store), ecg_id)
    if key in _observed:
        return True
    if system.store.read("Observation", ecg_observation_id(ecg_id)) is None:
        return False
    if len(_observed) >= OBSERVED_CACHE:
        _observed.pop(next(iter(_observed)))
    _observed[key] = None
    return True


def ecg_summary(system: System, ecg: Json) -> Json:
    """One ECG of an incident: its acquisition time, automatic class and findings."""
    item = queue_item(system, ecg["ecg_id"])
    measured = item.measurements if item else {}
    observed = has_observation(system, ecg["ecg_id"])
    return {
        **ecg,
        "observation": f"Observation/{ecg_observation_id(ecg['ecg_id'])}" if observed else "",
        "automatic_class": measured.get("triage_class") or "",
        "queue_class": item.triage_class if item and item.requested else "",
        "heart_rate_bpm": measured.get("heart_rate_bpm"),
        "findings": [r for r in (item.reasons if item else ()) if not r.startswith("sender:")],
        "read_status": item.status if item and item.requested else "",
    }


def board(system: System, hospital_id: str) -> Json:
    """The board as JSON: incoming ambulances (soonest ETA first) and handed-over ones."""
    cards = [
        {**d, "ecgs": [ecg_summary(system, e) for e in d["ecgs"]]}
        for d in listed(system, hospital_id)
    ]
    coming = sorted(
        (c for c in cards if c["status"] != "handed_over"),
        key=lambda c: (c["prealert"].get("eta") or "~", c["incident_id"]),
    )
    gone = sorted(
        (c for c in cards if c["status"] == "handed_over"),
        key=lambda c: (c["accepted"]["at"], c["incident_id"]),
        reverse=True,
    )
    return {
        "hospital_id": hospital_id,
        "incoming": coming,
        "handed_over": gone[:HANDED_OVER_SHOWN],
        "expected_mci": expected_mci(system, hospital_id),
    }


def _eta(casualty: Json) -> str | None:
    """Assignment time plus the plan's travel time; None when either is unknown."""
    if casualty.get("travel_min") is None or not casualty.get("assigned_at"):
        return None
    at = parse_instant(casualty["assigned_at"])
    return instant(at + dt.timedelta(minutes=casualty["travel_min"]))


def expected_mci(system: System, hospital_id: str) -> Json:
    """Casualties of active MCIs assigned to this hospital: counts by tag colour and each
    casualty (tag number, colour, unit, ETA if the plan gave a travel time). The store
    filters by the caller's jurisdiction, as for every read."""
    casualties = [{**c, "eta": _eta(c)} for c in command.expected(system, hospital_id)]
    counts = dict.fromkeys(COLOURS, 0)
    for c in casualties:
        if c["tag"] in counts:
            counts[c["tag"]] += 1
    return {"counts": counts, "casualties": casualties}


def board_digest(system: System, hospital_id: str) -> str:
    """Changes whenever the board would render differently (clock-driven text aside)."""
    parts = []
    for doc in listed(system, hospital_id):
        parts.append(f"{doc['id']}:{_version(doc)}")
        for ecg in doc["ecgs"]:
            item = _read(system, "QueueItem", queue_item_id(ecg["ecg_id"]))
            observed = has_observation(system, ecg["ecg_id"])
            parts.append(f"{ecg['ecg_id']}:{_version(item)}:{observed}")
    for c in command.expected(system, hospital_id):
        parts.append(f"{c['mci_id']}:{c['casualty_id']}:{c['tag']}:{c['travel_min']}")
    return _digest(parts)


# --- accepting a handover -------------------------------------------------------------------


def accepted_event_id(incident_id: str) -> str:
    """One transfer of care per incident: a double click, a retry or a second clinician
    appends nothing new (the log refuses a second record with this id)."""
    return resource_id(short(HANDOVER_ACCEPTED), incident_id)


def _check_acceptable(doc: Json | None, hospital_id: str, incident_id: str) -> None:
    if doc is None:
        raise HandoverRefused(f"no incident {incident_id} is known to the board")
    if not doc.get("handover"):
        raise HandoverRefused(f"incident {incident_id} has no handover submitted yet")
    # Accepted once, by its destination: after the acceptance the incident is the accepting
    # hospital's, and only its repeat is answered (as a replay); another hospital is refused.
    addressed = (doc.get("accepted") or {}).get("hospital_id") or doc.get("destination_id")
    if addressed != hospital_id:
        raise HandoverRefused(
            f"the handover of incident {incident_id} is addressed to {addressed}, not {hospital_id}"
        )


def accept_handover(
    system: System, hospital_id: str, incident_id: str, accepted_by: str, at: dt.datetime
) -> tuple[Json, bool]:
    """Record the transfer of care (`HandoverAccepted`); returns (the stored event,
    duplicate). Refuses what the board does not show as a submitted handover for this
    hospital (the button is only there once the handover is)."""
    _check_acceptable(incoming(system, incident_id), hospital_id, incident_id)
    event = {
        "meta": {
            "event_id": accepted_event_id(incident_id),
            "occurred_at": at,
            "recorded_at": at,
            "source": {
                "channel": "board",
                "device_id": None,
                "user_id": accepted_by,
                "site_id": hospital_id,
            },
        },
        "incident_id": incident_id,
        "accepted_by": accepted_by,
        "hospital_id": hospital_id,
    }
    stored, partition, offset, duplicate = append_event(
        system, INCIDENT, incident_id, HANDOVER_ACCEPTED, event
    )
    _wait_folded(system, partition, offset)
    return stored, duplicate


def _wait_folded(system: System, partition: int, offset: int) -> None:
    """Best effort, so the page reloaded after the click shows the transfer of care."""
    deadline = time.monotonic() + FOLD_WAIT_S
    name = PROCESSOR.name
    while (system.store.checkpoint(name, INCIDENT, partition) or 0) <= offset:
        if time.monotonic() > deadline:
            return
        time.sleep(FOLD_POLL_S)


# --- the region's units -----------------------------------------------------------------------


def units(system: System, station_id: str | None = None) -> list[Json]:
    """UnitState resources, by station then unit id."""
    refs = system.store.lookup(REGION_INDEX, REGION_KEY)
    docs = [d for t, i in refs if (d := _read(system, t, i)) is not None]
    if station_id:
        docs = [d for d in docs if d.get("station_id") == station_id]
    return sorted(docs, key=lambda d: (d.get("station_id", ""), d["unit_id"]))


def units_digest(docs: list[Json]) -> str:
    return _digest([f"{d['id']}:{_version(d)}" for d in docs])
