"""Sends signed ECG reads back to the clinics that sent the ECGs over HL7 v2: one ORU^R01
(`oru_report.py`) per report, over MLLP, until the clinic acknowledges it.

An event-sourced outbox. The `report-outbox` processor keeps the lookup of owed reports per
destination site (`OutboxItem.pending`); this sender reads it, sends, and on an accepting
ACK appends `ReportDelivered`, which takes the item out of the lookup. Delivery reasoning:

1. At least once. A report is sent until an ACK with MSA-1 AA (or CA) echoing our MSH-10
   comes back, then `ReportDelivered` is appended. A crash between the two resends the
   report: the same MSH-10 (derived from ECG + report), so the clinic can see it is a
   duplicate. `ReportDelivered`'s event id derives from the ECG, so recording twice is once.
2. Until the processor has folded our `ReportDelivered`, the item is still in the lookup;
   the sender remembers what it recorded (in memory) and does not resend it meanwhile.
3. No head-of-line blocking. Destinations are worked independently (in parallel in
   `deliver_pending`, one thread each in `run`): a clinic that is down delays no other.
   Within a destination, a connection failure (refused, timeout, closed, garbled ACK) ends
   the round and backs the *destination* off; a negative ACK (AE, AR, CE, CR) concerns that
   one message: it is backed off alone and the clinic's other reports go on.
4. Backoff is exponential, from `backoff_first_s` (5 s) doubling to `backoff_max_s`
   (10 min), and kept in memory: a restart resets it and simply retries everything owed,
   which the derived MSH-10 makes safe. The `attempts` recorded count sends since start.
5. Timestamps: `now` given to `deliver_pending`/`deliver_to` is the scheduling clock (tests
   pass their own); messages and events are stamped with the wall clock.

Logs name the site, ECG id, control id and ACK code; never the patient, nor MSA-3/ERR text
(a clinic's error text may quote patient data).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
from collections import Counter
from collections.abc import Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from avro_schemas.catalogue import READING
from avro_schemas.events import REPORT_DELIVERED
from eventlog.base import LogUnavailable
from kernel.event_meta import system_meta
from services.hl7_gateway import er7
from services.hl7_gateway.errors import Hl7Error
from services.hl7_gateway.mllp import FrameDecoder, FramingError, Oversized, frame
from services.hl7_gateway.oru_report import build_oru, control_id, encode
from services.ingest.submit import append_event
from services.system import System
from stream_processors.report_outbox.published import PENDING_INDEX, OutboxItem

log = logging.getLogger("goldenhour.hl7.report")

CHANNEL = "mllp"
ACCEPTED = frozenset({"AA", "CA"})  # original and enhanced mode "accepted"
CONNECT_TIMEOUT_S = 5.0
ACK_TIMEOUT_S = 30.0  # a clinic system writing the report to its database before answering
BACKOFF_FIRST_S = 5.0
BACKOFF_MAX_S = 600.0  # 10 min: a clinic back up is served within 10 min
MAX_PARALLEL = 16  # destinations worked at once by `deliver_pending`
ACK_MAX_BYTES = 64 * 1024
COUNT_KEYS = ("delivered", "rejected", "unreachable", "deferred", "waiting", "unrecorded", "errors")

Address = tuple[str, int]


class Unreachable(Exception):
    """No usable answer from the destination: refused, timed out, closed, or not an ACK
    to our message. Concerns the destination, not the message."""


class Backoff:
    """Exponential backoff per key, in memory: after n consecutive failures a key waits
    first_s * 2^(n-1), at most max_s. Thread-safe."""

    def __init__(self, first_s: float = BACKOFF_FIRST_S, max_s: float = BACKOFF_MAX_S):
        self.first_s = first_s
        self.max_s = max_s
        self._failures: dict[Hashable, tuple[int, dt.datetime]] = {}
        self._lock = threading.Lock()

    def ready(self, key: Hashable, now: dt.datetime) -> bool:
        with self._lock:
            entry = self._failures.get(key)
        return entry is None or now >= entry[1]

    def failed(self, key: Hashable, now: dt.datetime) -> float:
        """Record a failure; returns the wait in seconds before the next attempt."""
        with self._lock:
            count = self._failures.get(key, (0, now))[0] + 1
            wait = float(min(self.max_s, self.first_s * 2 ** (count - 1)))
            self._failures[key] = (count, now + dt.timedelta(seconds=wait))
        return wait

    def succeeded(self, key: Hashable) -> None:
        with self._lock:
            self._failures.pop(key, None)


def parse_destinations(raw: Mapping[str, str]) -> dict[str, Address]:
    """Settings' {site id: "host:port"} (IPv6 as "[::1]:2575") as socket addresses."""
    out = {}
    for site, target in raw.items():
        host, sep, port = target.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"report destination of {site!r} must be host:port, got {target!r}")
        out[site] = (host.strip("[]"), int(port))
    return out


@dataclass(frozen=True)
class Ack:
    code: str  # MSA-1
    control_id: str  # MSA-2


def exchange(
    address: Address, payload: bytes, connect_timeout_s: float, ack_timeout_s: float
) -> bytes:
    """Send one framed message on a new connection and return the first frame answered."""
    try:
        with socket.create_connection(address, timeout=connect_timeout_s) as sock:
            sock.settimeout(ack_timeout_s)
            sock.sendall(frame(payload))
            return _read_frame(sock)
    except (OSError, FramingError) as exc:  # refused, unreachable, timeout, reset, junk
        raise Unreachable(f"{type(exc).__name__}: {exc}") from exc


def _read_frame(sock: socket.socket) -> bytes:
    decoder = FrameDecoder(ACK_MAX_BYTES)
    while True:
        data = sock.recv(65536)
        if not data:
            decoder.close()  # raises TruncatedFrame when it ended mid-frame
            raise Unreachable("connection closed without an ACK")
        for item in decoder.feed(data):
            if isinstance(item, Oversized):
                raise Unreachable(f"answer {item}")
            return item


def read_ack(payload: bytes) -> Ack:
    """MSA-1 and MSA-2 of an ACK, in the separators and charset it declares."""
    try:
        segments = er7.split_segments(er7.decode(payload))
        seps = er7.read_header(segments).separators
    except Hl7Error as exc:
        raise Unreachable(f"answer is not an HL7 ACK: {exc}") from exc
    for segment in segments:
        fields = segment.split(seps.field)
        if fields[0] == "MSA" and len(fields) > 2:
            return Ack(er7.unescape(fields[1], seps).strip(), er7.unescape(fields[2], seps))
    raise Unreachable("answer has no MSA segment")


class ReportSender:
    """Delivers owed reports to `destinations` ({site id: (host, port)}); sites without an
    entry are not served (their items stay pending)."""

    def __init__(
        self,
        system: System,
        destinations: dict[str, Address],
        *,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        ack_timeout_s: float = ACK_TIMEOUT_S,
        backoff_first_s: float = BACKOFF_FIRST_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ):
        self.system = system
        self.destinations = dict(destinations)
        self.connect_timeout_s = connect_timeout_s
        self.ack_timeout_s = ack_timeout_s
        self.backoff = Backoff(backoff_first_s, backoff_max_s)
        self._locks = {site: threading.Lock() for site in self.destinations}
        # (ecg id, report event id): an addendum's corrected report is owed anew.
        self._recorded: dict[str, set[tuple[str, str]]] = {s: set() for s in self.destinations}
        self._attempts: Counter[tuple[str, str]] = Counter()

    # -- rounds ---------------------------------------------------------------------------

    def deliver_pending(self, now: dt.datetime | None = None) -> dict[str, int]:
        """One round over every destination, in parallel; returns the summed counts of
        reports: delivered, rejected (negative ACK), unreachable (connection-level failure),
        deferred (backing off), waiting (the Patient is not in the view yet), unrecorded
        (acknowledged, but the log did not take `ReportDelivered`: resent next round); and
        errors: destinations whose round failed (e.g. the view store is down)."""
        now = now or dt.datetime.now(dt.UTC)
        total: Counter[str] = Counter({k: 0 for k in COUNT_KEYS})
        if not self.destinations:
            return dict(total)
        workers = min(MAX_PARALLEL, len(self.destinations))
        with ThreadPoolExecutor(workers, thread_name_prefix="hl7-report") as pool:
            for counts in pool.map(lambda s: self._round(s, now), self.destinations):
                total.update(counts)
        return dict(total)

    def _round(self, site: str, now: dt.datetime) -> Counter[str]:
        try:
            return self.deliver_to(site, now)
        except Exception:  # the next round retries; other destinations are unaffected
            log.exception("report delivery round for %s failed", site)
            return Counter(errors=1)

    def deliver_to(self, site: str, now: dt.datetime) -> Counter[str]:
        """One round for one destination: its owed reports, oldest signature first."""
        with self._locks[site]:
            items = self._pending(site)
            if not self.backoff.ready(site, now):
                return Counter(deferred=len(items))
            counts: Counter[str] = Counter()
            for n, item in enumerate(items):
                outcome = self._deliver_one(site, item, now)
                counts[outcome] += 1
                if outcome == "unreachable":
                    counts["deferred"] += len(items) - n - 1
                    break
            return counts

    def run(self, stop: threading.Event, interval_s: float) -> None:
        """Serve every destination until `stop` is set, each in its own thread (for a
        background thread of the server)."""
        threads = [
            threading.Thread(
                target=self._serve,
                args=(site, stop, interval_s),
                name=f"hl7-report-{site}",
                daemon=True,
            )
            for site in self.destinations
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _serve(self, site: str, stop: threading.Event, interval_s: float) -> None:
        while not stop.is_set():
            self._round(site, dt.datetime.now(dt.UTC))
            stop.wait(interval_s)

    # -- one report -----------------------------------------------------------------------

    def _pending(self, site: str) -> list[OutboxItem]:
        """Owed items, minus those whose delivery we recorded and the view not yet folded."""
        items = [
            item
            for _, rid in self.system.store.lookup(PENDING_INDEX, site)
            if (item := self._item(rid)) is not None and item.pending
        ]
        owed = {_sent_key(item) for item in items}
        self._recorded[site] &= owed  # folded ones left the lookup: forget them
        fresh = [item for item in items if _sent_key(item) not in self._recorded[site]]
        return sorted(fresh, key=lambda i: (i.report["signed_at"], i.ecg_id))

    def _item(self, rid: str) -> OutboxItem | None:
        stored = self.system.store.read("OutboxItem", rid)
        return None if stored is None else OutboxItem.from_json(_body(stored.body))

    def _patient(self, item: OutboxItem) -> dict[str, Any] | None:
        rtype, _, pid = item.patient_ref.partition("/")
        stored = self.system.store.read(rtype, pid) if rtype == "Patient" and pid else None
        return None if stored is None else _body(stored.body)

    def _deliver_one(self, site: str, item: OutboxItem, now: dt.datetime) -> str:
        """Send one report; returns the count key of its outcome."""
        key = (site, item.ecg_id)
        if not self.backoff.ready(key, now):
            return "deferred"
        patient = self._patient(item)
        if patient is None:  # the FHIR projector has not folded the ECG's Patient yet
            return "waiting"
        expected = control_id(item.ecg_id, item.report["event_id"])
        self._attempts[key] += 1
        try:
            ack = self._send(site, item, patient, expected)
        except Unreachable as exc:
            wait = self.backoff.failed(site, now)
            log.warning(
                "report %s to %s: unreachable (%s); retry in %.0f s", item.ecg_id, site, exc, wait
            )
            return "unreachable"
        self.backoff.succeeded(site)
        return self._settle(site, item, ack, now)

    def _settle(self, site: str, item: OutboxItem, ack: Ack, now: dt.datetime) -> str:
        """After an answer: back the message off (negative ACK) or record the delivery."""
        if ack.code not in ACCEPTED:
            wait = self.backoff.failed((site, item.ecg_id), now)
            log.warning(
                "report %s to %s: %s %s; retry in %.0f s",
                item.ecg_id,
                site,
                ack.code,
                ack.control_id,
                wait,
            )
            return "rejected"
        try:
            self._record(site, item, ack)
        except LogUnavailable as exc:
            log.warning(
                "report %s to %s: acknowledged, not recorded (%s); resent next round "
                "with the same MSH-10",
                item.ecg_id,
                site,
                exc,
            )
            return "unrecorded"
        return "delivered"

    def _send(self, site: str, item: OutboxItem, patient: dict[str, Any], expected: str) -> Ack:
        message = build_oru(item, patient, dt.datetime.now(dt.UTC))
        answer = exchange(
            self.destinations[site], encode(message), self.connect_timeout_s, self.ack_timeout_s
        )
        ack = read_ack(answer)
        if ack.control_id != expected:
            raise Unreachable(f"ACK names MSH-10 {ack.control_id!r}, we sent {expected!r}")
        return ack

    def _record(self, site: str, item: OutboxItem, ack: Ack) -> None:
        key = (site, item.ecg_id)
        event_id = delivered_event_id(
            item.ecg_id, item.report["event_id"] if item.report.get("result_status") else None
        )
        append_event(
            self.system,
            READING,
            item.ecg_id,
            REPORT_DELIVERED,
            {
                "meta": system_meta(event_id, item.reading_centre_id or None),
                "ecg_id": item.ecg_id,
                "destination": site,
                "channel": CHANNEL,
                "ack_control_id": ack.control_id,
                "attempts": self._attempts[key],
                "report_event_id": item.report["event_id"],
            },
        )
        self._recorded[site].add(_sent_key(item))
        self.backoff.succeeded(key)
        del self._attempts[key]
        log.info("report %s to %s: %s %s", item.ecg_id, site, ack.code, ack.control_id)


def _sent_key(item: OutboxItem) -> tuple[str, str]:
    return (item.ecg_id, str(item.report.get("event_id", "")))


def delivered_event_id(ecg_id: str, correction_of: str | None = None) -> str:
    """One `ReportDelivered` per ECG: a second append of the same id is dropped by the log.
    A corrected report (an addendum, `correction_of` its event id) is a delivery of its own."""
    base = f"report-delivered:{ecg_id}"
    return f"{base}:{correction_of}" if correction_of else base


def _body(raw: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(raw)
    doc.pop("meta", None)
    return doc
