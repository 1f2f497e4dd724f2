"""One MLLP frame in, one ACK out: parse the ORU^R01, submit the ECG through the one write
path (`services.ingest.submit.submit_ecg`, channel "mllp"), answer. ADT messages (MSH-9 ADT)
go to `adt_intake.handle_adt` instead, under the same error handling.

Delivery: AA is sent only after `submit_ecg` returned, i.e. after the log acknowledged the
event. If the log did not acknowledge (`LogUnavailable`) the append may or may not have
happened; we answer AE 207 and the cart resends the same message. Its event id
(MSH-4:MSH-10) makes the resend safe: the log keeps one event and we answer AA again.

Peers: with `hl7_peers` set, a frame whose sending facility (MSH-4) and source address are
not a configured pair is answered AR before anything is read beyond its header
(services/auth/peers.py).

Logs name the sender, control id and ECG id, never the patient.
"""

from __future__ import annotations

import logging

from eventlog.base import LogUnavailable
from services.auth.peers import Networks, peer_refusal
from services.hl7_gateway import ack
from services.hl7_gateway.adt_in import is_adt
from services.hl7_gateway.adt_intake import handle_adt
from services.hl7_gateway.er7 import MessageHeader
from services.hl7_gateway.errors import (
    APPLICATION_INTERNAL_ERROR,
    DUPLICATE_KEY_IDENTIFIER,
    TABLE_VALUE_NOT_FOUND,
    Hl7Error,
    Location,
)
from services.hl7_gateway.oru_ecg import read_message, to_ecg
from services.ingest.ecg_models import EcgIn
from services.ingest.submit import EventIdReused, submit_ecg
from services.system import System

log = logging.getLogger("goldenhour.hl7")

CHANNEL = "mllp"


def handle_frame(
    system: System, payload: bytes, peer: str | None = None, peers: Networks | None = None
) -> bytes:
    """The ACK (unframed bytes) for one frame's payload from source address `peer`, checked
    against `peers` (None or empty: any peer). Blocking: appends to the log."""
    try:
        header, segments = read_message(payload)
    except Hl7Error as err:
        log.warning("refused a frame of %d bytes: %s", len(payload), _safe(err))
        return ack.error(None, err)
    refusal = peer_refusal(peers or {}, header.component(header.sending_facility), peer)
    if refusal:
        log.warning("%s: AR, %s", _name(header), refusal)
        where = Location("MSH", 1, 4)
        return ack.error(header, Hl7Error(TABLE_VALUE_NOT_FOUND, refusal, where, reject=True))
    try:
        if is_adt(header):  # ADT from a hospital's HIS (adt_in.py); everything else is ORU
            return handle_adt(system, header, segments)
        return _submit(system, header, to_ecg(header, segments))
    except Hl7Error as err:
        log.warning("%s: %s %s", _name(header), "AR" if err.reject else "AE", _safe(err))
        return ack.error(header, err)
    except Exception:  # a bug or an unexpected backend error: the cart must keep the ECG
        log.exception("%s: AE 207, unexpected error", _name(header))
        return ack.error(header, Hl7Error(APPLICATION_INTERNAL_ERROR, "internal error, resend"))


def _submit(system: System, header: MessageHeader, ecg: EcgIn) -> bytes:
    try:
        done = submit_ecg(system, ecg, CHANNEL)
    except LogUnavailable as exc:
        raise Hl7Error(
            APPLICATION_INTERNAL_ERROR, f"event log unavailable, resend later: {exc}"
        ) from exc
    except EventIdReused as exc:
        raise Hl7Error(
            DUPLICATE_KEY_IDENTIFIER,
            f"control id reused for another ECG: {exc}",
            Location("MSH", 1, 10),
        ) from exc
    log.info(
        "%s: AA ecg %s at %s/%d@%d%s",
        _name(header),
        ecg.ecg_id,
        done.answer.topic,
        done.answer.partition,
        done.answer.offset,
        " (duplicate)" if done.duplicate else "",
    )
    return ack.accept(header, "duplicate, already recorded" if done.duplicate else "")


def _safe(err: Hl7Error) -> str:
    """An error as logs may show it: code and location, not the message, which can quote
    a field (a resident ID, a birth date) back to the sender."""
    return f"{err.code} {err.code_text}" + (f" at {err.location}" if err.location else "")


def _name(header: MessageHeader) -> str:
    return f"{header.component(header.sending_facility)}:{header.control_id}"
