"""Synthetic 12-lead ECGs with known truth, for the demo, tests and benchmarks.

Each beat is a sum of Gaussian waves (P, Q, R, S, T) whose amplitudes follow a lead's
projection of the cardiac vector; `st_elevation_uv` lifts the ST segment (J point to T) in
the given leads, as an acute inferior or anterior STEMI would. Deterministic for a seed.
"""

from __future__ import annotations

import math
import random

from stream_processors.fhir_projector.codes import STANDARD_LEAD_ORDER

# (centre s after R, width s, amplitude uV in lead II) of each wave.
WAVES = {"P": (-0.16, 0.025, 150), "Q": (-0.025, 0.010, -100), "R": (0.0, 0.012, 1200),
         "S": (0.028, 0.010, -300), "T": (0.28, 0.045, 300)}
# Per-lead scale of lead II's morphology (rough frontal/horizontal projections).
LEAD_SCALE = {"I": 0.6, "II": 1.0, "III": 0.45, "aVR": -0.8, "aVL": 0.1, "aVF": 0.7,
              "V1": -0.5, "V2": 0.3, "V3": 0.8, "V4": 1.2, "V5": 1.0, "V6": 0.8}
INFERIOR = ("II", "III", "aVF")
ANTERIOR = ("V1", "V2", "V3", "V4")


def synth_ecg(
    heart_rate_bpm: float = 72,
    seconds: float = 10,
    rate_hz: int = 500,
    st_elevation_uv: float = 0,
    st_leads: tuple[str, ...] = INFERIOR,
    noise_uv: float = 10,
    seed: int = 0,
) -> dict[str, list[int]]:
    """Lead name -> integer samples in uV."""
    rng = random.Random(seed)
    rr = 60.0 / heart_rate_bpm
    n = int(seconds * rate_hz)
    beats = [rr * (k + 0.5) for k in range(int(seconds / rr) + 1)]
    out: dict[str, list[int]] = {}
    for lead in STANDARD_LEAD_ORDER:
        scale = LEAD_SCALE[lead]
        st = st_elevation_uv if lead in st_leads else 0.0
        out[lead] = [
            round(_at(i / rate_hz, beats, scale, st) + rng.gauss(0, noise_uv)) for i in range(n)
        ]
    return out


def _at(t: float, beats: list[float], scale: float, st_uv: float) -> float:
    value = 0.0
    for r in beats:
        dt_ = t - r
        if -0.35 < dt_ < 0.5:
            for centre, width, amp in WAVES.values():
                value += scale * amp * math.exp(-(((dt_ - centre) / width) ** 2) / 2)
            if 0.04 <= dt_ <= 0.28:  # J point to T peak
                value += st_uv
    return value
