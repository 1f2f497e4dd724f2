"""Jurisdiction in the store, run against every backend: what `GuardedViewStore` shows an
organization over that backend (kernel/jurisdiction.py is the model).

Mixed into each backend's view store test class, so it uses the same `make_store` fixture.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest

from kernel.jsontypes import Json
from kernel.jurisdiction import COMPARTMENT, GRANT_INDEX, SYSTEM, Viewer
from services.subscriptions.views import Holds, as_owner_sees
from viewstore.base import Checkpoint, IndexEntry, StoredResource, ViewStore
from viewstore.guarded import GuardedViewStore, viewing

H1, H2 = Viewer(frozenset({"hospital-1"})), Viewer(frozenset({"hospital-2"}))
CLINIC = Viewer(frozenset({"clinic-9"}))


def labelled(rid: str, version: int, *codes: str, rtype: str = "Patient") -> StoredResource:
    meta = {
        "versionId": str(version),
        "security": [{"system": COMPARTMENT, "code": c} for c in codes],
    }
    doc = {"resourceType": rtype, "id": rid, "meta": meta}
    when = f"2026-12-01T08:{version:02d}:00.000000+00:00"
    return StoredResource(rtype, rid, version, when, json.dumps(doc).encode())


def grant(code: str, org: str) -> IndexEntry:
    return IndexEntry(GRANT_INDEX, code, "Organization", org)


class GuardedStoreContract:
    @pytest.fixture
    def guarded(self, make_store: Callable[[], ViewStore]) -> GuardedViewStore:
        """A store holding an incident's patient (2 versions) granted to hospital 1, a
        patient labelled hospital 2's, a public Organization and an unlabelled patient."""
        store = make_store()
        store.apply(
            [
                labelled("inc-pat", 1, "incident/I1"),
                labelled("inc-pat", 2, "incident/I1"),
                labelled("adt-pat", 1, "org/hospital-2"),
                labelled("reg", 1, "public", rtype="Organization"),
                labelled("nolabel", 1),
            ],
            [
                grant("incident/I1", "hospital-1"),
                grant("incident/I1", "station-1"),
                IndexEntry("Patient.gender", "male", "Patient", "inc-pat"),
                IndexEntry("Patient.gender", "male", "Patient", "adt-pat"),
            ],
            Checkpoint("fhir", "ems.incident", 0, 1),
        )
        return GuardedViewStore(store)

    def test_guard__granted_incident_is_visible_to_its_hospital_only(
        self, guarded: GuardedViewStore
    ) -> None:
        with viewing(H1):
            assert guarded.read("Patient", "inc-pat") is not None
            assert guarded.vread("Patient", "inc-pat", 1) is not None
            assert [r.version for r in guarded.history("Patient", "inc-pat")] == [2, 1]
        with viewing(H2) as seen:
            assert guarded.read("Patient", "inc-pat") is None
            assert guarded.vread("Patient", "inc-pat", 1) is None
            assert guarded.history("Patient", "inc-pat") == []
            assert ("Patient", "inc-pat") in seen.withheld

    def test_guard__org_label_and_public_need_no_grant(self, guarded: GuardedViewStore) -> None:
        with viewing(H2):
            assert guarded.read("Patient", "adt-pat") is not None
            assert guarded.read("Organization", "reg") is not None
        with viewing(CLINIC):
            assert guarded.read("Patient", "adt-pat") is None
            assert guarded.read("Organization", "reg") is not None

    def test_guard__searches_and_history_lists_leave_out_the_invisible(
        self, guarded: GuardedViewStore
    ) -> None:
        with viewing(H1):
            assert guarded.lookup("Patient.gender", "male") == [("Patient", "inc-pat")]
            assert {c.id for c in guarded.changes(["Patient"])} == {"inc-pat"}
            assert {r.id for r in guarded.scan()} == {"inc-pat", "reg"}
        with viewing(H2):
            assert guarded.lookup("Patient.gender", "male") == [("Patient", "adt-pat")]
            assert {c.id for c in guarded.changes(["Patient"])} == {"adt-pat"}

    def test_guard__unlabelled_resources_are_the_systems_only(
        self, guarded: GuardedViewStore
    ) -> None:
        with viewing(H1):
            assert guarded.read("Patient", "nolabel") is None
        with viewing(SYSTEM):
            assert guarded.read("Patient", "nolabel") is not None
        # outside any request (processors, workers): the system's view
        assert guarded.read("Patient", "nolabel") is not None

    def test_guard__a_new_grant_opens_what_was_written_before(
        self, guarded: GuardedViewStore
    ) -> None:
        with viewing(H2):
            assert guarded.read("Patient", "inc-pat") is None
        guarded.apply(
            [], [grant("incident/I1", "hospital-2")], Checkpoint("fhir", "ems.incident", 0, 2)
        )
        with viewing(H2):  # a new request: grants are looked up again
            assert guarded.read("Patient", "inc-pat") is not None

    def test_guard__a_subscriber_is_sent_a_focus_only_once_it_may_see_it(
        self, guarded: GuardedViewStore
    ) -> None:
        """The race of a live region: the notification is numbered before the focus is in
        the views, or before the grant that opens it. Hospital 2 must never get hospital 1's
        resource or its id; while young, such an event holds the Bundle back (in order);
        once old it goes without focus. Hospital 1 gets the version it was judged on."""
        now = dt.datetime(2026, 12, 1, 8, 0, 10, tzinfo=dt.UTC)
        young, old = "2026-12-01T08:00:08+00:00", "2026-12-01T07:59:00+00:00"
        holds = Holds(missing_s=30.0, hidden_s=5.0)

        def event(n: int, focus: str, at: str) -> Json:
            return {"event_number": n, "timestamp": at, "focus": focus}

        own = event(1, "Patient/inc-pat", old)
        late = event(2, "Patient/not-yet", young)
        foreign_young = event(2, "Patient/inc-pat", young)
        for owner in ("hospital-1", "hospital-2"):
            ready, _ = as_owner_sees(
                guarded, [event(1, "", old), late], owner, "full-resource", holds, now
            )
            assert [e["event_number"] for e in ready] == [1], owner  # missing + young: held
            ready, found = as_owner_sees(
                guarded, [{**late, "timestamp": old}], owner, "full-resource", holds, now
            )
            assert ready == [{**late, "timestamp": old, "focus": ""}] and found == {}
        ready, found = as_owner_sees(
            guarded, [own, foreign_young], "hospital-1", "full-resource", holds, now
        )
        assert [e["focus"] for e in ready] == ["Patient/inc-pat"] * 2
        assert found["Patient/inc-pat"]["meta"]["versionId"] == "2"
        ready, found = as_owner_sees(
            guarded, [foreign_young], "hospital-2", "full-resource", holds, now
        )
        assert ready == [] and found == {}  # hidden + young: held (its grant may lag)
        ready, found = as_owner_sees(guarded, [own], "hospital-2", "full-resource", holds, now)
        assert ready == [{**own, "focus": ""}] and found == {}
        assert "inc-pat" not in json.dumps(ready)
        ready, found = as_owner_sees(
            guarded.inner, [own], "", "full-resource", holds, now
        )  # auth off
        assert ready == [own] and list(found) == ["Patient/inc-pat"]
        # An empty payload names no focus: nothing to hold, nothing of the resource sent.
        for owner in ("hospital-1", "hospital-2"):
            ready, found = as_owner_sees(guarded, [late, foreign_young], owner, "empty", holds, now)
            assert [e["focus"] for e in ready] == ["", ""] and found == {}
