"""The CapabilityStatement (capabilitystatement.html): only what this server really does."""

from __future__ import annotations

from typing import Any

from services.fhir_api.document import DEFINITION as DOCUMENT
from services.fhir_api.everything import DEFINITION
from services.fhir_api.search import (
    COMMON_PARAMS,
    PARAM_DOCS,
    SEARCH_PARAMS,
    include_params,
    revinclude_params,
)

SERVER_VERSION = "0.1.0"
# Patient $merge as FHIR R5 defines it (served to R4 clients); $unmerge is this server's own
# (services/fhir_api/identity_routes.py).
MERGE = "http://hl7.org/fhir/OperationDefinition/Patient-merge"
MERGE_DOC = (
    "POST Parameters source-patient[-identifier], target-patient[-identifier], preview, "
    "result-patient (must be the target; its content is not applied), performer, reason: "
    "the source gets link replaced-by and active false, the target link replaces, a "
    "Provenance records who merged; $everything follows the links. Answer: Parameters "
    "input, outcome, result."
)
UNMERGE = "https://goldenhour.health/fhir/OperationDefinition/Patient-unmerge"
UNMERGE_DOC = (
    "POST Parameters source-patient[-identifier], target-patient[-identifier], performer, "
    "reason: undoes one $merge (both Patients as before it). Answer: Parameters outcome, "
    "result (the target), source."
)
BULK_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
PATIENT_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"
GROUP_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"
# Group = a hospital (site id): only its $export (services/fhir_api/bulk_export.py).
GROUP_RESOURCE = {"type": "Group", "operation": [{"name": "export", "definition": GROUP_EXPORT}]}
# History and time travel, as served (services/fhir_api/history.py, time_travel.py).
REST_DOCS = (
    "_history at instance, type and system level, newest first, with _since, _at (the "
    "versions current during the period its value names) and _count; type and system "
    "pages follow their next links. read and Patient/$everything take _at=<instant>: the "
    "version current at that instant of log time (a read of the resource's history; "
    "$everything: one history read per linked resource). $export (system, Patient, "
    "Group/<hospital site id>) is asynchronous (Prefer: respond-async) with _type, _since "
    "and _outputFormat=application/fhir+ndjson."
)
SEARCH_DOCS = {
    "_count": "entries per page, default 50, at most 500 (search.html#count); "
    "page on with _offset or the Bundle's next link",
    "_lastUpdated": "prefixes eq, ge, gt, le, lt on meta.lastUpdated; combine with a criterion",
    "_sort": "_lastUpdated or -_lastUpdated (default: by id)",
}


def _search_params(params: dict[str, tuple[str, str]]) -> list[dict[str, str]]:
    own = [
        {
            "name": name,
            "type": kind,
            **({"documentation": PARAM_DOCS[name]} if name in PARAM_DOCS else {}),
        }
        for name, (kind, _) in params.items()
    ]
    common = [
        {"name": name, "type": kind, "documentation": SEARCH_DOCS[name]}
        for name, kind in COMMON_PARAMS.items()
    ]
    return own + common


def _resource(rtype: str, params: dict[str, tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": rtype,
        "versioning": "versioned",
        "readHistory": True,
        "conditionalRead": "modified-since",
        "interaction": [
            {"code": "read"},
            {"code": "vread"},
            {"code": "history-instance"},
            {"code": "history-type"},
            {"code": "search-type"},
        ],
        "searchParam": _search_params(params),
    }
    includes = [f"{rtype}:{p}" for p in include_params(rtype)]
    if includes:
        out["searchInclude"] = includes
    if revinclude_params(rtype):
        out["searchRevInclude"] = revinclude_params(rtype)
    if rtype == "Patient":
        out["operation"] = [{"name": "everything", "definition": DEFINITION}]
        out["operation"] += [
            {"name": "merge", "definition": MERGE, "documentation": MERGE_DOC},
            {"name": "unmerge", "definition": UNMERGE, "documentation": UNMERGE_DOC},
        ]
        out["operation"].append({"name": "export", "definition": PATIENT_EXPORT})
    if rtype == "Composition":
        out["operation"] = [{"name": "document", "definition": DOCUMENT}]
    if rtype == "AuditEvent":
        out["documentation"] = AUDIT_DOC
    return out


BACKPORT_OPS = "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/"
SUBSCRIPTION_RESOURCES: list[dict[str, Any]] = [
    {
        "type": "Subscription",
        "supportedProfile": [
            "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
            "backport-subscription"
        ],
        "documentation": "Topic-based (R4 Subscriptions Backport IG): channels rest-hook "
        "(handshake, heartbeat, custom headers, optional HMAC-SHA256 signature) and websocket; "
        "payload empty, id-only or full-resource; rest-hook retries never give up",
        "interaction": [{"code": "create"}, {"code": "read"}, {"code": "delete"}],
        "operation": [
            {"name": "status", "definition": BACKPORT_OPS + "backport-subscription-status"},
            {"name": "events", "definition": BACKPORT_OPS + "backport-subscription-events"},
            {
                "name": "get-ws-binding-token",
                "definition": BACKPORT_OPS + "backport-subscription-get-ws-binding-token",
            },
        ],
    },
    {
        "type": "SubscriptionTopic",
        "documentation": "R4B SubscriptionTopic resources, defined by the server",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [{"name": "url", "type": "uri"}],
    },
]


# Access control (services/auth/policy.py): bearer JWTs with SMART scopes, enforced when
# the server runs with auth_required.
SECURITY: dict[str, Any] = {
    "cors": False,
    "service": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR",
                }
            ]
        }
    ],
    "description": "OAuth2 bearer JWTs (RS256/ES256/HS256) with SMART scopes (user/ and "
    "system/<type>.read|write) and a role claim (crew, clinic, reader, hospital, dispatch, "
    "quality, admin) with its site; refusals are 401/403 OperationOutcomes. Every read, "
    "search and write of patient data is recorded as an AuditEvent, readable by admin only.",
}
AUDIT_DOC = "The access audit (services/auth/audit.py): admin only; no update, no delete."


def capability_statement(base_url: str, software_date: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": software_date,
        "kind": "instance",
        "software": {"name": "goldenhour", "version": SERVER_VERSION},
        "implementation": {
            "description": "Regional emergency and remote-ECG record",
            "url": base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "resource": [_resource(rtype, params) for rtype, params in SEARCH_PARAMS.items()]
                + [GROUP_RESOURCE]
                + SUBSCRIPTION_RESOURCES,
                "interaction": [{"code": "history-system"}],
                "operation": [{"name": "export", "definition": BULK_EXPORT}],
                "documentation": REST_DOCS,
                "security": SECURITY,
            }
        ],
    }
