"""The principal of the request being served, for checks the route table cannot make
(jurisdiction over what a request writes). Set by services/auth/middleware.py around each
request; FastAPI runs sync endpoints in worker threads with the request's context copied,
so a write path reads it without the principal being passed down."""

from __future__ import annotations

import contextvars

from services.auth.principal import Principal
from services.outcome import FhirError

current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "current_principal", default=None
)
enforced: contextvars.ContextVar[bool] = contextvars.ContextVar("auth_enforced", default=False)


def check_crew_station(station_id: str, what: str) -> None:
    """403 when an ambulance crew acts on `what` (an incident) of another station. Only
    with auth_required; other roles are not crews (the route table decided they may)."""
    principal = current_principal.get()
    if not enforced.get() or principal is None or principal.role != "crew" or not station_id:
        return
    if principal.site != station_id:
        raise FhirError(
            403,
            f"crew of station {principal.site or '(none)'} may not act on {what} of "
            f"station {station_id}",
            "forbidden",
        )


def acting_subject(claimed: str | None, field: str) -> str:
    """Who signs, claims or accepts: the token's subject when auth is enforced; a body naming
    someone else is refused (403), never believed. With auth off (the embedded demo) the
    body's value stands, and is then required."""
    return _from_token(claimed, field, "subject")


def acting_site(claimed: str | None, field: str) -> str:
    """The organization a write is for (a clinic's site, a crew's station): the token's
    when auth is enforced; a body naming another is 403."""
    return _from_token(claimed, field, "site")


def _from_token(claimed: str | None, field: str, attribute: str) -> str:
    principal = current_principal.get()
    if not enforced.get() or principal is None or principal.role == "admin":
        if not claimed:
            raise FhirError(422, f"{field} is required", expression=[field])
        return claimed
    own = str(getattr(principal, attribute))
    if claimed and claimed != own:
        raise FhirError(
            403,
            f"{field} {claimed!r} is not the caller: the token names {own!r}",
            "forbidden",
            expression=[field],
        )
    return own
