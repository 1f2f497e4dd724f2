"""The access audit as the runner sees it: each `AccessRecorded` (topic audit.access, key
the agent's subject) is one new AuditEvent; nothing else is folded here.

Lookups (services/fhir_api/search.py `AuditEvent`): agent (subject), entity (`Type/id`,
the Patient included), type and subtype (`system|code` and `code`)."""

from __future__ import annotations

from typing import Any

from avro_schemas.catalogue import AUDIT
from stream_processors.audit.to_fhir import (
    RESOURCE_TYPE,
    audit_event,
    audit_event_id,
    entity_references,
)
from viewstore.base import IndexEntry

Json = dict[str, Any]
Ref = tuple[str, str]
EVENT = "goldenhour.audit.AccessRecorded"


class AuditProjection:
    name = "audit"
    topics = [AUDIT]

    def refs(self, event_name: str, event: Json) -> list[Ref]:
        if event_name != EVENT:
            return []
        return [(RESOURCE_TYPE, audit_event_id(event["meta"]["event_id"]))]

    def fold(self, state: dict[Ref, Json], event_name: str, event: Json) -> dict[Ref, Json]:
        refs = self.refs(event_name, event)
        if not refs or refs[0] in state:  # an AuditEvent is written once, never changed
            return {}
        return {refs[0]: audit_event(event)}

    def index(self, resource: Json) -> list[IndexEntry]:
        rid = resource["id"]
        keys = [("AuditEvent.agent", resource["agent"][0]["who"]["identifier"]["value"])]
        keys += [("AuditEvent.entity", ref) for ref in entity_references(resource)]
        for param, codings in (("type", [resource["type"]]), ("subtype", resource["subtype"])):
            keys += [(f"AuditEvent.{param}", k) for k in _token_keys(codings)]
        return [IndexEntry(index, key, RESOURCE_TYPE, rid) for index, key in dict.fromkeys(keys)]


def _token_keys(codings: list[Json]) -> list[str]:
    return [f"{c['system']}|{c['code']}" for c in codings] + [c["code"] for c in codings]
