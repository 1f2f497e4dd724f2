"""The message catalogue is complete: every text a page, a page script or an
OperationOutcome shows through a translation call has a zh-CN and an en entry with the
same placeholders; and the language is chosen as users expect (setting, then
Accept-Language, then Chinese).

Ids are found the way gettext's extractors find them, independently of the catalogue
code: Python calls `_("…")`, `N_("…")`, `Msg("…")` (by the AST), template calls
`{{ _("…") }}` and page-script calls `t("…")` (by pattern), plus the KPI definitions'
texts (shown through the catalogue by services/kpi/render.py) and the automatic triage's
reason texts with their list separators (shown by services/i18n/reasons.py). Every folder
of services/ is scanned, the crew tablet app and the command page included.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from services import i18n
from services.i18n import catalogue
from stream_processors.ecg_measurement.published import ALL_REASON_TEXTS
from stream_processors.quality_kpis.published import KPIS

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"


def scanned(glob: str) -> list[Path]:
    return list(SERVICES.rglob(glob))


CALLS = {"_", "N_", "Msg"}
TEMPLATE_CALL = re.compile(r'\{\{\s*_\("((?:[^"\\]|\\.)*)"\)\s*\}\}')
SCRIPT_CALL = re.compile(r'\bt\("((?:[^"\\]|\\.)*)"')
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def python_ids() -> dict[str, str]:
    """id -> where, for every literal first argument of a translation call in services/."""
    found: dict[str, str] = {}
    for path in scanned("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in CALLS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found[node.args[0].value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def pattern_ids(glob: str, pattern: re.Pattern[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in scanned(glob):
        for m in pattern.finditer(path.read_text(encoding="utf-8")):
            found[m.group(1).replace('\\"', '"')] = str(path.relative_to(ROOT))
    return found


def kpi_ids() -> dict[str, str]:
    texts = [t for k in KPIS for t in (k.title, k.start, k.end, k.population, k.source)]
    texts += [k.unavailable_reason for k in KPIS if k.unavailable_reason]
    return {t: "stream_processors/quality_kpis/definitions.py" for t in texts}


def reason_ids() -> dict[str, str]:
    texts = {t.msgid for t in ALL_REASON_TEXTS}
    texts |= {s.sep for t in ALL_REASON_TEXTS for s in t.slots.values() if s.sep}
    return {t: "stream_processors/ecg_measurement/reason_texts.py" for t in texts}


def used_ids() -> dict[str, str]:
    return {
        **python_ids(),
        **pattern_ids("templates/*.html", TEMPLATE_CALL),
        **pattern_ids("static/*.js", SCRIPT_CALL),
        **kpi_ids(),
        **reason_ids(),
    }


def po_entries(tag: str) -> dict[str, str]:
    with catalogue.po_path(tag).open("rb") as f:
        return {str(m.id): str(m.string) for m in read_po(f) if m.id}


def test_the_extractors_find_the_pages_texts() -> None:
    """Guards the scan itself: a broken pattern would make the completeness test vacuous."""
    ids = used_ids()
    assert "Incoming ambulances" in ids  # board template
    assert "Handover not accepted: {error}" in ids  # board script
    assert "No ambulance on its way." in ids  # board render (Python)
    assert "Incidents on this tablet" in ids  # crew app page (template)
    assert "{n} waiting to sync" in ids  # crew app script
    assert "No active mass-casualty incident." in ids  # command page (Python)
    assert "heart rate {hr}/min (below {limit}/min)" in ids  # a triage reason
    assert "; " in ids  # a reason's list separator
    scanned_folders = {p.relative_to(SERVICES).parts[0] for p in scanned("*.py")}
    assert {"crew", "command", "board"} <= scanned_folders
    assert len(ids) > 150


@pytest.mark.parametrize("tag", i18n.LOCALES)
def test_every_ui_string_has_a_translation(tag: str) -> None:
    entries = po_entries(tag)
    missing = {i: where for i, where in used_ids().items() if not entries.get(i)}
    assert not missing, f"{len(missing)} ids missing from {tag}: {missing}"


@pytest.mark.parametrize("tag", i18n.LOCALES)
def test_translations_keep_the_placeholders(tag: str) -> None:
    for msgid, text in po_entries(tag).items():
        wanted = PLACEHOLDER.findall(msgid)
        assert sorted(PLACEHOLDER.findall(text)) == sorted(wanted), (tag, msgid, text)
        assert len(set(wanted)) == len(wanted), f"a placeholder twice in {msgid!r}"


def test_both_catalogues_hold_the_same_ids() -> None:
    assert set(po_entries("zh-CN")) == set(po_entries("en"))


def test_chinese_is_the_default_and_a_choice_wins_over_the_browser() -> None:
    assert i18n.negotiate(None, None, None) == "zh-CN"
    assert i18n.negotiate(None, None, "en-US,en;q=0.9") == "en"
    assert i18n.negotiate(None, None, "fr-FR, en;q=0.5, zh;q=0.8") == "zh-CN"
    assert i18n.negotiate(None, "en", "zh-CN") == "en"  # the user's cookie
    assert i18n.negotiate("zh", "en", "en") == "zh-CN"  # ?lang= in the address
    assert i18n.negotiate("xx", None, "de") == "zh-CN"  # nothing supported: Chinese


def test_an_english_outcome_text_is_translated_by_its_template() -> None:
    """Texts built elsewhere as f-strings are matched to their template with parameters."""
    zh = i18n.localize("Patient/p-1 not found", "zh-CN")
    assert "p-1" in zh and "not found" not in zh
    assert i18n.localize("Patient/p-1 not found", "en") == "Patient/p-1 not found"
    assert i18n.localize("a text nobody catalogued", "zh-CN") == "a text nobody catalogued"


def test_a_short_fragment_template_does_not_swallow_a_sentence() -> None:
    """The catalogue's UI fragment "{pct} of {n}" would match any sentence with " of " in it;
    an uncatalogued sentence must stay English, not come out as garbled Chinese."""
    text = "the sender's id 'x-9': no record of that id in this region"
    assert i18n.localize(text, "zh-CN") == text
    assert "例中" not in i18n.localize(text, "zh-CN")
    assert i18n.localize("5 min ago", "zh-CN") != "5 min ago"  # a short text: its template


def test_ages_read_as_people_say_them() -> None:
    token = i18n.current_locale.set("zh-CN")
    try:
        assert i18n.age_text(3 * 60 + 5, "2026-03-01T00:00:00Z") == "3 分钟前"
        old = i18n.age_text(8063 * 3600, "2026-03-01T00:00:00Z")
        assert "8063" not in old and "2026年3月1日" in old  # a date, not "8063 h ago"
    finally:
        i18n.current_locale.reset(token)
