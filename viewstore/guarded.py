"""The view store as a caller sees it: every read filtered by jurisdiction, on any backend.

`GuardedViewStore` wraps the real store (SQLite or Cassandra) and is the only store the HTTP
services hold (services/system.py); processors write through the real one. Each read asks
the *current viewing* (a context variable the auth middleware sets for every request, see
services/auth/middleware.py) whether the caller may see the resource, by the rules of
kernel/jurisdiction.py. What the caller may not see is absent: `read` gives None (a 404),
`history`, `changes`, `lookup` and `scan` leave it out. A new route therefore cannot forget
the check: it has no other store to read.

Outside a request (processors, background workers, the CLI) the viewing is the system's,
which sees everything. The grants of a compartment are looked up once per request and
cached; every withheld resource is noted on the viewing, so the access audit can record
the refusal.

Cost: one lookup per distinct incident/ECG compartment per request (Cassandra: a partition
read by key, never ALLOW FILTERING) and, for `lookup`/`changes`, a read of the latest
version per listed resource (which the caller then reads anyway, from the same cache of
the backend).
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from kernel.jurisdiction import (
    GRANT_INDEX,
    SYSTEM,
    UNLABELLED_TYPES,
    Viewer,
    compartments_of_body,
)
from viewstore.base import Change, StoredResource, ViewStore, ViewWrite

PATIENT_REF = re.compile(rb'"reference":"Patient/([A-Za-z0-9.\-]{1,64})"')
SHOWN_MAX = 1000  # patients noted per request; a bigger answer is audited by its first ones


@dataclass
class Viewing:
    """One request's view of the store: who, the grants already looked up, what was held
    back, and the Patients whose data it was shown (the audit's entities)."""

    viewer: Viewer
    grants: dict[str, frozenset[str]] = field(default_factory=dict)
    withheld: list[tuple[str, str]] = field(default_factory=list)
    patients: dict[str, None] = field(default_factory=dict)  # ordered set of Patient ids

    def shown(self, stored: StoredResource) -> None:
        if len(self.patients) >= SHOWN_MAX:
            return
        if stored.resource_type == "Patient":
            self.patients[stored.id] = None
            return
        for match in PATIENT_REF.findall(stored.body):
            self.patients[match.decode()] = None


current_viewing: contextvars.ContextVar[Viewing | None] = contextvars.ContextVar(
    "current_viewing", default=None
)


@contextmanager
def viewing(viewer: Viewer) -> Iterator[Viewing]:
    """Run a block as `viewer` (the middleware does this per request; the subscription
    sender per subscriber)."""
    state = Viewing(viewer)
    token = current_viewing.set(state)
    try:
        yield state
    finally:
        current_viewing.reset(token)


class GuardedViewStore(ViewStore):
    def __init__(self, inner: ViewStore) -> None:
        self.inner = inner

    # -- the decision --------------------------------------------------------------------

    def may_see(self, stored: StoredResource) -> bool:
        """May the current viewer see this resource (judged on its latest version)?"""
        state = current_viewing.get()
        viewer = state.viewer if state else SYSTEM
        visible = self._decide(state, viewer, stored)
        if state is not None:
            if visible:
                state.shown(stored)
            else:
                state.withheld.append((stored.resource_type, stored.id))
        return visible

    def _decide(self, state: Viewing | None, viewer: Viewer, stored: StoredResource) -> bool:
        if viewer.everything or stored.resource_type in UNLABELLED_TYPES:
            return True
        codes = compartments_of_body(stored.body)
        return viewer.direct(codes) or self._granted(state, viewer, codes)

    def _granted(self, state: Viewing | None, viewer: Viewer, codes: set[str]) -> bool:
        assert viewer.orgs is not None
        for code in viewer.dynamic(codes):
            grants = state.grants.get(code) if state else None
            if grants is None:
                grants = frozenset(rid for _, rid in self.inner.lookup(GRANT_INDEX, code))
                if state is not None:
                    state.grants[code] = grants
            if grants & viewer.orgs:
                return True
        return False

    def _visible_ref(self, resource_type: str, id: str) -> bool:
        latest = self.inner.read(resource_type, id)
        return latest is not None and self.may_see(latest)

    # -- reads, filtered -----------------------------------------------------------------

    def read(self, resource_type: str, id: str) -> StoredResource | None:
        found = self.inner.read(resource_type, id)
        return found if found is not None and self.may_see(found) else None

    def vread(self, resource_type: str, id: str, version: int) -> StoredResource | None:
        # Compartments only grow, so the latest version's decide for every older one.
        if not self._visible_ref(resource_type, id):
            return None
        return self.inner.vread(resource_type, id, version)

    def history(self, resource_type: str, id: str) -> list[StoredResource]:
        if not self._visible_ref(resource_type, id):
            return []
        return self.inner.history(resource_type, id)

    def changes(
        self, resource_types: Sequence[str], since: str | None = None, until: str | None = None
    ) -> Iterator[Change]:
        seen: dict[tuple[str, str], bool] = {}
        for change in self.inner.changes(resource_types, since, until):
            key = (change.resource_type, change.id)
            if key not in seen:
                seen[key] = self._visible_ref(*key)
            if seen[key]:
                yield change

    def lookup(self, index: str, key: str) -> list[tuple[str, str]]:
        pairs = self.inner.lookup(index, key)
        state = current_viewing.get()
        if state is None or state.viewer.everything:
            return pairs
        return [p for p in pairs if self._visible_ref(*p)]

    def scan(self) -> Iterator[StoredResource]:
        return (r for r in self.inner.scan() if self.may_see(r))

    # -- the rest: not reads of resources --------------------------------------------------

    def checkpoint(self, processor: str, topic: str, partition: int) -> int | None:
        return self.inner.checkpoint(processor, topic, partition)

    def apply_write(self, write: ViewWrite) -> None:
        self.inner.apply_write(write)

    def truncate(self) -> None:
        self.inner.truncate()

    def close(self) -> None:
        self.inner.close()
