"""What services may use of the HL7 report outbox: its item and the index of reports still
owed."""

from __future__ import annotations

from stream_processors.report_outbox.fold import OutboxItem
from stream_processors.report_outbox.processor import PENDING_INDEX

__all__ = [
    "OutboxItem",
    "PENDING_INDEX",
]
