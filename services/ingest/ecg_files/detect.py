"""Which ECG file format a body is, from its content (never its name or content type)."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET

from services.ingest.ecg_files import EcgFileError

HL7_V3 = "urn:hl7-org:v3"
PHILIPS = "http://www3.medical.philips.com"
DICOM_MAGIC_AT = 128  # PS3.10 7.1: a 128-byte preamble, then "DICM"
SCP_POINTER_SECTION_AT = 6  # EN 1064 5.3: CRC (2) + record length (4), then section 0
XML_SNIFF_BYTES = 4096  # the root element of an XML ECG is within its first few KB


def detect(data: bytes) -> str:
    """ "dicom", "aecg", "muse", "cardiosoft", "philips" or "scp"; `EcgFileError` when it is
    none of them."""
    if data[DICOM_MAGIC_AT : DICOM_MAGIC_AT + 4] == b"DICM":
        return "dicom"
    # SCP-ECG before XML: its first bytes are a CRC, which reads as '<' (after what an XML
    # sniff skips) in ~1 record of 250; its length-and-section-0 check no XML text passes.
    if _looks_like_scp(data):
        return "scp"
    if _looks_like_xml(data):
        return _xml_kind(data)
    raise EcgFileError(
        "not a recognised ECG file: expected DICOM ('DICM' at byte 128), HL7 aECG, GE MUSE, "
        "GE CardioSoft or Philips XML, or SCP-ECG (record length and section 0 at byte 6)"
    )


def _looks_like_xml(data: bytes) -> bool:
    head = data[:XML_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def _xml_kind(data: bytes) -> str:
    root = _root_tag(data)
    if root == f"{{{HL7_V3}}}AnnotatedECG":
        return "aecg"
    if root == "RestingECG":
        return "muse"
    if root == "CardiologyXML":
        return "cardiosoft"
    if root == f"{{{PHILIPS}}}restingecgdata":
        return "philips"
    raise EcgFileError(
        f"XML root {root!r} is not an ECG we read: expected AnnotatedECG in {HL7_V3} "
        f"(HL7 aECG), RestingECG (GE MUSE), CardiologyXML (GE CardioSoft) or restingecgdata "
        f"in {PHILIPS} (Philips)"
    )


def _root_tag(data: bytes) -> str:
    """The root element's tag, read incrementally (the root is known at its start tag)."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start",))
    try:
        for start in range(0, len(data), XML_SNIFF_BYTES):
            parser.feed(data[start : start + XML_SNIFF_BYTES])
            for _, element in parser.read_events():  # type: ignore[misc]
                return str(getattr(element, "tag", ""))
    except ET.ParseError as exc:
        raise EcgFileError(f"XML: not well-formed: {exc}") from exc
    raise EcgFileError("XML: no root element")


def _looks_like_scp(data: bytes) -> bool:
    """Record length (bytes 2-5) equals the body's and section 0's header follows."""
    if len(data) < SCP_POINTER_SECTION_AT + 16:
        return False
    (length,) = struct.unpack_from("<I", data, 2)
    (section,) = struct.unpack_from("<H", data, SCP_POINTER_SECTION_AT + 2)
    return bool(length == len(data) and section == 0)
