"""The crew app's strings (services/crew/messages.py): Chinese and English hold the same
keys, and every string the page and its script name exists, including those named by
code (every unit status, vital sign, unit, pre-alert kind, event type and quick pick the
tablet API and the reference offer)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from services.crew import reference
from services.crew.messages import EN, ZH
from services.ingest import vital_signs
from services.ingest.tablet_models import PreAlertKindName, TabletEvent, UnitStatusName

CREW = Path(reference.__file__).parent


def test_both_languages_hold_the_same_keys_and_no_empty_string() -> None:
    assert set(ZH) == set(EN), set(ZH) ^ set(EN)
    assert all(v.strip() for v in (*ZH.values(), *EN.values()))


def test_every_key_the_page_and_its_script_name_exists() -> None:
    page = (CREW / "templates" / "index.html").read_text(encoding="utf-8")
    placeholders = set(re.findall(r"\$([a-z_0-9]+)", page)) - {"lang"}
    known = {k.replace(".", "_").replace("-", "_") for k in ZH}
    assert placeholders <= known, placeholders - known
    assert set(re.findall(r'data-t="([^"]+)"', page)) <= set(ZH)
    script = (CREW / "static" / "app.js").read_text(encoding="utf-8")
    literal = set(re.findall(r'\bt\("([a-z_.]+)"', script))
    assert literal and literal <= set(ZH), literal - set(ZH)


def test_every_code_the_app_shows_has_its_name() -> None:
    events = [
        get_args(m.model_fields["type"].annotation)[0] for m in get_args(get_args(TabletEvent)[0])
    ]
    kinds = vital_signs.KINDS.values()
    named = [
        *(f"status.{s}" for s in get_args(UnitStatusName)),
        *(f"prealert.{k}" for k in get_args(PreAlertKindName)),
        *(f"event.{e}" for e in events),
        *(f"vital.{k.loinc}" for k in kinds),
        *(f"unit.{k.unit}" for k in kinds),
        *(f"intervention.{c}" for c in reference.INTERVENTIONS),
        *(f"route.{c}" for c in reference.ROUTES),
        *(f"medication.{m[0]}" for m in reference.MEDICATIONS),
        *(f"route.{m[3]}" for m in reference.MEDICATIONS),
    ]
    assert len(events) == 10
    assert [k for k in named if k not in ZH] == []
