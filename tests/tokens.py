"""Bearer tokens of the dev issuer for tests of a server started with `auth_dev_issuer`."""

from __future__ import annotations

from services.auth.principal import DEFAULT_SCOPES
from services.auth.tokens import mint_dev
from services.server import Server


def bearer(
    server: Server,
    role: str,
    site: str,
    subject: str | None = None,
    scopes: list[str] | None = None,
) -> dict[str, str]:
    """The Authorization header of a token for `subject` (by default `<role>-<site>`) in
    `role` at `site`, with the role's default scopes unless `scopes` are given."""
    token = mint_dev(
        server.settings,
        subject or f"{role}-{site}",
        role,
        site,
        DEFAULT_SCOPES[role] if scopes is None else scopes,
    )
    return {"Authorization": f"Bearer {token}"}
