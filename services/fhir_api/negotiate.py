"""Content negotiation and conditional reads.

http.html#mime-type: a client asks for a format with `Accept` or `_format` (which overrides
`Accept`); this server speaks JSON only, so XML (or anything else not JSON) is a 406.
http.html#cread: `If-None-Match` and `If-Modified-Since` make a read answer 304 Not Modified.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime

from fastapi import Request

from services.fhir_api.instants import parse_stored
from services.outcome import FhirError

JSON_TYPES = {"application/fhir+json", "application/json", "application/*", "*/*"}
FORMAT_JSON = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
FORMAT_XML = {"xml", "text/xml", "application/xml", "application/fhir+xml", "application/xml+fhir"}


def _accepted(header: str) -> list[str]:
    """Media ranges of an Accept header with q > 0, parameters dropped."""
    out = []
    for part in header.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        q = next((p.split("=", 1)[1] for p in params if p.replace(" ", "").startswith("q=")), "1")
        try:
            weight = float(q)
        except ValueError:
            weight = 1.0
        if media and weight > 0:
            out.append(media.lower())
    return out


def _check_format(value: str) -> None:
    fmt = value.strip().lower()
    if fmt in FORMAT_JSON:
        return
    what = "XML is not served" if fmt in FORMAT_XML else "unknown format"
    raise FhirError(
        406,
        f"_format={value!r}: {what}; this server serves application/fhir+json only",
        "not-supported",
        ["_format"],
    )


def _check_accept(header: str) -> None:
    ranges = _accepted(header)
    if any(r in JSON_TYPES for r in ranges):
        return
    raise FhirError(
        406,
        f"Accept {header!r} names no format served here; this server serves "
        "application/fhir+json (also as application/json)",
        "not-supported",
        ["http.Accept"],
    )


async def negotiate(request: Request) -> None:
    """Router dependency: `_format` wins over `Accept`; absent both, JSON. Async though it
    awaits nothing: FastAPI runs a plain `def` dependency in its thread pool, a hop to a
    worker thread and back on every FHIR request for a few string checks."""
    fmt = request.query_params.get("_format")
    if fmt is not None:
        _check_format(fmt)
        return
    accept = request.headers.get("accept")
    if accept and accept.strip():
        _check_accept(accept)


def not_modified_since(request: Request, last_updated: str) -> bool:
    """`If-Modified-Since` (RFC 9110 13.1.3) at the HTTP date's one-second precision; ignored
    when `If-None-Match` is present or the date is not a valid HTTP date."""
    header = request.headers.get("if-modified-since")
    if header is None or "if-none-match" in request.headers:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return parse_stored(last_updated).replace(microsecond=0) <= since
