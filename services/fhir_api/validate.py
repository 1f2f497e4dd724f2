"""`[type]/$validate` (resource-operation-validate.html): is this resource a valid FHIR
resource of that type? Checked with the fhir.resources R4B models the server's own output
is tested against (structure, cardinality, value formats, required elements); profiles are
not checked. The answer is an OperationOutcome (200): one `error` issue per problem with its
element path, or one `information` issue when there is none.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from kernel.jsontypes import Json
from services.outcome import FhirError


def resource_of(body: Any, rtype: str) -> Json:
    """The resource to validate: the body, or a Parameters' `resource` parameter."""
    if not isinstance(body, dict):
        raise FhirError(400, "$validate needs a JSON resource or Parameters", "invalid")
    if body.get("resourceType") == "Parameters" and rtype != "Parameters":
        found = [
            p.get("resource") for p in body.get("parameter", []) if p.get("name") == "resource"
        ]
        if len(found) != 1 or not isinstance(found[0], dict):
            raise FhirError(400, "Parameters needs one `resource` parameter", "invalid")
        body = found[0]
    resource: Json = body
    if resource.get("resourceType") != rtype:
        raise FhirError(
            400,
            f"resourceType {resource.get('resourceType')!r} posted to {rtype}/$validate",
            "invalid",
        )
    return resource


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validation_outcome(resource: Json) -> Json:
    """The OperationOutcome of validating `resource` against its R4B model."""
    rtype = resource["resourceType"]
    try:
        get_fhir_model_class(rtype).model_validate(dict(resource))
    except ValidationError as exc:
        issues = [
            {
                "severity": "error",
                "code": "structure",
                "diagnostics": error["msg"],
                "expression": [f"{rtype}{_path(tuple(error['loc']))}"],
            }
            for error in exc.errors()
        ]
        return {"resourceType": "OperationOutcome", "issue": issues}
    ok = {"severity": "information", "code": "informational", "diagnostics": "valid " + rtype}
    return {"resourceType": "OperationOutcome", "issue": [ok]}
