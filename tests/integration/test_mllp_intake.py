"""ECG intake over a real MLLP socket, on each backend pair: ORU^R01 -> ACK -> EcgSubmitted in
the log -> FHIR Observation over HTTP. The listener runs beside the `server` fixture's system."""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from avro_schemas.catalogue import AUDIT, CLINIC_ECG
from kernel.codes import MDC
from kernel.ids import ecg_observation_id
from services.hl7_gateway.listener import MllpListener
from services.hl7_gateway.mllp import END_BLOCK, START_BLOCK, frame
from services.server import Server
from tests.ecg_payloads import ecg_payload
from tests.hl7_messages import oru_r01, set_field
from tests.standard_codes import LEAD_ORDER, MDC_LEADS

WAIT_ATTEMPTS = 200  # x 0.1 s
SOCKET_TIMEOUT_S = 30.0


@pytest.fixture
def mllp(server: Server) -> Iterator[MllpListener]:
    """The listener `goldenhour serve` runs (on a free port in tests)."""
    assert server.mllp is not None
    yield server.mllp


def connect(listener: MllpListener) -> socket.socket:
    return socket.create_connection(("127.0.0.1", listener.port), timeout=SOCKET_TIMEOUT_S)


def read_ack(sock: socket.socket) -> list[list[str]]:
    """One ACK frame from the socket, as segments of fields."""
    data = b""
    while not data.endswith(END_BLOCK):
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a complete ACK: {data!r}"
        data += chunk
    assert data.startswith(START_BLOCK)
    text = data[1:-2].decode()
    return [segment.split("|") for segment in text.split("\r") if segment]


def exchange(listener: MllpListener, message: str) -> list[list[str]]:
    with connect(listener) as sock:
        sock.sendall(frame(message.encode()))
        return read_ack(sock)


def msa(ack: list[list[str]]) -> tuple[str, str]:
    return ack[1][1], ack[1][2]


def log_size(server: Server) -> int:
    return sum(server.system.log.end_offsets(CLINIC_ECG).values())


def wait_for(url: str) -> httpx.Response:
    for _ in range(WAIT_ATTEMPTS):
        resp = httpx.get(url, timeout=10)
        if resp.status_code == 200:
            return resp
        time.sleep(0.1)
    raise AssertionError(f"{url} never became available (last: {resp.status_code})")


def test_oru_r01_is_acknowledged_and_becomes_a_fhir_observation(
    server: Server, mllp: MllpListener
) -> None:
    body = ecg_payload()
    ack = exchange(mllp, oru_r01(body, control_id="CART017-0001"))
    assert msa(ack) == ("AA", "CART017-0001")
    assert ack[0][8] == "ACK^R01^ACK"
    obs = wait_for(
        f"{server.base_url}/fhir/Observation/{ecg_observation_id(body['ecg_id'])}"
    ).json()
    leads = [c for c in obs["component"] if c["code"]["coding"][0]["system"] == MDC]
    # the cart's lead codes (written from ISO/IEEE 11073-10101) come out as they went in
    assert [c["code"]["coding"][0]["code"] for c in leads] == [MDC_LEADS[n][0] for n in LEAD_ORDER]
    assert [int(x) for x in leads[1]["valueSampledData"]["data"].split()] == body["leads"]["II"]
    effective = dt.datetime.fromisoformat(obs["effectiveDateTime"])
    assert effective == dt.datetime.fromisoformat(body["acquired_at"])


def test_resent_message_is_acknowledged_again_without_a_second_event(
    server: Server, mllp: MllpListener
) -> None:
    message = oru_r01(ecg_payload(), control_id="CART017-0002")
    assert msa(exchange(mllp, message)) == ("AA", "CART017-0002")
    size = log_size(server)
    again = exchange(mllp, message)
    assert msa(again) == ("AA", "CART017-0002")
    assert log_size(server) == size


def test_oru_without_pid_3_is_ae_naming_pid_1_3_and_nothing_is_appended(
    server: Server, mllp: MllpListener
) -> None:
    size = log_size(server)
    message = set_field(oru_r01(ecg_payload(), control_id="CART017-0003"), "PID", 3, "")
    ack = exchange(mllp, message)
    assert msa(ack) == ("AE", "CART017-0003")
    err = ack[2]
    assert err[0] == "ERR" and err[2] == "PID^1^3"
    assert err[3] == "101^Required field missing^HL70357" and err[4] == "E"
    assert log_size(server) == size


def test_every_exchange_is_audited_once_with_the_status_of_its_answer(
    server: Server, mllp: MllpListener
) -> None:
    # An accepted ORU's record rides in its ECG's commit; a resend (a new exchange, nothing
    # new stored), an AE and an AR are recorded on their own. Each exactly once.
    before = Counter(audited_exchanges(server))
    accepted = oru_r01(ecg_payload(), control_id="AUDIT-0001")
    refused = set_field(oru_r01(ecg_payload(), control_id="AUDIT-0002"), "PID", 3, "")
    order = (
        "MSH|^~\\&|CART|clinic-baiyang|GH|COUNTY|20261207101500+0800||ORM^O01|AUDIT-0003|P|2.5\r"
    )
    answers = [msa(exchange(mllp, m)) for m in (accepted, accepted, refused, order)]
    assert answers == [
        ("AA", "AUDIT-0001"),
        ("AA", "AUDIT-0001"),
        ("AE", "AUDIT-0002"),
        ("AR", "AUDIT-0003"),
    ]
    assert Counter(audited_exchanges(server)) - before == Counter(
        {("AUDIT-0001", 200): 2, ("AUDIT-0002", 400): 1, ("AUDIT-0003", 422): 1}
    )


def audited_exchanges(server: Server) -> list[tuple[str, int]]:
    """(control id, status) of every MLLP exchange in the access audit."""
    log, out = server.system.log, []
    for tp, end in log.end_offsets(AUDIT).items():
        for record in log.read(AUDIT, tp.partition, 0, end):
            event = server.system.codec.decode(record.value)[1]
            if event["channel"] == "mllp":
                out.append((event["path"], event["status"]))
    return out


def test_other_message_type_is_rejected_ar(server: Server, mllp: MllpListener) -> None:
    size = log_size(server)
    # ADT goes to the ADT intake (tests/integration/test_adt_mllp.py); an order is refused.
    adt = "MSH|^~\\&|HIS|county|GOLDENHOUR|COUNTY|20261123180211+0800||ORM^O01^ORM_O01|adt-1|P|2.5\rPID|1||1^^^H^MR\r"
    ack = exchange(mllp, adt)
    assert msa(ack) == ("AR", "adt-1")
    assert ack[2][3].startswith("200^")
    assert log_size(server) == size


def test_frames_on_one_connection_are_answered_in_order(mllp: MllpListener) -> None:
    messages = [oru_r01(ecg_payload(seed=s), control_id=f"CART017-1{s}") for s in range(3)]
    with connect(mllp) as sock:
        sock.sendall(b"".join(frame(m.encode()) for m in messages))
        acks = [read_ack(sock) for _ in messages]
    assert [msa(a) for a in acks] == [("AA", f"CART017-1{s}") for s in range(3)]


def test_truncated_frame_does_not_hurt_the_server(server: Server, mllp: MllpListener) -> None:
    message = oru_r01(ecg_payload(), control_id="CART017-0004").encode()
    size = log_size(server)
    with connect(mllp) as sock:
        sock.sendall(START_BLOCK + message[: len(message) // 2])
    time.sleep(0.2)  # let the listener see the close mid-frame
    assert log_size(server) == size
    assert msa(exchange(mllp, message.decode())) == ("AA", "CART017-0004")
    assert log_size(server) == size + 1


def test_junk_before_start_block_closes_only_that_connection(mllp: MllpListener) -> None:
    with connect(mllp) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100) == b""  # closed by the listener, no answer
    assert msa(exchange(mllp, oru_r01(ecg_payload(), control_id="CART017-0005")))[0] == "AA"


def test_oversized_frame_is_answered_ar_and_the_connection_carries_on(server: Server) -> None:
    listener = MllpListener(server.system, "127.0.0.1", 0, max_frame_bytes=10_000)
    listener.start()
    try:
        with connect(listener) as sock:
            sock.sendall(frame(oru_r01(ecg_payload(), control_id="CART017-0006").encode()))
            ack = read_ack(sock)
            sock.sendall(frame(set_field(oru_r01(ecg_payload()), "MSH", 9, "ADT^A01").encode()))
            next_ack = read_ack(sock)
        assert msa(ack) == ("AR", "CART017-0006")
        assert "exceeds 10000 bytes" in ack[2][8]
        assert msa(next_ack)[0] == "AR"  # answered, so the connection was still in sync
    finally:
        listener.stop()


def test_listener_on_a_port_in_use_fails_to_start(server: Server, mllp: MllpListener) -> None:
    with pytest.raises(RuntimeError, match="did not start"):
        MllpListener(server.system, "127.0.0.1", mllp.port).start()
