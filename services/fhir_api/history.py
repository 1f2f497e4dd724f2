"""FHIR `_history` at three levels (http.html#history): instance (`{type}/{id}/_history`),
type (`{type}/_history`) and system (`/_history`), newest first.

Parameters: `_since` (an instant: versions with lastUpdated at or after it), `_at` (a
date/dateTime naming a period: the versions that were current at some instant of it, see
`time_travel.current_during`), `_count` (entries per page, default 50, at most 500).

Instance history reads the resource's versions (one partition) and pages with `_offset`.
Type and system history walk the view store's change list (`ViewStore.changes`: keys by
lastUpdated, newest first) and read the bodies of one page only (one vread per entry).
Their `next` link carries `_page`, the key of the last entry served, not an offset: versions
projected meanwhile come at the head of the list and cannot shift the pages that follow.
Pages list what the view holds when they are read: a version projected late with an earlier
lastUpdated (a lagging processor) appears only on a walk started after it was projected.
Costs: `_since` reads the changes since then; `_at` walks the change list from the end of
its period back to the first change of the types asked (keys only), since a resource not
changed since still had its version current then. System history lists the FHIR types of
this server only (not the processors' internal views, e.g. QueueItem).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from kernel.text import ascii_digits
from services.fhir_api.instants import parse_instant, parse_stored, value_range
from services.fhir_api.paging import page_links, parse_page
from services.fhir_api.params import Params, once, refuse_unknown
from services.fhir_api.time_travel import current_during
from services.outcome import FhirError
from viewstore.base import Change, StoredResource, ViewStore, change_instant

HISTORY_PARAMS = {"_since", "_at", "_count", "_offset", "_page", "_format"}
PAGE_KEY_SEPARATOR = "~"
Period = tuple[dt.datetime, dt.datetime]


def parse_since(params: Params) -> dt.datetime | None:
    raw = once(params, "_since")
    return None if raw is None else parse_instant(raw, "_since")


def parse_at_period(params: Params) -> Period | None:
    """`_at` as the half-open UTC period its value names (search.html#date)."""
    raw = once(params, "_at")
    return None if raw is None else value_range(raw, "_at")


def entry(base: str, v: StoredResource) -> dict[str, Any]:
    """A history entry: the version, and the interaction that made it (http.html#history)."""
    rtype, rid = v.resource_type, v.id
    first = v.version == 1
    return {
        "fullUrl": f"{base}/{rtype}/{rid}",
        "resource": json.loads(v.body),
        "request": {
            "method": "POST" if first else "PUT",
            "url": rtype if first else f"{rtype}/{rid}",
        },
        "response": {
            "status": "201 Created" if first else "200 OK",
            "location": f"{rtype}/{rid}/_history/{v.version}",
            "etag": f'W/"{v.version}"',
            "lastModified": v.last_updated,
        },
    }


def bundle(
    links: list[dict[str, str]], entries: list[dict[str, Any]], total: int | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {"resourceType": "Bundle", "type": "history"}
    if total is not None:
        doc["total"] = total
    doc["link"] = links
    if entries:
        doc["entry"] = entries
    return doc


# -- instance ---------------------------------------------------------------------------------


def instance_history(
    store: ViewStore, rtype: str, rid: str, request: Request, base: str
) -> dict[str, Any]:
    """`{type}/{id}/_history`: 404 if the resource was never written."""
    params = list(request.query_params.multi_items())
    refuse_unknown(params, HISTORY_PARAMS, "_history")
    page = parse_page(params)
    since, period = parse_since(params), parse_at_period(params)
    versions = store.history(rtype, rid)
    if not versions:
        raise FhirError(404, f"{rtype}/{rid} not found", "not-found")
    if period is not None:
        versions = current_during(versions, *period)
    if since is not None:
        versions = [v for v in versions if parse_stored(v.last_updated) >= since]
    window = versions[page.offset : page.offset + page.count]
    links = page_links(request, params, page, len(versions))
    return bundle(links, [entry(base, v) for v in window], len(versions))


# -- type and system --------------------------------------------------------------------------


def changes_history(
    store: ViewStore, types: Sequence[str], request: Request, base: str
) -> dict[str, Any]:
    """`{type}/_history` (one type) or `/_history` (every type served): one page."""
    params = list(request.query_params.multi_items())
    refuse_unknown(params, HISTORY_PARAMS, "_history")
    if once(params, "_offset") is not None:
        raise FhirError(
            400,
            "type and system _history page with their next links (_page)",
            "not-supported",
            ["_offset"],
        )
    count = parse_page(params).count
    after = _parse_page_key(once(params, "_page"))
    listed = _listed(store, types, parse_since(params), parse_at_period(params))
    if after is not None:
        listed = (c for c in listed if _key(c) < after)
    taken = list(islice(listed, count + 1))
    page = taken[:count]
    entries = [entry(base, v) for v in _bodies(store, page)]
    links = [{"relation": "self", "url": str(request.url)}]
    if len(taken) > count and page:
        links.append({"relation": "next", "url": _next_url(request, params, count, page[-1])})
    return bundle(links, entries)


def _listed(
    store: ViewStore, types: Sequence[str], since: dt.datetime | None, period: Period | None
) -> Iterator[Change]:
    """The changes to serve, newest first."""
    low = change_instant(since.isoformat()) if since is not None else None
    if period is None:
        return store.changes(types, since=low)
    until = change_instant((period[1] - dt.timedelta(microseconds=1)).isoformat())
    current = _current_during(store.changes(types, until=until), period[0])
    return current if low is None else (c for c in current if c.changed_at >= low)


def _current_during(changes: Iterator[Change], low: dt.datetime) -> Iterator[Change]:
    """`current_during` over a stream of many resources' changes (all before the period's
    end), newest first: each resource's versions down to the one current at `low`. Walks
    the whole stream; memory: one entry per resource seen."""
    newer: dict[tuple[str, str], str] = {}
    low_key = change_instant(low.isoformat())
    for c in changes:
        ref = (c.resource_type, c.id)
        later = newer.get(ref)
        newer[ref] = c.changed_at
        if later is None or (later > low_key and later > c.changed_at):
            yield c


def _bodies(store: ViewStore, changes: Sequence[Change]) -> list[StoredResource]:
    found = (store.vread(c.resource_type, c.id, c.version) for c in changes)
    return [v for v in found if v is not None]


def _key(c: Change) -> tuple[str, str, str, int]:
    return (c.changed_at, c.resource_type, c.id, c.version)


def _parse_page_key(raw: str | None) -> tuple[str, str, str, int] | None:
    if raw is None:
        return None
    parts = raw.split(PAGE_KEY_SEPARATOR)
    if len(parts) != 4 or not ascii_digits(parts[3]):
        raise FhirError(
            400, f"_page {raw!r} is not a page key from a next link", "invalid", ["_page"]
        )
    return (parts[0], parts[1], parts[2], int(parts[3]))


def _next_url(request: Request, params: Params, count: int, last: Change) -> str:
    kept = [(k, v) for k, v in params if k not in ("_page", "_count")]
    key = PAGE_KEY_SEPARATOR.join((last.changed_at, last.resource_type, last.id, str(last.version)))
    query = urlencode([*kept, ("_count", str(count)), ("_page", key)])
    return f"{str(request.base_url).rstrip('/')}{request.url.path}?{query}"
