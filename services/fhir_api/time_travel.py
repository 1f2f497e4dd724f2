"""`_at`: what the view held at a past instant, answered from the stored versions.

Why one stored version is exact: every version is stamped with `lastUpdated` = the latest
`recorded_at` (log time) of the events folded into it, never the projection's wall clock,
and versions of a resource only ever move forward in lastUpdated (the runner takes the max).
The view is a pure fold of the log, so at log instant T a resource's content is the fold of
its events recorded at or before T: its version with the greatest lastUpdated <= T (the
highest versionId among equal stamps). "Held at T" is log time: a projection that lagged
behind the log at wall-clock T is not what is answered, the log's state at T is, and a
rebuild answers the same.

Cost model:
- read `?_at=`: one instance-history read (one partition / one index range), filtered in
  memory; as costly as `_history` of that resource.
- instance `_history?_at=`: the same read.
- type and system `_history?_at=`: a walk of the change list from the end of the `_at`
  period back to the first change of the types asked (O(versions before it), keys only,
  then one vread per entry served).
- `Patient/{id}/$everything?_at=`: the resources linked to the patient *now* (lookups hold
  current links only), then one history read per resource; a resource is answered as its
  version at T, dropped if it did not exist yet or if that version did not reference the
  patient. Not covered: a resource that referenced the patient at T but no longer does
  (its lookup entry is gone), and a link made later to a patient merged since (the merged
  patient's resources are whatever the patient-link following finds now).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Sequence

from services.fhir_api.instants import parse_instant, parse_stored
from services.fhir_api.params import Params, once
from viewstore.base import StoredResource, ViewStore

Reader = Callable[[str, str], StoredResource | None]


def parse_at(params: Params) -> dt.datetime | None:
    """`_at` given once as a FHIR instant, or None; 400 otherwise."""
    raw = once(params, "_at")
    return None if raw is None else parse_instant(raw, "_at")


def version_at(versions: Sequence[StoredResource], at: dt.datetime) -> StoredResource | None:
    """The version current at `at` among `versions` (newest first), None before the first."""
    return next((v for v in versions if parse_stored(v.last_updated) <= at), None)


def read_at(store: ViewStore, rtype: str, rid: str, at: dt.datetime) -> StoredResource | None:
    return version_at(store.history(rtype, rid), at)


def reader(store: ViewStore, at: dt.datetime | None) -> Reader:
    """`store.read`, or a read of the version current at `at`."""
    if at is None:
        return store.read

    def read(rtype: str, rid: str) -> StoredResource | None:
        return read_at(store, rtype, rid, at)

    return read


def current_during(
    versions: Sequence[StoredResource], low: dt.datetime, high: dt.datetime
) -> list[StoredResource]:
    """FHIR history `_at` (http.html#history): the versions (newest first) that were current
    at some instant of [low, high). A version is current from its lastUpdated until the next
    version's; one superseded at the same instant it was made was never current."""
    out: list[StoredResource] = []
    newer: dt.datetime | None = None
    for v in versions:
        made = parse_stored(v.last_updated)
        if newer is not None and newer <= low:
            break
        if made < high and (newer is None or newer > made):
            out.append(v)
        newer = made
    return out


def refers_to(resource: StoredResource, element: str, references: Collection[str]) -> bool:
    """Whether the resource's `element` (e.g. `subject`) is a reference to one of
    `references` (e.g. "Patient/p1")."""
    value = json.loads(resource.body).get(element)
    return isinstance(value, dict) and value.get("reference") in references
