"""FHIR errors: one exception type, one handler, always an OperationOutcome."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

FHIR_JSON = "application/fhir+json"


class FhirError(Exception):
    """Raised anywhere in a request; becomes an OperationOutcome with `status`."""

    def __init__(
        self,
        status: int,
        diagnostics: str,
        code: str = "invalid",
        expression: list[str] | None = None,
        headers: dict[str, str] | None = None,
        more_issues: list[dict[str, Any]] | None = None,
        extension: list[dict[str, Any]] | None = None,
    ):
        super().__init__(diagnostics)
        self.status = status
        self.diagnostics = diagnostics
        self.code = code
        self.expression = expression or []
        self.headers = headers or {}
        self.more_issues = more_issues or []  # e.g. one issue per refused event of a batch
        self.extension = extension or []  # machine-readable detail, e.g. a current version


def operation_outcome(
    issues: list[dict[str, Any]], extension: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "OperationOutcome"}
    if extension:
        out["extension"] = extension
    return {**out, "issue": issues}


def issue(
    diagnostics: str,
    code: str = "invalid",
    expression: list[str] | None = None,
    severity: str = "error",
) -> dict[str, Any]:
    out: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        out["expression"] = expression
    return out


def _response(
    status: int,
    issues: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
    extension: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    return JSONResponse(
        operation_outcome(issues, extension),
        status_code=status,
        media_type=FHIR_JSON,
        headers=headers,
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(FhirError)
    async def fhir_error(_: Request, exc: FhirError) -> JSONResponse:
        issues = [issue(exc.diagnostics, exc.code, exc.expression), *exc.more_issues]
        return _response(exc.status, issues, exc.headers, exc.extension)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        issues = []
        for err in exc.errors():
            path = _field_path(tuple(err.get("loc", ())))
            code = "structure" if err.get("type") == "json_invalid" else "invalid"
            issues.append(issue(f"{path}: {err.get('msg')}", code, [path]))
        return _response(422 if issues and issues[0]["code"] != "structure" else 400, issues)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not-found" if exc.status_code == 404 else "processing"
        return _response(exc.status_code, [issue(str(exc.detail), code)])
