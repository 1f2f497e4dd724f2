"""The pure parts of bench/fhir_search.py: the patients it seeds, the requests it sends, how
it reads the answers of two different servers, and how it turns client timings into a rate."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bench.fhir_search import WORKLOADS, Seed, answer_ids, combined, resident_id
from services.ingest.resident_id import problem

RESIDENT_SYSTEM = "https://goldenhour.health/sid/cn-resident-id"


def test_seeded_resident_ids_are_distinct_and_valid() -> None:
    # Past 1,000 patients the sequence number wraps and the birth date moves on.
    ids = [resident_id(i) for i in range(2500)]
    assert len(set(ids)) == len(ids)
    assert [i for i in ids if problem(i) is not None] == []


def test_requests_carry_the_search_tokens_intact() -> None:
    seed = Seed("p-1", f"{RESIDENT_SYSTEM}|110105195001010016")
    urls = {w.name: urlsplit(w.url(seed)) for w in WORKLOADS}
    assert urls["read"].path == "/fhir/Patient/p-1"
    assert parse_qs(urls["identifier"].query) == {"identifier": [seed.identifier]}
    assert parse_qs(urls["observation"].query) == {
        "patient": ["p-1"],
        "code": ["http://loinc.org|8867-4"],
    }


def test_answer_ids_of_a_read_and_of_searchsets_from_either_server() -> None:
    assert answer_ids({"resourceType": "Patient", "id": "p-1"}) == ["p-1"]
    ours = {  # ours marks entries with search.mode; HAPI's plain server does not
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": {"resourceType": "Observation", "id": "b"}, "search": {"mode": "match"}},
            {"resource": {"resourceType": "Observation", "id": "a"}, "search": {"mode": "match"}},
        ],
    }
    hapi = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 2,
        "entry": [
            {"fullUrl": "http://h/fhir/Observation/a", "resource": {"id": "a"}},
            {"fullUrl": "http://h/fhir/Observation/b", "resource": {"id": "b"}},
        ],
    }
    assert answer_ids(ours) == answer_ids(hapi) == ["a", "b"]
    assert answer_ids({"resourceType": "Bundle", "type": "searchset", "total": 0}) == []


def test_concurrent_clients_count_over_the_shared_wall_time() -> None:
    timing = combined([([0.1, 0.1], 10.0, 12.0), ([0.2], 11.0, 14.0)])
    assert timing.latencies == [0.1, 0.1, 0.2]
    assert timing.wall_s == 4.0  # from the first start to the last end
    assert timing.rate == 0.75
    rounds = timing + combined([([0.1], 0.0, 1.0)])
    assert (len(rounds.latencies), rounds.wall_s) == (4, 5.0)
