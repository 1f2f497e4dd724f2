"""schemathesis against the running app's OpenAPI (/openapi.json), over real HTTP, on the
embedded backend: every operation, valid and invalid inputs (schemathesis' positive and
negative modes), two checks:

- no 5xx (schemathesis' `not_a_server_error`);
- every 4xx is a FHIR OperationOutcome (`operation_outcome_on_4xx`, below).

Left out: the SSE streams (`/board/{id}/events`, `/region/events`), which never end. The
rate limit is off for this server (schemathesis is one client making thousands of
requests); tests/integration/test_limits.py tests it.
"""

from __future__ import annotations

import json
import re
import socket
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error

from services.server import Server
from services.settings import Settings
from tests.fuzz.budget import PROFILE, tallied

# Examples per operation and mode: ~45 operations x 2 modes x 20 is at most ~1,800 requests;
# small input spaces and operations with nothing to make invalid take fewer.
PER_OPERATION = 20 * (10 if PROFILE == "nightly" else 1)
STREAMS = r"/events$"
STATUSES: Counter[int] = Counter()  # answers seen, printed at the end of the module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def api() -> Iterator[Server]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            http_port=_free_port(),
            mllp_port=-1,
            rate_limit_per_s=0,
        )
        server = Server(settings)
        server.start()
        try:
            yield server
        finally:
            server.stop()
            print(f"\nschemathesis: HTTP statuses {dict(sorted(STATUSES.items()))}")


@pytest.fixture(scope="module")
def api_schema(api: Server) -> Any:
    return schemathesis.openapi.from_url(f"{api.base_url}/openapi.json")


OAUTH_TOKEN_PATH = "/auth/token"
# Pages people read: their 4xx is an HTML page in the user's language.
HTML_PAGES = {"/kpi/report", "/board/", "/reading/", "/crew/", "/command/", "/region/", "/"}
# RFC 6749 section 5.2, written from the RFC
OAUTH_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
}


def operation_outcome_on_4xx(ctx: CheckContext, response: Any, case: Any) -> bool | None:
    """A 4xx answer is an OperationOutcome with at least one issue (FHIR errors, STYLE 9)."""
    STATUSES[response.status_code] += 1
    if not 400 <= response.status_code < 500:
        return None
    content_type = str(response.headers.get("content-type", ""))  # a list in schemathesis
    if case.path in HTML_PAGES and "text/html" in content_type:
        return True  # a page answers people with a readable page (issue 14), not JSON
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(
            f"{response.status_code} body is not JSON: {response.content[:200]!r}"
        ) from exc
    if case.path == OAUTH_TOKEN_PATH:  # OAuth 2.0, not FHIR: RFC 6749 section 5.2 errors
        assert isinstance(body, dict) and body.get("error") in OAUTH_ERRORS, str(body)[:300]
        return True
    assert isinstance(body, dict) and body.get("resourceType") == "OperationOutcome", (
        f"{response.status_code} body is not an OperationOutcome: {str(body)[:300]}"
    )
    assert body.get("issue"), f"{response.status_code} OperationOutcome without issues"
    return True


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api__no_5xx_and_every_4xx_is_an_operation_outcome(
    api: Server, api_schema: Any, mode: GenerationMode
) -> None:
    """Each operation in turn (schemathesis' pytest loader does not run under pytest 9);
    the first failure of each operation is collected and all are reported together."""
    failures = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if re.search(STREAMS, operation.path):
            continue
        try:
            _run(operation, mode, api.base_url)
        except Unsatisfiable:  # nothing to make invalid (no parameters, or free strings)
            continue
        except Exception as exc:  # noqa: BLE001 - reported below, one per operation
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:2000]
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())


def _run(operation: Any, mode: GenerationMode, base_url: str) -> None:
    @settings(
        max_examples=PER_OPERATION,
        derandomize=PROFILE != "nightly",
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is shown
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    @tallied(f"http: schemathesis requests ({mode.value})")
    def call(case: Any) -> None:
        case.call_and_validate(
            base_url=base_url, checks=[not_a_server_error, operation_outcome_on_4xx], timeout=30
        )

    call()
