"""Every FHIR search parameter this server serves, declared once (as Medplum's lookup table:
one declaration both indexes a resource and answers the query).

A `SearchParam` names its resource type, its FHIR search type (search.html#ptypes), the
elements it reads (`values`) and, for the types answered from the view store's lookups
(token, reference, string), the lookup index its entries go to. From it:
- the folds write the lookup entries (`index_entries`, called by every processor that
  writes FHIR resources: fhir_projector, diagnosis_queue, audit);
- the API answers the query (services/fhir_api/search.py): lookups for token, reference
  and string values, the same `values` for the predicates (dates, quantities, modifiers);
- the CapabilityStatement lists it (services/fhir_api/capability.py).

Index keys (search.html#token, #reference, #string):
- token: `system|code`, `system|` (any code of the system), `|code` (a code without system)
  and bare `code`, for each Coding / Identifier (`system|value`) / code (with its implicit
  system where the element is bound to one);
- reference: `Type/id` as written in the resource;
- string: every prefix (1..NAME_PREFIX_MAX characters) of every word and of the whole value,
  lower-cased and without accents (search.html#string: starts-with, case and accent
  insensitive); longer search values are looked up by their first NAME_PREFIX_MAX
  characters and checked against the resource.
A change of a declaration that touches index keys needs `goldenhour rebuild`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kernel.jsontypes import Json
from viewstore.base import IndexEntry

NAME_PREFIX_MAX = 12  # string search matches starts: index prefixes up to this many characters
INDEXED_TYPES = ("token", "reference", "string")

# Modifiers served per search type (search.html#modifiers); `missing` on every type.
MODIFIERS: dict[str, tuple[str, ...]] = {
    "token": ("missing", "not", "text"),
    "reference": ("missing",),  # and a type (`subject:Patient=`), and chains
    "string": ("missing", "exact", "contains"),
    "date": ("missing",),
    "quantity": ("missing",),
    "number": ("missing",),
}
PREFIXED_TYPES = ("date", "number", "quantity")


def path(expression: str) -> Callable[[Json], list[Any]]:
    """The values at a dotted element path, lists flattened; `x[x]` is a choice element
    (`effective[x]`: effectiveDateTime, effectivePeriod, ...)."""
    steps = expression.split(".")

    def values(resource: Json) -> list[Any]:
        found: list[Any] = [resource]
        for step in steps:
            found = [v for item in found if isinstance(item, dict) for v in _step(item, step)]
        return found

    return values


def _step(item: Json, step: str) -> list[Any]:
    if step.endswith("[x]"):
        stem = step[:-3]
        keys = [k for k in item if k.startswith(stem) and k[len(stem) : len(stem) + 1].isupper()]
    else:
        keys = [step] if step in item else []
    out: list[Any] = []
    for key in keys:
        value = item[key]
        out += value if isinstance(value, list) else [value]
    return out


@dataclass(frozen=True)
class SearchParam:
    """One search parameter of one resource type."""

    resource: str
    name: str
    type: str  # token | reference | string | date | quantity | number
    values: Callable[[Json], list[Any]]
    documentation: str
    targets: tuple[str, ...] = ()  # reference: the types it may point to (none: any type)
    system: str | None = None  # token on a bare code: the code system it is bound to
    index_name: str | None = None  # shared lookup index (patient = subject), else own

    @property
    def index(self) -> str:
        """The lookup index of this parameter's entries (indexed types only)."""
        return self.index_name or f"{self.resource}.{self.name}"

    @property
    def default_target(self) -> str:
        """The type a bare id names in a reference value (search.html#reference)."""
        return self.targets[0] if self.targets else "Patient"

    def may_target(self, rtype: str) -> bool:
        return not self.targets or rtype in self.targets

    @property
    def indexed(self) -> bool:
        return self.type in INDEXED_TYPES

    def index_keys(self, resource: Json) -> list[str]:
        """The lookup keys of `resource` under this parameter (the fold's rule)."""
        values = self.values(resource)
        if self.type == "token":
            return [k for v in values for k in token_keys(v, self.system)]
        if self.type == "reference":
            return [r for r in (reference_of(v) for v in values) if r]
        if self.type == "string":
            return [k for v in values if isinstance(v, str) for k in string_prefixes(v)]
        return []


# -- values -------------------------------------------------------------------------------------


def codings(value: Any, system: str | None = None) -> list[tuple[str | None, str]]:
    """(system, code) of a CodeableConcept, Coding, Identifier (system, value) or code."""
    if isinstance(value, bool):  # Patient.active
        return [(system, str(value).lower())]
    if isinstance(value, str):
        return [(system, value)]
    if not isinstance(value, dict):
        return []
    if "coding" in value:
        return [c for coding in value["coding"] for c in codings(coding)]
    code = value.get("code", value.get("value"))
    return [(value.get("system"), str(code))] if code is not None else []


def token_keys(value: Any, system: str | None = None) -> list[str]:
    """The lookup keys of one token value (search.html#token)."""
    keys: list[str] = []
    for sys_, code in codings(value, system):
        keys += [f"{sys_}|{code}", f"{sys_}|"] if sys_ else [f"|{code}"]
        keys.append(code)
    return keys


def texts(value: Any) -> list[str]:
    """The words a `:text` search reads: CodeableConcept.text and every Coding.display."""
    if not isinstance(value, dict):
        return []
    out = [value["text"]] if isinstance(value.get("text"), str) else []
    out += [c["display"] for c in value.get("coding", []) if isinstance(c.get("display"), str)]
    if isinstance(value.get("display"), str):
        out.append(value["display"])
    return out


def reference_of(value: Any) -> str | None:
    """`Type/id` of a Reference."""
    ref = value.get("reference") if isinstance(value, dict) else None
    return ref if isinstance(ref, str) else None


def normalise(text: str) -> str:
    """Lower case without accents (search.html#string)."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def string_prefixes(text: str) -> list[str]:
    """Prefixes of the whole value and of each of its words, up to NAME_PREFIX_MAX."""
    whole = normalise(text)
    words = [whole, *whole.split()]
    return [w[:n] for w in dict.fromkeys(words) for n in range(1, min(len(w), NAME_PREFIX_MAX) + 1)]


def _human_names(resource: Json) -> list[str]:
    """family, each given, text, and family+given written together (王建国)."""
    out: list[str] = []
    for name in resource.get("name", []):
        family, given = name.get("family", ""), name.get("given", [])
        out += [p for p in [family, *given, name.get("text", "")] if p]
        out += ["".join([family, *given])] if family and given else []
    return out


def _categories(resource: Json) -> list[Any]:
    category = resource.get("category", [])
    return category if isinstance(category, list) else [category]


# -- the declarations -------------------------------------------------------------------------

DOCS = {
    "identifier": "[system]|value, |value or value",
    "token": "[system|]code, system|, |code; :not, :text, :missing; comma = OR",
    "reference": "Type/id, id, an absolute URL; :Type; chained :Type.param=; :missing",
    "string": "starts (case and accent insensitive); :exact, :contains, :missing",
    "date": "prefixes eq ne gt lt ge le sa eb ap; precision gives the range (2024-03: the month)",
    "quantity": "[prefix]number[|system|code] (prefixes as for dates; implicit range)",
}


def _p(
    resource: str,
    name: str,
    kind: str,
    values: Callable[[Json], list[Any]] | str,
    doc: str | None = None,
    **extra: Any,
) -> SearchParam:
    reader = path(values) if isinstance(values, str) else values
    return SearchParam(resource, name, kind, reader, doc or DOCS[kind], **extra)


def _subject_params(
    rtype: str, element: str = "subject", targets: tuple[str, ...] = ("Patient", "Group")
) -> list[SearchParam]:
    """The parameter named after `element` (a reference to one of `targets`; a bare id: a
    Patient) and `patient` (a Patient) on the same element, in one index."""
    index = f"{rtype}.{element}"
    return [
        _p(rtype, element, "reference", element, targets=targets, index_name=index),
        _p(rtype, "patient", "reference", element, targets=("Patient",), index_name=index),
    ]


def _status(rtype: str, system: str) -> SearchParam:
    return _p(rtype, "status", "token", "status", "code; comma = OR; :not", system=system)


def _encounter(rtype: str, element: str = "encounter", name: str = "encounter") -> SearchParam:
    index = f"{rtype}.encounter"
    return _p(rtype, name, "reference", element, targets=("Encounter",), index_name=index)


def _identifier(rtype: str) -> SearchParam:
    return _p(rtype, "identifier", "token", "identifier", DOCS["identifier"])


def _clinical(
    rtype: str,
    status_system: str,
    date: str,
    *,
    code: str | None = "code",
    identifier: bool = True,
    encounter: bool = True,
) -> list[SearchParam]:
    """What FHIR's clinical resources share (the registry's clinical-identifier, -patient,
    -encounter, -code and -date, with `subject` and `status`), in this order: identifier,
    subject, patient, encounter, `code` (a token parameter named after the element it
    reads: code, class, type), status, and `date` (the element the `date` parameter reads)."""
    out = [_identifier(rtype)] if identifier else []
    out += _subject_params(rtype)
    out += [_encounter(rtype)] if encounter else []
    out += [_p(rtype, code, "token", code)] if code else []
    return [*out, _status(rtype, status_system), _p(rtype, "date", "date", date)]


FHIR = "http://hl7.org/fhir/"
DECLARED: list[SearchParam] = [
    _identifier("Patient"),
    _p("Patient", "name", "string", _human_names, "starts any name part, or the whole name"),
    _p("Patient", "family", "string", "name.family"),
    _p("Patient", "given", "string", "name.given"),
    _p("Patient", "gender", "token", "gender", system=FHIR + "administrative-gender"),
    _p("Patient", "birthdate", "date", "birthDate"),
    _p("Patient", "active", "token", "active", "true | false"),
    *_clinical("Observation", FHIR + "observation-status", "effective[x]"),
    _p("Observation", "category", "token", _categories),
    _p("Observation", "value-quantity", "quantity", "valueQuantity"),
    _p("Observation", "component-code", "token", "component.code"),
    _p("Observation", "component-value-quantity", "quantity", "component.valueQuantity"),
    *_subject_params("ServiceRequest"),
    _status("ServiceRequest", FHIR + "request-status"),
    _p("ServiceRequest", "authored", "date", "authoredOn"),
    _p("ServiceRequest", "priority", "token", "priority", system=FHIR + "request-priority"),
    *_clinical(
        "DiagnosticReport",
        FHIR + "diagnostic-report-status",
        "effective[x]",
        identifier=False,
        encounter=False,
    ),
    _p("DiagnosticReport", "issued", "date", "issued"),
    _p("DiagnosticReport", "result", "reference", "result", targets=("Observation",)),
    _p("DiagnosticReport", "based-on", "reference", "basedOn", targets=("ServiceRequest",)),
    # An ECG device's own report (report-only results; stream_processors/fhir_projector)
    _identifier("DocumentReference"),
    *_subject_params("DocumentReference"),
    _p("Task", "patient", "reference", "for", targets=("Patient",), index_name="Task.for"),
    _status("Task", FHIR + "task-status"),
    _p("Task", "focus", "reference", "focus", targets=("Observation",)),  # the ECG to read
    *_clinical("Encounter", FHIR + "encounter-status", "period", code="class", encounter=False),
    *_clinical("Procedure", FHIR + "event-status", "performed[x]"),
    # A hospital's final diagnosis (hospital.outcome: services/fhir_api/outcome_routes.py)
    _identifier("Condition"),
    *_subject_params("Condition"),
    _encounter("Condition"),
    _p("Condition", "code", "token", "code"),
    _p("Condition", "category", "token", "category"),
    _p("Condition", "clinical-status", "token", "clinicalStatus"),
    _p("Condition", "verification-status", "token", "verificationStatus"),
    _p("Condition", "onset-date", "date", "onset[x]"),
    _p("Condition", "recorded-date", "date", "recordedDate"),
    *_subject_params("MedicationAdministration"),
    _encounter("MedicationAdministration", "context", "context"),
    _status(
        "MedicationAdministration", "http://terminology.hl7.org/CodeSystem/medication-admin-status"
    ),
    _p("MedicationAdministration", "code", "token", "medicationCodeableConcept"),
    _p("MedicationAdministration", "effective-time", "date", "effective[x]"),
    *_clinical("Flag", FHIR + "flag-status", "period", identifier=False),
    *_clinical("Composition", FHIR + "composition-status", "date", code="type"),
    *_subject_params("Provenance", "target", targets=("Patient",)),
    _p("Provenance", "recorded", "date", "recorded"),
    # The access audit (stream_processors/audit/), admin only (services/auth/policy.py).
    # No `patient` parameter on purpose: types with one are in a patient's compartment
    # (Patient/Group $export); the patient is an `entity` (entity=Patient/<id>).
    _p(
        "AuditEvent",
        "agent",
        "token",
        "agent.who.identifier",
        "the agent's subject (the bearer token's sub, or anonymous)",
    ),
    _p("AuditEvent", "entity", "reference", "entity.what"),
    _p("AuditEvent", "type", "token", "type"),
    _p(
        "AuditEvent",
        "subtype",
        "token",
        "subtype",
        "[system|]code (restful-interaction: read, vread, search-type, create, ...)",
    ),
    _p("AuditEvent", "date", "date", "recorded"),
    # The registry (stream_processors/registry/): who is who, readable by every role.
    _identifier("Organization"),
    _p(
        "Organization",
        "name",
        "string",
        lambda r: [n for n in [r.get("name"), *r.get("alias", [])] if isinstance(n, str)],
        "starts the name (Chinese as written) or an alias (another language)",
    ),
    _p("Organization", "type", "token", "type", "kind: hospital, station, clinic, ... or HL7 prov"),
    _p("Organization", "partof", "reference", "partOf", targets=("Organization",)),
    _p("Organization", "active", "token", "active", "true | false"),
    _identifier("Location"),
    _p("Location", "name", "string", "name"),
    _p("Location", "type", "token", "type"),
    _p("Location", "organization", "reference", "managingOrganization", targets=("Organization",)),
    _identifier("Practitioner"),
    _p("Practitioner", "name", "string", _human_names, "starts any name part, or the whole name"),
    _p("Practitioner", "active", "token", "active", "true | false"),
    _p("PractitionerRole", "practitioner", "reference", "practitioner", targets=("Practitioner",)),
    _p("PractitionerRole", "organization", "reference", "organization", targets=("Organization",)),
    _p("PractitionerRole", "role", "token", "code"),
    _p("PractitionerRole", "active", "token", "active", "true | false"),
    _identifier("Device"),
    _p("Device", "organization", "reference", "owner", targets=("Organization",)),
    _p("Device", "type", "token", "type"),
    _identifier("Endpoint"),
    _p("Endpoint", "organization", "reference", "managingOrganization", targets=("Organization",)),
    _p("Endpoint", "connection-type", "token", "connectionType"),
    _p("Endpoint", "name", "string", "name"),
]


def _by_type(params: Iterable[SearchParam]) -> dict[str, dict[str, SearchParam]]:
    out: dict[str, dict[str, SearchParam]] = {}
    for p in params:
        out.setdefault(p.resource, {})[p.name] = p
    return out


SEARCH_PARAMS: dict[str, dict[str, SearchParam]] = _by_type(DECLARED)


def index_entries(resource: Json) -> list[IndexEntry]:
    """Every lookup entry of `resource` under the parameters declared for its type."""
    rtype, rid = resource["resourceType"], resource["id"]
    keys: list[tuple[str, str]] = []
    for param in SEARCH_PARAMS.get(rtype, {}).values():
        if param.indexed:
            keys += [(param.index, key) for key in param.index_keys(resource)]
    return [IndexEntry(index, key, rtype, rid) for index, key in dict.fromkeys(keys)]


def includes(rtype: str) -> dict[str, SearchParam]:
    """`_include=<rtype>:<param>` values: the reference parameters of `rtype`."""
    return {n: p for n, p in SEARCH_PARAMS.get(rtype, {}).items() if p.type == "reference"}


def revincludes(rtype: str) -> list[SearchParam]:
    """Reference parameters of any type that may point at `rtype` (`_revinclude`)."""
    return [
        p
        for params in SEARCH_PARAMS.values()
        for p in params.values()
        if p.type == "reference" and p.may_target(rtype)
    ]
