"""How the figures in `measure.py`'s docstring were made: neurokit2, wfdb and our scipy code
against known truth. A developer tool, not imported by anything; run it in a scratch venv:

    python -m venv /tmp/cmp && /tmp/cmp/bin/pip install -e . neurokit2 wfdb dtw-python
    /tmp/cmp/bin/python -m bench.ecg_libraries

Truth: `synthetic.synthesize` records (4 rates x clean / noisy / atrial fibrillation x
2 seeds, 10 s at 500 Hz, ST offsets injected), the real single-lead recording in
tests/data/ecg (hand-checked R peaks) and, when dtw-python is installed, the AAMI EC13 test
waveforms 3a and 3b that its wheel ships (ventricular bigeminy; EC13 states 80 and 60 bpm).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kernel.codes import STANDARD_LEAD_ORDER
from stream_processors.ecg_measurement import beats
from stream_processors.ecg_measurement.measure import measure
from stream_processors.ecg_measurement.synthetic import SyntheticEcg, synthesize

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "ecg"  # the repo's own copy
ST_CASES = [
    {"II": 150.0, "III": 150.0, "aVF": 150.0},
    {"V2": 200.0, "V3": 200.0, "V4": 150.0, "II": -80.0, "III": -80.0, "aVF": -80.0},
]
PASSES = 3
CONDITIONS: dict[str, dict[str, Any]] = {
    "clean": {"noise_uv": 10.0},
    "noisy": {"noise_uv": 30.0, "wander_uv": 300.0, "mains_uv": 50.0},
    "af": {"rhythm": "af", "noise_uv": 20.0},
}


def cases() -> list[tuple[str, SyntheticEcg]]:
    out = []
    for hr in (35, 60, 100, 160):
        for name, kw in CONDITIONS.items():
            for seed, st in enumerate(ST_CASES):
                out.append(
                    (f"{hr} {name} {seed}", synthesize(hr, st_offset_uv=st, seed=seed, **kw))
                )
    return out


def ours(ecg: dict[str, list[int]], rate: float) -> dict[str, Any]:
    m = measure(ecg, rate)
    return {"hr": m.heart_rate_bpm, "qrs": m.qrs_ms, "st": m.st_deviation_uv}


def neurokit(ecg: dict[str, list[int]], rate: float, delineate: bool = True) -> dict[str, Any]:
    import neurokit2 as nk

    lead_ii = np.asarray(ecg["II"], float)
    _, info = nk.ecg_peaks(nk.ecg_clean(lead_ii, sampling_rate=rate), sampling_rate=rate)
    out: dict[str, Any] = {"hr": _hr(info["ECG_R_Peaks"], rate)}
    if not delineate:
        return out
    x = np.array([ecg[lead] for lead in STANDARD_LEAD_ORDER], float)
    y = beats.morphology_filter(x, rate)  # ST on our unfiltered-baseline signal, nk's J point
    qrs, st = [], {}
    for i, lead in enumerate(STANDARD_LEAD_ORDER):
        clean = nk.ecg_clean(x[i], sampling_rate=rate)
        _, peaks = nk.ecg_peaks(clean, sampling_rate=rate)
        try:
            _, waves = nk.ecg_delineate(
                clean, peaks["ECG_R_Peaks"], sampling_rate=rate, method="dwt"
            )
        except Exception:  # noqa: BLE001 - a library failure counts as no measurement
            continue
        on, off = np.array(waves["ECG_R_Onsets"], float), np.array(waves["ECG_R_Offsets"], float)
        ok = ~np.isnan(on) & ~np.isnan(off)
        if ok.any():
            qrs.append(float(np.median(off[ok] - on[ok])) * 1000 / rate)
            st[lead] = _st(y[i], on[ok].astype(int), off[ok].astype(int), rate)
    return {**out, "qrs": statistics.median(qrs) if qrs else None, "st": st}


def _st(y: np.ndarray, on: np.ndarray, off: np.ndarray, rate: float) -> float:
    values = []
    for a, j in zip(on, off, strict=True):
        s = j + int(0.06 * rate)
        if a - int(0.02 * rate) >= 0 and s + 2 < len(y):
            values.append(
                y[s - 2 : s + 3].mean() - y[a - int(0.02 * rate) : a - int(0.004 * rate)].mean()
            )
    return float(np.median(values)) if values else float("nan")


def xqrs(ecg: dict[str, list[int]], rate: float) -> dict[str, Any]:
    from wfdb import processing

    peaks = processing.xqrs_detect(np.asarray(ecg["II"], float) / 1000, fs=rate, verbose=False)
    return {"hr": _hr(peaks, rate)}


def gqrs(ecg: dict[str, list[int]], rate: float) -> dict[str, Any]:
    from wfdb import processing

    peaks = processing.gqrs_detect(np.asarray(ecg["II"], float) / 1000, fs=rate)
    return {"hr": _hr(peaks, rate)}


def _hr(peaks: Any, rate: float) -> float | None:
    p = np.asarray(peaks)
    return float(60 * rate / np.mean(np.diff(p))) if len(p) > 1 else None


METHODS: dict[str, Callable[[dict[str, list[int]], float], dict[str, Any]]] = {
    "scipy (ours)": ours,
    "neurokit2 dwt": neurokit,
    "neurokit2 peaks only": lambda e, r: neurokit(e, r, delineate=False),
    "wfdb xqrs": xqrs,
    "wfdb gqrs": gqrs,
}


def real_records() -> list[tuple[str, dict[str, list[int]], float, float]]:
    """(name, leads, rate, reference bpm)."""
    raw = np.loadtxt(DATA / "pyhrv_SampleECG.txt", comments="#")[:, -1]
    uv = [int(round((v - 512) * 3.3e6 / 1024 / 1100)) for v in raw]
    out = [("pyhrv SampleECG (ref 77.7)", {"II": uv}, 1000.0, 77.7)]
    try:
        import dtw
    except ImportError:
        return out
    for name, bpm in (("aami3a", 80.0), ("aami3b", 60.0)):
        mv = np.loadtxt(Path(dtw.__file__).parent / "data" / f"{name}.csv")
        out.append(
            (f"{name} (EC13 {bpm:g})", {"II": [int(round(v * 1000)) for v in mv]}, 720.0, bpm)
        )
    return out


def main() -> None:
    data = cases()
    print(f"{len(data)} synthetic ECGs, 10 s, 500 Hz, 12 leads; |error| mean / max (ST: p95)")
    for name, method in METHODS.items():
        results = [method(ecg.leads, ecg.rate_hz) for _, ecg in data]
        print(f"{name:22} {_errors(data, results)}; {_speed(method, data):6.1f} ECG/s")
    for name, leads, rate, _ in real_records():
        hrs = {m: f(leads, rate)["hr"] for m, f in METHODS.items() if m != "neurokit2 dwt"}
        print(name, {m: None if v is None else round(v, 1) for m, v in hrs.items()})
    for module in ("scipy.signal", "wfdb.processing", "neurokit2"):
        print(f"import {module}: {_import_seconds(module):.2f} s")


def _errors(data: list[tuple[str, SyntheticEcg]], results: list[dict[str, Any]]) -> str:
    inf = float("inf")
    hr = [
        abs(r["hr"] - e.truth.heart_rate_bpm) if r["hr"] else inf
        for (_, e), r in zip(data, results, strict=True)
    ]
    line = f"HR {np.mean(hr):5.2f} / {max(hr):6.2f} bpm"
    if "qrs" not in results[0]:
        return line
    qrs = [
        abs(r["qrs"] - e.truth.qrs_ms) if r["qrs"] else inf
        for (_, e), r in zip(data, results, strict=True)
    ]
    st = [
        abs(r["st"][k] - v)
        for (_, e), r in zip(data, results, strict=True)
        for k, v in e.truth.st_j60_uv.items()
        if k in r["st"] and not np.isnan(r["st"][k])
    ]
    missing = 12 * len(data) - len(st)
    return (
        f"{line}; QRS {np.mean(qrs):5.1f} / {max(qrs):5.1f} ms; ST {np.mean(st):5.1f} / "
        f"p95 {np.percentile(st, 95):5.1f} uV ({missing} of {12 * len(data)} not measured)"
    )


def _speed(
    method: Callable[[dict[str, list[int]], float], dict[str, Any]],
    data: list[tuple[str, SyntheticEcg]],
) -> float:
    """ECGs per second, best of `PASSES` passes, the same for every method (a best-of-3
    against one pass would flatter whoever gets three; the machine is shared)."""
    best = float("inf")
    for _ in range(PASSES):
        t0 = time.perf_counter()
        for _, ecg in data:
            method(ecg.leads, ecg.rate_hz)
        best = min(best, time.perf_counter() - t0)
    return len(data) / best


def _import_seconds(module: str) -> float:
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=False)
        runs.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=False)
    return min(runs) - (time.perf_counter() - t0)


if __name__ == "__main__":
    main()
