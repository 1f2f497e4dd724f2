"""Authentication (bearer JWTs), authorisation (one policy table) and the access audit of
every HTTP and MLLP entry. `install(app, system)` puts the HTTP layer on the app.

| module          | what                                                              |
|-----------------|-------------------------------------------------------------------|
| principal.py    | who: subject, role, site, SMART scopes                            |
| tokens.py       | bearer JWT verification (PyJWT), trusted keys, the dev issuer     |
| policy.py       | the route table and the pure allow/deny decision                  |
| context.py      | the request's principal, for the tablet's station check           |
| middleware.py   | applies all of it to every HTTP request, then audits              |
| audit.py        | AccessRecorded events on audit.access (no switch to turn it off)  |
| peers.py        | MLLP peers: sending facility + source address                     |
| tls.py          | TLS contexts for HTTP and MLLP                                    |
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from services.system import System


def install(app: FastAPI, system: System) -> None:
    from services.auth.middleware import AccessControl

    app.add_middleware(AccessControl, system=system)
