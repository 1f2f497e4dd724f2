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
from services.deps import app_writer
from services.ingest.fast_body import REF, openapi_body
from services.outcome import FhirError, issue, log_unavailable
from services.registry.commands import Answer, Registry, RegistryRefused
from services.registry.models import COLLECTIONS, MODELS, RetireIn, RoleIn
from stream_processors.registry.published import codes

router = APIRouter(prefix="/registry", tags=["registry"])

Collection = Annotated[
    str, Path(description=", ".join(COLLECTIONS), json_schema_extra={"enum": list(COLLECTIONS)})
]
# The body is read by the route (its model depends on the collection), so OpenAPI is told:
# one of the party models (services/app.py registers them as components).
PARTY_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [{"$ref": REF.format(model=m.__name__)} for m in MODELS.values()]
                }
            }
        },
    }
}
PartyIdPath = Annotated[str, Path(min_length=1, max_length=64)]


RegistryDep = Annotated[Registry, Depends(app_writer("registry", Registry))]


def _party(collection: str) -> str:
    if collection not in COLLECTIONS:
        raise FhirError(
            404,
            f"no registry collection {collection!r} (one of {', '.join(COLLECTIONS)})",
            "not-found",
        )
    return COLLECTIONS[collection]


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
        raise log_unavailable(exc) from exc
    appended = answer.outcome != "unchanged" and not answer.replayed
    response.status_code = 202 if appended else 200
    response.headers["Content-Location"] = f"/fhir/{answer.reference}"
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return answer.to_json()


class Write:
    """What every route here needs: the request (its JSON body), the app's registry, and
    the response its answer sets the status and headers of."""

    def __init__(self, request: Request, registry: RegistryDep, response: Response) -> None:
        self.request = request
        self.registry = registry
        self.response = response

    async def body(self, model: type[BaseModel]) -> Any:
        """The body as `model` (400 not JSON, 422 invalid, naming the field)."""
        raw = await self.request.body()
        try:
            return model.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            raise _invalid(exc) from exc

    async def run(self, action: Callable[[Registry], Answer]) -> dict[str, Any]:
        return await _run(partial(action, self.registry), self.response)


WriteDep = Annotated[Write, Depends()]


@router.post("/{collection}", status_code=202, openapi_extra=PARTY_BODY)
async def register(collection: Collection, write: WriteDep) -> dict[str, Any]:
    """Register a party (the body's `id` names it)."""
    party = _party(collection)
    body = await write.body(MODELS[party])
    return await write.run(
        lambda r: r.register(party, body.id, body.details(), body.event_id, _user())
    )


@router.put("/{collection}/{party_id}", status_code=202, openapi_extra=PARTY_BODY)
async def upsert(collection: Collection, party_id: PartyIdPath, write: WriteDep) -> dict[str, Any]:
    """Register the party or replace its details; the same details again append nothing."""
    party = _party(collection)
    body = await write.body(MODELS[party])
    if body.id != party_id:
        raise FhirError(
            422, f"id {body.id!r} differs from the path's {party_id!r}", "invalid", ["id"]
        )
    answer = await write.run(
        lambda r: r.upsert(party, party_id, body.details(), body.event_id, _user())
    )
    if party == codes.PRACTITIONER:
        user = _user()
        for i, role in enumerate(body.roles):
            assign = partial(_assign, write.registry, party_id, role, f"roles[{i}]", user)
            await _run(assign, Response())  # the party's answer is the route's
    return answer


def _assign(
    registry: Registry, party_id: str, role: RoleIn, field: str, user: str | None
) -> Answer:
    try:
        return registry.role(party_id, role.organization_id, role.role, True, role.event_id, user)
    except RegistryRefused as exc:
        exc.field = f"{field}.{exc.field}" if exc.field else field
        raise


@router.post(
    "/{collection}/{party_id}/retire", status_code=202, openapi_extra=openapi_body(RetireIn)
)
async def retire(collection: Collection, party_id: PartyIdPath, write: WriteDep) -> dict[str, Any]:
    """Retire a party: ids naming it are refused from now on; its FHIR resources stay,
    inactive."""
    party = _party(collection)
    body: RetireIn = await write.body(RetireIn)
    return await write.run(lambda r: r.retire(party, party_id, body.reason, body.event_id, _user()))


async def _role(party_id: str, write: Write, held: bool) -> dict[str, Any]:
    """Give (`held`) or end a practitioner's role at an organization, as the body says."""
    body: RoleIn = await write.body(RoleIn)
    return await write.run(
        lambda r: r.role(party_id, body.organization_id, body.role, held, body.event_id, _user())
    )


@router.post("/practitioners/{party_id}/roles", status_code=202, openapi_extra=openapi_body(RoleIn))
async def assign_role(party_id: PartyIdPath, write: WriteDep) -> dict[str, Any]:
    """Give a practitioner a role at an organization (crew, reader, ed-clinician, ...)."""
    return await _role(party_id, write, held=True)


@router.post(
    "/practitioners/{party_id}/roles/end", status_code=202, openapi_extra=openapi_body(RoleIn)
)
async def end_role(party_id: PartyIdPath, write: WriteDep) -> dict[str, Any]:
    """End a practitioner's role at an organization."""
    return await _role(party_id, write, held=False)
