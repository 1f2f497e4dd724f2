"""Reads of the notifier's views: a subscription's state, its numbered events and the
current version of their focus resources. Shared by the sender, the websocket hub and the
`$status`/`$events` operations."""

from __future__ import annotations

import json
from collections.abc import Sequence

from kernel.jsontypes import Json
from kernel.jurisdiction import Viewer
from stream_processors.notifier.published import EVENT, STATE, event_ref
from viewstore.base import ViewStore
from viewstore.guarded import GuardedViewStore, viewing


def load_state(store: ViewStore, subscription_id: str) -> Json | None:
    stored = store.read(STATE, subscription_id)
    if stored is None:
        return None
    doc: Json = json.loads(stored.body)
    doc.pop("meta", None)
    return doc


def load_events(store: ViewStore, subscription_id: str, first: int, last: int) -> list[Json]:
    """Notifications first..last (inclusive, eventNumber order); stops at a missing one."""
    out = []
    for number in range(max(first, 1), last + 1):
        stored = store.read(EVENT, event_ref(subscription_id, number)[1])
        if stored is None:
            break
        out.append(json.loads(stored.body))
    return out


def load_focus(store: ViewStore, events: Sequence[Json]) -> dict[str, Json]:
    """Current version of each event's focus, by reference; absent ones are left out."""
    out: dict[str, Json] = {}
    for event in events:
        rtype, _, rid = event["focus"].partition("/")
        if event["focus"] in out or not rid:
            continue
        stored = store.read(rtype, rid)
        if stored is not None:
            out[event["focus"]] = json.loads(stored.body)
    return out


def as_owner_sees(store: ViewStore, events: Sequence[Json], owner: str) -> list[Json]:
    """The events as the subscription's owner may see them: an event whose focus lies
    outside the owner's jurisdiction (kernel/jurisdiction.py) keeps its number and time but
    loses its focus, so the numbering has no gap and nothing of the resource, not even its
    id, reaches the subscriber. A focus not yet in the views is kept (the sender waits for
    it). With no owner (auth off: the demo) every event is as it is."""
    if not owner or not isinstance(store, GuardedViewStore):
        return list(events)
    out = []
    with viewing(Viewer(frozenset({owner}), f"subscription@{owner}")):
        for event in events:
            rtype, _, rid = event["focus"].partition("/")
            stored = store.inner.read(rtype, rid) if rid else None
            if stored is not None and not store.may_see(stored):
                event = {**event, "focus": ""}
            out.append(event)
    return out
