"""The access policy as a pure function: every role x every route template x method is
allowed exactly where the expected matrix below (written independently of the policy's
table) says, with the role's default scopes and its own site; and refused otherwise."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from types import SimpleNamespace

import pytest

from services.app import create_app
from services.auth.policy import RULES, UNMATCHED, Decision, Rule, decide, match
from services.auth.principal import DEFAULT_SCOPES, ROLES, Principal
from services.settings import Settings

CENTRE = "county-ecg-centre"
SITES = {
    "crew": "station-a",
    "clinic": "clinic-a",
    "reader": CENTRE,
    "hospital": "hospital-a",
    "dispatch": "county",
    "quality": "county",
    "admin": "",
}
PUBLIC: set[str | None] = {*ROLES, None}
FHIR_READERS = {"hospital", "clinic", "reader", "admin"}

# (method, template) -> roles allowed (None: no token). Written from the issue, not the code.
EXPECTED: dict[tuple[str, str], AbstractSet[str | None]] = {
    **{
        ("GET", t): PUBLIC
        for t in (
            "/",
            "/static/{name}",
            "/static/docs/{name}",
            "/board/",
            "/openapi.json",
            "/docs",
            "/docs/oauth2-redirect",
            "/redoc",
            "/healthz",
            "/readyz",
            "/metrics",
            "/fhir/metadata",
            "/fhir/SubscriptionTopic",
            "/fhir/SubscriptionTopic/{tid}",
            "/reading/static/{name}",
            "/board/static/{name}",
            "/kpi/report.css",
            # SMART App Launch: discovery at the root and at the FHIR base, the token
            # endpoint's public key set
            "/.well-known/smart-configuration",
            "/fhir/.well-known/smart-configuration",
            "/auth/jwks",
            "/crew",
            "/crew/",
            "/crew/manifest.webmanifest",
            "/crew/sw.js",
            "/crew/reference.json",
            "/crew/demo-ecg.json",
            "/crew/static/{name}",
        )
    },
    # the Backend Services token endpoint authenticates its callers by their assertion
    ("POST", "/auth/token"): PUBLIC,
    ("POST", "/ingest/ecg"): {"clinic", "admin"},
    ("POST", "/ingest/ecg-file"): {"clinic", "admin"},
    ("POST", "/ingest/incidents/{incident_id}/events"): {"crew", "admin"},
    ("GET", "/ingest/incidents/{incident_id}/events"): {"crew", "admin"},
    ("POST", "/ingest/positions"): {"crew", "admin"},
    ("GET", "/fhir/$export"): {"admin"},
    ("GET", "/fhir/Patient/$export"): {"admin"},
    ("GET", "/fhir/Group/{group}/$export"): {"hospital", "admin"},
    ("GET", "/fhir/_export/{job_id}"): {"hospital", "admin"},
    ("GET", "/fhir/_export/{job_id}/{file_name}"): {"hospital", "admin"},
    ("DELETE", "/fhir/_export/{job_id}"): {"hospital", "admin"},
    ("POST", "/fhir/Subscription"): {"hospital", "admin"},
    ("GET", "/fhir/Subscription"): {"hospital", "admin"},
    ("GET", "/fhir/Subscription/{sid}"): {"hospital", "admin"},
    ("GET", "/fhir/Subscription/{sid}/_history/{vid}"): {"hospital", "admin"},
    ("DELETE", "/fhir/Subscription/{sid}"): {"hospital", "admin"},
    ("GET", "/fhir/Subscription/{sid}/$status"): {"hospital", "admin"},
    ("GET", "/fhir/Subscription/{sid}/$events"): {"hospital", "admin"},
    ("GET", "/fhir/Subscription/{sid}/$get-ws-binding-token"): {"hospital", "admin"},
    ("POST", "/fhir/Subscription/{sid}/$get-ws-binding-token"): {"hospital", "admin"},
    ("POST", "/fhir/Patient/$merge"): {"hospital", "admin"},
    ("POST", "/fhir/Patient/$unmerge"): {"hospital", "admin"},
    # a hospital reports outcomes back (issue 13 item 4): PCI, final diagnosis, disposition
    ("POST", "/fhir/Procedure"): {"hospital", "admin"},
    ("POST", "/fhir/Condition"): {"hospital", "admin"},
    ("PUT", "/fhir/Procedure/{rid}"): {"hospital", "admin"},
    ("PUT", "/fhir/Condition/{rid}"): {"hospital", "admin"},
    ("PUT", "/fhir/Encounter/{rid}"): {"hospital", "admin"},
    ("POST", "/fhir"): {"hospital", "admin"},
    ("GET", "/fhir/_history"): {"admin"},
    ("GET", "/fhir/{rtype}/_history"): FHIR_READERS,
    ("GET", "/fhir/{rtype}/{rid}"): FHIR_READERS,
    ("GET", "/fhir/{rtype}/{rid}/_history/{vid}"): FHIR_READERS,
    ("GET", "/fhir/{rtype}/{rid}/_history"): FHIR_READERS,
    ("GET", "/fhir/Patient/{rid}/$everything"): FHIR_READERS,
    ("GET", "/fhir/Composition/{rid}/$document"): FHIR_READERS,
    ("GET", "/fhir/{rtype}"): FHIR_READERS,
    ("POST", "/fhir/{rtype}/_search"): FHIR_READERS,
    ("POST", "/fhir/{rtype}/$validate"): FHIR_READERS,
    ("GET", "/reading/queue"): {"reader", "admin"},
    ("POST", "/reading/claims"): {"reader", "admin"},
    ("POST", "/reading/ecg/{ecg_id}/release"): {"reader", "admin"},
    ("POST", "/reading/ecg/{ecg_id}/report"): {"reader", "admin"},
    ("POST", "/reading/ecg/{ecg_id}/measurements"): {"reader", "admin"},
    ("POST", "/reading/ecg/{ecg_id}/addendum"): {"reader", "admin"},
    ("GET", "/reading/"): {"reader", "admin"},
    ("GET", "/reading/queue-rows"): {"reader", "admin"},
    ("GET", "/reading/ecg/{ecg_id}"): {"reader", "admin"},
    ("GET", "/board/{hospital_id}.json"): {"hospital", "admin"},
    ("GET", "/board/{hospital_id}"): {"hospital", "admin"},
    ("GET", "/board/{hospital_id}/cards"): {"hospital", "admin"},
    ("GET", "/board/{hospital_id}/events"): {"hospital", "admin"},
    ("POST", "/board/{hospital_id}/incidents/{incident_id}/accept"): {"hospital", "admin"},
    ("GET", "/region/"): {"dispatch", "admin"},
    ("GET", "/region/units.json"): {"dispatch", "admin"},
    ("GET", "/region/events"): {"dispatch", "admin"},
    # the command centre (issue 15): dispatch runs it; crews tag casualties; a hospital
    # reports its own capacity and sees the casualties sent to it
    ("GET", "/command/static/{name}"): PUBLIC,
    ("GET", "/command/"): {"dispatch", "admin"},
    ("GET", "/command/panel"): {"dispatch", "admin"},
    ("GET", "/command/incidents"): {"dispatch", "admin"},
    ("POST", "/command/incidents"): {"dispatch", "admin"},
    ("GET", "/command/incidents/{mci_id}"): {"dispatch", "admin"},
    ("POST", "/command/incidents/{mci_id}/close"): {"dispatch", "admin"},
    ("POST", "/command/incidents/{mci_id}/casualties"): {"crew", "admin"},
    ("GET", "/command/incidents/{mci_id}/plan"): {"dispatch", "admin"},
    ("POST", "/command/incidents/{mci_id}/distribution"): {"dispatch", "admin"},
    ("POST", "/command/incidents/{mci_id}/casualties/{casualty_id}/assignment"): {
        "dispatch",
        "admin",
    },
    ("GET", "/command/capacity"): {"dispatch", "admin"},
    ("PUT", "/command/capacity/{hospital_id}"): {"hospital", "admin"},
    ("GET", "/command/expected/{hospital_id}"): {"hospital", "admin"},
    ("GET", "/command/escorts"): {"dispatch", "admin"},
    ("POST", "/command/escorts/{escort_id}/updates"): {"dispatch", "admin"},
    ("GET", "/command/alerts"): {"dispatch", "admin"},
    ("POST", "/command/alerts/{alert_id}/acknowledge"): {"dispatch", "admin"},
    ("GET", "/kpi"): {"quality", "admin"},
    ("GET", "/kpi/report"): {"quality", "admin"},
    ("GET", "/kpi/export.csv"): {"quality", "admin"},
    ("GET", "/kpi/MeasureReport"): {"quality", "admin"},
    ("POST", "/registry/{collection}"): {"admin"},
    ("PUT", "/registry/{collection}/{party_id}"): {"admin"},
    ("POST", "/registry/{collection}/{party_id}/retire"): {"admin"},
    ("POST", "/registry/practitioners/{party_id}/roles"): {"admin"},
    ("POST", "/registry/practitioners/{party_id}/roles/end"): {"admin"},
}
METHODS = ("GET", "POST", "PUT", "DELETE")


def principal(role: str, site: str | None = None, scopes: list[str] | None = None) -> Principal:
    return Principal(
        f"{role}-1",
        role,
        SITES[role] if site is None else site,
        frozenset(DEFAULT_SCOPES[role] if scopes is None else scopes),
    )


def params_for(template: str, role: str | None, rtype: str = "Observation") -> dict[str, str]:
    site = SITES.get(role or "", "") or "hospital-a"
    values = {"rtype": rtype, "rid": "r1", "vid": "1", "hospital_id": site, "group": site}
    names = [p.strip("{}") for p in template.split("/") if p.startswith("{")]
    names = [n.split("}")[0] for n in names]
    return {n: values.get(n, "x1") for n in names}


def decision(role: str | None, method: str, rule: Rule, rtype: str = "Observation") -> Decision:
    who = principal(role) if role else None
    params = params_for(rule.template, role, rtype)
    return decide(who, method, rule, params, reading_centre_id=CENTRE)


def rule_of(method: str, template: str) -> Rule:
    for rule in RULES:
        if rule.template == template and method in rule.methods:
            return rule
    return UNMATCHED


def app_routes() -> list[tuple[str, str]]:
    """(method, template) of every HTTP route of the app, in its matching order."""
    app = create_app(SimpleNamespace(settings=Settings()))  # type: ignore[arg-type]

    def walk(routes: list[object]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                out += walk(inner.routes)
            elif getattr(route, "methods", None):
                path = str(route.path)  # type: ignore[attr-defined]
                out += [(m, path) for m in sorted(route.methods) if m != "HEAD"]  # type: ignore[attr-defined]
        return out

    return walk(list(app.routes))


def test_every_app_route_has_its_rule_and_its_expected_roles() -> None:
    routes = app_routes()
    assert set(routes) == set(EXPECTED), set(routes) ^ set(EXPECTED)
    ruled = {(m, r.template) for r in RULES for m in r.methods}
    assert ruled == set(EXPECTED), ruled ^ set(EXPECTED)


@pytest.mark.parametrize(("method", "template"), sorted(EXPECTED))
@pytest.mark.parametrize("role", [*ROLES, None])
def test_matrix__allowed_exactly_where_expected(
    role: str | None, method: str, template: str
) -> None:
    rule = rule_of(method, template)
    assert rule is not UNMATCHED
    got = decision(role, method, rule)
    assert got.allowed == (role in EXPECTED[(method, template)]), got.reason
    if not got.allowed:
        assert got.status == (401 if role is None else 403)


@pytest.mark.parametrize(("method", "template"), sorted(EXPECTED))
def test_matrix__no_scope_no_access(method: str, template: str) -> None:
    rule = rule_of(method, template)
    for role in ROLES:
        got = decide(
            principal(role, scopes=[]),
            method,
            rule,
            params_for(template, role),
            reading_centre_id=CENTRE,
        )
        assert got.allowed == rule.public, (role, got.reason)


def test_requests_match_their_templates_in_app_order() -> None:
    assert match("GET", "/fhir/Patient/$export").rule.template == "/fhir/Patient/$export"
    assert match("POST", "/fhir/Patient/$merge").rule.template == "/fhir/Patient/$merge"
    assert match("GET", "/fhir/Patient/p1").params == {"rtype": "Patient", "rid": "p1"}
    assert match("HEAD", "/fhir/metadata").rule.public
    assert match("GET", "/board/h1.json").params == {"hospital_id": "h1"}
    assert match("GET", "/fhir/Subscription/s1").rule.template == "/fhir/Subscription/{sid}"
    assert match("PUT", "/fhir/Patient/p1").rule is UNMATCHED
    assert match("GET", "/no/such/route").rule is UNMATCHED


def test_unmatched_routes_are_admin_only() -> None:
    assert not decide(principal("hospital"), "PUT", UNMATCHED, {}, reading_centre_id=CENTRE).allowed
    assert decide(principal("admin"), "PUT", UNMATCHED, {}, reading_centre_id=CENTRE).allowed


@pytest.mark.parametrize(
    "template",
    [
        "/fhir/{rtype}",
        "/fhir/{rtype}/{rid}",
        "/fhir/{rtype}/_history",
        "/fhir/{rtype}/{rid}/_history",
    ],
)
def test_audit_events_are_admin_only(template: str) -> None:
    rule = rule_of("GET", template)
    for role in ROLES:
        got = decision(role, "GET", rule, rtype="AuditEvent")
        assert got.allowed == (role == "admin"), role


def test_audit_events_cannot_be_included_by_non_admins() -> None:
    rule = rule_of("GET", "/fhir/{rtype}")
    params = {"rtype": "Patient"}
    for name, value in (
        ("_revinclude", "AuditEvent:entity"),
        ("_revinclude", "AuditEvent:agent"),
        ("_revinclude:iterate", "AuditEvent:entity"),
        ("_has:AuditEvent:entity:agent", "someone"),
    ):
        query = [("identifier", "a|b"), (name, value)]
        assert not decide(
            principal("hospital"), "GET", rule, params, query, reading_centre_id=CENTRE
        ).allowed
        assert decide(
            principal("admin"), "GET", rule, params, query, reading_centre_id=CENTRE
        ).allowed
    query = [("_revinclude", "Provenance:target")]
    assert decide(
        principal("hospital"), "GET", rule, params, query, reading_centre_id=CENTRE
    ).allowed


@pytest.mark.parametrize(
    ("role", "method", "template", "param"),
    [
        ("hospital", "GET", "/board/{hospital_id}", "hospital_id"),
        ("hospital", "POST", "/board/{hospital_id}/incidents/{incident_id}/accept", "hospital_id"),
        ("hospital", "GET", "/fhir/Group/{group}/$export", "group"),
    ],
)
def test_a_hospital_acts_only_for_itself(role: str, method: str, template: str, param: str) -> None:
    rule = rule_of(method, template)
    params = {**params_for(template, role), param: "hospital-b"}
    got = decide(principal(role), method, rule, params, reading_centre_id=CENTRE)
    assert (got.allowed, got.status) == (False, 403)
    assert decide(principal("admin"), method, rule, params, reading_centre_id=CENTRE).allowed


def test_a_reader_of_another_centre_is_refused() -> None:
    rule = rule_of("GET", "/reading/queue")
    other = principal("reader", site="another-centre")
    assert not decide(other, "GET", rule, {}, reading_centre_id=CENTRE).allowed
    assert decide(principal("reader"), "GET", rule, {}, reading_centre_id=CENTRE).allowed


@pytest.mark.parametrize(
    ("scopes", "rtype", "permission", "granted"),
    [
        (["user/Observation.read"], "Observation", "read", True),
        (["user/Observation.read"], "Patient", "read", False),
        (["user/Observation.read"], "Observation", "write", False),
        (["system/*.read"], "Patient", "read", True),
        (["user/*.read"], "*", "read", True),
        (["user/Observation.read"], "*", "read", False),
        (["user/Observation.*"], "Observation", "write", True),
        (["user/Observation.rs"], "Observation", "read", True),
        (["user/Observation.rs"], "Observation", "write", False),
        (["user/Observation.cu"], "Observation", "write", True),
        (["patient/*.read"], "Patient", "read", False),  # no launch context here
        (["user/observation.read"], "Observation", "read", False),
        (["Observation.read"], "Observation", "read", False),
    ],
)
def test_smart_scopes(scopes: list[str], rtype: str, permission: str, granted: bool) -> None:
    who = Principal("s", "clinic", "c", frozenset(scopes))
    assert who.may(rtype, permission) == granted


def test_an_export_naming_its_types_needs_a_read_scope_on_each_of_them() -> None:
    """Bulk Data clients ask for `system/<Type>.read` per type they export (`_type`)."""
    rule = rule_of("GET", "/fhir/Group/{group}/$export")
    params = {"group": SITES["hospital"]}
    per_type = principal("hospital", scopes=["system/Patient.read", "system/Encounter.rs"])
    query = [("_type", "Patient,Encounter")]
    assert decide(per_type, "GET", rule, params, query, reading_centre_id=CENTRE).allowed
    wider = [("_type", "Patient,Observation")]
    got = decide(per_type, "GET", rule, params, wider, reading_centre_id=CENTRE)
    assert not got.allowed and got.status == 403 and "Observation" in got.scope
    assert not decide(per_type, "GET", rule, params, reading_centre_id=CENTRE).allowed  # all types


def test_an_export_job_is_polled_with_any_read_scope_and_a_file_needs_its_type() -> None:
    per_type = principal("hospital", scopes=["system/Patient.read"])
    status = rule_of("GET", "/fhir/_export/{job_id}")
    assert decide(per_type, "GET", status, {"job_id": "j1"}, reading_centre_id=CENTRE).allowed
    cancel = rule_of("DELETE", "/fhir/_export/{job_id}")
    assert decide(per_type, "DELETE", cancel, {"job_id": "j1"}, reading_centre_id=CENTRE).allowed
    file = rule_of("GET", "/fhir/_export/{job_id}/{file_name}")
    mine = {"job_id": "j1", "file_name": "Patient.ndjson"}
    assert decide(per_type, "GET", file, mine, reading_centre_id=CENTRE).allowed
    other = {"job_id": "j1", "file_name": "Observation.ndjson"}
    assert not decide(per_type, "GET", file, other, reading_centre_id=CENTRE).allowed
    writer = principal("hospital", scopes=["system/Patient.write"])
    assert not decide(writer, "GET", status, {"job_id": "j1"}, reading_centre_id=CENTRE).allowed
