"""TLS on both entries, with a self-signed certificate generated here: HTTPS serves the API
(and a plain-HTTP client gets nothing), MLLP over TLS takes an ORU^R01 and answers AA (and
a plain-TCP client gets no ACK)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.hl7_gateway.mllp import END_BLOCK, frame
from services.server import Server
from tests.ecg_payloads import ecg_payload
from tests.hl7_messages import oru_r01

TIMEOUT_S = 30.0  # a ceiling only: every exchange here ends long before
# X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT (OpenSSL): the peer's certificate is self-signed
# and not among the trusted ones.
SELF_SIGNED_NOT_TRUSTED = 18
TLS_ALERT = 0x15  # TLS record content type "alert" (RFC 8446, 5.1)


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "goldenhour-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "tls.crt", folder / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_server(make_server: Callable[..., Server], tmp_path: Path) -> tuple[Server, Path]:
    cert, key = self_signed(tmp_path)
    return make_server(tls_cert_file=cert, tls_key_file=key), cert


def client_context(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def test_https_serves_the_api_and_plain_http_gets_nothing(tls_server: tuple[Server, Path]) -> None:
    server, cert = tls_server
    assert server.base_url.startswith("https://")
    with httpx.Client(base_url=server.base_url, verify=client_context(cert), timeout=30) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/fhir/metadata").json()["resourceType"] == "CapabilityStatement"
    # Plain HTTP is not a TLS ClientHello: the server hangs up without an HTTP answer (a
    # timeout would be a server left waiting, and fails here: it is not a TimeoutException).
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)) as plain:
        httpx.get(server.base_url.replace("https://", "http://") + "/healthz", timeout=TIMEOUT_S)
    assert not isinstance(plain.value, httpx.TimeoutException)
    # A client that does not trust our certificate refuses it during the handshake.
    with pytest.raises(httpx.ConnectError) as untrusted:
        httpx.get(server.base_url + "/healthz", timeout=TIMEOUT_S)
    assert_certificate_refused(untrusted.value)


def causes(exc: BaseException) -> list[BaseException]:
    """`exc` and the exceptions it was raised from or during."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def assert_certificate_refused(exc: BaseException) -> None:
    """The failure is the TLS handshake's certificate check, not a refused or timed-out
    connection (which a server that is down would give)."""
    verify = [e for e in causes(exc) if isinstance(e, ssl.SSLCertVerificationError)]
    assert verify, f"not a certificate verify failure: {causes(exc)!r}"
    assert verify[0].verify_code == SELF_SIGNED_NOT_TRUSTED, verify[0]


def read_ack(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(END_BLOCK):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


def test_mllp_over_tls_is_acknowledged(tls_server: tuple[Server, Path]) -> None:
    server, cert = tls_server
    assert server.mllp is not None
    message = oru_r01(ecg_payload())
    raw = socket.create_connection(("127.0.0.1", server.mllp.port), timeout=TIMEOUT_S)
    with client_context(cert).wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        tls.sendall(frame(message.encode()))
        ack = read_ack(tls)
    assert "\rMSA|AA|" in ack, ack


def test_mllp_client_not_trusting_the_certificate_refuses_it(
    tls_server: tuple[Server, Path],
) -> None:
    server, _ = tls_server
    assert server.mllp is not None
    raw = socket.create_connection(("127.0.0.1", server.mllp.port), timeout=TIMEOUT_S)
    with pytest.raises(ssl.SSLCertVerificationError) as refused:
        ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")
    raw.close()
    assert refused.value.verify_code == SELF_SIGNED_NOT_TRUSTED, refused.value


def test_plain_mllp_to_a_tls_listener_gets_no_ack(tls_server: tuple[Server, Path]) -> None:
    """The listener hangs up on a plain-TCP peer (at most with a TLS alert record): no ACK,
    and no connection left open. A timeout (the listener waiting on the peer) fails."""
    server, _ = tls_server
    assert server.mllp is not None
    with socket.create_connection(("127.0.0.1", server.mllp.port), timeout=TIMEOUT_S) as raw:
        raw.sendall(frame(oru_r01(ecg_payload()).encode()))
        try:
            reply = read_until_closed(raw)
        except ConnectionResetError:  # closed with unread data: a reset, still a hang-up
            reply = b""
    assert b"MSA|" not in reply
    assert reply == b"" or reply[0] == TLS_ALERT, reply[:40]


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the peer sends until it closes; socket timeouts propagate."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data
