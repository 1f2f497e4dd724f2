"""ECG submissions for tests: valid by default, each test breaks what it tests."""

from __future__ import annotations

import copy
import functools
import uuid
from typing import Any

from kernel.codes import RESIDENT_ID
from services.simulate.ecg_synth import synth_ecg

RESIDENT = "11010519491231002X"  # the GB 11643 standard's own example number


@functools.lru_cache(maxsize=8)
def _leads(st_uv: float, seed: int) -> dict[str, list[int]]:
    return synth_ecg(heart_rate_bpm=75, seconds=10, rate_hz=500, st_elevation_uv=st_uv, seed=seed)


def ecg_payload(
    ecg_id: str | None = None,
    resident: str = RESIDENT,
    st_uv: float = 0,
    seed: int = 1,
    **changes: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "ecg_id": ecg_id or f"ecg-{uuid.uuid4().hex[:8]}",
        "patient": {
            "identifiers": [{"system": RESIDENT_ID, "value": resident}],
            "family": "王",
            "given": "建国",
            "gender": "male",
            "birth_date": "1949-12-31",
        },
        "acquired_at": "2026-11-23T18:02:11+08:00",
        "site": {"id": "clinic-baiyang", "name": "白杨镇卫生院", "kind": "clinic"},
        "device": {"id": "cart-017", "manufacturer": "Edan", "model": "SE-1200"},
        "sampling_rate_hz": 500,
        "units": "uV",
        "leads": copy.deepcopy(_leads(st_uv, seed)),
        "measurements": {
            "heart_rate_bpm": 75,
            "pr_ms": 160,
            "qrs_ms": 92,
            "qt_ms": 380,
            "qtc_ms": 410,
            "statements": ["Sinus rhythm"],
        },
        "clinical_question": "Chest pain for 40 min, rule out STEMI",
        "urgency": "urgent",
    }
    body.update(changes)
    return body
