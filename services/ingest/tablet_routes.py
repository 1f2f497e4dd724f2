"""The ambulance tablet's API: an incident's events (one or an offline batch), what a tablet
missed, and the units' GPS fixes. 2xx only once the log acknowledged."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from avro_schemas.catalogue import POSITION
from avro_schemas.events import UNIT_POSITION_REPORTED
from eventlog.base import LogUnavailable, NewRecord
from kernel.time import now
from services.auth.context import acting_site
from services.deps import SystemDep, app_writer
from services.ingest.fast_body import json_body, openapi_body
from services.ingest.tablet import (
    BatchRefused,
    EventIdOfAnotherIncident,
    IncidentUnknown,
    IncidentWriter,
    StaleTablet,
)
from services.ingest.tablet_examples import BATCH_EXAMPLES
from services.ingest.tablet_models import BatchAccepted, IncidentBatch, PositionBatch
from services.outcome import FhirError, issue, log_unavailable
from services.registry.checks import refuse_unknown, tablet_named

router = APIRouter(prefix="/ingest", tags=["tablet"])

EXTENSION = "https://goldenhour.health/fhir/StructureDefinition/"
IncidentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]


WriterDep = Annotated[IncidentWriter, Depends(app_writer("incidents", IncidentWriter))]


def _unavailable(exc: LogUnavailable) -> FhirError:
    return log_unavailable(exc, "retry the same batch")


@router.post(
    "/incidents/{incident_id}/events",
    status_code=202,
    response_model=BatchAccepted,
    openapi_extra=openapi_body(IncidentBatch, BATCH_EXAMPLES),
    responses={
        404: {"description": "Events for an incident that was never opened (OperationOutcome)"},
        409: {
            "description": "The tablet's `expected_version` is stale: OperationOutcome with "
            "extensions `incident-version` (the current version) and `missed-events` (a JSON "
            "array of the events after the tablet's version, in the shape it sends); ETag "
            "carries the current version"
        },
        422: {
            "description": "Invalid or out-of-order events: one issue per event, nothing appended"
        },
        503: {"description": "The log did not acknowledge; retry the same batch"},
    },
)
def post_incident_events(
    incident_id: IncidentId,
    body: Annotated[IncidentBatch, Depends(json_body(IncidentBatch))],
    writer: WriterDep,
    response: Response,
    system: SystemDep,
) -> BatchAccepted:
    """Record events of one incident, in the tablet's order: a new incident (its first event
    is `IncidentOpened`, `expected_version` 0) or more of one. The batch is appended whole or
    not at all. Resending a batch (same `event_id`s) returns the first answer with
    `Idempotent-Replayed: true`; nothing is appended twice. A station, unit or hospital the
    registry does not know is a 422 naming the field (services/registry/checks.py)."""
    refuse_unknown(system.store, tablet_named(body.events))
    try:
        answer, replayed = writer.submit(incident_id, body)
    except LogUnavailable as exc:
        raise _unavailable(exc) from exc
    except IncidentUnknown as exc:
        raise FhirError(404, str(exc), "not-found") from exc
    except BatchRefused as exc:
        raise _refused(body, exc) from exc
    except StaleTablet as exc:
        raise _stale(exc) from exc
    except EventIdOfAnotherIncident as exc:
        raise FhirError(409, str(exc), "conflict") from exc
    response.headers["ETag"] = f'W/"{answer.version}"'
    response.headers["Location"] = f"/fhir/{answer.encounter}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return answer


def _refused(body: IncidentBatch, exc: BatchRefused) -> FhirError:
    issues = [
        issue(
            f"events[{i}] ({body.events[i].type} {body.events[i].event_id}): {why}",
            "business-rule",
            [f"events[{i}]"],
        )
        for i, why in exc.problems
    ]
    return FhirError(
        422,
        f"batch refused, nothing appended: {len(issues)} event(s) out of order",
        "business-rule",
        more_issues=issues,
    )


def _stale(exc: StaleTablet) -> FhirError:
    return FhirError(
        409,
        f"the incident is at version {exc.current}, the tablet expected {exc.expected}: "
        f"merge the {len(exc.missed)} missed event(s) and resend",
        "conflict",
        ["expected_version"],
        headers={"ETag": f'W/"{exc.current}"'},
        extension=[
            {"url": EXTENSION + "incident-version", "valueInteger": exc.current},
            {"url": EXTENSION + "missed-events", "valueString": json.dumps(exc.missed)},
        ],
    )


@router.get("/incidents/{incident_id}/events")
def get_incident_events(
    incident_id: IncidentId,
    writer: WriterDep,
    since: Annotated[int, Query(ge=0, description="Return the events after this version")] = 0,
) -> dict[str, Any]:
    """The incident's events after version `since`, in the shape a tablet sends them: how a
    tablet that was offline (or replaced) catches up."""
    try:
        facts = writer.facts(incident_id)
        if facts.version == 0:
            raise FhirError(404, f"incident {incident_id} was never opened", "not-found")
        events = writer.events_since(incident_id, since)
    except LogUnavailable as exc:
        raise _unavailable(exc) from exc
    return {"incident_id": incident_id, "version": since + len(events), "events": events}


@router.post("/positions", status_code=202, openapi_extra=openapi_body(PositionBatch))
def post_positions(
    body: Annotated[PositionBatch, Depends(json_body(PositionBatch))], system: SystemDep
) -> dict[str, int]:
    """GPS fixes of units (high rate, compacted per unit): the region's live map."""
    recorded_at = now()
    records = []
    for n, fix in enumerate(body.positions):
        acting_site(fix.station_id, f"positions[{n}].station_id")  # a crew's own units only
        event = {
            "meta": {
                "event_id": fix.event_id,
                "occurred_at": fix.occurred_at,
                "recorded_at": recorded_at,
                "source": {
                    "channel": "tablet",
                    "device_id": body.device_id,
                    "user_id": None,
                    "site_id": fix.station_id,
                },
            },
            "unit_id": fix.unit_id,
            "station_id": fix.station_id,
            "position": {"latitude": fix.latitude, "longitude": fix.longitude, "address": None},
            "speed_kmh": fix.speed_kmh,
            "heading_deg": fix.heading_deg,
            "incident_id": fix.incident_id,
        }
        value = system.codec.encode(UNIT_POSITION_REPORTED, event)
        records.append(NewRecord(fix.unit_id, value, fix.event_id))
    try:
        appended = system.log.append(POSITION, records)
    except LogUnavailable as exc:
        raise _unavailable(exc) from exc
    duplicates = sum(a.duplicate for a in appended)
    return {"accepted": len(appended) - duplicates, "duplicates": duplicates}
