"""Searchset paging: `_count` / `_offset` over a sorted result, and the Bundle links.

FHIR search.html#count: `_count` caps the entries of one page (the server may return fewer);
http.html#search and search.html#paging: the Bundle carries `total` and absolute `self`,
`next` and `previous` links that repeat every original parameter, so following `next`
walks the whole result once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response

from kernel.text import ascii_digits
from services.fhir_api.params import once
from services.outcome import FHIR_JSON, FhirError

DEFAULT_COUNT = 50
MAX_COUNT = 500
PAGING_PARAMS = ("_count", "_offset")


@dataclass(frozen=True)
class Page:
    """Which slice of the sorted result to serve."""

    count: int
    offset: int


def _non_negative(params: Sequence[tuple[str, str]], name: str, default: int) -> int:
    given = once(params, name)
    if given is None:
        return default
    if not ascii_digits(given.strip()):
        raise FhirError(
            400, f"{name} must be a non-negative integer, got {given!r}", "invalid", [name]
        )
    return int(given)


def parse_page(params: Sequence[tuple[str, str]]) -> Page:
    """`_count` (default 50, more than 500 is served as 500: search.html#count) and `_offset`."""
    count = min(_non_negative(params, "_count", DEFAULT_COUNT), MAX_COUNT)
    return Page(count=count, offset=_non_negative(params, "_offset", 0))


def page_url(request: Request, params: Sequence[tuple[str, str]], page: Page) -> str:
    """Absolute URL of `page` with every original parameter except the paging ones."""
    kept = [(k, v) for k, v in params if k not in PAGING_PARAMS]
    query = urlencode([*kept, ("_count", str(page.count)), ("_offset", str(page.offset))])
    base = str(request.base_url).rstrip("/")
    return f"{base}{request.url.path}?{query}"


def page_links(
    request: Request, params: Sequence[tuple[str, str]], page: Page, total: int
) -> list[dict[str, str]]:
    """`self`, then `next` while entries remain and `previous` when not on the first page."""
    links = [{"relation": "self", "url": page_url(request, params, page)}]
    if page.count and page.offset + page.count < total:
        nxt = Page(page.count, page.offset + page.count)
        links.append({"relation": "next", "url": page_url(request, params, nxt)})
    if page.offset > 0 and page.count:
        prev = Page(page.count, max(0, min(page.offset, total) - page.count))
        links.append({"relation": "previous", "url": page_url(request, params, prev)})
    return links


def searchset(
    request: Request,
    params: Sequence[tuple[str, str]],
    page: Page,
    total: int,
    entries: list[dict[str, Any]],
    with_total: bool = True,
) -> Response:
    """A searchset Bundle of one page (http.html#search); without `with_total` (`_total=none`)
    Bundle.total is left out."""
    doc: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        **({"total": total} if with_total else {}),
        "link": page_links(request, params, page, total),
    }
    if entries:
        doc["entry"] = entries
    return Response(json.dumps(doc, separators=(",", ":")), media_type=FHIR_JSON)


def entry(base: str, rtype: str, resource: dict[str, Any], mode: str = "match") -> dict[str, Any]:
    """A searchset entry: absolute `fullUrl`, the resource, `search.mode`."""
    return {
        "fullUrl": f"{base}/{rtype}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode},
    }
