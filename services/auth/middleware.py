"""Access control and audit for every HTTP request, as one pure ASGI middleware.

For each request, in order:
1. match the path to its route template (`policy.match`: the app's templates, in order);
2. authenticate: a `Authorization: Bearer <JWT>` header is verified (`tokens.py`);
3. decide (`policy.decide`, pure): role, scope and the path's site; what the caller may
   *see* is not decided here but in the store, for every read path alike (step 5);
4. if `auth_required` and refused: answer 401 (with `WWW-Authenticate: Bearer`) or 403 as
   an OperationOutcome; the app is not called. With `auth_required` off (the embedded
   demo) nothing is refused, but a valid token still names who is asking;
5. call the app as the caller's *viewer* (`viewer_of`: its organization; the store shows
   only what is in, or granted to, that organization's compartments, and notes what it
   held back for the audit), with the principal in `scope["state"]["principal"]` and the context
   variable `current_principal` (the tablet write path checks the crew's station with it);
6. audit: when the answer's status line is sent by the app (or the refusal is decided), an
   `AccessRecorded` event is appended *before* it goes out; if that append fails, the
   answer becomes a 503 OperationOutcome and the app's is dropped. Streams (SSE) are
   audited once, when they open. A write path may instead make the record durable in its
   own commit (`audit.Carried`: an ECG submission), and then it is not appended again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.jurisdiction import NOBODY, SYSTEM, Viewer
from services.auth import audit, policy
from services.auth.context import current_principal, enforced
from services.auth.principal import Principal
from services.auth.tokens import InvalidToken, TokenVerifier, verifier
from services.outcome import FHIR_JSON, issue, operation_outcome
from services.system import System
from viewstore.guarded import current_viewing, viewing

REALM = 'Bearer realm="goldenhour"'


class Refusal(Exception):
    def __init__(self, status: int, reason: str, www_authenticate: str = ""):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.www_authenticate = www_authenticate


class AccessControl:
    def __init__(self, app: ASGIApp, system: System):
        self.app = app
        self.system = system
        self.required = system.settings.auth_required
        self._verifier: TokenVerifier | None = None

    @property
    def verifier(self) -> TokenVerifier:
        """Built on the first token: a processor-only process (public probes) never reads
        the key files."""
        if self._verifier is None:
            self._verifier = verifier(self.system.settings)
        return self._verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        matched = policy.match(scope["method"], scope["path"])
        principal, refusal = await self._check(scope, matched)
        scope.setdefault("state", {})["principal"] = principal
        exchange = Exchange(scope, receive, send, matched, principal)
        if refusal and self.required:
            await self._refuse(exchange, refusal)
            return
        tokens = (current_principal.set(principal), enforced.set(self.required))
        try:
            with viewing(viewer_of(principal, self.required)):
                if matched.rule.audited:
                    await self._audited(exchange)
                else:
                    await self.app(scope, receive, send)
        finally:
            current_principal.reset(tokens[0])
            enforced.reset(tokens[1])

    async def _check(
        self, scope: Scope, matched: policy.Matched
    ) -> tuple[Principal | None, Refusal | None]:
        try:
            principal = self._authenticate(scope)
        except Refusal as refusal:
            return None, refusal
        decision = policy.decide(
            principal,
            scope["method"],
            matched.rule,
            matched.params,
            _query_pairs(scope),
            reading_centre_id=self.system.settings.reading_centre_id,
        )
        if not decision.allowed:
            return principal, _refusal_of(decision)
        return principal, None

    def _authenticate(self, scope: Scope) -> Principal | None:
        header = _header(scope, b"authorization")
        if header is None:
            return None
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise Refusal(401, "Authorization must be: Bearer <token>", REALM)
        try:
            return self.verifier.verify(token.strip())
        except InvalidToken as exc:
            if not self.required:
                return None  # the demo ignores a bad token rather than refusing
            error = f'{REALM}, error="invalid_token", error_description="{exc}"'
            raise Refusal(401, f"invalid bearer token: {exc}", error) from exc

    async def _refuse(self, exchange: Exchange, refusal: Refusal) -> None:
        code = "login" if refusal.status == 401 else "forbidden"
        if "expired" in refusal.reason:
            code = "expired"
        headers = {"WWW-Authenticate": refusal.www_authenticate} if refusal.www_authenticate else {}
        response = _outcome(refusal.status, code, refusal.reason, headers)
        audited = exchange.matched.rule.audited
        if audited and not await self._record(exchange.access(refusal.status, refusal.reason)):
            response = _audit_failed()
        await response(exchange.scope, exchange.receive, exchange.send)

    async def _audited(self, exchange: Exchange) -> None:
        scope, receive, send = exchange.scope, exchange.receive, exchange.send
        state: dict[str, Any] = {"started": False, "dropped": False}
        # A write path may carry the record in its own commit (an ECG submission).
        carried = audit.Carried(
            lambda status: audit.access_record(self.system, exchange.access(status, _reason(scope)))
        )
        scope["state"][audit.CARRIED_KEY] = carried

        async def audited_send(message: Message) -> None:
            if state["dropped"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
                if message["status"] == carried.recorded:  # durable with what it wrote
                    await send(message)
                    return
                access = exchange.access(message["status"], _reason(scope))
                if not await self._record(access):
                    state["dropped"] = True
                    await _audit_failed()(scope, receive, send)
                    return
            await send(message)

        try:
            await self.app(scope, receive, audited_send)
        except Exception:
            if not state["started"]:  # the outer error handler answers 500: audit that
                await self._record(exchange.access(500, "internal error"))
            raise

    async def _record(self, access: audit.Access) -> bool:
        # Waits on the group commit's future without holding a worker thread: concurrent
        # requests' records share one durable append (eventlog/group_commit.py).
        try:
            await asyncio.wrap_future(audit.submit(self.system, access))
        except Exception:  # noqa: BLE001 - any failure means: not audited, not answered
            return False
        return True


def viewer_of(principal: Principal | None, enforced: bool) -> Viewer:
    """Whom the store shows what (kernel/jurisdiction.py): with auth off (the embedded demo)
    everything; an admin everything; anyone else the organization its token names; no
    token, nothing."""
    if not enforced or (principal is not None and principal.role == "admin"):
        return SYSTEM
    if principal is None or not principal.site:
        return NOBODY
    return Viewer(frozenset({principal.site}), f"{principal.role}@{principal.site}")


WITHHELD_LISTED = 20  # refs named in one audit record; the count is always given


def _reason(scope: Scope) -> str:
    """The audit record's reason: the route's own (`audit.REASON_KEY`), then what the store
    held back from this request."""
    reason = str(scope.get("state", {}).get(audit.REASON_KEY) or "")
    return "; ".join(r for r in (reason, _withheld()) if r)


def _withheld() -> str:
    """What the store held back from this request, for the audit's reason."""
    seen = current_viewing.get()
    if seen is None or not seen.withheld:
        return ""
    refs = list(dict.fromkeys(f"{t}/{i}" for t, i in seen.withheld))
    more = f" (+{len(refs) - WITHHELD_LISTED} more)" if len(refs) > WITHHELD_LISTED else ""
    return f"withheld {len(refs)} outside jurisdiction: {', '.join(refs[:WITHHELD_LISTED])}{more}"


def _refusal_of(decision: policy.Decision) -> Refusal:
    if decision.status == 401:
        return Refusal(401, decision.reason, REALM)
    if decision.scope:
        challenge = f'{REALM}, error="insufficient_scope", scope="{decision.scope}"'
        return Refusal(403, decision.reason, challenge)
    return Refusal(403, decision.reason)


@dataclass(frozen=True)
class Exchange:
    """One HTTP request on its way through: its ASGI triple, the route it matched and who
    asks (None: no token)."""

    scope: Scope
    receive: Receive
    send: Send
    matched: policy.Matched
    principal: Principal | None

    def access(self, status: int, reason: str = "") -> audit.Access:
        """The audit record of this request answered with `status`."""
        client: Any = self.scope.get("client")
        return audit.Access(
            principal=self.principal,
            client_address=str(client[0]) if client else None,
            channel="http",
            method=self.scope["method"],
            route=self.matched.rule.template or self.scope["path"],
            path=self.scope["path"],
            status=status,
            params=self.matched.params,
            query=self.scope.get("query_string", b"").decode("latin-1"),
            reason=reason,
            patients_shown=_patients_shown(),
        )


def _patients_shown() -> tuple[str, ...]:
    """The Patients whose data the store showed this request (viewstore/guarded.py)."""
    seen = current_viewing.get()
    return tuple(f"Patient/{pid}" for pid in seen.patients) if seen else ()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _query_pairs(scope: Scope) -> list[tuple[str, str]]:
    return parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)


def _outcome(status: int, code: str, diagnostics: str, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(
        operation_outcome([issue(diagnostics, code)]),
        status_code=status,
        media_type=FHIR_JSON,
        headers=headers,
    )


def _audit_failed() -> JSONResponse:
    return _outcome(
        503,
        "transient",
        "the access could not be audited, so it is not answered; retry",
        {"Retry-After": "1"},
    )
