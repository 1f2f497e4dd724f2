"""Reads of the notifier's views: a subscription's state, its numbered events and the
current version of their focus resources. Shared by the sender, the websocket hub and the
`$status`/`$events` operations."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Holds:
    """How long a notification may be held back, from its event's timestamp: while its focus
    is not in the views yet (its projector lags), and while the focus exists but the owner
    may not see it yet (the grant that would let them is written by another fold and may
    lag too). A query (`$events`) holds nothing."""

    missing_s: float = 0.0
    hidden_s: float = 0.0


# What a live channel (rest-hook sender, websocket) holds back: a projector's lag is seconds,
# a grant's fold a moment; a query (`$events`) holds nothing.
LIVE_HOLDS = Holds(missing_s=30.0, hidden_s=5.0)


def as_owner_sees(
    store: ViewStore,
    events: Sequence[Json],
    owner: str,
    content: str,
    holds: Holds = Holds(),
    now: dt.datetime | None = None,
) -> tuple[list[Json], dict[str, Json]]:
    """The events ready to be sent to the subscription's owner, as the owner may see them,
    and (payload `content` full-resource) the focus resources themselves, by reference.
    An `empty` payload names no focus, so nothing is looked at or held: it goes at once.

    Deny by default: an event keeps its focus only if the focus is in the views and the
    owner may see it at this moment; the resource sent is the very version judged. An
    event whose focus is missing or hidden is held back (with every event after it, so
    order holds) while it is younger than the hold; after that it is sent without focus:
    its number and time stay (no gap) and nothing of the resource, not even its id,
    reaches the subscriber. With no owner (auth off: the demo) every focus is shown."""
    now = now or dt.datetime.now(dt.UTC)
    guarded = store if owner and isinstance(store, GuardedViewStore) else None
    raw = store.inner if isinstance(store, GuardedViewStore) else store
    ready: list[Json] = []
    resources: dict[str, Json] = {}
    with viewing(Viewer(frozenset({owner}), f"subscription@{owner}")):
        for event in events:
            rtype, _, rid = event["focus"].partition("/")
            if content == "empty" or not rid:
                ready.append({**event, "focus": ""})
                continue
            age = (now - dt.datetime.fromisoformat(event["timestamp"])).total_seconds()
            stored = raw.read(rtype, rid)
            if stored is None:
                if age < holds.missing_s:
                    break
                ready.append({**event, "focus": ""} if guarded else event)
                continue
            if guarded and not guarded.may_see(stored):
                if age < holds.hidden_s:
                    break
                ready.append({**event, "focus": ""})
                continue
            ready.append(event)
            if content == "full-resource":
                resources[event["focus"]] = json.loads(stored.body)
    return ready, resources
