"""Per-lead signal checks: what makes a lead unusable, with thresholds and why.

A lead that fails is left out of every measurement (its ST deviation is not reported) and
named in the problems; the record stays analysable while at least one lead is usable.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

# Range (0.5th to 99.5th percentile) under which a lead carries no ECG: the smallest QRS in
# a normal 12-lead (aVL, III near the axis) is a few hundred uV, a disconnected electrode
# with a good amplifier shows a few tens.
FLAT_RANGE_UV = 40.0
# A flat line this far from zero is an amplifier at its rail (lead off), not a quiet lead:
# no ECG sits 5 mV off its baseline once the electrode offset is removed.
RAIL_UV = 5000.0
# Samples stuck at the lead's own extreme in runs of 8 ms or more, as a share of the record:
# an amplifier at its rail or a converter at full scale. A true R peak stays at its maximum
# for 1-2 samples, never 8 ms, and never 1 % of a record. A smooth wave's rounded top can
# stay that long too, but it also lingers just under its top; a clipped signal piles up at
# the rail and only passes through the values just under it: so the stuck samples must
# also outnumber, twice, those within 5 % of the range below the extreme.
CLIP_RUN_S = 0.008
CLIP_SHARE = 0.01
CLIP_PILE_UP = 2.0
CLIP_NEAR = 0.05
# Standard error of a lead's median ST deviation (from the spread of its per-beat values)
# above which the lead is too noisy: the 100 uV decision needs the level to a third of it.
NOISY_ST_UV = 35.0


def flat(x: Array) -> NDArray[np.bool_]:
    """Per lead (leads x samples): is it a flat line?"""
    low, high = np.percentile(x, [0.5, 99.5], axis=-1)
    return np.asarray(high - low < FLAT_RANGE_UV)


def clipped(x: Array, rate_hz: float) -> bool:
    """Is one lead (samples) stuck at its maximum or minimum, as a clipped signal is?"""
    run = max(3, int(round(CLIP_RUN_S * rate_hz)))
    near = CLIP_NEAR * float(x.max() - x.min())
    for at_rail, under in (
        (x == x.max(), (x < x.max()) & (x >= x.max() - near)),
        (x == x.min(), (x > x.min()) & (x <= x.min() + near)),
    ):
        stuck = _samples_in_runs(at_rail, run)
        if stuck >= CLIP_SHARE * len(x) and stuck >= CLIP_PILE_UP * np.count_nonzero(under):
            return True
    return False


def _samples_in_runs(mask: NDArray[np.bool_], run: int) -> int:
    """How many True samples belong to runs of at least `run` consecutive Trues."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return int(lengths[lengths >= run].sum())


def median_beat_noise_uv(beats: Array, median: Array, exclude: slice) -> float:
    """Spatial noise left in a median beat: the beats' residual SD over all leads / sqrt(n).

    beats x leads x samples; the residual's SD is taken from its mean absolute value
    (x 1.2533 for Gaussian noise) outside `exclude` (the QRS, where it is alignment jitter).
    """
    keep = np.ones(beats.shape[2], dtype=bool)
    keep[exclude] = False
    per_lead = 1.2533 * np.mean(np.abs(beats[:, :, keep] - median[:, keep]), axis=(0, 2))
    return float(np.sqrt(np.sum(per_lead**2) / beats.shape[0]))


def st_noise_uv(st: Array) -> Array:
    """Per lead, standard error of the median of its per-beat ST values (leads x beats).

    The spread is the MAD scaled to a standard deviation; the median of n values has
    about 1.25 sigma / sqrt(n) of standard error. With fewer than 3 beats it is unknown (0).
    """
    n = st.shape[1]
    if n < 3:
        return np.zeros(st.shape[0])
    mad = np.median(np.abs(st - np.median(st, axis=1, keepdims=True)), axis=1)
    return np.asarray(1.2533 * 1.4826 * mad / np.sqrt(n))
