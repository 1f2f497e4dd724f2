"""Who may see a stored resource: compartments in the data, grants beside them.

The model (Medplum's compartments, HAPI's AuthorizationInterceptor, FHIR security labels):

- Every stored resource carries its **compartments** as `meta.security` codings of the
  system `COMPARTMENT`, written by the runner from the events that touched it
  (stream_processors/jurisdiction.py): `incident/<id>`, `ecg/<id>`, `org/<organization id>`,
  `public` (the registry). A resource's compartments only grow, and they derive from events,
  so a rebuild reproduces them.
- `org/<id>` grants that organization directly. `incident/<id>` and `ecg/<id>` are granted
  to organizations by **grant entries** in the view store's lookup `GRANT_INDEX`
  (key: the compartment code, entry: ("Organization", org id)), written by the folds that
  know who takes part: the incident's station and destination hospitals (FHIR projector,
  from its IncidentRecord), the ECG's clinic and reading centre (read queue, from its
  QueueItem). A pre-alert to a hospital thus opens the whole incident to it, earlier
  vital signs included, without rewriting any resource.
- A **viewer** is the set of organizations a caller acts for (`None`: the system itself,
  or an admin: everything). A resource is visible when one of its compartments is `public`,
  names one of the viewer's organizations, or is granted to one of them. A resource with no
  compartment is visible to the system only (fail closed).

Pure functions only; the store wrapper that applies them to every read is
viewstore/guarded.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from kernel.jsontypes import Json

COMPARTMENT = "https://goldenhour.example/fhir/CodeSystem/compartment"
GRANT_INDEX = "Access.grant"
PUBLIC = "public"
# Bookkeeping the runner does not label and the guard does not filter: no patient data, and
# the routes that serve them check their own owner (unit status for the region view, a
# subscription's delivery state and its numbered notifications, the ECG router's memory).
# They are touched by every incident, so labelling them would grow their labels forever.
# The command centre's summaries (MCI tag counts and destinations, hospital capacity,
# escorts, surveillance counts and alerts) hold no names or identifiers and are served by
# dispatch-only routes (services/command).
UNLABELLED_TYPES = frozenset(
    {
        "UnitState",
        "SubscriptionState",
        "SubscriptionEvent",
        "IncidentEcgState",
        "MciState",
        "HospitalCapacity",
        "EscortWatch",
        "EscortItem",
        "SurveillanceCounts",
        "SurveillanceAlert",
    }
)


def org(org_id: str) -> str:
    return f"org/{org_id}"


def incident(incident_id: str) -> str:
    return f"incident/{incident_id}"


def ecg(ecg_id: str) -> str:
    return f"ecg/{ecg_id}"


def casualty(mci_id: str, casualty_id: str) -> str:
    """One casualty of a mass-casualty incident: its station and destination see it, other
    hospitals receiving casualties of the same MCI do not."""
    return f"incident/{mci_id}/{casualty_id}"


def security_labels(codes: Iterable[str]) -> list[Json]:
    """`meta.security` codings for compartment codes, sorted (rebuilds are byte-identical)."""
    return [{"system": COMPARTMENT, "code": c} for c in sorted(set(codes)) if c]


def compartments_of(resource: Json) -> set[str]:
    """The compartment codes in a resource's `meta.security`."""
    labels = resource.get("meta", {}).get("security", [])
    return {str(c["code"]) for c in labels if c.get("system") == COMPARTMENT and c.get("code")}


def compartments_of_body(body: bytes) -> set[str]:
    """`compartments_of` a stored body (canonical JSON bytes); cheap when there are none."""
    if COMPARTMENT.encode() not in body:
        return set()
    return compartments_of(json.loads(body))


@dataclass(frozen=True)
class Viewer:
    """Whom a read is for. `orgs=None`: the system (processors, workers) or an admin."""

    orgs: frozenset[str] | None
    label: str = ""

    @property
    def everything(self) -> bool:
        return self.orgs is None

    def direct(self, codes: set[str]) -> bool:
        """Visible without looking up grants?"""
        if self.orgs is None or PUBLIC in codes:
            return True
        return any(org(o) in codes for o in self.orgs)

    def dynamic(self, codes: set[str]) -> list[str]:
        """The compartments whose grants decide the rest."""
        return sorted(c for c in codes if not c.startswith("org/") and c != PUBLIC)


SYSTEM = Viewer(None, "system")
NOBODY = Viewer(frozenset(), "nobody")
