"""Per-peer profiles: how the messages of one HL7 v2 peer (an ECG cart's gateway, a hospital's
HIS) are read. Interface engines (Mirth/NextGen Connect, HAPI) keep such settings per
channel; here they are per sending facility (MSH-4.1).

    time_zone               IANA zone of times sent without a UTC offset (HIS systems send
                            local time); default Asia/Shanghai
    identifier_authorities  CX.4 assigning authority -> our identifier system: a full URI
                            (urn:goldenhour:mrn:<hospital>, the resident-ID URI) or the
                            shorthands "MR" (the sending hospital's MRNs) and "resident-id"
    versions                MSH-12 versions accepted from this peer (empty: all we parse)
    charset                 MSH-18 assumed when the peer leaves it empty (table 0211 name)
    untyped_cx              what a CX without type code (CX.5) is: "MR" (default: a
                            medical record number of the sending hospital) or "ignore"
    sending_application     MSH-3.1 that identifies the peer when its MSH-4 is empty
    batch_ack               "message": one ACK per message of a batch (default); "batch":
                            one ACK batch (BHS/BTS) holding them
    organization_id         the registered organization (clinic, hospital) the peer speaks
                            for, when its MSH-4 is another name for it: a HIS that writes
                            "SEND FAC" or "县人民医院" there is read as that organization
                            (the ECG's site, the ADT's hospital and the authority of its
                            MRNs); empty: MSH-4.1 is the organization's id itself

Where a profile comes from: the registry's peer (stream_processors/registry/published.py
`peer`, `Party.details` as the Avro PeerDetails) when one is registered, else the settings'
`hl7_peer_profiles` (facility -> the keys above), else the defaults.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kernel.codes import RESIDENT_ID
from stream_processors.registry import published

log = logging.getLogger("goldenhour.hl7")

DEFAULT_TIME_ZONE = "Asia/Shanghai"
MRN_SYSTEM = "urn:goldenhour:mrn:"
# Every version whose PID/PV1/MRG/OBR/OBX fields we read sits at the same positions from
# v2.3 to v2.8 (later versions only add fields at the end or withdraw ones we do not read).
SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8")
MR, RESIDENT, IGNORE = "MR", "resident-id", "ignore"


@dataclass(frozen=True)
class PeerProfile:
    """How one peer's messages are read (see the module docstring)."""

    facility: str = ""
    time_zone: str = DEFAULT_TIME_ZONE
    identifier_authorities: Mapping[str, str] = field(default_factory=dict)
    versions: tuple[str, ...] = ()
    charset: str = ""
    untyped_cx: str = MR
    sending_application: str | None = None
    batch_ack: str = "message"
    organization_id: str = ""

    @property
    def tz(self) -> dt.tzinfo:
        """The peer's zone; an unknown zone name falls back to the default (logged)."""
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            log.warning("peer %s: unknown time zone %r", self.facility, self.time_zone)
            return zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE)

    def accepts_version(self, version: str) -> bool:
        return version in SUPPORTED_VERSIONS and (not self.versions or version in self.versions)

    def accepted_versions(self) -> tuple[str, ...]:
        return tuple(v for v in SUPPORTED_VERSIONS if self.accepts_version(v))

    def authority_system(self, authority: str, hospital: str) -> str | None:
        """Our identifier system for a CX.4 the profile maps (None: not mapped)."""
        target = self.identifier_authorities.get(authority)
        if target is None:
            upper = {k.upper(): v for k, v in self.identifier_authorities.items()}
            target = upper.get(authority.upper())
        if target is None:
            return None
        if target == MR:
            return mrn_system(hospital)
        return RESIDENT_ID if target == RESIDENT else target


def mrn_system(hospital: str) -> str:
    """The identifier system of a hospital's medical record numbers."""
    return MRN_SYSTEM + urllib.parse.quote(hospital, safe="")


DEFAULT_PROFILE = PeerProfile()


def from_details(facility: str, details: Mapping[str, Any]) -> PeerProfile:
    """A profile from a settings entry or a registry PeerDetails (missing keys: defaults)."""
    return PeerProfile(
        facility=facility,
        time_zone=str(details.get("time_zone") or DEFAULT_TIME_ZONE),
        identifier_authorities=dict(details.get("identifier_authorities") or {}),
        versions=tuple(details.get("versions") or details.get("hl7_versions") or ()),
        charset=str(details.get("charset") or ""),
        untyped_cx=str(details.get("untyped_cx") or MR),
        sending_application=details.get("sending_application"),
        batch_ack=str(details.get("batch_ack") or "message"),
        organization_id=str(details.get("organization_id") or ""),
    )


def resolve(
    store: Any, configured: Mapping[str, Mapping[str, Any]], facility: str, application: str
) -> PeerProfile:
    """The profile of the peer sending as `facility` (MSH-4.1) / `application` (MSH-3.1):
    the registry's, else the configured one, else the defaults."""
    registered = _registered(store, facility, application)
    if registered is not None:
        return registered
    if facility in configured:
        return from_details(facility, configured[facility])
    return PeerProfile(facility=facility)


def identify(configured: Mapping[str, Mapping[str, Any]], application: str) -> str:
    """The facility a message with an empty MSH-4 comes from, by the MSH-3.1 a configured
    profile names ("" when no single profile does)."""
    found = [
        f
        for f, d in configured.items()
        if application and d.get("sending_application") == application
    ]
    return found[0] if len(found) == 1 else ""


def _registered(store: Any, facility: str, application: str) -> PeerProfile | None:
    """The registry's profile of the peer, when the registry knows HL7 peers."""
    if store is None or not facility:
        return None
    found = published.peer(store, facility, application or None)
    return from_details(facility, found.details) if found is not None else None


# CX.5 identifier types (HL7 table 0203) read as the patient's record number: MR (medical
# record number) and PI (patient internal identifier, what many HIS send for it).
RECORD_NUMBER_TYPES = {"MR", "PI"}
RESIDENT_ID_TYPES = {"NN", "NI", ""}  # with a Chinese assigning authority
# Types that never name the patient (account, visit, staff, document numbers): an authority
# the profile maps does not turn them into a patient identifier.
NOT_PATIENT_TYPES = {
    "AN",
    "ANON",
    "VN",
    "VS",
    "EI",
    "EN",
    "NPI",
    "DN",
    "MD",
    "PRN",
    "RRI",
    "BA",
    "BC",
}
CHINA_AUTHORITIES = {"CHN", "NNCHN"}


def cx_system(
    kind: str, authority: str, profile: PeerProfile, hospital: str, *, his: bool
) -> str | None:
    """Our identifier system for a CX of type `kind` (CX.5) from `authority` (CX.4.1), or
    None for an identifier we do not keep. In order: a resident ID (type NNCHN, or a
    Chinese authority with type NN/NI/none); an authority the profile maps; a record
    number (MR, PI, or no type when the profile says untyped CX are MRNs): a HIS (`his`)
    is the authority of its own record numbers whatever it calls itself, so they are the
    sending hospital's; a cart's MR is namespaced by its authority (a cart at a clinic may
    carry the county hospital's MRN), the site's when it names none. A mapped authority
    applies to any type but account, visit and staff numbers (a HIS may type its MRNs "A"
    or "PT": the profile says what they are)."""
    kind = kind.upper()
    if kind == "NNCHN" or (authority.upper() in CHINA_AUTHORITIES and kind in RESIDENT_ID_TYPES):
        return RESIDENT_ID
    mappable = kind not in NOT_PATIENT_TYPES
    if authority and mappable and (mapped := profile.authority_system(authority, hospital)):
        return mapped
    if kind not in RECORD_NUMBER_TYPES and not (kind == "" and profile.untyped_cx == MR):
        return None
    if authority and not his:
        return mrn_system(authority)
    return mrn_system(hospital)
