"""Who may do what: one table, route template -> roles, SMART scope, jurisdiction; and the
pure function that decides a request with it. No I/O: the middleware
(services/auth/middleware.py) authenticates, asks `decide`, and does the one check that
needs the views (a hospital's patient compartment, services/auth/compartment.py).

The table lists every route of services/app.py in the app's matching order (a test keeps
the two equal). A request no rule matches is admin-only: a route added to the app without a
rule here is closed, not open.

| routes                                   | roles                  | scope                  | jurisdiction             |
|------------------------------------------|------------------------|------------------------|--------------------------|
| /healthz /readyz /metrics /docs /redoc   | public                 |                        |                          |
| /openapi.json /fhir/metadata             |                        |                        |                          |
| /fhir/SubscriptionTopic[/{tid}], static  |                        |                        |                          |
| POST /ingest/ecg                         | clinic, admin          | Observation.write      | (site in body: coarse)   |
| GET/POST /ingest/incidents/{id}/events   | crew, admin            | Encounter.read / write | crew: own station's      |
|                                          |                        |                        | incidents (tablet.py)    |
| POST /ingest/positions                   | crew, admin            | Location.write         |                          |
| FHIR read, vread, history, search        | hospital, clinic,      | <type>.read            | hospital: Patient read   |
| (/fhir/{rtype}...), Composition/$document| reader, admin          |                        | and history: compartment |
| Patient/{id}/$everything                 | hospital, clinic,      | *.read                 | hospital: compartment    |
|                                          | reader, admin          |                        |                          |
| AuditEvent (any FHIR route), _include /  | admin                  | AuditEvent.read        |                          |
| _revinclude naming AuditEvent            |                        |                        |                          |
| GET /fhir/_history, $export,             | admin                  | *.read                 |                          |
| Patient/$export                          |                        |                        |                          |
| Group/{group}/$export                    | hospital, admin        | *.read                 | hospital: group == site  |
| _export/{job_id}[/{file}] (status, file, | hospital, admin        | *.read                 | job ids are unguessable  |
| DELETE)                                  |                        |                        | (32 hex), not owned      |
| Patient/$merge, $unmerge                 | hospital, admin        | Patient.write          |                          |
| Subscription create/delete/read/$status, | hospital, admin        | Subscription.write /   |                          |
| $events, $get-ws-binding-token           |                        | .read                  |                          |
| /reading/*                               | reader, admin          | Task.read / Task.write,| reader: site is the      |
|                                          |                        | DiagnosticReport.write | configured centre        |
| /board/{hospital_id}*                    | hospital, admin        | Encounter.read / write | hospital: site ==        |
|                                          |                        |                        | hospital_id              |
| /region/*                                | dispatch, admin        | Location.read          |                          |
| /kpi*                                    | quality, admin         | MeasureReport.read     |                          |

Admin holds every role's rights but still needs the scope (`system/*.*` for an operator).
The FHIR websocket (/fhir/ws) is not HTTP: it is bound by a token that only an allowed
`$get-ws-binding-token` call hands out.
Audited (services/auth/audit.py): every non-public route under /fhir, /ingest, /reading
and /board, allowed or refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.routing import compile_path

from services.auth.principal import Principal, scope_text

ADMIN = frozenset({"admin"})
FHIR_READERS = frozenset({"hospital", "clinic", "reader", "admin"})
CREW = frozenset({"crew", "admin"})
CLINIC = frozenset({"clinic", "admin"})
READER = frozenset({"reader", "admin"})
HOSPITAL = frozenset({"hospital", "admin"})
DISPATCH = frozenset({"dispatch", "admin"})
QUALITY = frozenset({"quality", "admin"})
PATIENT_DATA = ("/fhir", "/ingest", "/reading", "/board")
ADMIN_ONLY_TYPES = frozenset({"AuditEvent"})
RTYPE = "{rtype}"  # the scope's resource type is the path's


@dataclass(frozen=True)
class Rule:
    methods: tuple[str, ...]
    template: str
    roles: frozenset[str] = frozenset()  # empty: public
    resource: str = ""  # scope's resource type, "*" or RTYPE
    permission: str = "read"
    site: str = ""  # "hospital_id": that path parameter; "centre": the reading centre
    compartment: bool = False  # a hospital reads only Patients of its compartment

    @property
    def public(self) -> bool:
        return not self.roles

    @property
    def audited(self) -> bool:
        return not self.public and self.template.startswith(PATIENT_DATA)


def _public(template: str) -> Rule:
    return Rule(("GET",), template)


def _r(template: str, roles: frozenset[str], resource: str, **kw: Any) -> Rule:
    return Rule(("GET",), template, roles, resource, **kw)


def _w(method: str, template: str, roles: frozenset[str], resource: str, **kw: Any) -> Rule:
    return Rule((method,), template, roles, resource, "write", **kw)


RULES: tuple[Rule, ...] = (
    _public("/openapi.json"),
    _public("/docs"),
    _public("/docs/oauth2-redirect"),
    _public("/redoc"),
    _public("/healthz"),
    _public("/readyz"),
    _public("/metrics"),
    # ingest: clinics and carts, ambulance tablets
    _w("POST", "/ingest/ecg", CLINIC, "Observation"),
    _w("POST", "/ingest/incidents/{incident_id}/events", CREW, "Encounter"),
    _r("/ingest/incidents/{incident_id}/events", CREW, "Encounter"),
    _w("POST", "/ingest/positions", CREW, "Location"),
    # bulk export: the region's (admin), or a hospital's own Group (Group id = site id)
    _r("/fhir/$export", ADMIN, "*"),
    _r("/fhir/Patient/$export", ADMIN, "*"),
    _r("/fhir/Group/{group}/$export", HOSPITAL, "*", site="group"),
    _r("/fhir/_export/{job_id}", HOSPITAL, "*"),
    _r("/fhir/_export/{job_id}/{file_name}", HOSPITAL, "*"),
    Rule(("DELETE",), "/fhir/_export/{job_id}", HOSPITAL, "*"),  # cancel: writes no data
    # subscriptions (a hospital EMR's feed)
    _public("/fhir/SubscriptionTopic"),
    _public("/fhir/SubscriptionTopic/{tid}"),
    _w("POST", "/fhir/Subscription", HOSPITAL, "Subscription"),
    _r("/fhir/Subscription/{sid}", HOSPITAL, "Subscription"),
    _w("DELETE", "/fhir/Subscription/{sid}", HOSPITAL, "Subscription"),
    _r("/fhir/Subscription/{sid}/$status", HOSPITAL, "Subscription"),
    _r("/fhir/Subscription/{sid}/$events", HOSPITAL, "Subscription"),
    Rule(
        ("GET", "POST"),
        "/fhir/Subscription/{sid}/$get-ws-binding-token",
        HOSPITAL,
        "Subscription",
    ),
    # identity
    _w("POST", "/fhir/Patient/$merge", HOSPITAL, "Patient"),
    _w("POST", "/fhir/Patient/$unmerge", HOSPITAL, "Patient"),
    # FHIR REST
    _public("/fhir/metadata"),
    _r("/fhir/_history", ADMIN, "*"),
    _r("/fhir/{rtype}/_history", FHIR_READERS, RTYPE),
    _r("/fhir/{rtype}/{rid}", FHIR_READERS, RTYPE, compartment=True),
    _r("/fhir/{rtype}/{rid}/_history/{vid}", FHIR_READERS, RTYPE, compartment=True),
    _r("/fhir/{rtype}/{rid}/_history", FHIR_READERS, RTYPE, compartment=True),
    _r("/fhir/Patient/{rid}/$everything", FHIR_READERS, "*", compartment=True),
    _r("/fhir/Composition/{rid}/$document", FHIR_READERS, "Composition"),
    _r("/fhir/{rtype}", FHIR_READERS, RTYPE),
    # the reading centre
    _r("/reading/queue", READER, "Task", site="centre"),
    _w("POST", "/reading/claims", READER, "Task", site="centre"),
    _w("POST", "/reading/ecg/{ecg_id}/release", READER, "Task", site="centre"),
    _w("POST", "/reading/ecg/{ecg_id}/report", READER, "DiagnosticReport", site="centre"),
    _r("/reading/", READER, "Task", site="centre"),
    _r("/reading/queue-rows", READER, "Task", site="centre"),
    _r("/reading/ecg/{ecg_id}", READER, "Observation", site="centre"),
    _public("/reading/static/{name}"),
    # the ED board
    _public("/board/static/{name}"),
    _r("/board/{hospital_id}.json", HOSPITAL, "Encounter", site="hospital_id"),
    _r("/board/{hospital_id}", HOSPITAL, "Encounter", site="hospital_id"),
    _r("/board/{hospital_id}/cards", HOSPITAL, "Encounter", site="hospital_id"),
    _r("/board/{hospital_id}/events", HOSPITAL, "Encounter", site="hospital_id"),
    _w(
        "POST",
        "/board/{hospital_id}/incidents/{incident_id}/accept",
        HOSPITAL,
        "Encounter",
        site="hospital_id",
    ),
    # the region's units (no patient data)
    _r("/region/", DISPATCH, "Location"),
    _r("/region/units.json", DISPATCH, "Location"),
    _r("/region/events", DISPATCH, "Location"),
    # quality indicators (aggregates)
    _r("/kpi", QUALITY, "MeasureReport"),
    _r("/kpi/report", QUALITY, "MeasureReport"),
    _public("/kpi/report.css"),
    _r("/kpi/export.csv", QUALITY, "MeasureReport"),
    _r("/kpi/MeasureReport", QUALITY, "MeasureReport"),
)
UNMATCHED = Rule((), "", ADMIN, "*")

_COMPILED = [(rule, compile_path(rule.template)) for rule in RULES]


@dataclass(frozen=True)
class Matched:
    rule: Rule
    params: dict[str, str]


def match(method: str, path: str) -> Matched:
    """The first rule whose template and method match (HEAD as GET); UNMATCHED otherwise."""
    method = "GET" if method == "HEAD" else method
    for rule, (regex, _, convertors) in _COMPILED:
        m = regex.match(path)
        if m and method in rule.methods:
            params = {k: convertors[k].convert(v) for k, v in m.groupdict().items()}
            return Matched(rule, {k: str(v) for k, v in params.items()})
    return Matched(UNMATCHED, {})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: int  # 200 allowed, 401 unauthenticated, 403 forbidden
    reason: str
    scope: str = ""  # the scope lacking, for WWW-Authenticate
    patient: str = ""  # allowed only if this Patient id is in the hospital's compartment

    @property
    def needs_compartment(self) -> bool:
        return bool(self.patient)


ALLOW = Decision(True, 200, "allowed")
_INCLUDES = re.compile(r"(^|:)AuditEvent(:|$)")


def decide(
    principal: Principal | None,
    method: str,
    rule: Rule,
    params: Mapping[str, str],
    query: Sequence[tuple[str, str]] = (),
    *,
    reading_centre_id: str,
) -> Decision:
    """Allow or refuse `principal` (None: no token) calling `rule` with these path and
    query parameters. Pure."""
    if rule.public:
        return ALLOW
    if principal is None:
        return Decision(False, 401, "a bearer token is required")
    refusal = _role_refusal(principal, rule, params, query)
    if refusal:
        return Decision(False, 403, refusal)
    resource = params.get("rtype", "") if rule.resource == RTYPE else rule.resource
    if not principal.may(resource, rule.permission):
        needed = scope_text(resource, rule.permission)
        return Decision(False, 403, f"scope {needed} is required", scope=needed)
    site = _site_refusal(principal, rule, params, reading_centre_id)
    if site:
        return Decision(False, 403, site)
    return _compartment(principal, rule, params)


def _role_refusal(
    principal: Principal, rule: Rule, params: Mapping[str, str], query: Sequence[tuple[str, str]]
) -> str:
    if principal.role not in rule.roles:
        return f"role {principal.role} may not {rule.permission} here"
    if principal.role == "admin":
        return ""
    if params.get("rtype") in ADMIN_ONLY_TYPES:
        return f"{params['rtype']} is readable by admin only"
    if any(p in ("_include", "_revinclude") and _INCLUDES.search(v) for p, v in query):
        return "AuditEvent is readable by admin only"
    return ""


def _site_refusal(
    principal: Principal, rule: Rule, params: Mapping[str, str], reading_centre_id: str
) -> str:
    if principal.role == "admin" or not rule.site:
        return ""
    wanted = reading_centre_id if rule.site == "centre" else params.get(rule.site, "")
    if principal.site != wanted:
        return f"{principal.role} of {principal.site or 'no site'} may not act for {wanted}"
    return ""


def _compartment(principal: Principal, rule: Rule, params: Mapping[str, str]) -> Decision:
    if not rule.compartment or principal.role != "hospital":
        return ALLOW
    if rule.template.startswith("/fhir/Patient/") or params.get("rtype") == "Patient":
        return Decision(True, 200, "allowed in the hospital's compartment", patient=params["rid"])
    return ALLOW
