"""Wave boundaries on the median beat of all leads together (global measurements).

As in the classic 12-lead programs, the beats are first averaged (a median over beats, per
lead, which ignores the odd ectopic beat and, unlike a mean, does not blur the waves), then:

- QRS onset and offset (the J point) are where the *spatial velocity* (sum over leads of
  |dV/dt|) rises above / falls below 4 % of its peak above its noise floor, held for 6 ms;
  so the QRS starts at the earliest lead and ends at the last one, as the standard asks;
- the T wave ends at the knee of its return (the trapezium method: the point after the
  steepest down-slope that maximises the trapezium area up to a reference point 150 ms
  later, or 20 % of the T search window at fast rates), in the leads whose T wave is at least
  half the largest, and the latest of those is taken; a biphasic T ends after its second
  lobe. The steepest down-slope is looked for only until the T is back near the PR level or,
  once down to half its peak, stops falling: a tail that settles off the PR level must not
  let the search run on into the next P wave. Unlike the tangent to the baseline it does
  not depend on the level the T tail settles at: on the real recordings of tests/data/ecg it
  is within 10 ms of the carts' QT, where the tangent was 22 ms short on one and, on a T
  that undershoots, 116 ms long;
- a P wave is present when the spatial magnitude before the QRS rises well above the noise
  left in the median beat and rises from a quiet point (the lowest before its peak: the
  previous T's tail may still be drifting back where the search starts); its onset is the
  knee of its rise (farthest point below the chord from 150 ms before the P peak to the
  peak). At fast rates the P wave sits on the previous T wave and is reported as not
  detectable rather than guessed.

All times are sample offsets from the beat fiducial (the QRS energy peak).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

QRS_THRESHOLD = 0.04  # of the spatial velocity's peak above its noise floor
QRS_HOLD_S = 0.006
QRS_SEARCH_BEFORE_S = 0.150  # the QRS onset is at most this before the fiducial
QRS_SEARCH_AFTER_S = 0.200
T_LEADS_WITHIN = 0.5  # leads whose T amplitude is at least half the largest take part
T_START_AFTER_J_S = 0.040
RETURNED = 0.05  # the steepest return is looked for until the T is back within 5 % of its peak
HALF_RETURNED = 0.5  # ... or, once down to half its peak, until it rises again (next wave)
BIPHASIC_LOBE = 0.30  # an opposite lobe this big (of the first) right after it is T too
BIPHASIC_WITHIN_S = 0.100
TRAPEZIUM_S = 0.150  # the knee of the T return is looked for up to this after its steepest point
TRAPEZIUM_OF_WINDOW = 0.2  # ... and at most this fraction of the J + 40 ms to next-QRS window
P_MIN_UV = 40.0  # spatial magnitude of a P wave, and at least 4 x the residual noise
P_NOISE_FACTOR = 4.0
P_CHORD_S = 0.150
P_START_LEVEL_S = 0.010  # the level the P rises from: the window's first 10 ms
P_QUIET_START = 0.35  # the P window must start below this fraction of the P peak
PR_GAP_S = 0.010  # the P search stops this long before the QRS onset


def median_beat(x: Array, fiducials: NDArray[np.int64], pre: int, post: int) -> Array:
    """Leads x (pre + post) median over the beats whose window lies inside the record."""
    return np.median(beat_stack(x, fiducials, pre, post), axis=0)


def beat_stack(x: Array, fiducials: NDArray[np.int64], pre: int, post: int) -> Array:
    """Beats x leads x window."""
    inside = [f for f in fiducials if f - pre >= 0 and f + post <= x.shape[1]]
    return np.stack([x[:, f - pre : f + post] for f in inside])


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
    # At fast rates the next P wave follows the T closely: the knee is looked for in a
    # shorter reach so that the P wave's rise is not taken for the end of the T's descent.
    reach = min(int(TRAPEZIUM_S * rate_hz), int(TRAPEZIUM_OF_WINDOW * segment.shape[1]))
    ends = [e for e in (_lead_t_end(segment[k], reach, rate_hz) for k in leads) if e is not None]
    return first + max(ends) - pre if ends else None


def _lead_t_end(wave: Array, reach: int, rate_hz: float) -> int | None:
    """End of the T wave in one lead; a biphasic T ends after its second lobe."""
    peak = int(np.argmax(np.abs(wave)))
    end = _knee_after(wave, peak, reach)
    if end is None:
        return None
    later = wave[end : end + int(BIPHASIC_WITHIN_S * rate_hz)] * -np.sign(wave[peak])
    if len(later) and later.max() >= BIPHASIC_LOBE * abs(wave[peak]):
        second = _knee_after(wave, end + int(np.argmax(later)), reach)
        return end if second is None else second
    return end


def _knee_after(wave: Array, peak: int, reach: int) -> int | None:
    """End of the return to baseline after `peak`: the trapezium (knee) method.

    From the steepest point m of the return, the end is the sample i that maximises the area
    of the trapezium (m, y_m), (i, y_i), (r, y_i), (r, y_m), r being `reach` samples after m
    (or the window's end): the point where the descent stops, wherever the level it stops at.
    The tangent-to-baseline rule ends the T too early when its tail undershoots the PR level
    or approaches it slowly (about 20-40 ms on real ECGs, see stream_processors/
    ecg_measurement/accuracy.py); the knee does not depend on that level.
    """
    sign = np.sign(wave[peak])
    back = np.flatnonzero(wave[peak:] * sign <= RETURNED * abs(wave[peak]))
    stop = peak + (int(back[0]) if len(back) else len(wave) - peak - 1)
    stop = min(stop, _trough_after(wave * sign, peak))
    slope = np.gradient(wave)[peak : stop + 1] * sign  # negative on the way back to baseline
    if len(slope) < 2 or slope.min() >= 0:
        return None
    m = peak + int(np.argmin(slope))
    r = min(len(wave) - 1, m + reach)
    if r <= m:
        return None
    i = np.arange(m, r + 1)
    area = (wave[m] - wave[m : r + 1]) * sign * (2 * r - i - m)
    return int(m + np.argmax(area))


def _trough_after(wave: Array, peak: int) -> int:
    """Where the return of a positive wave from `peak` stops: its first trough once it is
    down to half the peak (the last sample when there is none).

    A T tail that settles above RETURNED of its peak (a TP level off the PR level) would
    otherwise let the steepest-descent search run on into the next wave, the U or the next
    beat's P wave, and end the T after it (QT 734 ms at 78/min on CPSC 2018 A0002).
    """
    half = np.flatnonzero(wave[peak:] <= HALF_RETURNED * wave[peak])
    if not len(half):
        return len(wave) - 1
    start = peak + int(half[0])
    rising = np.flatnonzero(np.diff(wave[start:]) > 0)
    return start + int(rising[0]) if len(rising) else len(wave) - 1


def p_onset(
    median: Array, pre: int, qrs_onset: int, start: int, noise_uv: float, rate_hz: float
) -> int | None:
    """Onset of the P wave (offset from the fiducial) or None when none is detectable.

    The P peak is the largest spatial magnitude before the QRS (relative to the PR segment);
    its onset is the knee of the rise to it: the point farthest below the chord from 150 ms
    before the peak to the peak. A knee does not need the TP level to equal the PR level, nor
    the TP segment to be flat.
    """
    first = max(0, pre + start)
    last = pre + qrs_onset - int(PR_GAP_S * rate_hz)
    if last - first < int(0.06 * rate_hz):
        return None
    window = median[:, first:last]
    magnitude = np.sqrt(np.sum(window**2, axis=0))
    peak = int(np.argmax(magnitude))
    height = float(magnitude[peak])
    # The P must rise from a quiet point: the lowest before its peak (the previous T's tail
    # may still be drifting back at the window's start, above the PR level).
    quiet = float(magnitude[: peak + 1].min())
    if height < max(P_MIN_UV, P_NOISE_FACTOR * noise_uv) or quiet > P_QUIET_START * height:
        return None
    start_level = window[:, : max(1, int(P_START_LEVEL_S * rate_hz))].mean(axis=1, keepdims=True)
    rise = np.sqrt(np.sum((window[:, : peak + 1] - start_level) ** 2, axis=0))
    a = max(0, peak - int(P_CHORD_S * rate_hz))
    below_chord = np.linspace(rise[a], rise[peak], peak + 1 - a) - rise[a:]
    return first + a + int(np.argmax(below_chord)) - pre
