"""Synthetic 12-lead ECGs for the demo, the tests and the benchmarks.

A thin front to `stream_processors.ecg_measurement.synthetic` (a dipole heart projected on
the 12 leads, with known true intervals), so every synthetic ECG in the project comes from
the one generator whose truth the measurement tests check.
"""

from __future__ import annotations

from stream_processors.ecg_measurement.published import synthesize

INFERIOR = ("II", "III", "aVF")
ANTERIOR = ("V1", "V2", "V3", "V4")


def synth_ecg(
    heart_rate_bpm: float = 72,
    seconds: float = 10,
    rate_hz: int = 500,
    st_elevation_uv: float = 0,
    st_leads: tuple[str, ...] = INFERIOR,
    noise_uv: float = 10,
    seed: int = 0,
) -> dict[str, list[int]]:
    """Lead name -> integer samples in uV; ST raised by `st_elevation_uv` in `st_leads`."""
    offsets = {lead: st_elevation_uv for lead in st_leads} if st_elevation_uv else None
    ecg = synthesize(
        heart_rate_bpm=heart_rate_bpm,
        seconds=seconds,
        rate_hz=rate_hz,
        st_offset_uv=offsets,
        noise_uv=noise_uv,
        seed=seed,
    )
    return ecg.leads
