"""The vital signs a crew records: LOINC code, its one UCUM unit, and plausibility limits.

Limits are what a monitor can show on a living or resuscitated patient, not normal ranges:
a heart rate of 0 is an arrest and is recorded; 400 is a typo or an artefact and is refused
with a clear message (a silent clamp would put a false fact in the record).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VitalSignKind:
    loinc: str
    display: str
    unit: str  # UCUM code
    low: float
    high: float
    integer: bool = False


KINDS: dict[str, VitalSignKind] = {
    k.loinc: k
    for k in [
        VitalSignKind("8867-4", "Heart rate", "/min", 0, 300),
        VitalSignKind("8480-6", "Systolic blood pressure", "mm[Hg]", 0, 300),
        VitalSignKind("8462-4", "Diastolic blood pressure", "mm[Hg]", 0, 200),
        VitalSignKind("9279-1", "Respiratory rate", "/min", 0, 80),
        VitalSignKind(
            "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", 0, 100
        ),
        VitalSignKind("2708-6", "Oxygen saturation in Arterial blood", "%", 0, 100),
        VitalSignKind("8310-5", "Body temperature", "Cel", 25, 45),
        VitalSignKind("9269-2", "Glasgow coma score total", "{score}", 3, 15, integer=True),
        VitalSignKind("15074-8", "Glucose [Moles/volume] in Blood", "mmol/L", 0.5, 60),
        VitalSignKind(
            "19889-5",
            "Carbon dioxide [Partial pressure] in Exhaled gas --at end expiration",
            "mm[Hg]",
            0,
            150,
        ),
        VitalSignKind(
            "72514-3",
            "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
            "{score}",
            0,
            10,
            integer=True,
        ),
    ]
}
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"


def problem(loinc: str, value: float, unit: str) -> str | None:
    """Why this measurement cannot be recorded, or None."""
    kind = KINDS.get(loinc)
    if kind is None:
        return f"LOINC {loinc} is not a recorded vital sign; known: {', '.join(KINDS)}"
    if unit != kind.unit:
        return f"{kind.display} ({loinc}) is recorded in UCUM {kind.unit!r}, not {unit!r}"
    if kind.integer and value != int(value):
        return f"{kind.display} ({loinc}) is a whole number, got {value:g}"
    if not kind.low <= value <= kind.high:
        return (
            f"{kind.display} {value:g} {unit} is implausible "
            f"(accepted {kind.low:g} to {kind.high:g} {unit})"
        )
    return None
