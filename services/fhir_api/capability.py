"""The CapabilityStatement (capabilitystatement.html): only what this server really does."""

from __future__ import annotations

from typing import Any

from kernel.search_params import (
    PREFIXED_TYPES,
    SEARCH_PARAMS,
    SearchParam,
    includes,
    revincludes,
)
from services.auth.smart import TOKEN_PATH
from services.fhir_api.document import DEFINITION as DOCUMENT
from services.fhir_api.everything import DEFINITION
from services.fhir_api.search import COMMON_PARAMS, served
from stream_processors.notifier.published import TOPICS

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
COMMON_DOCS = {
    "_id": "the resource id; comma = OR",
    "_lastUpdated": "meta.lastUpdated; prefixes eq ne gt lt ge le sa eb ap",
}
SEARCH_DOCS = (
    "Search (search.html): comma = OR, a repeated parameter = AND, on every parameter; "
    "prefixes eq ne gt lt ge le sa eb ap on date and quantity parameters, a value's "
    "precision giving its range; token as system|code, system|, |code or code; modifiers "
    ":missing (all), :not and :text (token), :exact and :contains (string), :<Type> "
    "(reference); chains (subject:Patient.identifier=system|value) and _has; no "
    "parameter at all lists every resource of the type. Result parameters: _count "
    "(default 50, at most 500; 0 for the total alone), _offset, _sort (several keys, - for "
    "descending), _include and _revinclude (also :iterate and *), _summary (true, text, "
    "data, count, false), _elements, _total (none, estimate, accurate), _format, _pretty. "
    "An unknown parameter is a 400 OperationOutcome; with Prefer: handling=lenient it is "
    "ignored and named in an OperationOutcome entry (search.mode outcome)."
)


# $validate on every type served (services/fhir_api/validate.py).
VALIDATE = "http://hl7.org/fhir/OperationDefinition/Resource-validate"
OPERATIONS: dict[str, list[dict[str, str]]] = {
    "Patient": [
        {"name": "everything", "definition": DEFINITION},
        {"name": "merge", "definition": MERGE, "documentation": MERGE_DOC},
        {"name": "unmerge", "definition": UNMERGE, "documentation": UNMERGE_DOC},
        {"name": "export", "definition": PATIENT_EXPORT},
    ],
    "Composition": [{"name": "document", "definition": DOCUMENT}],
}


def _param_doc(param: SearchParam) -> str:
    doc = param.documentation
    if param.type in PREFIXED_TYPES and "prefix" not in doc:
        doc += "; prefixes eq ne gt lt ge le sa eb ap"
    return doc


def _search_params(rtype: str) -> list[dict[str, str]]:
    """The type's declared parameters (kernel/search_params.py), then _id and _lastUpdated."""
    own = [
        {"name": p.name, "type": p.type, "documentation": _param_doc(p)}
        for p in served(rtype).values()
    ]
    common = [
        {"name": name, "type": kind, "documentation": COMMON_DOCS[name]}
        for name, kind in COMMON_PARAMS.items()
    ]
    return own + common


def _resource(rtype: str) -> dict[str, Any]:
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
        "searchParam": _search_params(rtype),
    }
    if forward := [f"{rtype}:{p}" for p in includes(rtype)]:
        out["searchInclude"] = [*forward, f"{rtype}:*"]
    if backward := [f"{p.resource}:{p.name}" for p in revincludes(rtype)]:
        out["searchRevInclude"] = backward
    out["operation"] = OPERATIONS.get(rtype, []) + [{"name": "validate", "definition": VALIDATE}]
    out.update(WRITES.get(rtype, {}))
    out["interaction"] += [{"code": c} for c in WRITE_INTERACTIONS.get(rtype, ())]
    if rtype == "AuditEvent":
        out["documentation"] = AUDIT_DOC
    return out


# A hospital's outcomes (services/fhir_api/outcome_routes.py): written as events, folded
# into the views; an Encounter is ADT's, only its discharge disposition is written here.
WRITE_INTERACTIONS: dict[str, tuple[str, ...]] = {
    "Procedure": ("create", "update"),
    "Condition": ("create", "update"),
    "Encounter": ("update",),
}
_OUTCOME_WRITES = {
    "updateCreate": True,
    "conditionalCreate": True,
    "conditionalUpdate": False,
}
WRITES: dict[str, dict[str, Any]] = {
    "Procedure": _OUTCOME_WRITES,
    "Condition": _OUTCOME_WRITES,
    "Encounter": {"updateCreate": False},
}


TOPIC_CANONICAL = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "capabilitystatement-subscriptiontopic-canonical"
)
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
        # R4 has no SubscriptionTopic type: the backport IG advertises topics by canonical URL
        "extension": [{"url": TOPIC_CANONICAL, "valueCanonical": url} for url in sorted(TOPICS)],
        "interaction": [
            {"code": "create"},
            {"code": "read"},
            {"code": "vread"},
            {"code": "delete"},
        ],
        "operation": [
            {"name": "status", "definition": BACKPORT_OPS + "backport-subscription-status"},
            {"name": "events", "definition": BACKPORT_OPS + "backport-subscription-events"},
            {
                "name": "get-ws-binding-token",
                "definition": BACKPORT_OPS + "backport-subscription-get-ws-binding-token",
            },
        ],
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
    "search and write of patient data is recorded as an AuditEvent, readable by admin only. "
    "Systems get tokens by SMART Backend Services (client_credentials with a private_key_jwt "
    "assertion, RS384/ES384; .well-known/smart-configuration).",
}
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def security(base_url: str) -> dict[str, Any]:
    """SECURITY with SMART's oauth-uris extension naming the token endpoint
    (services/auth/smart.py), for clients that look here rather than at
    .well-known/smart-configuration."""
    token = base_url.removesuffix("/").removesuffix("/fhir") + TOKEN_PATH
    uris = {"url": OAUTH_URIS, "extension": [{"url": "token", "valueUri": token}]}
    return {"extension": [uris], **SECURITY}


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
                "resource": [_resource(rtype) for rtype in SEARCH_PARAMS]
                + [GROUP_RESOURCE]
                + SUBSCRIPTION_RESOURCES,
                "interaction": [{"code": "history-system"}, {"code": "transaction"}],
                "operation": [{"name": "export", "definition": BULK_EXPORT}],
                "documentation": f"{REST_DOCS} {SEARCH_DOCS}",
                "security": security(base_url),
            }
        ],
    }
