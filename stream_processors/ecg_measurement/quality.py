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
# Samples stuck at the lead's own extreme in runs of 8 ms or more, as a share of the record:
# an amplifier at its rail or a converter at full scale. A true R peak stays at its maximum
# for 1-2 samples, never 8 ms, and never 1 % of a record.
CLIP_RUN_S = 0.008
CLIP_SHARE = 0.01
# Standard error of a lead's median ST deviation (from the spread of its per-beat values)
# above which the lead is too noisy: the 100 uV decision needs the level to about +-25 uV.
NOISY_ST_UV = 25.0


def flat(x: Array) -> bool:
    low, high = np.percentile(x, [0.5, 99.5])
    return bool(high - low < FLAT_RANGE_UV)


def clipped(x: Array, rate_hz: float) -> bool:
    run = max(3, int(round(CLIP_RUN_S * rate_hz)))
    stuck = _samples_in_runs(x == x.max(), run) + _samples_in_runs(x == x.min(), run)
    return stuck >= CLIP_SHARE * len(x)


def _samples_in_runs(mask: NDArray[np.bool_], run: int) -> int:
    """How many True samples belong to runs of at least `run` consecutive Trues."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return int(lengths[lengths >= run].sum())


def residual_noise_uv(beats: Array, exclude: slice) -> Array:
    """Per lead, robust SD of beats minus their median outside the QRS (beats x leads x t)."""
    residual = beats - np.median(beats, axis=0)
    keep = np.ones(beats.shape[2], dtype=bool)
    keep[exclude] = False
    r = residual[:, :, keep]
    mad = np.median(np.abs(r - np.median(r, axis=(0, 2), keepdims=True)), axis=(0, 2))
    return np.asarray(1.4826 * mad)


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
