"""What services may use of the hospital board: incoming-ambulance view name, ids and index."""

from __future__ import annotations

from stream_processors.hospital_board.incoming import RESOURCE_TYPE, incoming_id
from stream_processors.hospital_board.processor import BOARD_INDEX, PROCESSOR

__all__ = [
    "BOARD_INDEX",
    "PROCESSOR",
    "RESOURCE_TYPE",
    "incoming_id",
]
