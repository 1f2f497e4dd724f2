"""The surveillance processor as the runner sees it: `ems.incident` and `diagnosis.reading`
(SurveillanceCounts; emits SurveillanceAlertRaised to `command.alerts`) and
`command.alerts` (SurveillanceAlert; lookup `SurveillanceAlert.all`).

One consumer (topology): a count document sums events of many partitions, and two
consumers would race on it.
"""

from __future__ import annotations

from avro_schemas.catalogue import ALERTS, INCIDENT, READING
from avro_schemas.events import (
    ECG_MEASURED,
    INCIDENT_OPENED,
    SURVEILLANCE_ALERT_ACKNOWLEDGED,
    SURVEILLANCE_ALERT_RAISED,
)
from kernel.ids import resource_id
from kernel.jsontypes import Json
from stream_processors.adapter import Changes, Processor, Ref, State, Step, one_document
from stream_processors.runner import Emitted
from stream_processors.surveillance.counts import (
    ALERT,
    COUNTS,
    counts_id,
    fold_alert,
    fold_counts,
    raised,
    signal_of,
)
from viewstore.base import IndexEntry

ALL_KEY = "all"
ALERT_INDEX = "SurveillanceAlert.all"
COUNTED = (INCIDENT_OPENED, ECG_MEASURED)


def _counts_refs_for(name: str) -> object:
    def refs(e: Json) -> list[Ref]:
        found = signal_of(name, e)
        return [(COUNTS, counts_id(*found))] if found else []

    return refs


def _count_step(name: str) -> Step:
    def fold(state: State, e: Json) -> Changes:
        found = signal_of(name, e)
        if not found:
            return {}
        ref = (COUNTS, counts_id(*found))
        return {ref: fold_counts(state.get(ref), name, e)}

    return Step(_counts_refs_for(name), fold)  # type: ignore[arg-type]


def _emit(state: State, name: str, e: Json) -> list[Emitted]:
    found = signal_of(name, e) if name in COUNTED else None
    if not found:
        return []
    before = state.get((COUNTS, counts_id(*found)))
    return [
        Emitted(ALERTS, a["alert_id"], SURVEILLANCE_ALERT_RAISED, a)
        for a in raised(before, name, e)
    ]


def _index(resource: Json) -> list[IndexEntry]:
    if resource["resourceType"] != ALERT:
        return []
    return [IndexEntry(ALERT_INDEX, ALL_KEY, ALERT, resource["id"])]


PROCESSOR = Processor(
    name="surveillance",
    topics=[INCIDENT, READING, ALERTS],
    folds={
        **{name: _count_step(name) for name in COUNTED},
        **one_document(
            [SURVEILLANCE_ALERT_RAISED, SURVEILLANCE_ALERT_ACKNOWLEDGED],
            lambda e: (ALERT, resource_id(ALERT, e["alert_id"])),
            fold_alert,
        ),
    },
    index=_index,
    emit=_emit,
)
