"""The view store contract, run against every backend.

A backend's test module subclasses `ViewStoreContract` and provides one fixture,
`make_store`: a factory returning a new `ViewStore` over the same (fresh, empty) storage
each call, so reopening after a restart is part of the contract.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from viewstore.base import (
    Change,
    Checkpoint,
    IndexEntry,
    PositionAlreadyApplied,
    StoredResource,
    VersionConflict,
    ViewStore,
)


def res(rid: str, version: int, rtype: str = "Patient", **body: object) -> StoredResource:
    when = f"2026-11-23T10:{version:02d}:00.000000+00:00"
    doc = {"resourceType": rtype, "id": rid, "meta": {"versionId": str(version)}, **body}
    return StoredResource(rtype, rid, version, when, json.dumps(doc, sort_keys=True).encode())


def cp(offset: int, partition: int = 0, processor: str = "fhir") -> Checkpoint:
    return Checkpoint(processor, "clinic.ecg", partition, offset)


class ViewStoreContract:
    @pytest.fixture
    def store(self, make_store: Callable[[], ViewStore]) -> ViewStore:
        return make_store()

    def test_read__missing_resource_is_none(self, store: ViewStore) -> None:
        assert store.read("Patient", "nobody") is None
        assert store.vread("Patient", "nobody", 1) is None
        assert store.history("Patient", "nobody") == []

    def test_apply__new_versions_are_readable_and_kept(self, store: ViewStore) -> None:
        store.apply([res("p1", 1, name="a")], [], cp(1))
        store.apply([res("p1", 2, name="b")], [], cp(2))
        latest = store.read("Patient", "p1")
        assert latest == res("p1", 2, name="b")
        assert store.vread("Patient", "p1", 1) == res("p1", 1, name="a")
        assert [r.version for r in store.history("Patient", "p1")] == [2, 1]

    def test_apply__consecutive_versions_in_one_call(self, store: ViewStore) -> None:
        store.apply([res("p1", 1, name="a")], [], cp(1))
        store.apply([res("p1", 2, name="b"), res("p1", 3, name="c")], [], cp(3))
        assert store.read("Patient", "p1") == res("p1", 3, name="c")
        assert [r.version for r in store.history("Patient", "p1")] == [3, 2, 1]
        with pytest.raises(VersionConflict):
            store.apply([res("p1", 4), res("p1", 6)], [], cp(4))
        assert store.read("Patient", "p1") == res("p1", 3, name="c")

    def test_apply__types_do_not_collide(self, store: ViewStore) -> None:
        store.apply([res("x", 1, "Patient"), res("x", 1, "Observation")], [], cp(1))
        assert store.read("Observation", "x") == res("x", 1, "Observation")
        assert store.read("Patient", "x") == res("x", 1, "Patient")

    def test_apply__version_gap_is_refused_and_writes_nothing(self, store: ViewStore) -> None:
        store.apply([res("p1", 1)], [], cp(1))
        with pytest.raises(VersionConflict):
            store.apply([res("p2", 1), res("p1", 3)], [], cp(2))
        assert store.read("Patient", "p2") is None
        assert store.checkpoint("fhir", "clinic.ecg", 0) == 1

    def test_apply__existing_version_is_refused(self, store: ViewStore) -> None:
        store.apply([res("p1", 1, name="a")], [], cp(1))
        with pytest.raises(VersionConflict):
            store.apply([res("p1", 1, name="other")], [], cp(2))
        assert store.read("Patient", "p1") == res("p1", 1, name="a")

    def test_checkpoint__is_per_processor_and_partition(self, store: ViewStore) -> None:
        assert store.checkpoint("fhir", "clinic.ecg", 0) is None
        store.apply([], [], cp(5, partition=0))
        store.apply([], [], cp(9, partition=1, processor="queue"))
        assert store.checkpoint("fhir", "clinic.ecg", 0) == 5
        assert store.checkpoint("fhir", "clinic.ecg", 1) is None
        assert store.checkpoint("queue", "clinic.ecg", 1) == 9

    def test_apply__same_position_twice_is_an_error(self, store: ViewStore) -> None:
        store.apply([res("p1", 1)], [], cp(3))
        with pytest.raises(PositionAlreadyApplied):
            store.apply([res("p1", 2)], [], cp(3))
        with pytest.raises(PositionAlreadyApplied):
            store.apply([], [], cp(2))
        assert store.read("Patient", "p1") == res("p1", 1)

    def test_lookup__finds_indexed_resources(self, store: ViewStore) -> None:
        store.apply(
            [res("p1", 1), res("p2", 1)],
            [
                IndexEntry("Patient.identifier", "sys|123", "Patient", "p2"),
                IndexEntry("Patient.identifier", "sys|123", "Patient", "p1"),
                IndexEntry("Patient.identifier", "sys|456", "Patient", "p2"),
            ],
            cp(1),
        )
        assert store.lookup("Patient.identifier", "sys|123") == [
            ("Patient", "p1"),
            ("Patient", "p2"),
        ]
        assert store.lookup("Patient.identifier", "sys|999") == []
        assert store.lookup("Other.index", "sys|123") == []

    def test_lookup__same_entry_twice_is_kept_once(self, store: ViewStore) -> None:
        entry = IndexEntry("Patient.identifier", "sys|1", "Patient", "p1")
        store.apply([res("p1", 1)], [entry], cp(1))
        store.apply([], [entry], cp(2))
        assert store.lookup("Patient.identifier", "sys|1") == [("Patient", "p1")]

    def test_unindex__removes_entries_in_the_same_unit(self, store: ViewStore) -> None:
        a = IndexEntry("Queue.open", "centre-1", "QueueItem", "q1")
        b = IndexEntry("Queue.open", "centre-1", "QueueItem", "q2")
        store.apply([], [a, b], cp(1))
        store.apply([], [], cp(2), unindex=[a])
        assert store.lookup("Queue.open", "centre-1") == [("QueueItem", "q2")]
        store.apply([], [], cp(3), unindex=[a])  # removing an absent entry is no error
        assert store.lookup("Queue.open", "centre-1") == [("QueueItem", "q2")]

    def test_scan__dumps_every_version_in_order(self, store: ViewStore) -> None:
        store.apply([res("b", 1, "Observation"), res("a", 1)], [], cp(1))
        store.apply([res("a", 2)], [], cp(2))
        assert [(r.resource_type, r.id, r.version) for r in store.scan()] == [
            ("Observation", "b", 1),
            ("Patient", "a", 1),
            ("Patient", "a", 2),
        ]

    def test_truncate__empties_views_lookups_and_checkpoints(self, store: ViewStore) -> None:
        store.apply(
            [res("p1", 1)], [IndexEntry("Patient.identifier", "s|1", "Patient", "p1")], cp(4)
        )
        store.truncate()
        assert list(store.scan()) == []
        assert store.lookup("Patient.identifier", "s|1") == []
        assert store.checkpoint("fhir", "clinic.ecg", 0) is None
        store.apply([res("p1", 1)], [], cp(1))
        assert store.read("Patient", "p1") == res("p1", 1)

    def test_reopen__keeps_everything(
        self, make_store: Callable[[], ViewStore], store: ViewStore
    ) -> None:
        store.apply([res("p1", 1)], [IndexEntry("i", "k", "Patient", "p1")], cp(7))
        store.close()
        again = make_store()
        try:
            assert again.read("Patient", "p1") == res("p1", 1)
            assert again.lookup("i", "k") == [("Patient", "p1")]
            assert again.checkpoint("fhir", "clinic.ecg", 0) == 7
        finally:
            again.close()

    def test_large_body__round_trips(self, store: ViewStore) -> None:
        big = res("ecg", 1, "Observation", data=" ".join(str(i % 997) for i in range(60_000)))
        store.apply([big], [], cp(1))
        assert store.read("Observation", "ecg") == big

    # -- changes: versions by lastUpdated (type and system _history, bulk export) ----------

    def test_changes__newest_first_across_types_and_days(self, store: ViewStore) -> None:
        store.apply(
            [
                at("p1", 1, "2026-11-20T08:00:00Z"),
                at("o1", 1, "2026-11-20T09:00:00Z", "Observation"),
            ],
            [],
            cp(1),
        )
        store.apply(
            [
                at("p1", 2, "2026-11-22T08:00:00Z"),
                at("o1", 2, "2026-11-22T08:00:00Z", "Observation"),
            ],
            [],
            cp(2),
        )
        store.apply(
            [at("p2", 1, "2026-11-22T08:00:00Z"), at("e1", 1, "2026-11-21T00:00:00Z", "Encounter")],
            [],
            cp(3),
        )
        got = [
            (c.changed_at[:13], c.resource_type, c.id, c.version)
            for c in store.changes(["Patient", "Observation"])
        ]
        assert got == [
            ("2026-11-22T08", "Patient", "p2", 1),
            ("2026-11-22T08", "Patient", "p1", 2),
            ("2026-11-22T08", "Observation", "o1", 2),
            ("2026-11-20T09", "Observation", "o1", 1),
            ("2026-11-20T08", "Patient", "p1", 1),
        ]
        assert [(c.id, c.version) for c in store.changes(["Encounter"])] == [("e1", 1)]
        assert list(store.changes([])) == []

    def test_changes__bounds_are_inclusive_and_in_utc(self, store: ViewStore) -> None:
        store.apply([at("p1", 1, "2026-11-20T08:00:00.000000+08:00")], [], cp(1))  # 00:00Z
        store.apply([at("p1", 2, "2026-11-20T23:59:59.999999Z")], [], cp(2))
        store.apply([at("p1", 3, "2026-11-21T00:00:00Z")], [], cp(3))
        first = next(store.changes(["Patient"], until="2026-11-20T00:00:00.000000Z"))
        assert first == Change("2026-11-20T00:00:00.000000Z", "Patient", "p1", 1)
        since = [c.version for c in store.changes(["Patient"], since="2026-11-20T23:59:59.999999Z")]
        assert since == [3, 2]
        window = store.changes(
            ["Patient"], since="2026-11-20T00:00:00.000001Z", until="2026-11-20T23:59:59.999999Z"
        )
        assert [c.version for c in window] == [2]

    def test_changes__walks_more_than_a_page(self, store: ViewStore) -> None:
        many = [at(f"p{i:04d}", 1, f"2026-11-2{i % 3}T10:{i % 60:02d}:00Z") for i in range(1200)]
        store.apply(many, [], cp(1))
        got = list(store.changes(["Patient"]))
        assert len(got) == 1200 and len({c.id for c in got}) == 1200
        keys = [(c.changed_at, c.id) for c in got]
        assert keys == sorted(keys, reverse=True)

    def test_truncate__empties_the_change_list(self, store: ViewStore) -> None:
        store.apply([at("p1", 1, "2026-11-20T08:00:00Z")], [], cp(1))
        store.truncate()
        assert list(store.changes(["Patient"])) == []
        store.apply([at("p1", 1, "2026-11-21T08:00:00Z")], [], cp(1))
        assert [c.changed_at for c in store.changes(["Patient"])] == ["2026-11-21T08:00:00.000000Z"]


def at(rid: str, version: int, when: str, rtype: str = "Patient") -> StoredResource:
    """A version stamped `when` (lastUpdated as written, any offset)."""
    doc = {"resourceType": rtype, "id": rid, "meta": {"versionId": str(version)}}
    return StoredResource(rtype, rid, version, when, json.dumps(doc).encode())
