"""The crew app speaks through the one catalogue (services/i18n): every message its scripts
name reaches the page's `#messages` block, and every code the app shows (each unit status,
pre-alert kind, event type, vital sign, unit, quick pick the tablet API and the reference
offer) has a name there, in Chinese and in English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from services.crew import reference, routes
from services.i18n import catalogue
from services.ingest import vital_signs
from services.ingest.tablet_models import PreAlertKindName, TabletEvent, UnitStatusName

STATIC = Path(reference.__file__).parent / "static"
# How the scripts name a message: `t("…")` in app.js, `key: "…"` in the helper modules
# whose results app.js translates.
SCRIPT_IDS = re.compile(r'\b(?:t\(|key: )"((?:[^"\\]|\\.)*)"')


def script_ids() -> set[str]:
    found: set[str] = set()
    for name in ("app.js", "gb11643.js", "vitals.js"):
        found |= set(SCRIPT_IDS.findall((STATIC / name).read_text(encoding="utf-8")))
    return found


def test_every_message_the_scripts_name_is_sent_with_the_page() -> None:
    named = script_ids()
    assert "{n} waiting to sync" in named and "Valid: born {birth}, {sex}" in named
    assert named - set(routes.SCRIPT_MESSAGES) == set()


def test_the_page_carries_no_message_key_of_its_own() -> None:
    """Texts of the page are catalogue calls; no `$key` of a module table is left."""
    page = (STATIC.parent / "templates" / "index.html").read_text(encoding="utf-8")
    assert set(re.findall(r"\$([a-z_]+)", page)) == {"lang", "messages"}
    assert "data-t=" not in page


def test_every_code_the_app_shows_has_its_name_in_both_languages() -> None:
    events = [
        get_args(m.model_fields["type"].annotation)[0] for m in get_args(get_args(TabletEvent)[0])
    ]
    kinds = vital_signs.KINDS.values()
    wanted = {
        "status": set(get_args(UnitStatusName)),
        "prealert": set(get_args(PreAlertKindName)),
        "event": set(events),
        "vital": {k.loinc for k in kinds},
        "unit": {k.unit for k in kinds},
        "intervention": set(reference.INTERVENTIONS),
        "route": set(reference.ROUTES) | {m[3] for m in reference.MEDICATIONS},
        "medication": {m[0] for m in reference.MEDICATIONS},
        "gender": {"male", "female", "unknown"},
        "log": {"pending", "refused", "merged"},
    }
    assert len(events) == 10
    missing = {k: codes - set(reference.LABELS[k]) for k, codes in wanted.items()}
    assert all(not m for m in missing.values()), missing
    for tag in ("zh-CN", "en"):
        entries = catalogue.messages(tag)
        ids = [i for names in reference.LABELS.values() for i in names.values()]
        assert [i for i in ids if not entries.get(i)] == [], tag


def test_the_status_buttons_read_chinese() -> None:
    """What a crew member taps, written from the 120 crews' own words."""
    zh = catalogue.messages("zh-CN")
    assert zh[reference.LABELS["status"]["ON_SCENE"]] == "到达现场"
    assert zh[reference.LABELS["status"]["TRANSFER_OF_CARE"]] == "完成交接"
