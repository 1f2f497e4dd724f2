"""MLLP peers by sending facility + source address, over a real socket, on each backend
pair: a configured facility from its address gets AA; an unknown facility, or a known one
from another address, gets AR with an ERR naming MSH-4, and nothing reaches the log; every
handled frame is in the access audit."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import pytest

from avro_schemas.catalogue import AUDIT, CLINIC_ECG
from services.hl7_gateway.mllp import END_BLOCK, frame
from services.server import Server
from tests.ecg_payloads import ecg_payload
from tests.hl7_messages import oru_r01

TIMEOUT_S = 30.0


def send(server: Server, message: str) -> list[list[str]]:
    assert server.mllp is not None
    with socket.create_connection(("127.0.0.1", server.mllp.port), timeout=TIMEOUT_S) as sock:
        sock.sendall(frame(message.encode()))
        data = b""
        while not data.endswith(END_BLOCK):
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    return [s.split("|") for s in data[1:-2].decode().split("\r") if s]


def count(server: Server, topic: str) -> int:
    return sum(server.system.log.end_offsets(topic).values())


def message_from(site: str) -> str:
    body = ecg_payload()
    body["site"] = {**body["site"], "id": site}
    return oru_r01(body)


def test_peers_are_checked_by_facility_and_address(make_server: Callable[..., Server]) -> None:
    server = make_server(
        hl7_peers={"clinic-baiyang": ["127.0.0.0/8"], "clinic-far": ["10.9.0.0/16"]}
    )
    ok = send(server, message_from("clinic-baiyang"))
    assert ok[1][1] == "AA", ok
    ecgs = count(server, CLINIC_ECG)
    for site, why in (
        ("clinic-unknown", "not a configured peer"),
        ("clinic-far", "may not send from 127.0.0.1"),
    ):
        ack = send(server, message_from(site))
        assert ack[1][1] == "AR", ack
        assert why in ack[1][3]
        err = next(s for s in ack if s[0] == "ERR")
        assert err[2] == "MSH^1^4" and err[3].startswith("103^")
    assert count(server, CLINIC_ECG) == ecgs  # refused frames wrote nothing
    assert count(server, AUDIT) >= 3  # the accepted frame and both refusals


def test_no_peer_table_admits_every_peer_only_with_auth_off(
    make_server: Callable[..., Server],
) -> None:
    server = make_server()
    assert send(server, message_from("clinic-anywhere"))[1][1] == "AA"


def test_with_auth_on_an_unregistered_peer_is_refused(make_server: Callable[..., Server]) -> None:
    server = make_server(auth_required=True, auth_dev_issuer=True)
    ecgs = count(server, CLINIC_ECG)
    ack = send(server, message_from("clinic-anywhere"))
    assert ack[1][1] == "AR" and "not a configured peer" in ack[1][3], ack
    assert next(s for s in ack if s[0] == "ERR")[2] == "MSH^1^4"
    assert count(server, CLINIC_ECG) == ecgs


def test_refusal_logs_do_not_quote_patient_data(
    make_server: Callable[..., Server], caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server()
    bad_birth_date = "110101199013450012"  # month 13: the refusal quotes 19901345 to the sender
    with caplog.at_level(logging.INFO):
        ack = send(server, oru_r01(ecg_payload(resident=bad_birth_date)))
    assert ack[1][1] == "AE" and "19901345" in ack[1][3]
    assert "AE" in caplog.text and "19901345" not in caplog.text
    assert bad_birth_date not in caplog.text and "王" not in caplog.text
