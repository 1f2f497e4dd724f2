"""Request bodies of the command API (pydantic), named by purpose."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def _id() -> Any:
    """An id that can be a path segment."""
    return Field(min_length=1, max_length=64, pattern=r"^[^/\s]+$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LocationIn(_In):
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=200)


class MciIn(_In):
    """A mass-casualty incident, declared by dispatch."""

    mci_id: str = _id()
    kind: Literal["road-traffic", "fire", "explosion", "collapse", "chemical", "outbreak", "other"]
    title: str = Field(min_length=1, max_length=120)
    scene: LocationIn
    estimated_casualties: int = Field(ge=1, le=10000)
    station_ids: list[str] = Field(min_length=1, max_length=50)
    declared_by: str | None = Field(
        None, max_length=100, description="from the token when auth is on"
    )


class CloseIn(_In):
    closed_by: str | None = Field(None, max_length=100)
    reason: str | None = Field(None, max_length=500)


class CasualtyIn(_In):
    """One casualty tagged (or re-tagged) by a crew. The station is the token's."""

    event_id: str | None = Field(None, max_length=64, description="the tablet's idempotency key")
    casualty_id: str = _id()
    tag: Literal["RED", "YELLOW", "GREEN", "BLACK"]
    method: Literal["START", "SALT", "JUMPSTART"] = "START"
    station_id: str | None = Field(None, max_length=64)
    unit_id: str | None = Field(None, max_length=64)
    category: str | None = Field(None, max_length=32, description="bed category if not the tag's")
    estimated_age: int | None = Field(None, ge=0, le=130)
    sex: Literal["male", "female", "unknown"] | None = None
    note: str | None = Field(None, max_length=500)
    triaged_by: str | None = Field(None, max_length=100)
    occurred_at: dt.datetime | None = Field(None, description="with a UTC offset")


class AssignmentIn(_In):
    hospital_id: str = _id()
    unit_id: str | None = Field(None, max_length=64)
    assigned_by: str | None = Field(None, max_length=100)


class DistributionIn(_In):
    assigned_by: str | None = Field(None, max_length=100)


class BedIn(_In):
    category: str = Field(min_length=1, max_length=32)
    available: int = Field(ge=0, le=10000)


class CapacityIn(_In):
    """A hospital's capacity now (HAvBED / EDXL-HAVE)."""

    event_id: str | None = Field(None, max_length=64)
    beds: list[BedIn] = Field(max_length=30)
    surgical_teams: int = Field(ge=0, le=200)
    cath_lab_open: bool
    ed_status: Literal["normal", "advisory", "closed"]
    reported_by: str | None = Field(None, max_length=100)
    note: str | None = Field(None, max_length=500)


class RouteUpdateIn(_In):
    """What the traffic platform posts back about an escort (docs: README, escort webhook)."""

    event_id: str | None = Field(None, max_length=64)
    ack_id: str = Field(min_length=1, max_length=64)
    status: Literal["planned", "active", "completed", "cancelled"]
    eta: dt.datetime | None = None
    route: list[LocationIn] = Field(default_factory=list, max_length=500)
    signals_cleared: int | None = Field(None, ge=0)
    note: str | None = Field(None, max_length=500)


class AcknowledgeIn(_In):
    acknowledged_by: str | None = Field(None, max_length=100)
    note: str | None = Field(None, max_length=500)
