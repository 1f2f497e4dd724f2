"""What services may use of the ECG measurement: the synthetic 12-lead generator the simulator and
demos draw from, and the triage reasons' declarations (pages show a stored reason translated).

Services import from this module only, never from the processor's other modules
(tests/unit/test_architecture.py); what is not here is the processor's own business.
"""

from __future__ import annotations

from stream_processors.ecg_measurement.reason_texts import ALL_TEXTS as ALL_REASON_TEXTS
from stream_processors.ecg_measurement.reason_texts import REASONS as REASON_TEXTS
from stream_processors.ecg_measurement.synthetic import synthesize

__all__ = [
    "ALL_REASON_TEXTS",
    "REASON_TEXTS",
    "synthesize",
]
