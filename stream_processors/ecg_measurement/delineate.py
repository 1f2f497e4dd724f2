"""Wave boundaries on the median beat of all leads together (global measurements).

As in the classic 12-lead programs, the beats are first averaged (a median over beats, per
lead, which ignores the odd ectopic beat and halves nothing of the waveform), then:

- QRS onset and offset (the J point) are where the *spatial velocity* (sum over leads of
  |dV/dt|) rises above / falls below 4 % of its peak above its noise floor, held for 6 ms;
  so the QRS starts at the earliest lead and ends at the last one, as the standard asks;
- the T wave ends where the tangent at the steepest point of its down-slope meets the
  baseline (the tangent method), in the leads with the largest T waves, and the latest of
  those is taken;
- a P wave is present when the spatial magnitude before the QRS rises well above the noise
  left in the median beat and starts from a quiet baseline; its onset is where the magnitude
  falls under 10 % of the P peak. At fast rates the P wave sits on the previous T wave and
  is reported as not detectable rather than guessed.

All times are sample offsets from the beat fiducial (the QRS energy peak).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

QRS_THRESHOLD = 0.04  # of the spatial velocity's peak above its noise floor
QRS_HOLD_S = 0.006
QRS_SEARCH_BEFORE_S = 0.150  # the QRS onset is at most this before the fiducial
QRS_SEARCH_AFTER_S = 0.200
T_LEADS_WITHIN = 0.5  # leads whose T amplitude is at least half the largest take part
T_START_AFTER_J_S = 0.040
P_MIN_UV = 40.0  # spatial magnitude of a P wave, and at least 4 x the residual noise
P_NOISE_FACTOR = 4.0
P_ONSET_LEVEL = 0.10
P_QUIET_START = 0.35  # the P window must start below this fraction of the P peak
PR_GAP_S = 0.010  # the P search stops this long before the QRS onset


@dataclass(frozen=True)
class Boundaries:
    qrs_onset: int
    qrs_offset: int  # the J point
    t_end: int | None
    p_onset: int | None


def median_beat(x: Array, fiducials: NDArray[np.int64], pre: int, post: int) -> Array:
    """Leads x (pre + post) median over the beats whose window lies inside the record."""
    return np.median(beat_stack(x, fiducials, pre, post), axis=0)


def beat_stack(x: Array, fiducials: NDArray[np.int64], pre: int, post: int) -> Array:
    """Beats x leads x window."""
    inside = [f for f in fiducials if f - pre >= 0 and f + post <= x.shape[1]]
    return np.stack([x[:, f - pre:f + post] for f in inside])


def qrs_bounds(median: Array, pre: int, rate_hz: float) -> tuple[int, int]:
    """(onset, offset) of the QRS, as offsets from the fiducial."""
    velocity = np.sum(np.abs(np.gradient(median, axis=1)), axis=0)
    near = slice(max(0, pre - int(0.06 * rate_hz)), pre + int(0.06 * rate_hz))
    peak = near.start + int(np.argmax(velocity[near]))
    floor = float(np.percentile(velocity, 20))
    above = velocity > floor + QRS_THRESHOLD * (velocity[peak] - floor)
    hold = max(1, int(round(QRS_HOLD_S * rate_hz)))
    start = max(0, pre - int(QRS_SEARCH_BEFORE_S * rate_hz))
    stop = min(len(velocity), pre + int(QRS_SEARCH_AFTER_S * rate_hz))
    onset = _quiet_edge(above, peak, start, -1, hold)
    offset = _quiet_edge(above, peak, stop - 1, +1, hold)
    return onset - pre, offset - pre


def _quiet_edge(above: NDArray[np.bool_], peak: int, limit: int, step: int, hold: int) -> int:
    """From the peak outward, the last 'above' sample before `hold` quiet samples in a row."""
    quiet = 0
    i = peak
    while i != limit:
        i += step
        quiet = quiet + 1 if not above[i] else 0
        if quiet >= hold:
            return i - step * hold
    return limit


def t_end(median: Array, pre: int, j: int, stop: int, rate_hz: float) -> int | None:
    """End of the T wave (offset from the fiducial) in a baseline-corrected median beat."""
    first = pre + j + int(T_START_AFTER_J_S * rate_hz)
    last = min(median.shape[1], pre + stop)
    if last - first < int(0.08 * rate_hz):
        return None
    segment = median[:, first:last]
    amplitude = np.max(np.abs(segment), axis=1)
    leads = np.flatnonzero(amplitude >= T_LEADS_WITHIN * amplitude.max())
    ends = [e for e in (_tangent_end(segment[k], rate_hz) for k in leads) if e is not None]
    return first + max(ends) - pre if ends else None


def _tangent_end(wave: Array, rate_hz: float) -> int | None:
    peak = int(np.argmax(np.abs(wave)))
    sign = np.sign(wave[peak])
    slope = np.gradient(wave)[peak:] * sign  # negative on the way back to baseline
    if len(slope) < 3 or slope.min() >= 0:
        return None
    steepest = peak + int(np.argmin(slope))
    end = steepest - wave[steepest] / (slope.min() * sign)
    return int(round(min(end, len(wave) - 1)))


def p_onset(median: Array, pre: int, qrs_onset: int, start: int, noise_uv: float,
            rate_hz: float) -> int | None:
    """Onset of the P wave (offset from the fiducial) or None when none is detectable."""
    first = max(0, pre + start)
    last = pre + qrs_onset - int(PR_GAP_S * rate_hz)
    if last - first < int(0.06 * rate_hz):
        return None
    magnitude = np.sqrt(np.sum(median[:, first:last] ** 2, axis=0))
    peak = int(np.argmax(magnitude))
    height = float(magnitude[peak])
    if height < max(P_MIN_UV, P_NOISE_FACTOR * noise_uv) or magnitude[0] > P_QUIET_START * height:
        return None
    below = np.flatnonzero(magnitude[:peak] < P_ONSET_LEVEL * height)
    if len(below) == 0:
        return None
    return first + int(below[-1]) - pre
