"""The CapabilityStatement: only what this server really does."""

from __future__ import annotations

from typing import Any

from services.fhir_api.search import SEARCH_PARAMS

SERVER_VERSION = "0.1.0"


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
                "resource": [
                    {
                        "type": rtype,
                        "versioning": "versioned",
                        "readHistory": True,
                        "interaction": [
                            {"code": "read"},
                            {"code": "vread"},
                            {"code": "history-instance"},
                            {"code": "search-type"},
                        ],
                        "searchParam": [
                            {"name": name, "type": kind} for name, (kind, _) in params.items()
                        ],
                    }
                    for rtype, params in SEARCH_PARAMS.items()
                ],
            }
        ],
    }
