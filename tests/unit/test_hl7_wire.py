"""HL7 v2 on the wire, without I/O: MSH-18 character sets (HL7 table 0211 names and the
spellings senders use), the MSH read before decoding (so MSA-2 can always echo MSH-10),
batches split and answered, ERR names from table 0357, per-peer profiles."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.hl7_gateway import ack, batch, charsets, er7
from services.hl7_gateway.errors import Hl7Error
from services.hl7_gateway.intake import handle_frame
from services.hl7_gateway.profiles import PeerProfile, from_details
from services.settings import Settings

# Table 0211 (v2.5-v2.8) names, and what a reader of the name expects them to be.
TABLE_0211 = [
    ("ASCII", "hello", "ascii"),
    ("8859/1", "Müller", "latin-1"),
    ("8859/2", "Łódź", "iso8859_2"),
    ("8859/5", "Иванов", "iso8859_5"),
    ("8859/15", "€", "iso8859_15"),
    ("GB 18030-2000", "王建国", "gb18030"),
    ("KS X 1001", "김", "euc_kr"),
    ("BIG-5", "陳", "big5"),
    ("UNICODE UTF-8", "王", "utf-8"),
]
SPELLINGS = [
    "GB18030",
    "gb18030",
    "GB-18030",
    "GB 18030",
    "GBK",
    "UTF-8",
    "utf8",
    "ISO-8859-1",
    "BIG5",
]


@pytest.mark.parametrize(("name", "text", "codec"), TABLE_0211)
def test_table_0211_names_decode_their_text(name: str, text: str, codec: str) -> None:
    message = f"MSH|^~\\&|A|F|||20261123||ADT^A08|1|P|2.5|||||CHN|{name}\rPID|1||{text}\r"
    decoded = er7.decode(message.encode(codec))
    assert text in decoded


@pytest.mark.parametrize("name", SPELLINGS)
def test_common_spellings_are_known(name: str) -> None:
    assert charsets.codec_of(name) is not None


def test_unknown_charset__ar_103_at_msh_18() -> None:
    with pytest.raises(Hl7Error) as refused:
        er7.decode(b"MSH|^~\\&|A|F|||20261123||ADT^A08|1|P|2.5|||||CHN|EBCDIC-KLINGON\r")
    err = refused.value
    assert (err.code, str(err.location), err.reject) == (103, "MSH^1^18", True)


def test_header_is_read_before_decoding_so_a_bad_byte_still_gets_its_control_id() -> None:
    payload = b"MSH|^~\\&|A|F|||20261123||ADT^A08|CTL-9|P|2.5|||||CHN|UNICODE UTF-8\rPID|1||"
    payload += "王".encode("gb18030") + b"\r"  # declared UTF-8, sent GB 18030
    reply = handle_frame(SimpleNamespace(settings=Settings(), store=None), payload)  # type: ignore[arg-type]
    segments = reply.decode().split("\r")
    assert segments[1].startswith("MSA|AR|CTL-9|")
    assert "|MSH^1^18|102^Data type error^HL70357|" in segments[2]


def test_batch_is_split_into_its_messages_and_envelope() -> None:
    payload = (
        b"FHS|^~\\&|APP|FAC\rBHS|^~\\&|APP|FAC||||||||B-1\r"
        b"MSH|^~\\&|APP|FAC|||1||ADT^A08|1|P|2.5\rPID|1||1\r"
        b"MSH|^~\\&|APP|FAC|||1||ADT^A08|2|P|2.5\nPID|1||2\nBTS|2\rFTS|1\r"
    )
    assert batch.is_batch(payload) and not batch.is_batch(b"MSH|^~\\&|")
    envelope, messages = batch.split(payload)
    assert sorted(envelope) == [b"BHS", b"BTS", b"FHS", b"FTS"]
    assert messages == [
        b"MSH|^~\\&|APP|FAC|||1||ADT^A08|1|P|2.5\rPID|1||1\r",
        b"MSH|^~\\&|APP|FAC|||1||ADT^A08|2|P|2.5\rPID|1||2\r",
    ]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (100, "Segment sequence error"),
        (101, "Required field missing"),
        (102, "Data type error"),
        (103, "Table value not found"),
        (200, "Unsupported message type"),
        (201, "Unsupported event code"),
        (202, "Unsupported processing id"),
        (203, "Unsupported version id"),
        (204, "Unknown key identifier"),
        (205, "Duplicate key identifier"),
        (206, "Application record locked"),
        (207, "Application internal error"),
    ],
)
def test_err_3_carries_the_table_0357_name(code: int, name: str) -> None:
    header = er7.read_header(["MSH|^~\\&|A|F|||20261123||ORU^R01|C-1|P|2.5.1"])
    reply = ack.error(header, Hl7Error(code, "x")).decode().split("\r")
    assert reply[1].startswith("MSA|AE|C-1|")
    assert reply[2].split("|")[3] == f"{code}^{name}^HL70357"


def test_profile_from_registry_details_or_settings_entry() -> None:
    registry_peer = {
        "sending_facility": "HIS-A",
        "time_zone": "Asia/Urumqi",
        "identifier_authorities": {"HIS": "MR"},
        "hl7_versions": ["2.4"],
        "charset": "GB 18030-2000",
    }
    profile = from_details("HIS-A", registry_peer)
    assert profile.accepts_version("2.4") and not profile.accepts_version("2.5.1")
    assert profile.authority_system("his", "HIS-A") == "urn:goldenhour:mrn:HIS-A"
    assert str(profile.tz) == "Asia/Urumqi" and profile.charset == "GB 18030-2000"
    assert PeerProfile().accepted_versions()[0] == "2.3"
