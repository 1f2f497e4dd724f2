"""FHIR errors: one exception type, one handler, always an OperationOutcome.

Besides `FhirError` and FastAPI's own errors, three kinds of failure get an
OperationOutcome rather than a plain "Internal Server Error":
- input nested deeper than Python recurses (a RecursionError anywhere in a request, e.g.
  10,000 nested arrays): 400 `structure`; the body is the cause, not the server;
- storage full (SQLite "database or disk is full", ENOSPC/EDQUOT/EFBIG): 503 `transient`
  with Retry-After; `/readyz` says not ready meanwhile (services/ops/routes.py);
- the log not acknowledging (`LogUnavailable`) where a route did not catch it: 503;
- a record larger than the log takes (`RecordTooLarge`): 413, never "retry";
- anything else: 500 `exception`, with no detail (the log has it).

Diagnostics are for people, so they are in the request's language (services/i18n: zh-CN
unless the user or `Accept-Language` asks for English); `code` and `expression` are for
machines and never change. `issue()` translates: a `Msg` by its catalogue id, a plain
English text by the catalogue template it matches (with its parameters), English when the
catalogue has no entry.
"""

from __future__ import annotations

import errno
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from eventlog.base import LogUnavailable, RecordTooLarge
from services import i18n
from services.i18n import Msg

FHIR_JSON = "application/fhir+json"
# Seconds a client waits after a storage-full 503: an operator has to free space or grow
# the volume, which takes minutes, not milliseconds.
STORAGE_FULL_RETRY_S = 60
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
# Seconds a writer waits after the log did not acknowledge its write: the log is usually
# back within seconds (a broker restart, a partition leader moving).
LOG_RETRY_S = 5


class FhirError(Exception):
    """Raised anywhere in a request; becomes an OperationOutcome with `status`."""

    def __init__(
        self,
        status: int,
        diagnostics: str | Msg,
        code: str = "invalid",
        expression: list[str] | None = None,
        headers: dict[str, str] | None = None,
        more_issues: list[dict[str, Any]] | None = None,
        extension: list[dict[str, Any]] | None = None,
    ):
        super().__init__(str(diagnostics))
        self.status = status
        self.diagnostics = diagnostics
        self.code = code
        self.expression = expression or []
        self.headers = headers or {}
        self.more_issues = more_issues or []  # e.g. one issue per refused event of a batch
        self.extension = extension or []  # machine-readable detail, e.g. a current version


def log_unavailable(exc: LogUnavailable, retry: str = "retry") -> FhirError:
    """503 `transient` for a write the log did not acknowledge, saying how to `retry` (after
    LOG_RETRY_S): a retry with the same event id is safe, the log keeps one record of it."""
    return FhirError(
        503,
        f"event log unavailable, {retry}: {exc}",
        "transient",
        headers={"Retry-After": str(LOG_RETRY_S)},
    )


def operation_outcome(
    issues: list[dict[str, Any]], extension: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "OperationOutcome"}
    if extension:
        out["extension"] = extension
    return {**out, "issue": issues}


def issue(
    diagnostics: str | Msg,
    code: str = "invalid",
    expression: list[str] | None = None,
    severity: str = "error",
) -> dict[str, Any]:
    """One OperationOutcome issue, its diagnostics in the request's language."""
    text = i18n.localize(diagnostics)
    out: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": text}
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

    @app.exception_handler(RecursionError)
    async def too_deep(_: Request, exc: RecursionError) -> JSONResponse:
        text = Msg("the request nests too deep to be processed")
        return _response(400, [issue(text, "structure")])

    @app.exception_handler(sqlite3.OperationalError)
    @app.exception_handler(OSError)
    async def storage_error(_: Request, exc: Exception) -> JSONResponse:
        if not storage_full(exc):
            raise exc
        return _storage_full_response()

    @app.exception_handler(LogUnavailable)
    async def log_unavailable(_: Request, exc: LogUnavailable) -> JSONResponse:
        if storage_full(exc.__cause__ or exc):
            return _storage_full_response()
        text = Msg("the event log did not acknowledge; retry")
        return _response(503, [issue(text, "transient")], {"Retry-After": "1"})

    @app.exception_handler(RecordTooLarge)
    async def record_too_large(_: Request, exc: RecordTooLarge) -> JSONResponse:
        text = Msg("the record is larger than the event log takes; it will not fit on retry")
        return _response(413, [issue(text, "too-costly")])

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Outside the language middleware (Starlette's outermost layer): choose again.
        token = i18n.current_locale.set(i18n.choose(request.scope).locale)
        try:
            if storage_full(exc):
                return _storage_full_response()
            text = Msg("internal error; the server's log has the details")
            return _response(500, [issue(text, "exception")])
        finally:
            i18n.current_locale.reset(token)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not-found" if exc.status_code == 404 else "processing"
        return _response(exc.status_code, [issue(str(exc.detail), code)])


def storage_full(exc: BaseException) -> bool:
    """Is `exc` (or what caused it) a full disk, quota or file size limit?"""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in FULL_ERRNOS:
            return True
        if isinstance(seen, sqlite3.OperationalError) and _sqlite_full(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _sqlite_full(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "disk is full" in str(exc)


def _storage_full_response() -> JSONResponse:
    text = Msg("storage is full: nothing was written; retry later")
    return _response(503, [issue(text, "transient")], {"Retry-After": str(STORAGE_FULL_RETRY_S)})
