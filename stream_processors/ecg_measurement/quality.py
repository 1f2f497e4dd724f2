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
# Residual noise (beats minus their median, after the 40 Hz low-pass) above which a lead's ST
# level cannot be trusted to the 50 uV that separates the 100 uV decision from normal.
NOISY_RESIDUAL_UV = 80.0


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
