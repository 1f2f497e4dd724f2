"""Filters and QRS detection on all usable leads at once.

The detector is Pan-Tompkins in spirit, made multi-lead: the 5-25 Hz band (where QRS energy
is and P/T energy is not) is squared and summed over the leads, integrated over 80 ms, and
its peaks above a fraction of the typical QRS peak are beats; a gap longer than 1.66 median
RR is searched again at half the threshold (a missed low-amplitude beat). Summing leads makes
a beat that is small in one lead visible in another, and one noisy lead hardly matters.
Each beat's fiducial point is then refined by cross-correlating its QRS with the median
QRS, so that median beats are sharp (the QRS duration is measured on them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal

Array = NDArray[np.float64]

DETECTION_BAND_HZ = (5.0, 25.0)
MORPHOLOGY_LOWPASS_HZ = 40.0  # keeps QRS slopes, removes EMG; the ST level is untouched
MAINS_HZ = (50.0, 60.0)  # China's mains is 50 Hz; 60 Hz for imported carts' own tests
INTEGRATION_S = 0.080
REFRACTORY_S = 0.200  # 300 bpm is the fastest rhythm we report
DETECTION_THRESHOLD = 0.30  # of the typical QRS peak of the integrated energy
SEARCHBACK_GAP = 1.66  # x median RR: look again for a missed beat (Pan-Tompkins' figure)
ALIGN_MAX_SHIFT_S = 0.012
ALIGN_HALF_WINDOW_S = 0.050


@dataclass(frozen=True)
class Detection:
    fiducials: NDArray[np.int64]  # sample index of each beat, on the QRS energy peak
    rr_s: Array  # successive intervals between fiducials


def morphology_filter(x: Array, rate_hz: float) -> Array:
    """Mains notches and a zero-phase 40 Hz low-pass; no high-pass, so the ST level stays."""
    y = x
    for mains in MAINS_HZ:
        if rate_hz > 2.4 * mains:
            b, a = signal.iirnotch(mains, 30.0, rate_hz)
            y = signal.filtfilt(b, a, y, axis=-1)
    sos = signal.butter(4, min(MORPHOLOGY_LOWPASS_HZ, 0.4 * rate_hz), fs=rate_hz, output="sos")
    return np.asarray(signal.sosfiltfilt(sos, y, axis=-1))


def detection_band(x: Array, rate_hz: float) -> Array:
    sos = signal.butter(2, DETECTION_BAND_HZ, btype="band", fs=rate_hz, output="sos")
    return np.asarray(signal.sosfiltfilt(sos, x, axis=-1))


def detect(band: Array, rate_hz: float) -> Detection:
    """Beats in the band-passed leads (leads x samples)."""
    energy = _integrated_energy(band, rate_hz)
    peaks = _threshold_peaks(energy, rate_hz)
    fiducials = _align(band, peaks, rate_hz)
    return Detection(fiducials=fiducials, rr_s=np.diff(fiducials) / rate_hz)


def _integrated_energy(band: Array, rate_hz: float) -> Array:
    width = max(1, int(round(INTEGRATION_S * rate_hz)))
    energy = np.sum(band**2, axis=0)
    return np.convolve(energy, np.ones(width) / width, mode="same")


def _threshold_peaks(energy: Array, rate_hz: float) -> NDArray[np.int64]:
    distance = max(1, int(REFRACTORY_S * rate_hz))
    candidates, props = signal.find_peaks(energy, distance=distance, height=0.0)
    if len(candidates) == 0:
        return np.array([], dtype=np.int64)
    heights = props["peak_heights"]
    typical = _typical_qrs_peak(heights, len(energy) / rate_hz)
    beats = candidates[heights >= DETECTION_THRESHOLD * typical]
    return _search_back(beats, candidates, heights, DETECTION_THRESHOLD / 2 * typical)


def _typical_qrs_peak(heights: Array, seconds: float) -> float:
    """Median of the k highest peaks, k = the fewest beats a record of 30 bpm would have."""
    k = max(1, min(len(heights), int(seconds / 2.0)))
    return float(np.median(np.sort(heights)[-k:]))


def _search_back(beats: NDArray[np.int64], candidates: NDArray[np.int64], heights: Array,
                 low: float) -> NDArray[np.int64]:
    if len(beats) < 3:
        return beats
    gap_limit = SEARCHBACK_GAP * float(np.median(np.diff(beats)))
    found = list(beats)
    for a, b in zip(beats[:-1], beats[1:], strict=False):
        if b - a > gap_limit:
            inside = (candidates > a + 0.3 * (b - a)) & (candidates < b - 0.3 * (b - a))
            inside &= heights >= low
            if inside.any():
                found.append(int(candidates[inside][np.argmax(heights[inside])]))
    return np.array(sorted(found), dtype=np.int64)


def _align(band: Array, peaks: NDArray[np.int64], rate_hz: float) -> NDArray[np.int64]:
    """Shifts each beat by up to 12 ms to best match the median QRS of all beats."""
    half = int(round(ALIGN_HALF_WINDOW_S * rate_hz))
    shift = int(round(ALIGN_MAX_SHIFT_S * rate_hz))
    n = band.shape[1]
    inside = peaks[(peaks - half - shift >= 0) & (peaks + half + shift < n)]
    if len(inside) < 2:
        return peaks
    template = np.median(np.stack([band[:, p - half:p + half] for p in inside]), axis=0)
    out = peaks.copy()
    for i, p in enumerate(peaks):
        if p - half - shift >= 0 and p + half + shift < n:
            scores = [np.sum(template * band[:, p + s - half:p + s + half]) for s in range(-shift, shift + 1)]
            out[i] = p + int(np.argmax(scores)) - shift
    return out
