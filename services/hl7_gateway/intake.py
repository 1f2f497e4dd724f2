"""One MLLP frame in, one ACK out: parse the ORU^R01, submit the ECG through the one write
path (`services.ingest.submit.submit_ecg`, channel "mllp"), answer. ADT messages (MSH-9 ADT)
go to `adt_intake.handle_adt` instead, under the same error handling.

Delivery: AA is sent only after `submit_ecg` returned, i.e. after the log acknowledged the
event. If the log did not acknowledge (`LogUnavailable`) the append may or may not have
happened; we answer AE 207 and the cart resends the same message. Its event id
(MSH-4:MSH-10) makes the resend safe: the log keeps one event and we answer AA again.

Peers: with `hl7_peers` set (or auth required), a frame whose sending facility (MSH-4) and
source address are not a configured pair is answered AR before anything is read beyond its
header (services/auth/peers.py). A peer that leaves MSH-4 empty is identified by the MSH-3
its profile names or by its address; AR 101 at MSH-4 only when neither does. Each peer's
messages are read by its profile (profiles.py: time zone, identifier authorities,
versions, charset); FHS/BHS batches are split and answered as a batch (batch.py). An
ECG's sending site and an ADT's hospital (MSH-4.1) are checked against the registry as on
HTTP: a facility it does not know as a clinic (ORU) or hospital (ADT) is AE 103 at MSH-4,
nothing appended.

Bounded cost: the frame is limited in bytes (mllp.py), a message in segments (er7.py,
AR 198 before any parsing) and a lead in samples (observations.py, AR 104); parsing is
one linear pass. Frames of different connections are handled concurrently in worker
threads (listener.py), so a refused giant does not hold other peers up.

Logs name the sender, control id and ECG id, never the patient.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging

from eventlog.base import LogUnavailable
from services.auth.audit import Carried
from services.auth.peers import Networks, peer_refusal
from services.hl7_gateway import ack, batch, er7, profiles
from services.hl7_gateway.adt_in import is_adt, to_adt
from services.hl7_gateway.adt_intake import handle_adt
from services.hl7_gateway.er7 import MessageHeader
from services.hl7_gateway.errors import (
    APPLICATION_INTERNAL_ERROR,
    DUPLICATE_KEY_IDENTIFIER,
    REQUIRED_FIELD_MISSING,
    TABLE_VALUE_NOT_FOUND,
    Hl7Error,
    Location,
)
from services.hl7_gateway.oru_ecg import to_ecg
from services.hl7_gateway.profiles import PeerProfile
from services.i18n import Msg
from services.ingest.ecg_models import EcgIn
from services.ingest.submit import EventIdReused, submit_ecg
from services.registry.checks import SITE_KINDS, Named, unknown
from services.system import System
from stream_processors.registry.published import codes, is_known, registry_in_force

log = logging.getLogger("goldenhour.hl7")
ACCEPTED = 200  # AA, as the access audit records it (services/auth/audit.py)

CHANNEL = "mllp"


@dataclasses.dataclass(frozen=True)
class Origin:
    """Where a frame came from and who may send one: the source `address`, the configured
    `peers` (`hl7_peers`: facility -> networks; empty: any peer) and whether a peer must be
    configured (`required`, or the settings' auth_required)."""

    address: str | None = None
    peers: Networks = dataclasses.field(default_factory=dict)
    required: bool = False
    # The frame's audit, for an accepted ORU's commit to carry (services/auth/audit.py).
    exchange: Carried | None = None


def handle_frame(system: System, payload: bytes, origin: Origin | None = None) -> bytes:
    """The answer (unframed bytes) to one frame's payload from `origin` (default: an unknown
    address, any peer): an ACK, or for an FHS/BHS batch a batch of ACKs (batch.py).
    Blocking: appends to the log."""
    origin = origin or Origin()
    if batch.is_batch(payload):
        alone = dataclasses.replace(origin, exchange=None)  # one record for the whole batch
        return batch.answer(
            payload,
            lambda message: handle_message(system, message, alone),
            lambda facility, application: profile_of(system, facility, application),
        )
    return handle_message(system, payload, origin)


def handle_message(system: System, payload: bytes, origin: Origin) -> bytes:
    """The ACK of one message. Order: the MSH is read from the raw bytes first (ASCII), so
    every answer from here on echoes MSH-10 in MSA-2; then the peer is identified and its
    profile found; then the message is decoded in its character set and read."""
    try:
        header = er7.peek_header(payload)
    except Hl7Error as err:
        log.warning("refused a frame of %d bytes: %s", len(payload), _safe(err))
        return ack.error(None, err)
    try:
        header = identified(system, header, origin)
        profile = profile_of(
            system,
            header.component(header.sending_facility),
            header.component(header.sending_application),
        )
        text = er7.decode(payload, profile.charset)
        segments = er7.split_segments(text)
        er7.require_bounded(segments)
        header = _as_identified(er7.read_header(segments), header)
    except Hl7Error as err:
        log.warning("%s: %s %s", _name(header), "AR" if err.reject else "AE", _safe(err))
        return ack.error(header, err)
    return _dispatch(system, header, segments, profile, origin.exchange)


def _dispatch(
    system: System,
    header: MessageHeader,
    segments: list[str],
    profile: PeerProfile,
    exchange: Carried | None,
) -> bytes:
    # Read as the organization the peer speaks for; answered with the header as sent.
    reading = as_organization(header, profile)
    try:
        if is_adt(header):  # ADT from a hospital's HIS (adt_in.py); everything else is ORU
            adt = to_adt(reading, segments, profile)
            refuse_unknown_sender(system, adt.hospital_id, "hospital")
            return handle_adt(system, header, adt)
        ecg = as_registered_site(system, to_ecg(reading, segments, profile))
        refuse_unknown_sender(system, ecg.site.id, ecg.site.kind)
        return _submit(system, header, ecg, exchange)
    except Hl7Error as err:
        log.warning("%s: %s %s", _name(header), "AR" if err.reject else "AE", _safe(err))
        return ack.error(header, err)
    except Exception:  # a bug or an unexpected backend error: the cart must keep the ECG
        log.exception("%s: AE 207, unexpected error", _name(header))
        internal = Hl7Error(APPLICATION_INTERNAL_ERROR, Msg("internal error, resend"))
        return ack.error(header, internal)


def identified(system: System, header: MessageHeader, origin: Origin) -> MessageHeader:
    """The header with the peer's facility: MSH-4.1, or, when the peer left MSH-4 empty,
    the facility its profile's MSH-3 or its source address names (`hl7_peers`); then the
    peer check (services/auth/peers.py). AR naming MSH-4 when the peer cannot be
    identified at all, or is not one that may send from there."""
    facility = header.component(header.sending_facility).strip()
    if not facility:
        application = header.component(header.sending_application)
        facility = profiles.identify(system.settings.hl7_peer_profiles, application) or (
            _facility_at(origin.peers, origin.address)
        )
    if not facility:
        raise Hl7Error(
            REQUIRED_FIELD_MISSING,
            Msg(
                "sending facility (MSH-4) missing, and no peer profile names this sending "
                "application (MSH-3) or source address"
            ),
            Location("MSH", 1, 4),
            reject=True,
        )
    required = origin.required or system.settings.auth_required
    refusal = peer_refusal(origin.peers, facility, origin.address, required)
    if refusal:
        raise Hl7Error(TABLE_VALUE_NOT_FOUND, refusal, Location("MSH", 1, 4), reject=True)
    return dataclasses.replace(header, sending_facility=er7.escape(facility, header.separators))


def as_organization(header: MessageHeader, profile: PeerProfile) -> MessageHeader:
    """The header as its message is read: MSH-4.1 replaced by the organization id the
    peer's profile maps it to (registry peer `organization_id`, or `hl7_peer_profiles`),
    so a HIS whose MSH-4 is a free-text name ("SEND FAC") is the registered hospital whose
    ids have no spaces. The ACK still echoes the MSH-4 the peer sent."""
    organization = profile.organization_id
    if not organization or organization == header.component(header.sending_facility):
        return header
    escaped = er7.escape(organization, header.separators)
    sent = header.component(header.sending_facility)
    return dataclasses.replace(header, sending_facility=escaped, sent_as=sent)


def _facility_at(peers: Networks, address: str | None) -> str:
    """The one configured facility whose networks hold `address` ("" if none or several)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return ""
    found = [f for f, nets in peers.items() if any(ip in net for net in nets)]
    return found[0] if len(found) == 1 else ""


def _as_identified(header: MessageHeader, peeked: MessageHeader) -> MessageHeader:
    """The decoded header, keeping the facility identification found for the peeked one."""
    if header.component(header.sending_facility).strip():
        return header
    return dataclasses.replace(header, sending_facility=peeked.sending_facility)


def profile_of(system: System, facility: str, application: str) -> PeerProfile:
    """The peer's profile: the registry's, else the settings', else the defaults."""
    store = getattr(system, "store", None)
    try:
        return profiles.resolve(store, system.settings.hl7_peer_profiles, facility, application)
    except Exception as exc:  # the registry view unreadable (store down): the peer resends
        log.exception("%s: peer profile unavailable", facility)
        raise Hl7Error(APPLICATION_INTERNAL_ERROR, Msg("peer profile unavailable, resend")) from exc


def as_registered_site(system: System, ecg: EcgIn) -> EcgIn:
    """The ECG with its site's kind as the registry knows it. An ORU names its sending
    facility only (read as a clinic, oru_ecg.py); a county hospital's own carts send ORUs
    to the reading centre too, and a facility registered as a hospital, not as a clinic, is
    that hospital (as `POST /ingest/ecg` with `site.kind` hospital), not an unknown clinic."""
    store = getattr(system, "store", None)
    site = ecg.site
    if store is None or not site.id or not registry_in_force(store):
        return ecg
    if is_known(store, codes.CLINIC, site.id) or not is_known(store, codes.HOSPITAL, site.id):
        return ecg
    return ecg.model_copy(update={"site": site.model_copy(update={"kind": "hospital"})})


def refuse_unknown_sender(system: System, facility: str, kind: str) -> None:
    """AE 103 at MSH-4 when the registry is in force and does not know the sending facility
    as `kind` (an ORU's site: "clinic"; an ADT's: "hospital"): the check `POST /ingest/ecg`
    makes (422 naming `site.id`, services/registry/checks.py), so nothing is appended for a
    facility nobody registered. AE, not AR: the header was processed and the message is one
    we take; its content names a party we do not know (HL7 v2 chapter 2.9.2: AR is for a
    message type, event, version or processing id we do not take, or a message we cannot
    process at all), and the sender may correct it and resend once it is registered."""
    store = getattr(system, "store", None)
    wanted = [Named("MSH-4", SITE_KINDS.get(kind, codes.ORGANIZATION), facility)]
    missing = unknown(store, wanted) if store is not None else []
    if missing:
        raise Hl7Error(
            TABLE_VALUE_NOT_FOUND,
            Msg(
                "sending facility (MSH-4) {facility}: no {kind} of that id in the registry",
                facility=repr(missing[0].id),
                kind=missing[0].kind,
            ),
            Location("MSH", 1, 4),
        )


def _submit(system: System, header: MessageHeader, ecg: EcgIn, exchange: Carried | None) -> bytes:
    # The exchange's record as answered AA (a duplicate too), durable in the ECG's commit.
    # A sender that reused the control id for another ECG is answered AE 205 after that
    # commit: nothing is `recorded` and the listener records the AE as well.
    try:
        done = submit_ecg(system, ecg, CHANNEL, exchange, ACCEPTED)
    except LogUnavailable as exc:
        raise Hl7Error(
            APPLICATION_INTERNAL_ERROR,
            Msg("event log unavailable, resend later: {reason}", reason=str(exc)),
        ) from exc
    except EventIdReused as exc:
        raise Hl7Error(
            DUPLICATE_KEY_IDENTIFIER,
            Msg("control id reused for another ECG: {reason}", reason=str(exc)),
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
    return header.message_key
