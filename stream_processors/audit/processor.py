"""The access audit as the runner sees it: each `AccessRecorded` (topic audit.access, key
the agent's subject) is one new AuditEvent; nothing else is folded here.

Lookups: the AuditEvent search parameters declared in kernel/search_params.py (agent,
entity, type, subtype).

Every request appends one record here, so the audit is folded in batches (LINGER_S): folded
one record at a time it cost as much CPU as the reads it audits. The record itself is
durable before each answer (services/auth/audit.py); only its AuditEvent view lags, by
LINGER_S at most beyond the fold."""

from __future__ import annotations

from avro_schemas.catalogue import AUDIT
from avro_schemas.events import ACCESS_RECORDED
from kernel.jsontypes import Json
from kernel.search_params import index_entries
from stream_processors.adapter import Processor, one_document
from stream_processors.audit.to_fhir import (
    RESOURCE_TYPE,
    audit_event,
    audit_event_id,
)

LINGER_S = 0.2  # at most 5 folds a second, each of every record that arrived meanwhile


def _step(before: Json | None, event_name: str, event: Json) -> Json | None:
    return audit_event(event) if before is None else None  # written once, never changed


PROCESSOR = Processor(
    name="audit",
    topics=[AUDIT],
    folds=one_document(
        [ACCESS_RECORDED],
        lambda event: (RESOURCE_TYPE, audit_event_id(event["meta"]["event_id"])),
        _step,
    ),
    index=index_entries,  # agent, entity, type, subtype, date: kernel/search_params.py
    linger_s=LINGER_S,
)
