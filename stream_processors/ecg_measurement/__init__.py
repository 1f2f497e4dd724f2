"""Automatic ECG measurements (`measure`) and the triage class they lead to (`triage`)."""

from stream_processors.ecg_measurement.measure import Measurements, measure
from stream_processors.ecg_measurement.triage import TriageResult, triage

__all__ = ["Measurements", "TriageResult", "measure", "triage"]
