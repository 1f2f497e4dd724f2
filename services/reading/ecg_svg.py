"""An ECG Observation (FHIR R4, one SampledData component per lead) drawn as a standard
12-lead print-out: inline SVG on ECG grid paper, at true physical scale.

Pure: Observation JSON in, SVG text out; no I/O, no clock.

The layout is the one every cardiologist reads: three rows of four 2.5 s columns
(I aVR V1 V4 / II aVL V2 V5 / III aVF V3 V6), each column showing the *same* 2.5 s of the
simultaneous recording its position stands for (column k: k*2.5 s to (k+1)*2.5 s), then a
10 s lead II rhythm strip. Each row starts with a 1 mV calibration pulse.

Scale: one SVG user unit is one millimetre (the viewBox is in mm and width/height are given
in `mm`), so the page prints at 25 mm/s and 10 mm/mV, and the browser shows it at the CSS
millimetre. Small squares are 1 mm (40 ms, 0.1 mV), large squares 5 mm (200 ms, 0.5 mV).
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from kernel.codes import ECG_LEADS, MDC
from kernel.jsontypes import Json

SPEED_MM_PER_S = 25.0  # paper speed
GAIN_MM_PER_MV = 10.0  # amplitude scale
SMALL_MM = 1.0  # small grid square: 40 ms x 0.1 mV
LARGE_MM = 5.0  # large grid square: 200 ms x 0.5 mV
COLUMN_S = 2.5  # each lead of the 3x4 block shows 2.5 s
RHYTHM_S = 10.0  # the rhythm strip shows 10 s
LAYOUT: tuple[tuple[str, ...], ...] = (
    ("I", "aVR", "V1", "V4"),
    ("II", "aVL", "V2", "V5"),
    ("III", "aVF", "V3", "V6"),
)
RHYTHM_LEAD = "II"

# Paper geometry in mm; multiples of 5 so baselines and column starts sit on large lines.
CAL_MM = 10.0  # left zone holding the calibration pulse
CAL_PULSE_MM = 5.0  # 200 ms wide pulse
ROW_MM = 40.0  # vertical pitch of rows: room for a 1.5 mV R wave above and S below
TOP_MM = 5.0
BOTTOM_MM = 5.0
RIGHT_MM = 5.0
BASELINE_FROM_ROW_TOP_MM = 25.0  # R waves are taller than S waves: baseline below centre
ROWS = len(LAYOUT) + 1
WIDTH_MM = CAL_MM + RHYTHM_S * SPEED_MM_PER_S + RIGHT_MM  # 265 mm
HEIGHT_MM = TOP_MM + ROWS * ROW_MM + BOTTOM_MM  # 170 mm

PAPER = "#fff8f8"
GRID_SMALL = "#f5c4cc"
GRID_LARGE = "#e0707f"
INK = "#111"

# UCUM unit of the SampledData -> factor to millivolts.
TO_MV = {"uV": 1e-3, "mV": 1.0, "V": 1e3, "nV": 1e-6}
LEAD_BY_MDC = {code: lead for lead, (code, _) in ECG_LEADS.items()}


@dataclass(frozen=True)
class Signal:
    """One lead: samples in mV (None where the sender marked E, L or U), period in s."""

    lead: str
    period_s: float
    mv: tuple[float | None, ...]

    @property
    def duration_s(self) -> float:
        return len(self.mv) * self.period_s


def lead_signals(observation: Json) -> dict[str, Signal]:
    """Lead name -> Signal, from the Observation's MDC-coded SampledData components."""
    out: dict[str, Signal] = {}
    for component in observation.get("component", []):
        lead = _lead_name(component)
        sampled = component.get("valueSampledData")
        if lead and sampled and sampled.get("period"):
            out[lead] = _signal(lead, sampled)
    return out


def _lead_name(component: Json) -> str | None:
    for coding in component.get("code", {}).get("coding", []):
        if coding.get("system") == MDC and coding.get("code") in LEAD_BY_MDC:
            return LEAD_BY_MDC[coding["code"]]
    return None


def _signal(lead: str, sampled: Json) -> Signal:
    origin = sampled.get("origin", {})
    to_mv = TO_MV.get(origin.get("code") or origin.get("unit") or "uV", 1e-3)
    base, factor = float(origin.get("value", 0)), float(sampled.get("factor", 1))
    values = tuple(
        None if v is None else (base + factor * v) * to_mv
        for v in map(_number, str(sampled.get("data", "")).split())
    )
    return Signal(lead, float(sampled["period"]) / 1000.0, values)


def _number(token: str) -> float | None:
    """A SampledData token; E (error), L and U (out of range) are gaps, not zeros."""
    try:
        return float(token)
    except ValueError:
        return None


def ecg_svg(observation: Json, *, scale: float = 1.0, id_prefix: str = "ecg") -> str:
    """The print-out of one ECG Observation as an `<svg>` element.

    `scale` only changes the displayed size (0.5 for a thumbnail of a previous ECG); the
    drawing stays in mm. `id_prefix` keeps element ids unique when several are inlined.
    """
    signals = lead_signals(observation)
    rate = _rate_hz(signals)
    label = f"12-lead ECG at {SPEED_MM_PER_S:g} mm/s, {GAIN_MM_PER_MV:g} mm/mV"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{_attr(id_prefix)}" class="ecg-paper"'
        f' viewBox="0 0 {WIDTH_MM:g} {HEIGHT_MM:g}"'
        f' width="{WIDTH_MM * scale:g}mm" height="{HEIGHT_MM * scale:g}mm"'
        f' data-speed-mm-per-s="{SPEED_MM_PER_S:g}" data-gain-mm-per-mv="{GAIN_MM_PER_MV:g}"'
        f' data-rate-hz="{rate or 0:g}" role="img" aria-label="{_attr(label)}">',
        f"<title>{html.escape(label)}</title>",
        _grid(),
        *(_block_row(r, leads, signals) for r, leads in enumerate(LAYOUT)),
        _rhythm_row(len(LAYOUT), signals.get(RHYTHM_LEAD)),
        _footer(rate),
        "</svg>",
    ]
    return "\n".join(parts)


def sampling_rate_hz(observation: Json) -> float | None:
    """The one sampling rate of all leads in Hz, or None when they differ or are absent."""
    return _rate_hz(lead_signals(observation))


def _rate_hz(signals: dict[str, Signal]) -> float | None:
    periods = {s.period_s for s in signals.values()}
    return 1.0 / periods.pop() if len(periods) == 1 else None


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _num(v: float) -> str:
    """mm with 0.01 mm resolution (finer than any printer), without trailing zeros."""
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _grid() -> str:
    """Paper, then 1 mm lines, then 5 mm lines on top (one path each: small and crisp)."""
    small = _grid_path(SMALL_MM, skip_every=int(LARGE_MM / SMALL_MM))
    large = _grid_path(LARGE_MM, skip_every=0)
    return (
        f'<rect class="paper" width="{WIDTH_MM:g}" height="{HEIGHT_MM:g}" fill="{PAPER}"/>'
        f'<path class="grid-small" d="{small}" stroke="{GRID_SMALL}" stroke-width="0.1" fill="none"/>'
        f'<path class="grid-large" d="{large}" stroke="{GRID_LARGE}" stroke-width="0.25" fill="none"/>'
    )


def _grid_path(step: float, skip_every: int) -> str:
    def lines(extent: float) -> Iterator[float]:
        for k in range(int(round(extent / step)) + 1):
            if not (skip_every and k % skip_every == 0):  # drawn by the large grid
                yield k * step

    vertical = (f"M{_num(x)} 0V{_num(HEIGHT_MM)}" for x in lines(WIDTH_MM))
    horizontal = (f"M0 {_num(y)}H{_num(WIDTH_MM)}" for y in lines(HEIGHT_MM))
    return "".join((*vertical, *horizontal))


def _baseline(row: int) -> float:
    return TOP_MM + row * ROW_MM + BASELINE_FROM_ROW_TOP_MM


def _calibration(row: int) -> str:
    """A 1 mV, 200 ms rectangular pulse: 10 mm high, 5 mm wide at the standard scale."""
    y, top = _baseline(row), _baseline(row) - GAIN_MM_PER_MV
    x0 = (CAL_MM - CAL_PULSE_MM) / 2
    d = (
        f"M1 {_num(y)}H{_num(x0)}V{_num(top)}H{_num(x0 + CAL_PULSE_MM)}V{_num(y)}"
        f"H{_num(CAL_MM - 1)}"
    )
    return (
        f'<path class="cal" data-mv="1" d="{d}" stroke="{INK}" stroke-width="0.3" fill="none"'
        ' stroke-linejoin="miter"/>'
    )


def _block_row(row: int, leads: Sequence[str], signals: dict[str, Signal]) -> str:
    parts = [f'<g class="row" data-row="{row}" data-baseline="{_num(_baseline(row))}">']
    parts.append(_calibration(row))
    for col, lead in enumerate(leads):
        x0 = CAL_MM + col * COLUMN_S * SPEED_MM_PER_S
        parts.append(_column_marker(x0, row) if col else "")
        parts.append(_trace(signals.get(lead), lead, x0, row, col * COLUMN_S, COLUMN_S))
    parts.append("</g>")
    return "".join(parts)


def _rhythm_row(row: int, signal: Signal | None) -> str:
    return (
        f'<g class="row rhythm" data-row="{row}" data-baseline="{_num(_baseline(row))}">'
        f"{_calibration(row)}"
        f"{_trace(signal, RHYTHM_LEAD, CAL_MM, row, 0.0, RHYTHM_S)}</g>"
    )


def _column_marker(x: float, row: int) -> str:
    """The short bar a cart prints where one lead's 2.5 s ends and the next begins."""
    y = _baseline(row)
    return (
        f'<path class="sep" d="M{_num(x)} {_num(y - 3)}V{_num(y + 3)}" stroke="{INK}"'
        ' stroke-width="0.3"/>'
    )


def _window(
    signal: Signal, start_s: float, length_s: float
) -> tuple[float, Sequence[float | None]]:
    """The samples of [start, start+length). A recording shorter than the window's end
    (senders may send 2.5-60 s) shows its first seconds instead of nothing."""
    if signal.duration_s < start_s + length_s - signal.period_s / 2:
        start_s = 0.0
    first = int(round(start_s / signal.period_s))
    count = int(round(length_s / signal.period_s))
    return start_s, signal.mv[first : first + count]


def _trace(
    signal: Signal | None, lead: str, x0: float, row: int, start_s: float, length_s: float
) -> str:
    y0 = _baseline(row)
    label = (
        f'<text class="lead-label" data-lead="{_attr(lead)}" x="{_num(x0 + 1.5)}"'
        f' y="{_num(y0 - 15)}" font-size="4" font-family="sans-serif" fill="{INK}">'
        f"{html.escape(lead)}</text>"
    )
    if signal is None or not any(v is not None for v in signal.mv):
        return label + _no_signal(lead, x0, y0, length_s)
    shown_from, samples = _window(signal, start_s, length_s)
    d = _polyline(samples, signal.period_s, x0, y0)
    return (
        label + f'<path class="trace" data-lead="{_attr(lead)}" data-x0="{_num(x0)}"'
        f' data-t0="{shown_from:g}" data-seconds="{length_s:g}" d="{d}" stroke="{INK}" stroke-width="0.25" fill="none"'
        ' stroke-linejoin="round" stroke-linecap="round"/>'
    )


def _no_signal(lead: str, x0: float, y0: float, length_s: float) -> str:
    """A missing or all-gap lead: a dashed baseline and a note, so it is not read as flat."""
    x1 = x0 + length_s * SPEED_MM_PER_S
    return (
        f'<path class="trace missing" data-lead="{_attr(lead)}" d="M{_num(x0)} {_num(y0)}'
        f'H{_num(x1)}" stroke="#888" stroke-width="0.2" stroke-dasharray="1 1" fill="none"/>'
        f'<text x="{_num(x0 + 8)}" y="{_num(y0 - 1.5)}" font-size="3" font-family="sans-serif"'
        ' fill="#888">no signal</text>'
    )


def _polyline(samples: Sequence[float | None], period_s: float, x0: float, y0: float) -> str:
    """Path data: x = 25 mm per second, y = 10 mm per mV upwards; a gap starts a new M."""
    out: list[str] = []
    pen_down = False
    dx = period_s * SPEED_MM_PER_S
    for i, mv in enumerate(samples):
        if mv is None:
            pen_down = False
            continue
        point = f"{_num(x0 + i * dx)} {_num(y0 - mv * GAIN_MM_PER_MV)}"
        out.append(point if pen_down else f"M{point}")
        pen_down = True
    return " ".join(out)


def _footer(rate_hz: float | None) -> str:
    rate = f" · {rate_hz:g} Hz" if rate_hz else ""
    text = f"{SPEED_MM_PER_S:g} mm/s · {GAIN_MM_PER_MV:g} mm/mV{rate} · rhythm strip: {RHYTHM_LEAD}"
    return (
        f'<text class="footer" x="{_num(CAL_MM)}" y="{_num(HEIGHT_MM - 1.5)}" font-size="3"'
        f' font-family="sans-serif" fill="#555">{html.escape(text)}</text>'
    )
