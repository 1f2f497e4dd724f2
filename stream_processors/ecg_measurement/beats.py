"""Filters and QRS detection on all usable leads at once.

The detector is Pan-Tompkins in spirit, made multi-lead: the 5-25 Hz band (where QRS energy
is and P/T energy is not) is squared and summed over the leads, integrated over 80 ms, and
its peaks above 30 % of the way from the noise floor to the typical QRS peak (in amplitude,
so a tall ectopic beat hides no normal beat) are beats. A gap longer than 1.66 mean RR is
searched again at half the threshold (a missed small beat); a peak within 360 ms of a beat
whose steepest slope is under half the beat's is a tall T wave and dropped, as Pan and
Tompkins do. Summing leads makes a beat that is small in one lead visible in another, and
one noisy lead hardly matters. Beats too near either end of the record to be seen whole
are dropped.
Each beat's fiducial point is then refined by cross-correlating its QRS with the median
QRS, so that median beats are sharp (the QRS duration is measured on them).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, signal

from stream_processors.ecg_measurement import reason_texts as rt

Array = NDArray[np.float64]

DETECTION_BAND_HZ = (5.0, 25.0)
MORPHOLOGY_LOWPASS_HZ = 40.0  # keeps QRS slopes, removes EMG; the ST level is untouched
MAINS_HZ = (50.0, 60.0)  # China's mains is 50 Hz; 60 Hz for imported carts' own tests
INTEGRATION_S = 0.080
REFRACTORY_S = 0.200  # 300 bpm is the fastest rhythm we report
DETECTION_THRESHOLD = 0.30  # of the way from the noise floor to the typical QRS peak
# The typical QRS peak (root of the integrated energy, summed over leads) must reach this
# and stand this many times above the floor (its 25th percentile); white noise alone gives
# 1.4, a real ECG at 200/min 3.1, at 70/min buried in 400 uV of noise 3.5.
MIN_QRS_BAND_UV = 30.0
MIN_QRS_TO_FLOOR = 2.0
T_WAVE_WINDOW_S = 0.360
T_WAVE_RATIO = 0.5
SEARCHBACK_GAP = 1.66  # x mean RR: look again for a missed beat (Pan-Tompkins' figure)
ALIGN_MAX_SHIFT_S = 0.012
ALIGN_HALF_WINDOW_S = 0.050


@dataclass(frozen=True)
class Detection:
    fiducials: NDArray[np.int64]  # sample index of each beat, on the QRS energy peak
    rr_s: Array  # successive intervals between fiducials
    problem: str | None = None  # why no beat was found


def morphology_filter(x: Array, rate_hz: float) -> Array:
    """Mains notches and a zero-phase 40 Hz low-pass; no high-pass, so the ST level stays."""
    return np.asarray(signal.sosfiltfilt(_morphology_sos(rate_hz), x, axis=-1))


def detection_band(x: Array, rate_hz: float) -> Array:
    """The 5-25 Hz band, best given the morphology-filtered leads (mains already removed)."""
    return np.asarray(signal.sosfiltfilt(_detection_sos(rate_hz), x, axis=-1))


@functools.lru_cache(maxsize=16)
def _morphology_sos(rate_hz: float) -> Array:
    notches = [
        signal.tf2sos(*signal.iirnotch(mains, 30.0, rate_hz))
        for mains in MAINS_HZ
        if rate_hz > 2.4 * mains
    ]
    low = signal.butter(4, min(MORPHOLOGY_LOWPASS_HZ, 0.4 * rate_hz), fs=rate_hz, output="sos")
    return np.vstack([*notches, low])


@functools.lru_cache(maxsize=16)
def _detection_sos(rate_hz: float) -> Array:
    return np.asarray(signal.butter(2, DETECTION_BAND_HZ, btype="band", fs=rate_hz, output="sos"))


def detect(band: Array, rate_hz: float) -> Detection:
    """Beats in the band-passed leads (leads x samples)."""
    energy = np.sum(band**2, axis=0)  # uV^2
    width = max(1, int(round(INTEGRATION_S * rate_hz)))
    level = np.sqrt(np.convolve(energy, np.ones(width) / width, mode="same"))  # uV
    distance = max(1, int(REFRACTORY_S * rate_hz))
    candidates, props = signal.find_peaks(level, distance=distance, height=0.0)
    heights = props["peak_heights"]
    typical = _typical_qrs_peak(heights, len(energy) / rate_hz)
    floor = float(np.percentile(level, 25))
    problem = _no_qrs(typical, floor)
    if problem:
        return Detection(np.array([], dtype=np.int64), np.array([]), problem)
    # Pan and Tompkins' NPK + 0.25 (SPK - NPK), with 0.3; half of it when searching back.
    threshold = floor + DETECTION_THRESHOLD * (typical - floor)
    low = floor + DETECTION_THRESHOLD / 2 * (typical - floor)
    strong = candidates[heights >= threshold]
    found = _search_back(strong, candidates, heights, low)
    slopes = np.sqrt(ndimage.maximum_filter1d(energy, width))
    fiducials = _align(band, _drop_t_waves(found, slopes[found], rate_hz), rate_hz)
    return Detection(fiducials, np.diff(fiducials) / rate_hz)


def _no_qrs(typical: float, floor: float) -> str | None:
    if typical < MIN_QRS_BAND_UV:
        return rt.NO_QRS.render(limit=MIN_QRS_BAND_UV)
    if typical < MIN_QRS_TO_FLOOR * floor:
        return rt.NO_QRS_IN_NOISE.english
    return None


def _drop_t_waves(peaks: NDArray[np.int64], slopes: Array, rate_hz: float) -> NDArray[np.int64]:
    """Pan-Tompkins' rule: a peak soon after a beat, under half its steepest slope, is a T."""
    kept: list[int] = []
    last_slope = 0.0
    for p, slope in zip(peaks, slopes, strict=True):
        if kept and p - kept[-1] < T_WAVE_WINDOW_S * rate_hz and slope < T_WAVE_RATIO * last_slope:
            continue
        kept.append(int(p))
        last_slope = float(slope)
    return np.array(kept, dtype=np.int64)


def _typical_qrs_peak(heights: Array, seconds: float) -> float:
    """Median of the k highest peaks, k = the fewest beats a record of 30 bpm would have."""
    if len(heights) == 0:
        return 0.0
    k = max(1, min(len(heights), int(seconds / 2.0)))
    return float(np.median(np.sort(heights)[-k:]))


def _search_back(
    beats: NDArray[np.int64], candidates: NDArray[np.int64], heights: Array, low: float
) -> NDArray[np.int64]:
    if len(beats) < 3:
        return beats
    gap_limit = SEARCHBACK_GAP * float(np.mean(np.diff(beats)))  # mean: bigeminy's pauses
    found = list(beats)
    for a, b in zip(beats[:-1], beats[1:], strict=False):
        if b - a > gap_limit:
            inside = (candidates > a + 0.3 * (b - a)) & (candidates < b - 0.3 * (b - a))
            inside &= heights >= low
            if inside.any():
                found.append(int(candidates[inside][np.argmax(heights[inside])]))
    return np.array(sorted(found), dtype=np.int64)


def _align(band: Array, peaks: NDArray[np.int64], rate_hz: float) -> NDArray[np.int64]:
    """Shifts each beat by up to 12 ms to best match the median QRS of all beats.

    Beats too near either end of the record for their QRS to be seen whole are dropped:
    their timing, and so the RR intervals they would add, cannot be trusted.
    """
    half = int(round(ALIGN_HALF_WINDOW_S * rate_hz))
    shift = int(round(ALIGN_MAX_SHIFT_S * rate_hz))
    inside = np.asarray(
        peaks[(peaks - half - shift >= 0) & (peaks + half + shift < band.shape[1])], dtype=np.int64
    )
    if len(inside) < 2:
        return inside
    wide = np.stack([band[:, p - half - shift : p + half + shift] for p in inside])
    template = np.median(wide[:, :, shift : shift + 2 * half], axis=0)
    scores = np.stack(
        [
            np.einsum("blt,lt->b", wide[:, :, s : s + 2 * half], template)
            for s in range(2 * shift + 1)
        ]
    )
    return np.asarray(inside + np.argmax(scores, axis=0) - shift, dtype=np.int64)
