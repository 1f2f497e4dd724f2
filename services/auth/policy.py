"""Who may do what: one table, route template -> roles, SMART scope, jurisdiction; and the
pure function that decides a request with it. No I/O: the middleware
(services/auth/middleware.py) authenticates, asks `decide`, and does the one check that
needs the views. What a caller may *see* (another organization's patients) is not decided
here: the store decides it on every read (kernel/jurisdiction.py, viewstore/guarded.py).

The table lists every route of services/app.py in the app's matching order (a test keeps
the two equal). A request no rule matches is admin-only: a route added to the app without a
rule here is closed, not open.

| routes                                   | roles                  | scope                  | jurisdiction             |
|------------------------------------------|------------------------|------------------------|--------------------------|
| /healthz /readyz /metrics /docs /redoc   | public                 |                        |                          |
| /openapi.json /fhir/metadata             |                        |                        |                          |
| /fhir/SubscriptionTopic[/{tid}], static  |                        |                        |                          |
| [/fhir]/.well-known/smart-configuration, |                        |                        |                          |
| /auth/jwks, POST /auth/token             |                        |                        |                          |
| / (landing page), /board/ (hospitals)    |                        |                        |                          |
| /crew/* (the tablet app's shell: page,   |                        |                        |                          |
| manifest, worker, reference, static)     |                        |                        |                          |
| POST /ingest/ecg                         | clinic, admin          | Observation.write      | (site in body: coarse)   |
| POST /ingest/ecg-file                    | clinic, admin          | Observation.write      | (site from the token)    |
| GET/POST /ingest/incidents/{id}/events   | crew, admin            | Encounter.read / write | crew: own station's      |
|                                          |                        |                        | incidents (tablet.py)    |
| POST /ingest/positions                   | crew, admin            | Location.write         |                          |
| FHIR read, vread, history, search (GET,  | hospital, clinic,      | <type>.read            | hospital: Patient read   |
| POST _search), $validate, $document      | reader, admin          |                        | (all: in the store)      |
| Patient/{id}/$everything                 | hospital, clinic,      | *.read                 | (all: in the store)      |
|                                          | reader, admin          |                        |                          |
| AuditEvent (any FHIR route), _include /  | admin                  | AuditEvent.read        |                          |
| _revinclude naming AuditEvent            |                        |                        |                          |
| GET /fhir/_history, $export,             | admin                  | *.read                 |                          |
| Patient/$export                          |                        |                        |                          |
| Group/{group}/$export                    | hospital, admin        | *.read (with _type:    | hospital: group == site  |
|                                          |                        | each type's .read)     |                          |
| _export/{job_id} (status, DELETE),       | hospital, admin        | any .read; the file:   | the kicking-off org only |
| _export/{job_id}/{Type}.ndjson           |                        | <Type>.read            | (bulk_export.py): 404    |
| Patient/$merge, $unmerge                 | hospital, admin        | Patient.write          |                          |
| POST Procedure, Condition; PUT           | hospital, admin        | <type>.write           | subject: a patient the   |
| Procedure/Condition/Encounter/{id};      |                        | (transaction: some     | hospital sees (store),   |
| POST /fhir (transaction)                 |                        | write; each entry's)   | else 404                 |
| Subscription create/delete/read/search,  | hospital, admin        | Subscription.write /   | owner (creating site)    |
| $status, $events, $get-ws-binding-token  |                        | .read                  | only: subscription_routes|
| /reading/*                               | reader, admin          | Task.read / Task.write,| reader: site is the      |
|                                          |                        | DiagnosticReport.write | configured centre        |
| /board/{hospital_id}*                    | hospital, admin        | Encounter.read / write | hospital: site ==        |
|                                          |                        |                        | hospital_id              |
| /region/*                                | dispatch, admin        | Location.read          |                          |
| /command/* reads, MCI writes, escort     | dispatch, admin        | Location.read /        |                          |
| callback, alert acknowledgement          |                        | Encounter.write        |                          |
| POST /command/incidents/{id}/casualties  | crew, admin            | Encounter.write        | crew: own station, which |
|                                          |                        |                        | responds (writes.py)     |
| PUT /command/capacity/{hospital_id},     | hospital, admin        | Location.write /       | hospital: site ==        |
| GET /command/expected/{hospital_id}      |                        | Encounter.read         | hospital_id              |
| /kpi*                                    | quality, admin         | MeasureReport.read     |                          |
| /registry/* (register, update, retire,   | admin                  | *.write                |                          |
| roles)                                   |                        |                        |                          |

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

from services.auth.principal import SCOPE, Principal, scope_text

ADMIN = frozenset({"admin"})
FHIR_READERS = frozenset({"hospital", "clinic", "reader", "admin"})
CREW = frozenset({"crew", "admin"})
CLINIC = frozenset({"clinic", "admin"})
READER = frozenset({"reader", "admin"})
HOSPITAL = frozenset({"hospital", "admin"})
DISPATCH = frozenset({"dispatch", "admin"})
QUALITY = frozenset({"quality", "admin"})
PATIENT_DATA = ("/fhir", "/ingest", "/reading", "/board", "/command")
ADMIN_ONLY_TYPES = frozenset({"AuditEvent"})
RTYPE = "{rtype}"  # the scope's resource type is the path's
SOME_TYPE = "{some}"  # a scope on any one resource type will do
FILE_TYPE = "{file}"  # the type of an export file (`<Type>.ndjson`)


@dataclass(frozen=True)
class Rule:
    methods: tuple[str, ...]
    template: str
    roles: frozenset[str] = frozenset()  # empty: public
    resource: str = ""  # scope's resource type, "*" or RTYPE
    permission: str = "read"
    site: str = ""  # "hospital_id": that path parameter; "centre": the reading centre

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
    # the landing page and the offline docs: no patient data
    _public("/"),
    _public("/static/{name}"),
    _public("/static/docs/{name}"),
    _public("/openapi.json"),
    _public("/docs"),
    _public("/docs/oauth2-redirect"),
    _public("/redoc"),
    _public("/healthz"),
    _public("/readyz"),
    _public("/metrics"),
    # SMART discovery and the token endpoint (it authenticates clients by their assertion)
    _public("/.well-known/smart-configuration"),
    _public("/fhir/.well-known/smart-configuration"),
    _public("/auth/jwks"),
    Rule(("POST",), "/auth/token"),
    # ingest: clinics and carts, ambulance tablets
    _w("POST", "/ingest/ecg", CLINIC, "Observation"),
    _w("POST", "/ingest/ecg-file", CLINIC, "Observation"),
    _w("POST", "/ingest/incidents/{incident_id}/events", CREW, "Encounter"),
    _r("/ingest/incidents/{incident_id}/events", CREW, "Encounter"),
    _w("POST", "/ingest/positions", CREW, "Location"),
    # bulk export: the region's (admin), or a hospital's own Group (Group id = site id)
    _r("/fhir/$export", ADMIN, "*"),
    _r("/fhir/Patient/$export", ADMIN, "*"),
    _r("/fhir/Group/{group}/$export", HOSPITAL, "*", site="group"),
    # a job's status and its cancel show no resource: any read scope (a client that
    # exported some types holds only theirs); a file needs its own type's
    _r("/fhir/_export/{job_id}", HOSPITAL, SOME_TYPE),
    _r("/fhir/_export/{job_id}/{file_name}", HOSPITAL, FILE_TYPE),
    Rule(("DELETE",), "/fhir/_export/{job_id}", HOSPITAL, SOME_TYPE),  # writes no data
    # subscriptions (a hospital EMR's feed)
    _public("/fhir/SubscriptionTopic"),
    _public("/fhir/SubscriptionTopic/{tid}"),
    _w("POST", "/fhir/Subscription", HOSPITAL, "Subscription"),
    _r("/fhir/Subscription", HOSPITAL, "Subscription"),  # lists the caller's own only
    _r("/fhir/Subscription/{sid}", HOSPITAL, "Subscription"),
    _r("/fhir/Subscription/{sid}/_history/{vid}", HOSPITAL, "Subscription"),
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
    # a hospital's outcomes (services/fhir_api/outcome_routes.py): the subject must be a
    # patient the hospital sees (the store decides: 404 otherwise); a transaction needs
    # some write scope here and each entry's type's write scope (checked per entry)
    _w("POST", "/fhir/Procedure", HOSPITAL, "Procedure"),
    _w("POST", "/fhir/Condition", HOSPITAL, "Condition"),
    _w("PUT", "/fhir/Procedure/{rid}", HOSPITAL, "Procedure"),
    _w("PUT", "/fhir/Condition/{rid}", HOSPITAL, "Condition"),
    _w("PUT", "/fhir/Encounter/{rid}", HOSPITAL, "Encounter"),
    _w("POST", "/fhir", HOSPITAL, SOME_TYPE),
    # FHIR REST
    _public("/fhir/metadata"),
    _r("/fhir/_history", ADMIN, "*"),
    _r("/fhir/{rtype}/_history", FHIR_READERS, RTYPE),
    _r("/fhir/{rtype}/{rid}", FHIR_READERS, RTYPE),
    _r("/fhir/{rtype}/{rid}/_history/{vid}", FHIR_READERS, RTYPE),
    _r("/fhir/{rtype}/{rid}/_history", FHIR_READERS, RTYPE),
    _r("/fhir/Patient/{rid}/$everything", FHIR_READERS, "*"),
    _r("/fhir/Composition/{rid}/$document", FHIR_READERS, "Composition"),
    _r("/fhir/{rtype}", FHIR_READERS, RTYPE),
    Rule(("POST",), "/fhir/{rtype}/_search", FHIR_READERS, RTYPE),  # a search: reads
    Rule(("POST",), "/fhir/{rtype}/$validate", FHIR_READERS, RTYPE),  # stores nothing
    # the reading centre
    _r("/reading/queue", READER, "Task", site="centre"),
    _w("POST", "/reading/claims", READER, "Task", site="centre"),
    _w("POST", "/reading/ecg/{ecg_id}/release", READER, "Task", site="centre"),
    _w("POST", "/reading/ecg/{ecg_id}/report", READER, "DiagnosticReport", site="centre"),
    _w("POST", "/reading/ecg/{ecg_id}/measurements", READER, "DiagnosticReport", site="centre"),
    _w("POST", "/reading/ecg/{ecg_id}/addendum", READER, "DiagnosticReport", site="centre"),
    _r("/reading/", READER, "Task", site="centre"),
    _r("/reading/queue-rows", READER, "Task", site="centre"),
    _r("/reading/ecg/{ecg_id}", READER, "Observation", site="centre"),
    _public("/reading/static/{name}"),
    # the ED board
    _public("/board/static/{name}"),
    _public("/board/"),  # the list of hospitals (registry names, no patient data)
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
    # the crew's tablet app: its offline shell holds no patient data (hospital and unit
    # names, vital-sign limits, strings) and is cached before anyone signs in; it writes
    # only through /ingest/incidents/... with the crew's token (services/crew/routes.py)
    _public("/crew"),
    _public("/crew/"),
    _public("/crew/manifest.webmanifest"),
    _public("/crew/sw.js"),
    _public("/crew/reference.json"),
    _public("/crew/demo-ecg.json"),
    _public("/crew/static/{name}"),
    # the command centre (services/command/routes.py): dispatch, except a crew's casualties
    # (its own station, when it responds: writes.py), a hospital's own capacity and expected
    # casualties, and the traffic platform's callback (a dispatch-role client of the region)
    _public("/command/static/{name}"),
    _r("/command/", DISPATCH, "Location"),
    _r("/command/panel", DISPATCH, "Location"),
    _r("/command/incidents", DISPATCH, "Location"),
    _w("POST", "/command/incidents", DISPATCH, "Encounter"),
    _r("/command/incidents/{mci_id}", DISPATCH, "Location"),
    _w("POST", "/command/incidents/{mci_id}/close", DISPATCH, "Encounter"),
    _w("POST", "/command/incidents/{mci_id}/casualties", CREW, "Encounter"),
    _r("/command/incidents/{mci_id}/plan", DISPATCH, "Location"),
    _w("POST", "/command/incidents/{mci_id}/distribution", DISPATCH, "Encounter"),
    _w(
        "POST",
        "/command/incidents/{mci_id}/casualties/{casualty_id}/assignment",
        DISPATCH,
        "Encounter",
    ),
    _r("/command/capacity", DISPATCH, "Location"),
    _w("PUT", "/command/capacity/{hospital_id}", HOSPITAL, "Location", site="hospital_id"),
    _r("/command/expected/{hospital_id}", HOSPITAL, "Encounter", site="hospital_id"),
    _r("/command/escorts", DISPATCH, "Location"),
    _w("POST", "/command/escorts/{escort_id}/updates", DISPATCH, "Encounter"),
    _r("/command/alerts", DISPATCH, "Location"),
    _w("POST", "/command/alerts/{alert_id}/acknowledge", DISPATCH, "Encounter"),
    # quality indicators (aggregates)
    _r("/kpi", QUALITY, "MeasureReport"),
    _r("/kpi/report", QUALITY, "MeasureReport"),
    _public("/kpi/report.css"),
    _r("/kpi/export.csv", QUALITY, "MeasureReport"),
    _r("/kpi/MeasureReport", QUALITY, "MeasureReport"),
    # the registry: who is who (services/registry/routes.py); read back through /fhir
    _w("POST", "/registry/{collection}", ADMIN, "*"),
    _w("PUT", "/registry/{collection}/{party_id}", ADMIN, "*"),
    _w("POST", "/registry/{collection}/{party_id}/retire", ADMIN, "*"),
    _w("POST", "/registry/practitioners/{party_id}/roles", ADMIN, "*"),
    _w("POST", "/registry/practitioners/{party_id}/roles/end", ADMIN, "*"),
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


ALLOW = Decision(True, 200, "allowed")
_INCLUDES = re.compile(r"(^|:)AuditEvent(:|$)")


def _names_admin_only(param: str, value: str) -> bool:
    """`_include[:iterate]` / `_revinclude[:iterate]` of AuditEvent, or `_has:AuditEvent:`
    (a reverse chain would tell which resources an agent touched)."""
    name = param.split(":", 1)[0]
    if name in ("_include", "_revinclude"):
        return bool(_INCLUDES.search(value))
    return name == "_has" and bool(_INCLUDES.search(param))


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
    if rule.resource == SOME_TYPE and _may_some(principal, rule.permission):
        return _site_decision(principal, rule, params, reading_centre_id)
    for resource in _scoped_types(rule, params, query):
        if not principal.may(resource, rule.permission):
            needed = scope_text(resource, rule.permission)
            return Decision(False, 403, f"scope {needed} is required", scope=needed)
    return _site_decision(principal, rule, params, reading_centre_id)


def _site_decision(
    principal: Principal, rule: Rule, params: Mapping[str, str], reading_centre_id: str
) -> Decision:
    site = _site_refusal(principal, rule, params, reading_centre_id)
    if site:
        return Decision(False, 403, site)
    return ALLOW


def _may_some(principal: Principal, permission: str) -> bool:
    """Does some scope grant `permission` on the type it names (or on every type)?"""
    return any(
        (m := SCOPE.match(s)) is not None and principal.may(m[2], permission)
        for s in principal.scopes
    )


def _scoped_types(
    rule: Rule, params: Mapping[str, str], query: Sequence[tuple[str, str]]
) -> list[str]:
    """The resource types the caller needs a scope for. An `$export` naming its types
    (`_type`) needs a read scope on each of them, not `*`: a Bulk Data client asks for
    `system/Patient.read system/Observation.read ...` and exports exactly those."""
    if rule.resource == RTYPE:
        return [params.get("rtype", "")]
    if rule.resource == FILE_TYPE:
        return [params.get("file_name", "").split(".", 1)[0]]
    if rule.resource == SOME_TYPE:
        return ["*"]  # no scope on any type: the refusal names the widest
    named = [t for p, v in query if p == "_type" for t in v.split(",") if t.strip()]
    if rule.resource == "*" and rule.template.endswith("/$export") and named:
        return [t.strip() for t in named]
    return [rule.resource]


def _role_refusal(
    principal: Principal, rule: Rule, params: Mapping[str, str], query: Sequence[tuple[str, str]]
) -> str:
    if principal.role not in rule.roles:
        return f"role {principal.role} may not {rule.permission} here"
    if principal.role == "admin":
        return ""
    if params.get("rtype") in ADMIN_ONLY_TYPES:
        return f"{params['rtype']} is readable by admin only"
    if any(_names_admin_only(p, v) for p, v in query):
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
