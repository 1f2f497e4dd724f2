"""The reader's worklist (services/reading/worklist.py): filters, search and repeated
recordings shown once."""

from __future__ import annotations

import datetime as dt

from services.reading.worklist import Filters, collapse_repeats, select
from stream_processors.diagnosis_queue.item import QueueItem

AT = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def item(ecg_id: str, minutes_ago: float, **fields: object) -> QueueItem:
    submitted = (AT - dt.timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")
    base: dict[str, object] = {
        "requested": True,
        "site_id": "clinic-a",
        "patient_ref": f"Patient/{ecg_id}",
        "patient_name": "王建国",
        "submitted_at": submitted,
        "acquired_at": submitted,
        "triage_class": "routine",
    }
    return QueueItem(ecg_id=ecg_id, **{**base, **fields})  # type: ignore[arg-type]


ITEMS = [
    item("ecg-stemi", 3, triage_class="critical", patient_name="李明"),
    item("ecg-late", 45, triage_class="urgent", site_id="clinic-b"),
    item(
        "ecg-held",
        20,
        status="claimed",
        holder="dr-li",
        lease_until="2026-11-23T12:10:00Z",
        patient_name="张伟",
    ),
    item("ecg-old", 600),
]


def ids(f: Filters) -> list[str]:
    return [i.ecg_id for i in select(ITEMS, f, AT)]


def test_no_filter_keeps_everything_in_order() -> None:
    assert ids(Filters()) == ["ecg-stemi", "ecg-late", "ecg-held", "ecg-old"]


def test_class_site_and_age_filters() -> None:
    assert ids(Filters(classes=frozenset({"critical", "urgent"}))) == ["ecg-stemi", "ecg-late"]
    assert ids(Filters(site="clinic-b")) == ["ecg-late"]
    assert ids(Filters(older_than_min=30)) == ["ecg-late", "ecg-old"]
    assert ids(Filters(newer_than_min=30)) == ["ecg-stemi", "ecg-held"]


def test_unread_overdue_claimed_and_my_claims() -> None:
    assert ids(Filters(state="unread")) == ["ecg-stemi", "ecg-late", "ecg-old"]
    assert ids(Filters(state="overdue")) == ["ecg-late"]  # urgent: 30 min SLA
    assert ids(Filters(state="claimed")) == ["ecg-held"]
    assert ids(Filters(mine="dr-li")) == ["ecg-held"]
    assert ids(Filters(mine="dr-zhang")) == []


def test_search_by_name_ecg_id_or_resolved_patient_id() -> None:
    assert ids(Filters(query="李")) == ["ecg-stemi"]
    assert ids(Filters(query="ECG-OLD")) == ["ecg-old"]
    assert ids(
        Filters(query="11010519491231002X", patient_refs=frozenset({"Patient/ecg-late"}))
    ) == ["ecg-late"]


def test_repeated_recording_of_one_patient_within_five_minutes_is_one_row() -> None:
    first = item("ecg-1", 4, patient_ref="Patient/p")
    again = item("ecg-2", 1, patient_ref="Patient/p")
    later = item("ecg-3", 30, patient_ref="Patient/p")
    other_site = item("ecg-4", 2, patient_ref="Patient/p", site_id="clinic-b")
    rows = collapse_repeats([first, again, later, other_site])
    assert [(r.item.ecg_id, [x.ecg_id for x in r.repeats]) for r in rows] == [
        ("ecg-1", ["ecg-2"]),
        ("ecg-3", []),
        ("ecg-4", []),
    ]
