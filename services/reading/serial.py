"""Serial comparison: what changed between a patient's previous ECG and this one, stated as
a reader states it ("new ST elevation in II, III, aVF", "heart rate increased from 62 to
96/min"), computed from the two measurement sets alone.

Pure: two measurement dicts in (the queue item's automatic measurements, with the reader's
corrections laid over them), change statements out as catalogue ids and parameters; the
page translates them. No I/O, no clock.

Thresholds, and why:
- ST elevation is "new" where it now meets the 4th Universal Definition of MI's amplitude
  (1 mm = 100 µV in every lead but V2-V3, where the lowest of its sex/age thresholds,
  1.5 mm = 150 µV, is used: a comparison should rather say too much than too little) and
  did not before, with a rise of at least 1 mm. "Resolved" is the reverse.
- ST depression is "new" at 0.5 mm (50 µV) or more below the baseline (the same definition's
  threshold for new horizontal or down-sloping depression), with a fall of at least 0.5 mm.
- Rate: 15/min or more. Intervals: PR 40 ms, QRS 20 ms (and a QRS that becomes >= 120 ms
  is "new wide QRS"), QTc 60 ms (the change the ICH E14 guidance calls clearly notable).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kernel.codes import STANDARD_LEAD_ORDER
from services.i18n import N_

ST_ELEVATION_UV = 100.0  # 1 mm at 10 mm/mV
ST_ELEVATION_V2_V3_UV = 150.0  # the lowest V2-V3 threshold of the 4th UDMI (women)
ST_DEPRESSION_UV = -50.0  # 0.5 mm
ST_RISE_UV = 100.0  # a change smaller than 1 mm is not "new" elevation
ST_FALL_UV = 50.0
RATE_CHANGE_BPM = 15.0
PR_CHANGE_MS = 40.0
QRS_CHANGE_MS = 20.0
WIDE_QRS_MS = 120.0
QTC_CHANGE_MS = 60.0


@dataclass(frozen=True)
class Change:
    """One statement: a catalogue id and its parameters (translated by the page)."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)


def measurement_set(measurements: Mapping[str, Any], edits: Mapping[str, Any]) -> dict[str, Any]:
    """The automatic measurements with the reader's corrections laid over them."""
    return {**measurements, **{k: e["value"] for k, e in edits.items() if "value" in e}}


def changes(previous: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
    """What changed from `previous` to `current`; "no significant change" when nothing did."""
    found = [
        *_st_changes(previous.get("st_deviation_uv") or {}, current.get("st_deviation_uv") or {}),
        *_rate_change(previous.get("heart_rate_bpm"), current.get("heart_rate_bpm")),
        *_rhythm_change(previous.get("irregular"), current.get("irregular")),
        *_interval_changes(previous, current),
    ]
    return found or [Change(N_("No significant change since the previous ECG."))]


def _elevation_threshold(lead: str) -> float:
    return ST_ELEVATION_V2_V3_UV if lead in ("V2", "V3") else ST_ELEVATION_UV


def _leads(names: list[str]) -> str:
    return ", ".join(names)


def _st_changes(before: Mapping[str, float], after: Mapping[str, float]) -> list[Change]:
    common = [lead for lead in STANDARD_LEAD_ORDER if lead in before and lead in after]
    new_up = [
        lead
        for lead in common
        if after[lead] >= _elevation_threshold(lead) > before[lead]
        and after[lead] - before[lead] >= ST_RISE_UV
    ]
    resolved = [
        lead
        for lead in common
        if before[lead] >= _elevation_threshold(lead) > after[lead]
        and before[lead] - after[lead] >= ST_RISE_UV
    ]
    new_down = [
        lead
        for lead in common
        if after[lead] <= ST_DEPRESSION_UV < before[lead]
        and before[lead] - after[lead] >= ST_FALL_UV
    ]
    out = []
    if new_up:
        out.append(Change(N_("New ST elevation in {leads}."), {"leads": _leads(new_up)}))
    if new_down:
        out.append(Change(N_("New ST depression in {leads}."), {"leads": _leads(new_down)}))
    if resolved:
        out.append(Change(N_("ST elevation resolved in {leads}."), {"leads": _leads(resolved)}))
    return out


def _rate_change(before: float | None, after: float | None) -> list[Change]:
    if before is None or after is None or abs(after - before) < RATE_CHANGE_BPM:
        return []
    msgid = (
        N_("Heart rate increased from {before} to {after}/min.")
        if after > before
        else N_("Heart rate decreased from {before} to {after}/min.")
    )
    return [Change(msgid, {"before": round(before), "after": round(after)})]


def _rhythm_change(before: bool | None, after: bool | None) -> list[Change]:
    if before is None or after is None or before == after:
        return []
    if after:
        return [Change(N_("Rhythm now irregular."))]
    return [Change(N_("Rhythm now regular."))]


def _interval_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    out: list[Change] = []
    qrs_b, qrs_a = before.get("qrs_ms"), after.get("qrs_ms")
    if qrs_b is not None and qrs_a is not None and qrs_a >= WIDE_QRS_MS > qrs_b:
        out.append(Change(N_("New wide QRS ({before} -> {after} ms)."), _ms(qrs_b, qrs_a)))
    elif qrs_b is not None and qrs_a is not None and abs(qrs_a - qrs_b) >= QRS_CHANGE_MS:
        out.append(
            Change(N_("QRS duration changed from {before} to {after} ms."), _ms(qrs_b, qrs_a))
        )
    for field_, limit, msgid in (
        ("pr_ms", PR_CHANGE_MS, N_("PR interval changed from {before} to {after} ms.")),
        ("qtc_ms", QTC_CHANGE_MS, N_("QTc changed from {before} to {after} ms.")),
    ):
        b, a = before.get(field_), after.get(field_)
        if b is not None and a is not None and abs(a - b) >= limit:
            out.append(Change(msgid, _ms(b, a)))
    return out


def _ms(before: float, after: float) -> dict[str, Any]:
    return {"before": round(before), "after": round(after)}
