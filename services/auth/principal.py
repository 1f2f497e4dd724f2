"""Who is asking: the principal a verified bearer token names, and its SMART scopes.

Roles (claim `role`) and what their `site` (claim `site`) is:

| role     | site                      | does                                                |
|----------|---------------------------|-----------------------------------------------------|
| crew     | its 120 station id        | writes its own station's incidents, unit positions  |
| clinic   | its site id               | submits ECGs, reads FHIR                            |
| reader   | its reading centre id     | the reading centre's queue, claims, reports         |
| hospital | its hospital id           | its ED board, its incoming patients in FHIR, EMR    |
|          |                           | feeds (subscriptions, $merge)                       |
| dispatch | the region id             | the region's live unit map (no patient data)        |
| quality  | the region id             | quality indicators (aggregates, no patient data)    |
| admin    | anything                  | everything, including the access audit              |

`dispatch` and `quality` are ours beyond the issue's five: the region view and the KPIs are
neither patient care nor administration, and giving them to `admin` only would hand the
whole audit trail to whoever watches the map.

Scopes are SMART on FHIR (hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
`user/` or `system/` + resource type or `*` + `.read` / `.write` / `.*` (v1) or the v2
letters `cruds`. `patient/` scopes need a launch context this server does not have: they
grant nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROLES = ("crew", "clinic", "reader", "hospital", "dispatch", "quality", "admin")
CONTEXTS = ("user", "system")
# v2 letters meaning each permission: read = read or search; write = create, update, delete
V2_LETTERS = {"read": set("rs"), "write": set("cud")}
SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(\*|read|write|[cruds]+)$")


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    site: str
    scopes: frozenset[str]

    def may(self, resource_type: str, permission: str) -> bool:
        """Does a scope grant `permission` ("read" or "write") on `resource_type` ("*": on
        every type, which only a `*` scope grants)?"""
        return any(_grants(s, resource_type, permission) for s in self.scopes)


def _grants(scope: str, resource_type: str, permission: str) -> bool:
    m = SCOPE.match(scope)
    if not m or m[1] not in CONTEXTS:
        return False
    if m[2] != "*" and m[2] != resource_type:
        return False
    granted = m[3]
    if granted in ("*", permission):
        return True
    return granted not in ("read", "write") and bool(set(granted) & V2_LETTERS[permission])


def scope_text(resource_type: str, permission: str) -> str:
    """The scope a refusal names (`WWW-Authenticate: Bearer error="insufficient_scope"`)."""
    return f"user/{resource_type}.{permission}"


# What `goldenhour token --role R` grants when no --scope is given: what the role's routes
# need (services/auth/policy.py), nothing more.
DEFAULT_SCOPES: dict[str, list[str]] = {
    "crew": ["user/Encounter.read", "user/Encounter.write", "user/Location.write"],
    "clinic": ["user/Observation.write", "user/*.read"],
    "reader": ["user/*.read", "user/Task.write", "user/DiagnosticReport.write"],
    "hospital": [
        "user/*.read",
        "user/Encounter.write",
        "user/Patient.write",
        "user/Subscription.write",
        "user/Location.write",  # bed availability (command capacity reports)
        "user/Procedure.write",  # outcomes reported back: PCI, final diagnosis
        "user/Condition.write",
    ],
    "dispatch": ["user/Location.read", "user/Encounter.write"],  # MCIs, assignments
    "quality": ["user/MeasureReport.read"],
    "admin": ["system/*.*"],
}
