"""A small lead II strip of an ECG Observation for the board's cards.

The reading workstation's print-out (`services/reading/ecg_svg.py`) draws 60,000 samples at
true scale; a card needs a glance at the rhythm and the ST segment, pushed to every open
board on each change. So this draws the first seconds of lead II, decimated, on 5 mm grid
paper at the standard 25 mm/s and 10 mm/mV (the SVG is in mm; the page sizes it).
Pure: Observation JSON in, SVG text out.
"""

from __future__ import annotations

import html

from kernel.jsontypes import Json
from services.reading.ecg_svg import (
    GAIN_MM_PER_MV,
    GRID_LARGE,
    INK,
    PAPER,
    SPEED_MM_PER_S,
    Signal,
    lead_signals,
)

STRIP_S = 4.0  # seconds shown: three to six beats at usual rates
HEIGHT_MM = 25.0  # room for +1.5 mV above the baseline and -1 mV below
BASELINE_MM = 15.0
DRAW_HZ = 100.0  # decimated rate: 0.25 mm per point at 25 mm/s, finer than the stroke
PREFERRED_LEADS = ("II", "I", "V5")


def _lead(signals: dict[str, Signal]) -> Signal | None:
    for lead in PREFERRED_LEADS:
        if lead in signals:
            return signals[lead]
    return next(iter(signals.values()), None)


def _path(signal: Signal) -> str:
    step = max(1, round(1 / (DRAW_HZ * signal.period_s)))
    count = int(STRIP_S / signal.period_s)
    out, pen_down = [], False
    for i in range(0, min(count, len(signal.mv)), step):
        mv = signal.mv[i]
        if mv is None:
            pen_down = False
            continue
        y = min(max(BASELINE_MM - mv * GAIN_MM_PER_MV, 0.0), HEIGHT_MM)
        point = f"{i * signal.period_s * SPEED_MM_PER_S:.1f} {y:.1f}"
        out.append(point if pen_down else f"M{point}")
        pen_down = True
    return " ".join(out)


def _grid(width: float) -> str:
    vertical = "".join(f"M{x} 0V{HEIGHT_MM:g}" for x in range(0, int(width) + 1, 5))
    horizontal = "".join(f"M0 {y}H{width:g}" for y in range(0, int(HEIGHT_MM) + 1, 5))
    return (
        f'<rect width="{width:g}" height="{HEIGHT_MM:g}" fill="{PAPER}"/>'
        f'<path d="{vertical}{horizontal}" stroke="{GRID_LARGE}" stroke-width="0.15"'
        ' stroke-opacity="0.5" fill="none"/>'
    )


def lead_strip_svg(observation: Json, title: str = "") -> str:
    """`<svg class="ecg-thumb">` of lead II (else I, V5, any), or "" without a signal."""
    signal = _lead(lead_signals(observation))
    if signal is None or not any(v is not None for v in signal.mv):
        return ""
    width = STRIP_S * SPEED_MM_PER_S
    label = f"Lead {signal.lead}, {STRIP_S:g} s at 25 mm/s, 10 mm/mV" + (
        f" — {title}" if title else ""
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ecg-thumb" data-lead="{html.escape(signal.lead)}"'
        f' viewBox="0 0 {width:g} {HEIGHT_MM:g}" role="img"'
        f' aria-label="{html.escape(label, quote=True)}"><title>{html.escape(label)}</title>'
        f"{_grid(width)}"
        f'<path class="trace" d="{_path(signal)}" stroke="{INK}" stroke-width="0.35" fill="none"'
        ' stroke-linejoin="round"/>'
        f'<text x="1.5" y="4.5" font-size="3.5" font-family="sans-serif" fill="{INK}">'
        f"{html.escape(signal.lead)}</text></svg>"
    )
