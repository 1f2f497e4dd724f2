"""What went wrong with an HL7 v2 message, and where: the content of an ACK's ERR segment.

Codes are HL7 table 0357 (message error condition codes); the location is an ERL
(segment id ^ segment sequence ^ field position ^ field repetition ^ component number).
Messages are catalogue entries (`Msg`, services/i18n: zh-CN and en) so a person can read
them in Chinese; the ACK carries the English text, as every ACK did before (ack.py: the
sender's character set may not hold Chinese, and engines match on codes, not on text).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.i18n import Msg

# HL7 table 0357 (message error condition codes), with the names the table gives them
# (v2.5-v2.8; checked against the published v2-0357 code system). The ACK's ERR-3 is
# code^name^HL70357, so an interface engine can route on the code and a person read the name.
MESSAGE_ACCEPTED = 0
SEGMENT_SEQUENCE_ERROR = 100  # also "required segment missing"
REQUIRED_FIELD_MISSING = 101
DATA_TYPE_ERROR = 102
TABLE_VALUE_NOT_FOUND = 103
VALUE_TOO_LONG = 104
NON_CONFORMANT_CARDINALITY = 198  # v2.8: e.g. more segments than a message may hold
UNSUPPORTED_MESSAGE_TYPE = 200
UNSUPPORTED_EVENT_CODE = 201
UNSUPPORTED_PROCESSING_ID = 202
UNSUPPORTED_VERSION_ID = 203
UNKNOWN_KEY_IDENTIFIER = 204
DUPLICATE_KEY_IDENTIFIER = 205
APPLICATION_RECORD_LOCKED = 206
APPLICATION_INTERNAL_ERROR = 207

CODE_TEXT = {
    MESSAGE_ACCEPTED: "Message accepted",
    SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    VALUE_TOO_LONG: "Value too long",
    NON_CONFORMANT_CARDINALITY: "Non-conformant cardinality",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT_CODE: "Unsupported event code",
    UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
    UNSUPPORTED_VERSION_ID: "Unsupported version id",
    UNKNOWN_KEY_IDENTIFIER: "Unknown key identifier",
    DUPLICATE_KEY_IDENTIFIER: "Duplicate key identifier",
    APPLICATION_RECORD_LOCKED: "Application record locked",
    APPLICATION_INTERNAL_ERROR: "Application internal error",
}


@dataclass(frozen=True)
class Location:
    """An ERL: `sequence` is the segment's occurrence among segments of the same id (1-based);
    None fields are left out (a missing lead is located at `OBX` only)."""

    segment: str
    sequence: int | None = None
    field: int | None = None
    component: int | None = None
    repetition: int | None = None

    def erl(self) -> list[str]:
        """ERR-2 components: SEG ^ seq ^ field ^ repetition ^ component (trailing empties cut)."""
        parts = [
            self.segment,
            self.sequence,
            self.field,
            self.repetition or (1 if self.component else None),
            self.component,
        ]
        out = ["" if p is None else str(p) for p in parts]
        while out and out[-1] == "":
            out.pop()
        return out

    def __str__(self) -> str:
        return "^".join(self.erl())


class Hl7Error(Exception):
    """A message we cannot take. `reject` is true for messages we refuse to process at all
    (HL7 v2.5 chapter 2.9.2: the header or the message as a whole cannot be processed: not
    HL7, an unknown peer, an unsupported type, event, processing id or version, a character
    set we cannot read, a message over our limits: MSA-1 AR); errors in the content of a
    message we did process are AE."""

    def __init__(
        self,
        code: int,
        message: str | Msg,
        location: Location | None = None,
        reject: bool = False,
    ):
        super().__init__(str(message))
        self.code = code
        # The catalogue message (services/i18n: zh-CN and en), or a text built elsewhere
        # (a validator's); `message` is its English text, what the ACK carries (ack.py).
        self.text = message
        self.message = str(message)
        self.location = location
        self.reject = reject

    @property
    def code_text(self) -> str:
        return CODE_TEXT.get(self.code, "Other HL7 Error")

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"{self.code} {self.code_text}{where}: {self.message}"
