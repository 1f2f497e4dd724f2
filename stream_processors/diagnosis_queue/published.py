"""What services may use of the ECG reading queue: its items, their ids and index, and the FHIR ids
it writes.
"""

from __future__ import annotations

from stream_processors.diagnosis_queue.item import QueueItem, queue_item_id, task_id
from stream_processors.diagnosis_queue.processor import OPEN_INDEX, PROCESSOR
from stream_processors.diagnosis_queue.read_to_fhir import diagnostic_report_id
from stream_processors.diagnosis_queue.requests import read_request

__all__ = [
    "OPEN_INDEX",
    "PROCESSOR",
    "QueueItem",
    "diagnostic_report_id",
    "queue_item_id",
    "read_request",
    "task_id",
]
