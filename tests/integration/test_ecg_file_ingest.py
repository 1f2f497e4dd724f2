"""ECG files over real HTTP on each backend pair: a file as a cart exports it ->
POST /ingest/ecg-file -> the same EcgSubmitted as POST /ingest/ecg -> the FHIR Observation
with one SampledData per lead (MDC codes from tests/standard_codes.py, written from the
standard), the right sample count and period. Files: pydicom's real 12-lead test file and
the standards-following writers of tests/ecg_file_writers.py, and a real Philips XLI file and
a real GE CardioSoft file (tests/data/ecg)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from pydicom.data import get_testdata_file

from kernel.codes import MDC
from services.server import Server
from tests import ecg_file_writers as w
from tests.integration.test_ecg_slice import wait_for
from tests.standard_codes import LEAD_ORDER, MDC_LEADS
from tests.unit.test_ecg_cart_files import (
    CARDIOSOFT,
    CARDIOSOFT_FIRST,
    CARDIOSOFT_UV_PER_LSB,
    SIERRAECG_JS_MIDDLE,
)

RATE = 500
SITE = "clinic-baiyang"


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=60, headers={"Accept-Language": "en"}) as c:
        yield c


@pytest.fixture(scope="module")
def raw() -> dict[str, list[int]]:
    return w.counts(seconds=10, rate=RATE)


OCTETS = "application/octet-stream"


def post_file(client: httpx.Client, data: bytes, kind: str, **params: str) -> httpx.Response:
    return client.post(
        "/ingest/ecg-file",
        content=data,
        headers={"Content-Type": kind},
        params={"site_id": SITE, **params},
    )


def lead_data(obs: Observation) -> dict[str, tuple[str, float, list[int]]]:
    """code -> (unit, period ms, samples) of every MDC lead component."""
    found = {}
    for component in obs.component or []:
        coding = component.code.coding[0]
        if coding.system == MDC and component.valueSampledData is not None:
            sampled = component.valueSampledData
            samples = [int(x) for x in sampled.data.split()]
            found[coding.code] = (sampled.origin.code, float(sampled.period), samples)
    return found


def observation_of(client: httpx.Client, resp: httpx.Response) -> Observation:
    assert resp.status_code == 202, resp.text
    answer = resp.json()
    return Observation.model_validate(wait_for(client, f"/fhir/{answer['observation']}").json())


def test_dicom_file_becomes_observation_with_each_lead_sampled(
    client: httpx.Client, raw: dict[str, list[int]]
) -> None:
    resp = post_file(client, w.dicom_12lead(raw, RATE, sensitivity_uv=2.5), "application/dicom")
    obs = observation_of(client, resp)
    leads = lead_data(obs)
    assert list(leads) == [MDC_LEADS[name][0] for name in LEAD_ORDER]
    for name in LEAD_ORDER:
        unit, period, samples = leads[MDC_LEADS[name][0]]
        assert (unit, period, len(samples)) == ("uV", 2.0, 5000)
        assert samples == [round(c * 2.5) for c in raw[name]], name
    assert obs.effectiveDateTime == dt.datetime(2026, 11, 23, 10, 2, 11, tzinfo=dt.UTC)
    patient = Patient.model_validate(wait_for(client, f"/fhir/{resp.json()['patient']}").json())
    assert [(i.system, i.value) for i in patient.identifier] == [
        (f"urn:goldenhour:mrn:{SITE}", "MRN-0042")
    ]


def test_pydicom_real_ecg_at_1000_hz(client: httpx.Client) -> None:
    with open(get_testdata_file("waveform_ecg.dcm"), "rb") as file:
        data = file.read()
    obs = observation_of(client, post_file(client, data, "application/dicom"))
    leads = lead_data(obs)
    assert set(leads) == {code for code, _ in MDC_LEADS.values()}
    assert {(unit, period, len(s)) for unit, period, s in leads.values()} == {("uV", 1.0, 10000)}
    # the file gives local time without an offset: the site's (Asia/Shanghai, +08:00)
    assert obs.effectiveDateTime == dt.datetime(2013, 1, 25, 2, 59, 19, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("writer", "kind", "factor"),
    [
        (w.aecg, "application/xml", 5.0),
        (w.scp_ecg, OCTETS, 5.0),
        (functools.partial(w.scp_ecg, difference=2, huffman_tables=19999), OCTETS, 5.0),
    ],
    ids=["aecg", "scp", "scp-default-huffman"],
)
def test_aecg_and_scp_files_round_trip_to_sampled_data(
    client: httpx.Client, raw: dict[str, list[int]], writer, kind: str, factor: float
) -> None:
    obs = observation_of(client, post_file(client, writer(raw, RATE), kind))
    leads = lead_data(obs)
    for name in LEAD_ORDER:
        unit, period, samples = leads[MDC_LEADS[name][0]]
        assert (unit, period) == ("uV", 2.0)
        assert samples == [round(c * factor) for c in raw[name]], name


def test_muse_file_with_eight_leads_gets_the_limb_leads_derived(
    client: httpx.Client, raw: dict[str, list[int]]
) -> None:
    obs = observation_of(client, post_file(client, w.muse(raw, RATE), "text/xml"))
    leads = lead_data(obs)
    assert len(leads) == 12
    i, ii = leads[MDC_LEADS["I"][0]][2], leads[MDC_LEADS["II"][0]][2]
    assert leads[MDC_LEADS["III"][0]][2] == [b - a for a, b in zip(i, ii, strict=True)]


def test_real_philips_xli_file_from_a_heartstart_mrx(client: httpx.Client) -> None:
    """tests/data/ecg/philips_129DYPRG.xml; the middle samples are sierraecg-js's own
    expectation for this file (tests/unit/test_ecg_cart_files.py), in units of 5 µV."""
    data = (
        Path(__file__).resolve().parents[1] / "data" / "ecg" / "philips_129DYPRG.xml"
    ).read_bytes()
    obs = observation_of(client, post_file(client, data, "application/xml"))
    leads = lead_data(obs)
    assert {(unit, period, len(s)) for unit, period, s in leads.values()} == {("uV", 2.0, 5264)}
    middle = [leads[MDC_LEADS[name][0]][2][2750] for name in LEAD_ORDER]
    assert middle == [5 * v for v in SIERRAECG_JS_MIDDLE]
    # local time without an offset: the site's (Asia/Shanghai, +08:00)
    assert obs.effectiveDateTime == dt.datetime(2011, 11, 30, 23, 27, 34, tzinfo=dt.UTC)


def test_real_ge_cardiosoft_file_all_12_leads_in_uv(client: httpx.Client) -> None:
    """tests/data/ecg/ecgprocess/example-XML1.xml: 12 leads of 5000 samples at 500 Hz in
    units of 5 µV; its patient ID becomes the site's MRN."""
    resp = post_file(client, CARDIOSOFT, "application/xml")
    obs = observation_of(client, resp)
    leads = lead_data(obs)
    assert list(leads) == [MDC_LEADS[name][0] for name in LEAD_ORDER]
    assert {(unit, period, len(s)) for unit, period, s in leads.values()} == {("uV", 2.0, 5000)}
    for name, first in CARDIOSOFT_FIRST.items():
        assert leads[MDC_LEADS[name][0]][2][:3] == [CARDIOSOFT_UV_PER_LSB * v for v in first]
    # 2018-07-19 14:19:39 local time without an offset: the site's (Asia/Shanghai, +08:00)
    assert obs.effectiveDateTime == dt.datetime(2018, 7, 19, 6, 19, 39, tzinfo=dt.UTC)
    patient = Patient.model_validate(wait_for(client, f"/fhir/{resp.json()['patient']}").json())
    assert [(i.system, i.value) for i in patient.identifier] == [
        (f"urn:goldenhour:mrn:{SITE}", "1532006361")
    ]
    assert (patient.gender, str(patient.birthDate)) == ("male", "1965-01-01")


def test_resending_the_same_file_is_answered_as_the_first(
    client: httpx.Client, raw: dict[str, list[int]]
) -> None:
    data = w.scp_ecg(raw, RATE, difference=2)
    first = post_file(client, data, "application/octet-stream")
    again = post_file(client, data, "application/octet-stream")
    assert first.status_code == again.status_code == 202
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()


def test_bad_files_are_a_422_outcome_naming_what_is_wrong(
    client: httpx.Client, raw: dict[str, list[int]]
) -> None:
    record = bytearray(w.scp_ecg(raw, RATE))
    record[-10] ^= 0xFF  # inside section 6, the last section
    resp = post_file(client, bytes(record), "application/octet-stream")
    assert resp.status_code == 422
    outcome = resp.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "SCP-ECG: record CRC mismatch" in outcome["issue"][0]["diagnostics"]
    resp = post_file(client, w.scp_ecg(raw, RATE, huffman_tables=1), OCTETS)
    assert resp.status_code == 422
    assert "custom Huffman tables (section 2)" in resp.json()["issue"][0]["diagnostics"]
    three = {lead: raw[lead] for lead in ("I", "II", "III")}
    resp = post_file(client, w.dicom_12lead(three, RATE), "application/dicom")
    assert resp.status_code == 422
    assert "no 12-lead multiplex group" in resp.json()["issue"][0]["diagnostics"]
    short = {lead: s[:500] for lead, s in raw.items()}  # 1 s: shorter than any resting ECG
    resp = post_file(client, w.aecg(short, RATE), "application/xml")
    assert resp.status_code == 422 and "1.00 s" in resp.text


def test_other_content_types_are_415(client: httpx.Client, raw: dict[str, list[int]]) -> None:
    resp = post_file(client, w.aecg(raw, RATE), "application/json")
    assert resp.status_code == 415
    assert resp.json()["resourceType"] == "OperationOutcome"
