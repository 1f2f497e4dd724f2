"""A registry seed file: the parties of a region as one JSON document, loaded by
`goldenhour registry load FILE` (straight to the log) and by the demo (through the admin
API). Both use the create-or-replace write (`Registry.upsert`), so a re-load appends nothing
and an edited party appends one update. Example: deploy/registry/seed.example.json.

    {"organizations": [...], "units": [...], "practitioners": [...], "devices": [...],
     "peers": [...]}

Each entry is the admin API's body for its collection (services/registry/models.py);
a practitioner may list `roles`. Entries are applied in that order, and in file order
within a collection: a parent, a region, a station or the clinics a reading centre reads
for come before the parties that name them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from services.registry.commands import Answer, Registry, RegistryRefused
from services.registry.models import COLLECTIONS, MODELS, PractitionerIn

Json = dict[str, Any]


class SeedInvalid(ValueError):
    """A seed entry that is not valid, with where it is (`organizations[2].kind`)."""


def read(path: Path) -> Json:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or set(doc) - set(COLLECTIONS):
        raise SeedInvalid(f"a seed is an object with some of: {', '.join(COLLECTIONS)}")
    return doc


def entries(doc: Json) -> Iterator[tuple[str, str, BaseModel]]:
    """(collection, where, validated body) of every entry, in load order."""
    for collection, party in COLLECTIONS.items():
        for i, raw in enumerate(doc.get(collection) or []):
            where = f"{collection}[{i}]"
            try:
                yield collection, where, MODELS[party].model_validate(raw)
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                path = ".".join(str(p) for p in first["loc"])
                raise SeedInvalid(f"{where}.{path}: {first['msg']}") from exc


def load(registry: Registry, doc: Json, user: str | None = None) -> list[Answer]:
    """Apply every entry through the admin API's write path."""
    answers = []
    for collection, where, body in entries(doc):
        party = COLLECTIONS[collection]
        try:
            answers.append(registry.upsert(party, body.id, body.details(), body.event_id, user))  # type: ignore[attr-defined]
            if isinstance(body, PractitionerIn):
                for role in body.roles:
                    answers.append(
                        registry.role(body.id, role.organization_id, role.role, True, None, user)
                    )
        except RegistryRefused as exc:
            raise SeedInvalid(f"{where}: {exc}") from exc
    return answers


def post(client: httpx.Client, doc: Json) -> list[Json]:
    """Load a seed through a running server's admin API (the demo; a region with auth on
    passes a client carrying an admin token)."""
    out = []
    for collection, where, body in entries(doc):
        party_id = body.id  # type: ignore[attr-defined]
        resp = client.put(
            f"/registry/{collection}/{quote(party_id, safe='')}",
            json=body.model_dump(mode="json", exclude_none=True),
        )
        if resp.status_code not in (200, 202):
            raise SeedInvalid(f"{where}: {resp.status_code} {resp.text[:300]}")
        out.append(resp.json())
    return out
