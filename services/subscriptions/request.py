"""A POSTed Subscription (R4, Subscriptions Backport IG) -> `SubscriptionRequested`.

What is checked (each refusal is a 422 OperationOutcome naming the element):
- the resource parses as a FHIR Subscription (fhir.resources R4B: same shape as R4);
- `criteria` is the canonical URL of one of our SubscriptionTopics;
- each `backport-filter-criteria` extension on `_criteria` is `<Type>?<param>=<value>`
  with the topic's resource type and one of its filter parameters (at most once each);
- `channel.type` is `rest-hook` (with an http(s) `endpoint`) or `websocket`;
- `channel.payload` is `application/fhir+json` (or absent) and `backport-payload-content`
  is `empty`, `id-only` (default) or `full-resource`;
- `channel.header` entries are `Name: value`;
- `backport-heartbeat-period` is a whole number of seconds (0..86400).
A goldenhour extension on `channel` carries an optional HMAC secret; it is stored in the
event and removed from the resource, so no read ever serves it. Header values are secrets
too (an `Authorization` the receiver checks): the event keeps them for the sender, the
resource keeps only their names (`Authorization: [redacted]`).

The subscription belongs to the organization that created it (the token's `site`), named
in the resource as the compartment label `org/<site>` (`meta.security`, kernel/jurisdiction.py);
services/fhir_api/subscription_routes.py serves it to that organization (and admin) only.
Where the endpoint may point is checked by the route (services/subscriptions/endpoints.py).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import parse_qsl, urlsplit

from fhir.resources.R4B.subscription import Subscription
from pydantic import ValidationError

from kernel.jsontypes import Json
from kernel.jurisdiction import org, security_labels
from services.outcome import FhirError
from stream_processors.notifier.published import HMAC_SECRET, TOPICS, without_secrets

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
FILTER_CRITERIA = BACKPORT + "backport-filter-criteria"
PAYLOAD_CONTENT = BACKPORT + "backport-payload-content"
HEARTBEAT_PERIOD = BACKPORT + "backport-heartbeat-period"
CONTENTS = ("empty", "id-only", "full-resource")
CHANNELS = ("rest-hook", "websocket")
MAX_HEARTBEAT_S = 86400
HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[ \t]*[^\r\n]*$")


def _invalid(message: str, path: str) -> FhirError:
    return FhirError(422, message, "invalid", [path])


def _extensions(element: Json | None, url: str) -> list[Json]:
    return [e for e in (element or {}).get("extension", []) if e.get("url") == url]


def _filters(doc: Json, resource_type: str, allowed: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for ext in _extensions(doc.get("_criteria"), FILTER_CRITERIA):
        raw = str(ext.get("valueString", ""))
        rtype, sep, query = raw.partition("?")
        pairs = parse_qsl(query, keep_blank_values=True)
        if not sep or rtype != resource_type or len(pairs) != 1:
            raise _invalid(
                f"filter {raw!r} must be {resource_type}?<parameter>=<value>",
                "Subscription.criteria.extension",
            )
        name, value = pairs[0]
        if name not in allowed or not value or name in out:
            raise _invalid(
                f"filter parameter {name!r} is not one of {sorted(allowed)} (once each)",
                "Subscription.criteria.extension",
            )
        out[name] = value
    return out


def _channel(doc: Json) -> Json:
    channel: Json = doc.get("channel") or {}
    kind = channel.get("type")
    if kind not in CHANNELS:
        raise _invalid(f"channel.type must be one of {list(CHANNELS)}", "Subscription.channel.type")
    endpoint = channel.get("endpoint") or ""
    if kind == "rest-hook" and urlsplit(endpoint).scheme not in ("http", "https"):
        raise _invalid("a rest-hook needs an http(s) endpoint", "Subscription.channel.endpoint")
    if channel.get("payload") not in (None, "application/fhir+json", "application/json"):
        raise _invalid("payload must be application/fhir+json", "Subscription.channel.payload")
    return channel


def _content(channel: Json) -> str:
    found = _extensions(channel.get("_payload"), PAYLOAD_CONTENT)
    content = str(found[0].get("valueCode")) if found else "id-only"
    if content not in CONTENTS:
        raise _invalid(
            f"payload content must be one of {list(CONTENTS)}", "Subscription.channel.payload"
        )
    return content


def _headers(channel: Json) -> list[str]:
    headers = [str(h) for h in channel.get("header") or []]
    for header in headers:
        if not HEADER.match(header):
            raise _invalid("each header must be 'Name: value'", "Subscription.channel.header")
    return headers


def _heartbeat(channel: Json) -> int:
    found = _extensions(channel, HEARTBEAT_PERIOD)
    period = found[0].get("valueUnsignedInt", 0) if found else 0
    if not isinstance(period, int) or not 0 <= period <= MAX_HEARTBEAT_S:
        raise _invalid(
            f"heartbeat period must be 0..{MAX_HEARTBEAT_S} seconds",
            "Subscription.channel.extension",
        )
    return period


def _without_secret(doc: Json) -> tuple[Json, str]:
    channel = dict(doc["channel"])
    secrets = _extensions(channel, HMAC_SECRET)
    secret = str(secrets[0].get("valueString") or "") if secrets else ""
    rest = [e for e in channel.get("extension", []) if e.get("url") != HMAC_SECRET]
    channel.pop("extension", None)
    if rest:
        channel["extension"] = rest
    return {**doc, "channel": channel}, secret


def _parse(doc: Json) -> None:
    if doc.get("resourceType") != "Subscription":
        raise _invalid("the body must be a Subscription", "Subscription")
    try:
        Subscription.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first.get("loc", ()))
        raise _invalid(
            f"not a valid Subscription: {path}: {first.get('msg')}", "Subscription"
        ) from exc


def subscription_requested(
    doc: Json,
    subscription_id: str,
    now: dt.datetime,
    owner: str = "",
    user_id: str | None = None,
) -> Json:
    """The `SubscriptionRequested` event of a posted Subscription, or a FhirError (422).
    `owner`: the creating organization's id ("" when nobody is authenticated: the demo)."""
    _parse(doc)
    topic = TOPICS.get(str(doc.get("criteria")))
    if topic is None:
        raise _invalid(
            f"criteria must be a SubscriptionTopic canonical: one of {sorted(TOPICS)}",
            "Subscription.criteria",
        )
    channel = _channel(doc)
    filters = _filters(doc, topic.resource, topic.filters)
    content, headers, heartbeat = _content(channel), _headers(channel), _heartbeat(channel)
    resource, secret = _without_secret({**doc, "id": subscription_id, "status": "requested"})
    resource = without_secrets(resource)
    resource.pop("meta", None)
    if owner:
        resource["meta"] = {"security": security_labels([org(owner)])}
    return {
        "meta": {
            "event_id": f"subscription-requested:{subscription_id}",
            "occurred_at": now,
            "recorded_at": now,
            "source": {
                "channel": "http",
                "device_id": None,
                "user_id": user_id,
                "site_id": owner or None,
            },
        },
        "subscription_id": subscription_id,
        "topic": topic.url,
        "filters": filters,
        "channel_type": channel["type"],
        "endpoint": channel.get("endpoint") or None,
        "payload_content": content,
        "headers": headers,
        "heartbeat_period_s": heartbeat,
        "hmac_secret": secret or None,
        "resource": json.dumps(resource, sort_keys=True, separators=(",", ":")),
    }
