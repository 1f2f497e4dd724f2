"""HL7 v2 as hospitals and ECG carts really send it, over a real MLLP socket, on each backend
pair: public fixtures from three independent projects (tests/data/hl7/README.md) and
variants of what real peers do (v2.3-2.8, local times, untyped identifiers, empty MSH-4,
batches, GB 18030 under its common spellings, LF separators, Z-segments, 8-lead carts,
MDC_DIM_HZ, messages far over the limits, a cart's site or a HIS's hospital the registry
does not know).
Expected ACK codes are HL7 table 0357 as the standard writes them (ERR-3
code^name^HL70357), not imported from the gateway.
"""

from __future__ import annotations

import base64
import concurrent.futures
import datetime as dt
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from avro_schemas.catalogue import ADT, CLINIC_ECG
from kernel.ids import ecg_observation_id, patient_id
from kernel.jsontypes import Json
from services.hl7_gateway.mllp import frame
from services.server import Server
from tests.adt_messages import adt
from tests.ecg_payloads import ecg_payload
from tests.hl7_messages import eight_lead, oru_r01, report_only, set_field
from tests.integration.test_adt_mllp import eventually, log_size
from tests.integration.test_mllp_intake import SOCKET_TIMEOUT_S, read_ack
from tests.integration.test_registry import loaded
from tests.standard_codes import MDC_LEADS

FIXTURES = Path(__file__).parent.parent / "data" / "hl7"
ECG_TOPIC = CLINIC_ECG


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def send(server: Server, payload: bytes) -> list[list[str]]:
    """One frame over MLLP; the answer's segments as fields."""
    assert server.mllp is not None
    with socket.create_connection(("127.0.0.1", server.mllp.port), SOCKET_TIMEOUT_S) as sock:
        sock.sendall(frame(payload))
        return read_ack(sock)


def segment(answer: list[list[str]], name: str, occurrence: int = 1) -> list[str]:
    found = [s for s in answer if s[0] == name]
    assert len(found) >= occurrence, f"no {name} #{occurrence} in {answer}"
    fields = found[occurrence - 1]
    return fields + [""] * (10 - len(fields))


def topic_size(server: Server, topic: str) -> int:
    return log_size(server, topic)


# -- hl7apy (MIT): ADT^A01 v2.5, MRN authority != MSH-4, local time, no visit number ----------


def test_hl7apy_adt_a01_is_accepted_and_becomes_the_patient(server: Server) -> None:
    answer = send(server, fixture("hl7apy/test_parser_adt_a01_v25.hl7"))
    msa = segment(answer, "MSA")
    assert msa[1:3] == ["AA", "0123456789"]
    assert "PV1-19" in msa[3]  # accepted without an encounter, and said so
    # The HIS names its MRN authority "HOSPITAL"; its MRNs are the sending facility's.
    mrn = {"system": "urn:goldenhour:mrn:SEND%20FAC", "value": "123-456-789"}
    patient = eventually(server, f"/fhir/Patient/{patient_id([mrn])}")
    assert mrn in [{"system": i["system"], "value": i["value"]} for i in patient["identifier"]]
    assert patient["name"][0]["family"] == "SURNAME" and patient["gender"] == "male"


def test_hl7apy_his_named_send_fac_is_the_hospital_its_registered_peer_names(
    server: Server,
) -> None:
    """The fixture's HIS writes MSH-4 "SEND FAC", which no registered organization can be
    (ids have no spaces): refused once the registry is in force, until a peer registered
    for that facility names the hospital it speaks for. Then it is that hospital, and its
    MRNs are that hospital's; the ACK still addresses "SEND FAC"."""
    message = fixture("hl7apy/test_parser_adt_a01_v25.hl7")
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        loaded(client)  # the example registry: county-hospital is one of its hospitals
        refused = send(server, message)
        assert segment(refused, "MSA")[1:3] == ["AE", "0123456789"]
        assert segment(refused, "ERR")[2:4] == ["MSH^1^4", "103^Table value not found^HL70357"]

        peer = {"id": "peer-send-fac", "sending_facility": "SEND FAC"}
        resp = client.put(f"/registry/peers/{peer['id']}", json={**peer, **COUNTY})
        assert resp.status_code == 202, resp.text
        eventually(server, f"/fhir/{resp.json()['resource']}")
    size = topic_size(server, ADT)
    answer = send(server, message.replace(b"|0123456789|", b"|0123456790|"))
    assert segment(answer, "MSA")[1:3] == ["AA", "0123456790"]
    assert segment(answer, "MSH")[4:6] == ["SEND APP", "SEND FAC"]  # MSH-5/-6: the sender
    assert topic_size(server, ADT) == size + 1
    mrn = {"system": "urn:goldenhour:mrn:county-hospital", "value": "123-456-789"}
    patient = eventually(server, f"/fhir/Patient/{patient_id([mrn])}")
    assert mrn in [{"system": i["system"], "value": i["value"]} for i in patient["identifier"]]

    # A second system of the same hospital numbers its messages on its own: its message
    # with the same control id, patient and trigger is another message, not a resend.
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        other = {"id": "peer-other-his", "sending_facility": "OTHER HIS"}
        resp = client.put(f"/registry/peers/{other['id']}", json={**other, **COUNTY})
        assert resp.status_code == 202, resp.text
        eventually(server, f"/fhir/{resp.json()['resource']}")
    second = message.replace(b"|0123456789|", b"|0123456790|").replace(
        b"|SEND FAC|", b"|OTHER HIS|"
    )
    answer = send(server, second)
    assert segment(answer, "MSA")[1:3] == ["AA", "0123456790"]
    assert b"duplicate" not in answer
    assert topic_size(server, ADT) == size + 2


COUNTY = {"organization_id": "county-hospital"}


# -- python-hl7 (BSD-3): FHS/BHS batch with ADT^A04 v2.5; ORU^R01 v2.4 of a lab result ------

AUSDHSV_PROFILE = {"ABCHS": {"identifier_authorities": {"100": "MR"}}}


def _batch_with_a_corrected_copy() -> bytes:
    """The fixture's batch, plus a second message: the same A04 with PID-8 in table 0001."""
    lines = fixture("python-hl7/sample_file_batch_adt_a04.hl7").split(b"\r")
    message = [ln for ln in lines if ln[:3] in (b"MSH", b"EVN", b"PID", b"PD1", b"NK1", b"PV1")]
    fixed = b"\r".join(message).replace(b"|12334456778890|", b"|12334456778891|")
    fixed = fixed.replace(b"||10131113|1||", b"||10131113|M||")
    at = lines.index(next(ln for ln in lines if ln.startswith(b"BTS")))
    return b"\r".join(lines[:at] + fixed.split(b"\r") + lines[at:])


@pytest.mark.parametrize("batch_ack", ["message", "batch"])
def test_python_hl7_batch_gets_a_response_batch(
    make_server: Callable[..., Server], batch_ack: str
) -> None:
    profile = {"ABCHS": {**AUSDHSV_PROFILE["ABCHS"], "batch_ack": batch_ack}}
    server = make_server(hl7_peer_profiles=profile)
    answer = send(server, _batch_with_a_corrected_copy())
    assert [s[0] for s in answer][:2] == ["FHS", "BHS"] and answer[-1][0] == "FTS"
    assert segment(answer, "BHS")[11] == "abchs20070101123401-1"  # BHS-12 names their batch
    # PID-8 "1" is not in table 0001: AE 103 at PID-8, their control id echoed.
    first = segment(answer, "MSA")
    assert first[1:3] == ["AE", "12334456778890"]
    assert segment(answer, "ERR")[2:4] == ["PID^1^8", "103^Table value not found^HL70357"]
    accepted = [s for s in answer if s[0] == "MSA" and s[1] == "AA"]
    if batch_ack == "message":
        assert [s[2] for s in accepted] == ["12334456778891"]
        assert segment(answer, "BTS")[1] == "2"
    else:  # exception-only: the accepted message is not listed
        assert accepted == [] and segment(answer, "BTS")[1] == "1"
    mrn = {"system": "urn:goldenhour:mrn:ABCHS", "value": "0000112234"}
    patient = eventually(server, f"/fhir/Patient/{patient_id([mrn])}")
    assert patient["gender"] == "male"


def test_python_hl7_lab_oru_is_ae_at_its_invalid_birth_date(server: Server) -> None:
    size = topic_size(server, ECG_TOPIC)
    answer = send(server, fixture("python-hl7/sample_hl7_oru_r01_v24.hl7"))
    assert segment(answer, "MSA")[1:3] == ["AE", "CNTRL-3456"]
    err = segment(answer, "ERR")
    assert err[2:4] == ["PID^1^7", "102^Data type error^HL70357"]
    assert err[1].startswith("PID^1^7^102&")  # v2.4 sender: ERR-1 (ELD) filled too
    assert topic_size(server, ECG_TOPIC) == size


# -- nHapi (MPL-2.0): ORU^R01 v2.3.1 with an empty MSH-4 ---------------------------------------


def test_nhapi_oru_without_sending_facility_is_ar_101_at_msh_4(server: Server) -> None:
    answer = send(server, fixture("nhapi/legacy_pipe_parser_oru_r01_v231.hl7"))
    assert segment(answer, "MSA")[1:3] == ["AR", "EBzH1711114101206"]
    assert segment(answer, "ERR")[2:4] == ["MSH^1^4", "101^Required field missing^HL70357"]


def test_nhapi_oru_from_a_peer_identified_by_its_application_is_read(
    make_server: Callable[..., Server],
) -> None:
    server = make_server(hl7_peer_profiles={"XPRESS": {"sending_application": "XPress Arrival"}})
    answer = send(server, fixture("nhapi/legacy_pipe_parser_oru_r01_v231.hl7"))
    # Identified (no MSH-4 error) and read as v2.3.1: its first content error is the missing
    # order number that would name the ECG (OBR-2 and OBR-3 empty).
    msa, err = segment(answer, "MSA"), segment(answer, "ERR")
    assert msa[1:3] == ["AE", "EBzH1711114101206"]
    assert err[2:4] == ["OBR^1^3", "101^Required field missing^HL70357"]


# -- variants of real peers ---------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["GB18030", "GB 18030-2000", "gb-18030"])
def test_gb18030_under_its_spellings_is_decoded(server: Server, spelling: str) -> None:
    body = ecg_payload()
    message = set_field(oru_r01(body), "MSH", 18, spelling)
    answer = send(server, message.encode("gb18030"))
    assert segment(answer, "MSA")[1] == "AA"
    rid = patient_id(body["patient"]["identifiers"])
    assert eventually(server, f"/fhir/Patient/{rid}")["name"][0]["family"] == "王"


def test_unknown_charset_is_ar_103_at_msh_18_with_the_control_id(server: Server) -> None:
    message = set_field(oru_r01(ecg_payload(), control_id="CS-1"), "MSH", 18, "KLINGON-8")
    answer = send(server, message.encode())
    assert segment(answer, "MSA")[1:3] == ["AR", "CS-1"]
    assert segment(answer, "ERR")[2:4] == ["MSH^1^18", "103^Table value not found^HL70357"]


def _as_real_carts_send(message: str) -> str:
    """LF separators, a local OBR-7 (no offset), v2.3.1, the rate as 264640^MDC_DIM_HZ and
    a Z-segment."""
    message = set_field(message, "OBR", 7, "20261123180211")
    message = set_field(message, "MSH", 12, "2.3.1")
    message = message.replace("264608^MDC_DIM_PER_SEC^MDC", "264640^MDC_DIM_HZ^MDC")
    segments = [s for s in message.split("\r") if s] + ["ZCT|1|cart firmware 4.2"]
    return "\n".join(segments) + "\n"


def test_cart_variant_with_local_time_lf_z_segment_and_hz_is_accepted(server: Server) -> None:
    body = ecg_payload()
    answer = send(server, _as_real_carts_send(oru_r01(body)).encode())
    assert segment(answer, "MSA")[1] == "AA"
    obs = eventually(server, f"/fhir/Observation/{ecg_observation_id(body['ecg_id'])}")
    # 18:02:11 in Asia/Shanghai (UTC+8, no DST) is 10:02:11 UTC
    effective = dt.datetime.fromisoformat(obs["effectiveDateTime"].replace("Z", "+00:00"))
    assert effective == dt.datetime(2026, 11, 23, 10, 2, 11, tzinfo=dt.UTC)


def test_eight_lead_cart_gets_the_limb_leads_derived_and_said_so(server: Server) -> None:
    body = ecg_payload()
    answer = send(server, eight_lead(oru_r01(body)).encode())
    assert segment(answer, "MSA")[1] == "AA"
    obs = eventually(server, f"/fhir/Observation/{ecg_observation_id(body['ecg_id'])}")
    by_code = {c["code"]["coding"][0]["code"]: c for c in obs["component"]}
    lead_i, lead_ii = body["leads"]["I"], body["leads"]["II"]
    iii = [int(x) for x in by_code[MDC_LEADS["III"][0]]["valueSampledData"]["data"].split()]
    assert iii == [b - a for a, b in zip(lead_i, lead_ii, strict=True)]  # Einthoven
    avf = [int(x) for x in by_code[MDC_LEADS["aVF"][0]]["valueSampledData"]["data"].split()]
    assert all(abs(v - (b - a / 2)) <= 0.5 for v, a, b in zip(avf, lead_i, lead_ii, strict=True))
    assert "derived" in by_code[MDC_LEADS["aVR"][0]]["extension"][0]["valueString"]
    assert "extension" not in by_code[MDC_LEADS["V1"][0]]  # recorded, not derived
    assert any("derived" in n["text"] for n in obs["note"])


def test_20000_obx_frame_is_refused_at_once_while_other_peers_are_served(server: Server) -> None:
    flood = oru_r01(ecg_payload(), control_id="FLOOD-1").rstrip("\r").split("\r")[:4]
    flood += [f"OBX|{i}|NM|8867-4^Heart rate^LN||75|/min|||||F" for i in range(20_000)]
    normal = ecg_payload()
    size = topic_size(server, ECG_TOPIC)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        big = pool.submit(send, server, ("\r".join(flood) + "\r").encode())
        small = pool.submit(send, server, oru_r01(normal, control_id="NORMAL-1").encode())
        big_answer, small_answer = big.result(), small.result()
    assert segment(small_answer, "MSA")[1:3] == ["AA", "NORMAL-1"]
    assert segment(big_answer, "MSA")[1:3] == ["AR", "FLOOD-1"]
    assert "limit is 1000" in segment(big_answer, "ERR")[8]
    assert topic_size(server, ECG_TOPIC) == size + 1


def test_report_only_oru_becomes_observation_and_document_reference(server: Server) -> None:
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    body = ecg_payload()
    ed = "^AP^PDF^Base64^" + base64.b64encode(pdf).decode()
    answer = send(server, report_only(oru_r01(body), ed).encode())
    assert segment(answer, "MSA")[1] == "AA"
    obs = eventually(server, f"/fhir/Observation/{ecg_observation_id(body['ecg_id'])}")
    assert not [c for c in obs["component"] if "valueSampledData" in c]
    heart_rate = [c for c in obs["component"] if c["code"]["coding"][0]["code"] == "8867-4"]
    assert heart_rate[0]["valueQuantity"]["value"] == 75
    assert any("No waveform was sent" in n["text"] for n in obs["note"])
    found = eventually(
        server,
        f"/fhir/DocumentReference?identifier=https://goldenhour.health/sid/ecg-id|{body['ecg_id']}",
        lambda b: b.get("total", len(b.get("entry", []))) == 1,
    )
    document = found["entry"][0]["resource"]
    attachment = document["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert base64.b64decode(attachment["data"]) == pdf
    assert document["context"]["related"][0]["reference"] == f"Observation/{obs['id']}"


# -- the registry: an ECG cart's site is checked as on HTTP -------------------------------------


def from_site(server: Server, site_id: str, control_id: str) -> tuple[Json, list[list[str]], int]:
    """(the ECG, the ACK, the ECG topic's size before) of an ORU whose MSH-4 is `site_id`,
    sent once the example registry is loaded (clinic-baiyang is one of its clinics,
    county-hospital one of its hospitals)."""
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        loaded(client)
    body = ecg_payload()
    body["site"] = {**body["site"], "id": site_id}
    size = topic_size(server, ECG_TOPIC)
    return body, send(server, oru_r01(body, control_id=control_id).encode()), size


def test_oru_from_a_site_the_registry_does_not_know__ae_103_at_msh_4_nothing_appended(
    server: Server,
) -> None:
    _, answer, size = from_site(server, "clinic-nowhere", "REG-1")
    assert segment(answer, "MSA")[1:3] == ["AE", "REG-1"]
    err = segment(answer, "ERR")
    assert err[2:4] == ["MSH^1^4", "103^Table value not found^HL70357"]
    assert "clinic-nowhere" in err[8]
    assert topic_size(server, ECG_TOPIC) == size

    known = ecg_payload()  # sent by clinic-baiyang
    assert segment(send(server, oru_r01(known, control_id="REG-2").encode()), "MSA")[1:3] == [
        "AA",
        "REG-2",
    ]
    assert topic_size(server, ECG_TOPIC) == size + 1


def test_oru_from_a_hospitals_own_cart__accepted_as_that_hospitals_ecg(server: Server) -> None:
    """The county hospital's ED cart sends its ECGs to the reading centre over MLLP too: a
    facility the registry knows as a hospital is that hospital, as over HTTP, not an
    unknown clinic."""
    body, answer, size = from_site(server, "county-hospital", "REG-HOSP-1")
    assert segment(answer, "MSA")[1:3] == ["AA", "REG-HOSP-1"]
    assert topic_size(server, ECG_TOPIC) == size + 1
    log = server.system.log
    events = [
        server.system.codec.decode(r.value)[1]
        for tp, end in log.end_offsets(ECG_TOPIC).items()
        for r in log.read(ECG_TOPIC, tp.partition, 0, end)
    ]
    sites = [e["site"] for e in events if e.get("ecg_id") == body["ecg_id"]]
    assert sites == [{**sites[0], "id": "county-hospital", "kind": "hospital"}]


# -- the registry: a HIS's hospital is checked the same way --------------------------------------


@pytest.mark.parametrize(
    "facility",
    ["hospital-nowhere", "clinic-baiyang"],  # not registered; registered, but a clinic
)
def test_adt_from_a_facility_the_registry_does_not_know_as_a_hospital__ae_103_at_msh_4(
    server: Server, facility: str
) -> None:
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        loaded(client)  # the example registry: county-hospital is one of its hospitals
    size = topic_size(server, ADT)
    answer = send(server, adt("A01", hospital=facility, control_id="REG-ADT-1").encode())
    assert segment(answer, "MSA")[1:3] == ["AE", "REG-ADT-1"]
    err = segment(answer, "ERR")
    assert err[2:4] == ["MSH^1^4", "103^Table value not found^HL70357"]
    assert facility in err[8]
    assert topic_size(server, ADT) == size

    answer = send(server, adt("A01", control_id="REG-ADT-2").encode())  # from county-hospital
    assert segment(answer, "MSA")[1:3] == ["AA", "REG-ADT-2"]
    assert topic_size(server, ADT) == size + 1
