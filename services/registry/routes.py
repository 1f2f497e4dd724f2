"""The registry's admin API (admin role only: services/auth/policy.py). JSON in, one event
appended (services/registry/commands.py), the FHIR resource to read it back named in
`Content-Location`; the views follow within moments (the `registry` processor).

| route                                              | does                                  |
|----------------------------------------------------|---------------------------------------|
| POST /registry/{collection}                        | register (409 if the id is taken)     |
| PUT /registry/{collection}/{party_id}              | register or update (create-or-replace)|
| POST /registry/{collection}/{party_id}/retire      | retire (a practitioner's roles end)   |
| POST /registry/practitioners/{party_id}/roles      | assign a role at an organization      |
| POST /registry/practitioners/{party_id}/roles/end  | end a role                            |

Collections: organizations, units, practitioners, devices, peers. An event appended is
202; nothing to append (the same details again, or a retry of an event id the log holds:
`Idempotent-Replayed: true`) is 200 with the same answer. Bad input is a 422
OperationOutcome whose `expression` names the field; an unknown party 404; a taken id or a
concurrent change 409.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from eventlog.base import LogUnavailable
from services.auth.context import current_principal
from services.deps import SystemDep
from services.outcome import FhirError, issue
from services.registry.commands import Answer, Registry, RegistryRefused
from services.registry.models import COLLECTIONS, MODELS, RetireIn, RoleIn
from stream_processors.registry.published import codes

router = APIRouter(prefix="/registry", tags=["registry"])

RETRY_AFTER_S = "5"
Collection = Annotated[str, Path(description=", ".join(COLLECTIONS))]
PartyIdPath = Annotated[str, Path(min_length=1, max_length=64)]


def _registry(request: Request, system: SystemDep) -> Registry:
    registry: Registry | None = getattr(request.app.state, "registry", None)
    if registry is None:
        registry = request.app.state.registry = Registry(system.log, system.codec)
    return registry


RegistryDep = Annotated[Registry, Depends(_registry)]


def _party(collection: str) -> str:
    if collection not in COLLECTIONS:
        raise FhirError(
            404,
            f"no registry collection {collection!r} (one of {', '.join(COLLECTIONS)})",
            "not-found",
        )
    return COLLECTIONS[collection]


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise _invalid(exc) from exc


def _invalid(exc: ValidationError) -> FhirError:
    issues = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(p) for p in err["loc"]) or "body"
        code = "structure" if err["type"] == "json_invalid" else "invalid"
        issues.append(issue(f"{path}: {err['msg']}", code, [path]))
    status = 400 if issues[0]["code"] == "structure" else 422
    return FhirError(
        status,
        issues[0]["diagnostics"],
        issues[0]["code"],
        issues[0].get("expression"),
        more_issues=issues[1:],
    )


def _user() -> str | None:
    principal = current_principal.get()
    return principal.subject if principal else None


async def _run(action: Callable[[], Answer], response: Response) -> dict[str, Any]:
    """Run the write off the event loop (it waits for the log) and answer it."""
    try:
        answer = await run_in_threadpool(action)
    except RegistryRefused as exc:
        code = {404: "not-found", 409: "conflict"}.get(exc.status, "invalid")
        raise FhirError(exc.status, str(exc), code, [exc.field] if exc.field else None) from exc
    except LogUnavailable as exc:
        raise FhirError(
            503,
            f"event log unavailable, retry: {exc}",
            "transient",
            headers={"Retry-After": RETRY_AFTER_S},
        ) from exc
    appended = answer.outcome != "unchanged" and not answer.replayed
    response.status_code = 202 if appended else 200
    response.headers["Content-Location"] = f"/fhir/{answer.reference}"
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return answer.to_json()


@router.post("/{collection}", status_code=202)
async def register(
    collection: Collection, request: Request, registry: RegistryDep, response: Response
) -> dict[str, Any]:
    """Register a party (the body's `id` names it)."""
    party = _party(collection)
    body = await _body(request, MODELS[party])
    return await _run(
        lambda: registry.register(party, body.id, body.details(), body.event_id, _user()), response
    )


@router.put("/{collection}/{party_id}", status_code=202)
async def upsert(
    collection: Collection,
    party_id: PartyIdPath,
    request: Request,
    registry: RegistryDep,
    response: Response,
) -> dict[str, Any]:
    """Register the party or replace its details; the same details again append nothing."""
    party = _party(collection)
    body = await _body(request, MODELS[party])
    if body.id != party_id:
        raise FhirError(
            422, f"id {body.id!r} differs from the path's {party_id!r}", "invalid", ["id"]
        )
    answer = await _run(
        lambda: registry.upsert(party, party_id, body.details(), body.event_id, _user()), response
    )
    if party == codes.PRACTITIONER:
        user = _user()
        for i, role in enumerate(body.roles):
            await _run(partial(_assign, registry, party_id, role, f"roles[{i}]", user), Response())
    return answer


def _assign(
    registry: Registry, party_id: str, role: RoleIn, field: str, user: str | None
) -> Answer:
    try:
        return registry.role(party_id, role.organization_id, role.role, True, role.event_id, user)
    except RegistryRefused as exc:
        exc.field = f"{field}.{exc.field}" if exc.field else field
        raise


@router.post("/{collection}/{party_id}/retire", status_code=202)
async def retire(
    collection: Collection,
    party_id: PartyIdPath,
    request: Request,
    registry: RegistryDep,
    response: Response,
) -> dict[str, Any]:
    """Retire a party: ids naming it are refused from now on; its FHIR resources stay,
    inactive."""
    party = _party(collection)
    body: RetireIn = await _body(request, RetireIn)
    return await _run(
        lambda: registry.retire(party, party_id, body.reason, body.event_id, _user()), response
    )


async def _role(
    party_id: str, request: Request, registry: Registry, response: Response, held: bool
) -> dict[str, Any]:
    """Give (`held`) or end a practitioner's role at an organization, as the body says."""
    body: RoleIn = await _body(request, RoleIn)
    return await _run(
        lambda: registry.role(
            party_id, body.organization_id, body.role, held, body.event_id, _user()
        ),
        response,
    )


@router.post("/practitioners/{party_id}/roles", status_code=202)
async def assign_role(
    party_id: PartyIdPath, request: Request, registry: RegistryDep, response: Response
) -> dict[str, Any]:
    """Give a practitioner a role at an organization (crew, reader, ed-clinician, ...)."""
    return await _role(party_id, request, registry, response, held=True)


@router.post("/practitioners/{party_id}/roles/end", status_code=202)
async def end_role(
    party_id: PartyIdPath, request: Request, registry: RegistryDep, response: Response
) -> dict[str, Any]:
    """End a practitioner's role at an organization."""
    return await _role(party_id, request, registry, response, held=False)
