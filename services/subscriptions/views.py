"""Reads of the notifier's views: a subscription's state, its numbered events and the
current version of their focus resources. Shared by the sender, the websocket hub and the
`$status`/`$events` operations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from stream_processors.notifier.fold import EVENT, STATE, event_ref
from viewstore.base import ViewStore

Json = dict[str, Any]


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
