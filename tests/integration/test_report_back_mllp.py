"""The signed read goes back to the clinic that sent the ECG over HL7 v2, on each backend
pair: ECG in as ORU^R01 over MLLP -> claimed and signed over HTTP -> the report out as
ORU^R01 over MLLP to the clinic's own receiver (a real TCP server here), retried until
acknowledged AA, recorded once as `ReportDelivered`.

Most tests drive `ReportSender` directly with their own scheduling clock (`now`): no sleeps
decide an outcome. `test_serve_runs_the_report_sender_of_the_topology` leaves it to the
wiring a region runs: the topology's `hl7-report-sender` worker, started by `serve` with
`hl7_report_destinations`.
"""

from __future__ import annotations

import datetime as dt
import json
import socketserver
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from avro_schemas.catalogue import READING, dlq_topic
from services.hl7_gateway.er7 import split_segments, unescape
from services.hl7_gateway.mllp import END_BLOCK, START_BLOCK, frame
from services.hl7_gateway.report_sender import ReportSender, delivered_event_id
from services.server import Server
from services.settings import Settings
from stream_processors.diagnosis_queue.published import diagnostic_report_id
from stream_processors.report_outbox.fold import OutboxItem, outbox_item_id
from stream_processors.report_outbox.processor import PENDING_INDEX, PROCESSOR
from tests.conftest import delete_topics, drop_keyspace, free_port
from tests.ecg_payloads import ecg_payload
from tests.hl7_messages import oru_r01
from tests.integration.test_mllp_intake import exchange, msa
from tests.integration.test_poison_and_rebuild import dump, latest
from tests.integration.test_read_edits_and_addenda import beijing
from tests.processes import run_rebuild
from tests.waits import CEILING_S, wait_until

SITE = "clinic-baiyang"
OTHER_SITE = "clinic-heping"
INTERPRETATION = "Acute inferior STEMI | ST ↑ II, III, aVF. Activate cath lab."
STEMI = {
    "system": "http://snomed.info/sct",
    "code": "401303003",
    "display": "Acute ST segment elevation myocardial infarction",
}
HOUR = dt.timedelta(hours=1)


# -- the clinic's side: an MLLP receiver -------------------------------------------------


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # (b) and (c) listen on the port one after the other
    daemon_threads = True


class ClinicReceiver:
    """A clinic's HL7 receiver on 127.0.0.1:`port`: a TCP server thread that keeps every
    message it gets and answers each with MSA-1 `code`, echoing its MSH-10."""

    def __init__(self, port: int, code: str):
        self.port = port
        self.code = code
        self.received: list[str] = []
        receiver = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                buffer = b""
                while chunk := self.request.recv(65536):
                    buffer += chunk
                    while END_BLOCK in buffer:
                        payload, buffer = buffer.split(END_BLOCK, 1)
                        message = payload.removeprefix(START_BLOCK).decode()
                        receiver.received.append(message)
                        self.request.sendall(frame(receiver.ack(message).encode()))

        self._server = _Server(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def ack(self, message: str) -> str:
        control_id = message.split("\r")[0].split("|")[9]
        return (
            f"MSH|^~\\&|CLINIC-HIS|{SITE}|GOLDENHOUR||20261123180300+0800||ACK^R01^ACK|"
            f"a{len(self.received)}|P|2.5.1\rMSA|{self.code}|{control_id}|test answer\r"
        )

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receivers() -> Iterator[Callable[[int, str], ClinicReceiver]]:
    started: list[ClinicReceiver] = []

    def start(port: int, code: str) -> ClinicReceiver:
        started.append(ClinicReceiver(port, code))
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def clinic(receivers: Callable[[int, str], ClinicReceiver]) -> ClinicReceiver:
    """The clinic's receiver, up on a free port and accepting (AA) every message."""
    return receivers(free_port(), "AA")


# -- our side ----------------------------------------------------------------------------


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=60) as c:
        yield c


@pytest.fixture
def fold_outbox(server: Server) -> Callable[[], None]:
    """Wait until the system's own `report-outbox` runner has folded the log's end."""
    (runner,) = [r for r in server.system.runners if r.projection.name == PROCESSOR.name]

    def wait() -> None:
        wait_until(lambda: runner.lag() == 0, "report-outbox folding the log's end")

    return wait


@pytest.fixture
def signed_ecg(
    server: Server, client: httpx.Client, fold_outbox: Callable[[], None]
) -> Callable[..., dict[str, Any]]:
    """Send an ECG (over MLLP, or HTTP with `over_http`), sign it and wait for the outbox to
    fold it; the ECG's body. Keyword arguments go to `ecg_payload`."""

    def send_and_sign(*, over_http: bool = False, **payload: Any) -> dict[str, Any]:
        body = ecg_payload(**payload)
        if over_http:
            send_over_http(client, body)
        else:
            send_over_mllp(server, body)
        sign(client, body["ecg_id"])
        fold_outbox()
        return body

    return send_and_sign


def sender(server: Server, ports: dict[str, int]) -> ReportSender:
    return ReportSender(
        server.system,
        {s: ("127.0.0.1", p) for s, p in ports.items()},
        connect_timeout_s=2,
        ack_timeout_s=10,
    )


def send_over_mllp(server: Server, body: dict[str, Any]) -> None:
    assert server.mllp is not None
    message = oru_r01(body)
    assert msa(exchange(server.mllp, message))[0] == "AA"


def send_over_http(client: httpx.Client, body: dict[str, Any]) -> None:
    assert client.post("/ingest/ecg", json=body).status_code == 202


def sign(client: httpx.Client, ecg_id: str) -> dict[str, Any]:
    """Wait for the ECG in the queue, claim it and sign it as dr-li; the claimed item."""
    wait_until(
        lambda: ecg_id in [i["ecg_id"] for i in client.get("/reading/queue").json()],
        f"{ecg_id} in the read queue",
    )
    claimed = client.post("/reading/claims", json={"reader_id": "dr-li", "ecg_id": ecg_id})
    assert claimed.status_code == 200, claimed.text
    signed = client.post(
        f"/reading/ecg/{ecg_id}/report",
        json={"reader_id": "dr-li", "interpretation": INTERPRETATION, "codes": [STEMI]},
    )
    assert signed.status_code == 200, signed.text
    patient = f"/fhir/{claimed.json()['patient_ref']}"  # the PID's source
    wait_until(lambda: client.get(patient).status_code == 200, f"{patient} readable")
    return dict(claimed.json())


def pending(server: Server, site: str = SITE) -> list[str]:
    return [rid for _, rid in server.system.store.lookup(PENDING_INDEX, site)]


def outbox_item(server: Server, ecg_id: str) -> OutboxItem:
    stored = server.system.store.read("OutboxItem", outbox_item_id(ecg_id))
    assert stored is not None
    return OutboxItem.from_json(json.loads(stored.body))


def deliveries_in_log(server: Server, ecg_id: str) -> int:
    log = server.system.log
    return sum(
        1
        for p in range(log.partition_count(READING))
        for r in log.read(READING, p, 0)
        if r.event_id == delivered_event_id(ecg_id)
    )


def fields(message: str, segment: str) -> list[list[str]]:
    return [s.split("|") for s in split_segments(message) if s.startswith(segment + "|")]


def nothing_sent(counts: dict[str, int]) -> bool:
    return all(v == 0 for k, v in counts.items() if k != "deferred")


# -- tests -------------------------------------------------------------------------------


def test_report_goes_back_over_mllp_retried_until_acknowledged_once(
    server: Server,
    signed_ecg: Callable[..., dict[str, Any]],
    fold_outbox: Callable[[], None],
    receivers: Callable[[int, str], ClinicReceiver],
) -> None:
    ecg_id = signed_ecg()["ecg_id"]
    assert pending(server) == [outbox_item_id(ecg_id)]
    port = free_port()
    out = sender(server, {SITE: port})
    t0 = dt.datetime.now(dt.UTC)

    # (a) the clinic's receiver is down: refused, nothing delivered, the clinic backs off
    counts = out.deliver_pending(t0)
    assert counts["unreachable"] == 1 and counts["delivered"] == 0
    assert out.deliver_pending(t0 + dt.timedelta(seconds=1))["deferred"] == 1
    fold_outbox()
    assert pending(server) == [outbox_item_id(ecg_id)]

    # (b) it answers AE: still owed
    rejecting = receivers(port, "AE")
    counts = out.deliver_pending(t0 + HOUR)
    assert counts["rejected"] == 1 and counts["delivered"] == 0
    assert len(rejecting.received) == 1
    fold_outbox()
    assert pending(server) == [outbox_item_id(ecg_id)]
    rejecting.stop()

    # (c) it answers AA: delivered, recorded once
    accepting = receivers(port, "AA")
    counts = out.deliver_pending(t0 + 2 * HOUR)
    assert counts["delivered"] == 1
    assert nothing_sent(out.deliver_pending(t0 + 3 * HOUR))  # before the fold, too
    fold_outbox()
    assert pending(server) == []
    assert nothing_sent(out.deliver_pending(t0 + 4 * HOUR))
    assert nothing_sent(sender(server, {SITE: port}).deliver_pending(t0 + 5 * HOUR))  # restart
    assert len(accepting.received) == 1

    message = accepting.received[0]
    (msh,), (obr,) = fields(message, "MSH"), fields(message, "OBR")
    obxs = fields(message, "OBX")
    assert msh[8] == "ORU^R01^ORU_R01" and msh[5] == SITE
    assert msh[9] == fields(rejecting.received[0], "MSH")[0][9]  # a resend keeps MSH-10
    assert obr[3] == ecg_id
    assert unescape(obxs[0][5]) == INTERPRETATION
    assert obxs[1][2] == "CWE" and obxs[1][5].startswith("401303003^")
    assert fields(message, "PID")[0][3].startswith("11010519491231002X^^^CHN^NNCHN")

    item = outbox_item(server, ecg_id)
    assert item.delivered and item.delivery["ack_control_id"] == msh[9]
    assert item.delivery["attempts"] == 3
    assert deliveries_in_log(server, ecg_id) == 1


def test_ecg_sent_over_http_is_never_sent_over_mllp(
    server: Server, signed_ecg: Callable[..., dict[str, Any]], clinic: ClinicReceiver
) -> None:
    body = signed_ecg(over_http=True)
    assert nothing_sent(sender(server, {SITE: clinic.port}).deliver_pending())
    assert clinic.received == [] and pending(server) == []
    assert server.system.store.read("OutboxItem", outbox_item_id(body["ecg_id"])) is None


def test_one_clinic_down_does_not_hold_back_another(
    server: Server,
    signed_ecg: Callable[..., dict[str, Any]],
    fold_outbox: Callable[[], None],
    clinic: ClinicReceiver,
) -> None:
    here = signed_ecg()
    signed_ecg(site={"id": OTHER_SITE, "name": "和平乡卫生院", "kind": "clinic"})
    counts = sender(server, {OTHER_SITE: free_port(), SITE: clinic.port}).deliver_pending()
    assert (counts["delivered"], counts["unreachable"]) == (1, 1)
    assert [fields(m, "OBR")[0][3] for m in clinic.received] == [here["ecg_id"]]
    fold_outbox()
    assert pending(server, SITE) == [] and pending(server, OTHER_SITE) != []


def test_background_run_delivers_and_stops(
    server: Server, signed_ecg: Callable[..., dict[str, Any]], clinic: ClinicReceiver
) -> None:
    body = signed_ecg()
    stop = threading.Event()
    thread = threading.Thread(target=sender(server, {SITE: clinic.port}).run, args=(stop, 0.05))
    thread.start()
    try:
        wait_until(
            lambda: deliveries_in_log(server, body["ecg_id"]), "the background sender's delivery"
        )
    finally:
        stop.set()
        thread.join(timeout=CEILING_S)
    assert not thread.is_alive() and len(clinic.received) == 1


def test_serve_runs_the_report_sender_of_the_topology(
    make_server: Callable[..., Server], clinic: ClinicReceiver
) -> None:
    server = make_server(hl7_report_destinations={SITE: f"127.0.0.1:{clinic.port}"})
    body = ecg_payload()
    send_over_mllp(server, body)
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        sign(client, body["ecg_id"])
    wait_until(
        lambda: deliveries_in_log(server, body["ecg_id"]), "serve's hl7-report-sender delivery"
    )
    assert [fields(m, "OBR")[0][3] for m in clinic.received] == [body["ecg_id"]]


def test_report_delivered_is_no_poison_to_other_processors_of_the_topic(
    server: Server,
    signed_ecg: Callable[..., dict[str, Any]],
    fold_outbox: Callable[[], None],
    clinic: ClinicReceiver,
) -> None:
    signed_ecg()
    assert sender(server, {SITE: clinic.port}).deliver_pending()["delivered"] == 1
    fold_outbox()
    # every processor of diagnosis.reading has seen it
    wait_until(lambda: server.system.lag() == 0, "every processor folding the log's end")
    log = server.system.log
    dlq = dlq_topic(READING)
    letters = [
        server.system.codec.decode(r.value)[1]
        for p in range(log.partition_count(dlq))
        for r in log.read(dlq, p, 0)
    ]
    assert [(x["processor"], x["reason"]) for x in letters] == []


def test_addendum_goes_back_as_a_corrected_report_once(
    server: Server,
    client: httpx.Client,
    signed_ecg: Callable[..., dict[str, Any]],
    fold_outbox: Callable[[], None],
    clinic: ClinicReceiver,
) -> None:
    """HL7 v2.5.1 table 0123 / 0085: C, a correction replacing the final result."""
    ecg_id = signed_ecg()["ecg_id"]
    out = sender(server, {SITE: clinic.port})
    t0 = dt.datetime.now(dt.UTC)
    assert out.deliver_pending(t0)["delivered"] == 1
    fold_outbox()
    assert pending(server) == []

    addendum = {"reader_id": "dr-zhang", "addendum": "QTc 470 ms on review.", "event_id": "a-1"}
    amended = client.post(f"/reading/ecg/{ecg_id}/addendum", json=addendum)
    assert amended.status_code == 200, amended.text
    fold_outbox()
    assert pending(server) == [outbox_item_id(ecg_id)]
    counts = out.deliver_pending(t0 + HOUR)
    assert counts["delivered"] == 1, counts
    fold_outbox()
    assert pending(server) == []
    assert nothing_sent(out.deliver_pending(t0 + 2 * HOUR))

    first, corrected = clinic.received
    assert fields(first, "OBR")[0][25] == "F"
    (obr,) = fields(corrected, "OBR")
    assert obr[25] == "C" and obr[32] == "dr-zhang"
    assert {o[11] for o in fields(corrected, "OBX")} == {"C"}
    assert fields(corrected, "MSH")[0][9] != fields(first, "MSH")[0][9]
    text = unescape(fields(corrected, "OBX")[0][5]).replace("\\.br\\", "\n")
    line = (
        f"补充报告 Addendum {beijing(amended.json()['addenda'][0])} dr-zhang: QTc 470 ms on review."
    )
    assert text == f"{INTERPRETATION}\n\n{line}"


def test_rebuild_writes_the_same_addendum_in_the_report_and_the_outbox(settings: Settings) -> None:
    """The addendum line depends on its event alone (no wall clock, no request language): a
    rebuild from offset zero writes the same amended DiagnosticReport and the same report
    owed to the clinic, byte for byte, both with the same line."""
    try:
        ecg_id, line = amend_a_signed_read(settings)
        before = amended_views(settings)
        report = json.loads(before["DiagnosticReport", diagnostic_report_id(ecg_id)])
        owed = json.loads(before["OutboxItem", outbox_item_id(ecg_id)])
        expected = f"{INTERPRETATION}\n\n{line}"
        assert report["conclusion"] == owed["report"]["interpretation"] == expected

        done = run_rebuild(settings)
        assert done.returncode == 0, done.stderr
        assert amended_views(settings) == before
    finally:
        drop_keyspace(settings.store_url)
        delete_topics(settings.log_url)


def amend_a_signed_read(settings: Settings) -> tuple[str, str]:
    """An ECG over MLLP, signed by dr-li and amended by dr-zhang (whose page is in English);
    every processor folds it all, then the server stops. The ECG's id and the addendum line
    the clinic should read."""
    server = Server(settings)
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            body = ecg_payload()
            send_over_mllp(server, body)
            sign(client, body["ecg_id"])
            add = {"reader_id": "dr-zhang", "addendum": "QTc 470 ms on review."}
            added = client.post(
                f"/reading/ecg/{body['ecg_id']}/addendum",
                json=add,
                headers={"Accept-Language": "en"},
            )
            assert added.status_code == 200, added.text
            wait_until(lambda: server.system.lag() == 0, "every processor folding the log's end")
    finally:
        server.stop()
    when = beijing(added.json()["addenda"][0])
    return body["ecg_id"], f"补充报告 Addendum {when} dr-zhang: QTc 470 ms on review."


def amended_views(settings: Settings) -> dict[tuple[str, str], bytes]:
    """The latest DiagnosticReport and OutboxItem bodies in the store."""
    kinds = ("DiagnosticReport", "OutboxItem")
    return {k: v for k, v in latest(dump(settings)).items() if k[0] in kinds}
