"""What went wrong with an HL7 v2 message, and where: the content of an ACK's ERR segment.

Codes are HL7 table 0357 (message error condition codes); the location is an ERL
(segment id ^ segment sequence ^ field position ^ field repetition ^ component number).
"""

from __future__ import annotations

from dataclasses import dataclass

# HL7 table 0357 codes used by this gateway.
SEGMENT_SEQUENCE_ERROR = 100  # also "required segment missing"
REQUIRED_FIELD_MISSING = 101
DATA_TYPE_ERROR = 102
TABLE_VALUE_NOT_FOUND = 103
UNSUPPORTED_MESSAGE_TYPE = 200
UNSUPPORTED_VERSION_ID = 203
DUPLICATE_KEY_IDENTIFIER = 205
APPLICATION_INTERNAL_ERROR = 207

CODE_TEXT = {
    SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_VERSION_ID: "Unsupported version id",
    DUPLICATE_KEY_IDENTIFIER: "Duplicate key identifier",
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
    (not HL7, unsupported type or version: MSA-1 AR); content errors are AE."""

    def __init__(
        self, code: int, message: str, location: Location | None = None, reject: bool = False
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.location = location
        self.reject = reject

    @property
    def code_text(self) -> str:
        return CODE_TEXT.get(self.code, "Error")

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"{self.code} {self.code_text}{where}: {self.message}"
