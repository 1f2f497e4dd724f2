"""Checks of incoming ids against the registry, for the write paths that name parties:
the tablet API (a station, a unit, a destination hospital), ECG submission (the clinic or
hospital that sends), the reading centre (the reader). An id the registry does not know,
or knows as another kind, is a 422 OperationOutcome whose `expression` names the field;
nothing is appended.

Only while `registry_in_force` (stream_processors/registry/published.py): an empty
registry is a development setup where ids are not checked, announced by `warn_if_open`
at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from avro_schemas import events as ev
from avro_schemas.events import short
from services.outcome import FhirError, issue
from stream_processors.registry.published import codes as c
from stream_processors.registry.published import is_known, registry_in_force
from viewstore.base import ViewStore

log = logging.getLogger(__name__)

# The tablet's events and the parties their fields name: field -> registry kind.
TABLET_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    short(ev.INCIDENT_OPENED): (("station_id", c.STATION), ("unit_id", c.UNIT)),
    short(ev.UNIT_STATUS_CHANGED): (("unit_id", c.UNIT),),
    short(ev.PRE_ALERT_RAISED): (("destination_id", c.HOSPITAL),),
    short(ev.HANDOVER_SUBMITTED): (("destination_id", c.HOSPITAL),),
    short(ev.HANDOVER_ACCEPTED): (("hospital_id", c.HOSPITAL),),
}
# An ECG's sending site, by its declared kind.
SITE_KINDS = {"clinic": c.CLINIC, "hospital": c.HOSPITAL, "ambulance": c.UNIT}


@dataclass(frozen=True)
class Named:
    """A party an incoming request names: where (a FHIRPath-like field), what kind, which id."""

    field: str
    kind: str
    id: str


def unknown(store: ViewStore, named: Iterable[Named]) -> list[Named]:
    """The named parties the registry does not know (as that kind); none while the registry
    is empty."""
    wanted = [n for n in named if n.id]
    if not wanted or not registry_in_force(store):
        return []
    return [n for n in wanted if not is_known(store, n.kind, n.id)]


def refuse_unknown(store: ViewStore, named: Sequence[Named]) -> None:
    """422 naming every unknown party's field; returns when all are known."""
    missing = unknown(store, named)
    if not missing:
        return
    issues = [
        issue(f"{n.field}: no {n.kind} {n.id!r} in the registry", "code-invalid", [n.field])
        for n in missing
    ]
    first = issues[0]
    raise FhirError(
        422, first["diagnostics"], "code-invalid", first["expression"], more_issues=issues[1:]
    )


def tablet_named(events: Iterable[object]) -> list[Named]:
    """The parties a tablet batch names (`events[i].<field>`)."""
    out = []
    for i, event in enumerate(events):
        for field, kind in TABLET_FIELDS.get(str(getattr(event, "type", "")), ()):
            value = getattr(event, field, None)
            if value:
                out.append(Named(f"events[{i}].{field}", kind, str(value)))
    return out


def ecg_site_named(site_id: str, site_kind: str) -> list[Named]:
    return [Named("site.id", SITE_KINDS.get(site_kind, c.ORGANIZATION), site_id)]


def reader_named(reader_id: str) -> list[Named]:
    return [Named("reader_id", c.READER, reader_id)]


def warn_if_open(store: ViewStore) -> None:
    """Say at start-up that ids are not checked while the registry is empty."""
    try:
        open_ = not registry_in_force(store)
    except Exception:  # a store not reachable yet: the readiness probe says so, not this
        return
    if open_:
        log.warning(
            "registry is empty: ids in incoming events (hospitals, stations, units, clinics, "
            "readers) are NOT checked; load one with `goldenhour registry load FILE`"
        )
