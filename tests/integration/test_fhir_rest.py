"""FHIR REST beyond plain read, over real HTTP on each backend pair: search paging
(http.html#search, search.html#count), conditional read and content negotiation
(http.html#cread, http.html#mime-type), Patient/$everything
(patient-operation-everything.html), `_lastUpdated` and `_sort` (search.html#lastUpdated,
search.html#sort)."""

from __future__ import annotations

import datetime as dt
import uuid
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from kernel.ids import ecg_observation_id, resource_id
from kernel.search_params import SEARCH_PARAMS
from services.server import Server
from stream_processors.fhir_projector.measured_to_fhir import measurement_observation_id
from tests.ecg_payloads import ecg_payload
from tests.integration.test_ecg_slice import outcome_of, wait_for

EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"


def post_ecgs(client: httpx.Client, n: int) -> str:
    """Post n ECGs of one patient and wait until every resource they make is served (the
    ECG and measurement Observations, the read ServiceRequest and Task); the Patient id."""
    keys, patient = [f"ecg-{uuid.uuid4().hex[:8]}" for _ in range(n)], ""
    for key in keys:
        resp = client.post("/ingest/ecg", json=ecg_payload(ecg_id=key))
        assert resp.status_code == 202, resp.text
        patient = resp.json()["patient"]
    for key in keys:
        wait_for(client, f"/fhir/Observation/{ecg_observation_id(key)}")
        wait_for(client, f"/fhir/Observation/{measurement_observation_id(key)}")
        wait_for(client, f"/fhir/ServiceRequest/{resource_id('ServiceRequest', 'ecg-read', key)}")
        wait_for(client, f"/fhir/Task/{resource_id('Task', 'ecg-read', key)}")
    wait_for(client, f"/fhir/{patient}", version=str(n))
    return patient.split("/")[1]


def bundle_of(resp: httpx.Response) -> dict[str, Any]:
    """A 200 searchset Bundle, validated against the R4B model."""
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/fhir+json")
    doc: dict[str, Any] = resp.json()
    Bundle.model_validate(doc)
    assert doc["resourceType"] == "Bundle" and doc["type"] == "searchset"
    return doc


def links(bundle: dict[str, Any]) -> dict[str, str]:
    return {link["relation"]: link["url"] for link in bundle["link"]}


def walk(client: httpx.Client, url: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every page from the first, following `next` until there is none."""
    pages = [bundle_of(client.get(url, params=params))]
    while "next" in links(pages[-1]):
        assert len(pages) < 50, "next links never end"
        pages.append(bundle_of(client.get(links(pages[-1])["next"])))
    return pages


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_search_pages_follow_next_links_and_see_every_id_once(
    client: httpx.Client, server: Server
) -> None:
    patient = post_ecgs(client, 7)
    pages = walk(client, "/fhir/Observation", {"patient": patient, "_count": "3"})
    assert len(pages) == 5  # 7 ECG + 7 measurement Observations, 3 a page
    seen = [e["resource"]["id"] for p in pages for e in p.get("entry", [])]
    assert len(seen) == 14 and len(set(seen)) == 14 and seen == sorted(seen)
    for number, page in enumerate(pages):
        assert page["total"] == 14 and len(page.get("entry", [])) <= 3
        for e in page["entry"]:
            assert e["fullUrl"] == f"{server.base_url}/fhir/Observation/{e['resource']['id']}"
            assert e["search"] == {"mode": "match"}
        for url in links(page).values():
            assert url.startswith(f"{server.base_url}/fhir/Observation?")
            assert query(url)["patient"] == [patient] and query(url)["_count"] == ["3"]
        assert query(links(page)["self"])["_offset"] == [str(3 * number)]
        assert ("previous" in links(page)) == (number > 0)
    assert query(links(pages[1])["previous"])["_offset"] == ["0"]
    last = bundle_of(client.get(links(pages[-1])["previous"]))
    assert [e["resource"]["id"] for e in last["entry"]] == seen[9:12]


def test_count_is_validated_capped_and_zero_gives_the_total(client: httpx.Client) -> None:
    patient = post_ecgs(client, 1)
    for bad in ("abc", "-1", "2.5", "²", "１"):  # a superscript; a full-width digit
        resp = client.get("/fhir/Observation", params={"patient": patient, "_count": bad})
        assert resp.status_code == 400
        issue = outcome_of(resp)["issue"][0]
        assert issue["expression"] == ["_count"]
        assert issue["diagnostics"] == f"_count must be a non-negative integer, got {bad!r}"
    for bad in ("x", "²"):
        resp = client.get("/fhir/Observation", params={"patient": patient, "_offset": bad})
        assert resp.status_code == 400, resp.text
        assert outcome_of(resp)["issue"][0]["expression"] == ["_offset"]
    for vid in ("²", "x"):  # not a version id: 404 as FHIR answers an unknown version
        resp = client.get(f"/fhir/Patient/{patient}/_history/{vid}")
        assert (
            resp.status_code in (400, 404)
            and outcome_of(resp)["resourceType"] == "OperationOutcome"
        )
    capped = bundle_of(
        client.get("/fhir/Observation", params={"patient": patient, "_count": "9999"})
    )
    assert query(links(capped)["self"])["_count"] == ["500"] and len(capped["entry"]) == 2
    default = bundle_of(client.get("/fhir/Observation", params={"patient": patient}))
    assert query(links(default)["self"])["_count"] == ["50"]
    zero = bundle_of(client.get("/fhir/Observation", params={"patient": patient, "_count": "0"}))
    assert zero["total"] == 2 and "entry" not in zero and set(links(zero)) == {"self"}
    beyond = client.get("/fhir/Observation", params={"patient": patient, "_offset": "10"})
    assert "entry" not in bundle_of(beyond) and "previous" in links(beyond.json())


def test_if_modified_since_and_accept_negotiation(client: httpx.Client) -> None:
    patient = post_ecgs(client, 1)
    url, vurl = f"/fhir/Patient/{patient}", f"/fhir/Patient/{patient}/_history/1"
    last_modified = client.get(url).headers["last-modified"]
    later = format_datetime(parsedate_to_datetime(last_modified) + dt.timedelta(days=1), True)
    earlier = format_datetime(parsedate_to_datetime(last_modified) - dt.timedelta(seconds=1), True)
    for target in (url, vurl):
        for since, status in ((last_modified, 304), (later, 304), (earlier, 200), ("junk", 200)):
            resp = client.get(target, headers={"If-Modified-Since": since})
            assert resp.status_code == status, (target, since)
        assert client.get(target, headers={"If-Modified-Since": later}).content == b""
    for accept in ("application/fhir+json", "application/json", "*/*", "text/html, */*;q=0.8"):
        assert client.get(url, headers={"Accept": accept}).status_code == 200, accept
    for accept in ("application/fhir+xml", "application/xml", "application/fhir+xml, */*;q=0"):
        resp = client.get(url, headers={"Accept": accept})
        assert resp.status_code == 406, accept
        issue = outcome_of(resp)["issue"][0]
        assert issue["code"] == "not-supported" and accept in issue["diagnostics"]
    assert client.get(url, params={"_format": "json"}).status_code == 200
    resp = client.get(url, params={"_format": "xml"})
    assert resp.status_code == 406
    assert outcome_of(resp)["issue"][0]["diagnostics"].startswith("_format='xml': XML is not")
    search = client.get("/fhir/Observation", params={"patient": patient, "_format": "xml"})
    assert search.status_code == 406
    assert client.get("/fhir/metadata", headers={"Accept": "application/xml"}).status_code == 406


def test_patient_everything(client: httpx.Client, server: Server) -> None:
    patient = post_ecgs(client, 2)
    url = f"/fhir/Patient/{patient}/$everything"
    everything = bundle_of(client.get(url))
    types = [e["resource"]["resourceType"] for e in everything["entry"]]
    assert types[0] == "Patient" and everything["entry"][0]["resource"]["id"] == patient
    assert sorted(types[1:]) == ["Observation"] * 4 + ["ServiceRequest"] * 2 + ["Task"] * 2
    assert everything["total"] == 9
    for e in everything["entry"][1:]:
        ref = e["resource"].get("subject", e["resource"].get("for"))
        assert ref == {"reference": f"Patient/{patient}"}
    assert links(everything)["self"].startswith(f"{server.base_url}/fhir/Patient/{patient}/")

    pages = walk(client, url, {"_count": "4"})
    paged = [e["fullUrl"] for p in pages for e in p["entry"]]
    assert len(pages) == 3 and paged == [e["fullUrl"] for e in everything["entry"]]

    only = bundle_of(client.get(url, params={"_type": "Task,ServiceRequest"}))
    assert sorted(e["resource"]["resourceType"] for e in only["entry"]) == [
        "ServiceRequest",
        "ServiceRequest",
        "Task",
        "Task",
    ]
    future = bundle_of(client.get(url, params={"_since": "2999-01-01T00:00:00Z"}))
    assert future["total"] == 0 and "entry" not in future
    newest = max(e["resource"]["meta"]["lastUpdated"] for e in everything["entry"])
    since = bundle_of(client.get(url, params={"_since": newest}))
    assert 1 <= since["total"] < 9
    assert all(e["resource"]["meta"]["lastUpdated"] >= newest for e in since["entry"])

    missing = client.get("/fhir/Patient/no-such-patient/$everything")
    assert missing.status_code == 404
    assert outcome_of(missing)["issue"][0]["diagnostics"] == "Patient/no-such-patient not found"
    bad_type = client.get(url, params={"_type": "Observation,Medication"})
    assert bad_type.status_code == 400
    assert "'Medication'" in outcome_of(bad_type)["issue"][0]["diagnostics"]
    bad_since = client.get(url, params={"_since": "2026-11-23"})
    assert bad_since.status_code == 400
    assert outcome_of(bad_since)["issue"][0]["expression"] == ["_since"]
    unknown = client.get(url, params={"start": "2026"})
    assert unknown.status_code == 400 and "start" in outcome_of(unknown)["issue"][0]["diagnostics"]


def test_metadata_advertises_everything_and_paging(client: httpx.Client) -> None:
    doc = client.get("/fhir/metadata").json()
    CapabilityStatement.model_validate(doc)
    resources = {r["type"]: r for r in doc["rest"][0]["resource"]}
    patient_ops = resources["Patient"]["operation"]
    assert patient_ops[0] == {"name": "everything", "definition": EVERYTHING}
    assert [o["name"] for o in patient_ops] == [
        "everything",
        "merge",
        "unmerge",
        "export",
        "validate",
    ]
    assert resources["Composition"]["operation"][0]["name"] == "document"
    for t, r in resources.items():
        if t not in SEARCH_PARAMS:
            continue
        assert "validate" in {o["name"] for o in r["operation"]}, t
        names = {p["name"] for p in r["searchParam"]}
        assert {"_id", "_lastUpdated"} <= names
    assert {p["name"] for p in resources["Task"]["searchParam"]} == {
        "patient",
        "status",
        "focus",
        "_id",
        "_lastUpdated",
    }


def test_last_updated_filter_and_sort(client: httpx.Client) -> None:
    patient = post_ecgs(client, 3)
    base = {"patient": patient}
    every = bundle_of(client.get("/fhir/Observation", params={**base, "_sort": "_lastUpdated"}))
    stamps = [e["resource"]["meta"]["lastUpdated"] for e in every["entry"]]
    assert len(stamps) == 6
    instants = [dt.datetime.fromisoformat(s) for s in stamps]
    assert instants == sorted(instants)
    desc = bundle_of(client.get("/fhir/Observation", params={**base, "_sort": "-_lastUpdated"}))
    assert [
        dt.datetime.fromisoformat(e["resource"]["meta"]["lastUpdated"]) for e in desc["entry"]
    ] == sorted(instants, reverse=True)

    def count(*values: str) -> int:
        params: list[tuple[str, Any]] = [("patient", patient)]
        params += [("_lastUpdated", v) for v in values]
        return int(bundle_of(client.get("/fhir/Observation", params=params))["total"])

    first, last = stamps[0], stamps[-1]
    assert count("ge2000-01-01") == 6 and count("lt2000") == 0 and count("gt2999-12") == 0
    assert count(f"ge{first}") == 6 and count(f"gt{last}") == 0 and count(f"le{last}") == 6
    assert count(f"eq{last}") == sum(s == last for s in stamps)
    assert count(f"lt{first}") == 0 and count(f"ge{first}", f"le{last}") == 6
    assert count(f"ne{last}") == 6 - count(f"eq{last}") and count("ne2000") == 6
    day = instants[0].astimezone(dt.UTC).date().isoformat()
    assert count(day) == sum(i.astimezone(dt.UTC).date().isoformat() == day for i in instants)

    for bad, says in (
        ("ge2026-13", "not a valid date"),
        ("ge2026-11-23T10:00", "no timezone"),
        ("yesterday", "not a FHIR date/dateTime"),
    ):
        resp = client.get("/fhir/Observation", params={**base, "_lastUpdated": bad})
        assert resp.status_code == 400, bad
        assert says in outcome_of(resp)["issue"][0]["diagnostics"], bad
    resp = client.get("/fhir/Observation", params={**base, "_sort": "bogus"})
    assert resp.status_code == 400 and outcome_of(resp)["issue"][0]["expression"] == ["_sort"]
