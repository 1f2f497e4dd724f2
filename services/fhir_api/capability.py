"""The CapabilityStatement (capabilitystatement.html): only what this server really does."""

from __future__ import annotations

from typing import Any

from services.fhir_api.document import DEFINITION as DOCUMENT
from services.fhir_api.everything import DEFINITION
from services.fhir_api.search import COMMON_PARAMS, PARAM_DOCS, SEARCH_PARAMS

SERVER_VERSION = "0.1.0"
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
            {"code": "search-type"},
        ],
        "searchParam": _search_params(params),
    }
    if rtype == "Patient":
        out["operation"] = [{"name": "everything", "definition": DEFINITION}]
    if rtype == "Composition":
        out["operation"] = [{"name": "document", "definition": DOCUMENT}]
    return out


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
                "resource": [_resource(rtype, params) for rtype, params in SEARCH_PARAMS.items()],
            }
        ],
    }
