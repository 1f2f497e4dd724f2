"""Synthetic 12-lead ECGs whose true measurements are known, for tests and benchmarks.

This is a heart *dipole* model: every wave (P, Q, R, S, T) is a fixed cardiac vector times a time course of
compact support, and each lead is the projection of the vector on the lead's axis. So the
limb leads obey Einthoven's law (III = II - I, aVR = -(I + II) / 2, ...), the QRS turns from
a septal q to an rS in V1 and a qR in V6, and every interval has an exact start and end:

- QRS onset/offset are the first/last sample where a QRS component is non-zero;
- the P wave ends before the PR segment, which is exactly isoelectric;
- ST injections (`st_offset_uv`, per lead) rise over the last 15 ms of the QRS, stay flat to
  the T peak and fade with the T wave, so the values at the J point and at J + 60 ms are
  known (`Truth.st_j_uv`, `Truth.st_j60_uv`).

Intervals follow the heart rate as adults' do: PR = 160 ms x RR^0.25, QT = 400 ms x RR^(1/3)
(Fridericia's relation), the ST segment is 35 % of QT - QRS. "af" replaces P waves by 4-7 Hz
fibrillatory waves and draws RR intervals with a 20 % coefficient of variation.
Noise knobs: white (EMG-like) noise, baseline wander (0.15-0.4 Hz) and mains (50 Hz).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kernel.codes import STANDARD_LEAD_ORDER

Array = NDArray[np.float64]

# Cardiac vectors of the waves in (left, inferior, anterior) body axes, amplitude in uV.
WAVE_VECTORS_UV: dict[str, tuple[float, float, float]] = {
    "P": (70.0, 120.0, 35.0),
    "Q": (-125.0, 55.0, 115.0),
    "R": (910.0, 980.0, -420.0),
    "S": (-130.0, -170.0, -330.0),
    "T": (230.0, 200.0, 190.0),
}
# Where Q, R and S sit inside the QRS, as (start, width) fractions of its duration.
QRS_PARTS = {"Q": (0.0, 0.30), "R": (0.12, 0.55), "S": (0.55, 0.45)}
# Lead axes: limb leads from the hexaxial reference system (aV leads have the sqrt(3)/2
# factor that makes them the exact combinations of I and II); chest leads by their angle in
# the horizontal plane (0 deg = left, 90 deg = anterior), tilt toward the feet, proximity gain.
_LIMB = {"I": 0.0, "II": 60.0, "III": 120.0}
_CHEST = {
    "V1": (120, 0.0, 1.2),
    "V2": (100, 0.0, 1.6),
    "V3": (80, 0.1, 1.6),
    "V4": (60, 0.2, 1.5),
    "V5": (35, 0.3, 1.3),
    "V6": (10, 0.35, 1.0),
}
ST_RISE_S = 0.015  # an injected ST offset reaches its level over the last 15 ms of the QRS


@dataclass(frozen=True)
class Truth:
    """What the generator put in. Times of onsets are seconds from the first sample."""

    heart_rate_bpm: float  # 60 / mean RR of the beats wholly inside the record
    qrs_onsets_s: tuple[float, ...]
    qrs_ms: float
    pr_ms: float | None  # mean over beats; None without P waves (atrial fibrillation)
    qt_ms: float  # mean over beats (PR and QT follow each beat's preceding RR)
    st_j60_uv: dict[str, float]  # per lead, noise-free, minus the PR-segment level (zero)
    st_j_uv: dict[str, float] | None = None  # the same at the J point (end of the QRS)


@dataclass(frozen=True)
class SyntheticEcg:
    leads: dict[str, list[int]]
    rate_hz: float
    truth: Truth


def lead_axes() -> Array:
    """12 x 3 matrix projecting the cardiac vector on each standard lead."""
    rows: dict[str, list[float]] = {}
    for lead, deg in _LIMB.items():
        rows[lead] = [math.cos(math.radians(deg)), math.sin(math.radians(deg)), 0.0]
    i, ii = np.array(rows["I"]), np.array(rows["II"])
    rows["aVR"] = list(-(i + ii) / 2)
    rows["aVL"] = list(i - (ii - i) / 2 - i / 2)  # (I - III) / 2
    rows["aVF"] = list(ii - i / 2)  # (II + III) / 2
    for lead, (deg, tilt, gain) in _CHEST.items():
        rad = math.radians(deg)
        rows[lead] = [gain * math.cos(rad), gain * tilt, gain * math.sin(rad)]
    return np.array([rows[lead] for lead in STANDARD_LEAD_ORDER])


def synthesize(
    heart_rate_bpm: float = 72.0,
    seconds: float = 10.0,
    rate_hz: float = 500.0,
    qrs_ms: float = 90.0,
    st_offset_uv: Mapping[str, float] | None = None,
    rhythm: str = "sinus",
    noise_uv: float = 10.0,
    wander_uv: float = 0.0,
    mains_uv: float = 0.0,
    seed: int = 0,
) -> SyntheticEcg:
    """A 12-lead ECG (integer uV per standard lead) and the truth it was built from."""
    if rhythm not in ("sinus", "af"):
        raise ValueError(f"rhythm must be 'sinus' or 'af', not {rhythm!r}")
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate_hz))
    t = np.arange(n) / rate_hz
    onsets = _beat_onsets(60.0 / heart_rate_bpm, seconds, rhythm, rng)
    qrs_s = qrs_ms / 1000.0
    heart = np.zeros((3, n))
    st_shape = np.zeros(n)
    qts: list[float] = []
    prs: list[float] = []
    for k in range(1, len(onsets)):
        rr = onsets[k] - onsets[k - 1]
        qt = _add_beat(heart, st_shape, t, onsets[k], rr, qrs_s, rhythm == "sinus")
        if 0 <= onsets[k] < seconds:
            qts.append(qt)
            prs.append(_pr_s(rr))
    if rhythm == "af":
        heart += _fibrillatory_waves(t, rng)
    clean = lead_axes() @ heart
    offsets = {lead: float((st_offset_uv or {}).get(lead, 0.0)) for lead in STANDARD_LEAD_ORDER}
    clean += np.array([offsets[lead] for lead in STANDARD_LEAD_ORDER])[:, None] * st_shape
    noisy = clean + _noise(t, noise_uv, wander_uv, mains_uv, rng)
    inside = [o for o in onsets if 0 <= o < seconds]
    truth = Truth(
        heart_rate_bpm=60.0 / float(np.mean(np.diff(inside))),
        qrs_onsets_s=tuple(inside),
        qrs_ms=qrs_ms,
        pr_ms=float(np.mean(prs)) * 1000.0 if rhythm == "sinus" else None,
        qt_ms=float(np.mean(qts)) * 1000.0,
        st_j60_uv=_st_truth(clean, inside, qrs_s + 0.060, rate_hz),
        st_j_uv=_st_truth(clean, inside, qrs_s, rate_hz),
    )
    leads = {
        lead: [int(v) for v in np.rint(noisy[i])] for i, lead in enumerate(STANDARD_LEAD_ORDER)
    }
    return SyntheticEcg(leads=leads, rate_hz=rate_hz, truth=truth)


def _pr_s(rr: float) -> float:
    return float(0.160 * rr**0.25)


def _beat_onsets(rr: float, seconds: float, rhythm: str, rng: np.random.Generator) -> list[float]:
    """QRS onset times from one beat before the record to one after it."""
    onsets = [-rr + rng.uniform(0.3, 0.9) * rr]
    while onsets[-1] < seconds + rr:
        if rhythm == "af":
            step = rr * float(np.clip(rng.normal(1.0, 0.2), 0.55, 1.6))
        else:  # respiratory sinus arrhythmia (about 2 % CV) plus a little jitter
            step = rr * (
                1 + 0.025 * math.sin(2 * math.pi * len(onsets) / 4.5) + rng.normal(0, 0.005)
            )
        onsets.append(onsets[-1] + step)
    return onsets


def _add_beat(
    heart: Array, st_shape: Array, t: Array, onset: float, rr: float, qrs: float, with_p: bool
) -> float:
    """Adds one beat's waves to the cardiac vector; returns its QT in seconds."""
    if with_p:
        p_len = float(0.100 * min(rr, 1.2) ** 0.2)
        p_on = onset - _pr_s(rr)
        _add(heart, "P", _hann(t, p_on, p_len))
    for part, (start, width) in QRS_PARTS.items():
        _add(heart, part, _hann(t, onset + start * qrs, width * qrs))
    qt = float(0.400 * rr ** (1 / 3))
    j = onset + qrs
    t_on = j + 0.35 * (qt - qrs)
    t_len = onset + qt - t_on
    t_peak = t_on + 0.6 * t_len
    _add(heart, "T", _asymmetric(t, t_on, t_peak, onset + qt))
    st_shape += _st_profile(t, j, t_peak, onset + qt)
    return qt


def _add(heart: Array, wave: str, course: Array) -> None:
    heart += np.array(WAVE_VECTORS_UV[wave])[:, None] * course


def _hann(t: Array, start: float, width: float) -> Array:
    """A raised-cosine bump of height 1, zero outside [start, start + width]."""
    x = (t - start) / width
    return np.where((x > 0) & (x < 1), np.sin(np.pi * x) ** 2, 0.0)


def _asymmetric(t: Array, start: float, peak: float, end: float) -> Array:
    """Slow rise to 1 at `peak`, faster fall to 0 at `end` (a T wave)."""
    rise = np.where(
        (t > start) & (t <= peak), np.sin(np.pi / 2 * (t - start) / (peak - start)) ** 2, 0
    )
    fall = np.where((t > peak) & (t < end), np.cos(np.pi / 2 * (t - peak) / (end - peak)) ** 2, 0)
    return rise + fall


def _st_profile(t: Array, j: float, t_peak: float, t_end: float) -> Array:
    """1 from the J point to the T peak, smooth ramps before and after."""
    up = np.where(
        (t > j - ST_RISE_S) & (t <= j), np.sin(np.pi / 2 * (t - j + ST_RISE_S) / ST_RISE_S) ** 2, 0
    )
    flat = np.where((t > j) & (t <= t_peak), 1.0, 0.0)
    down = np.where(
        (t > t_peak) & (t < t_end), np.cos(np.pi / 2 * (t - t_peak) / (t_end - t_peak)) ** 2, 0
    )
    return up + flat + down


def _fibrillatory_waves(t: Array, rng: np.random.Generator) -> Array:
    """Atrial fibrillation's f waves: 4-7 Hz, irregular, about 50 uV, mostly toward V1."""
    direction = np.array([-0.3, 0.5, 0.8])[:, None]
    wave = np.zeros_like(t)
    for _ in range(3):
        wave += np.sin(2 * np.pi * rng.uniform(4, 7) * t + rng.uniform(0, 2 * np.pi))
    return np.asarray(40.0 * direction * wave / 1.7)


def _noise(t: Array, white: float, wander: float, mains: float, rng: np.random.Generator) -> Array:
    leads = len(STANDARD_LEAD_ORDER)
    out = rng.normal(0.0, white, (leads, len(t))) if white else np.zeros((leads, len(t)))
    for _ in range(2):
        freq = rng.uniform(0.15, 0.4, (leads, 1))
        out += wander / 2 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi, (leads, 1)))
    out += mains * np.sin(2 * np.pi * 50.0 * t + rng.uniform(0, 2 * np.pi, (leads, 1)))
    return out


def _st_truth(clean: Array, onsets: list[float], after: float, rate_hz: float) -> dict[str, float]:
    """Noise-free value `after` s from the QRS onset minus the PR-segment level, median over
    beats."""
    n = clean.shape[1]
    idx = [round((o + after) * rate_hz) for o in onsets]
    pr = [round((o - 0.010) * rate_hz) for o in onsets]
    pairs = [(j, p) for j, p in zip(idx, pr, strict=False) if p >= 0 and j < n]
    values = np.median(np.array([clean[:, j] - clean[:, p] for j, p in pairs]), axis=0)
    return {lead: float(values[i]) for i, lead in enumerate(STANDARD_LEAD_ORDER)}
