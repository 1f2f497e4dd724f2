"""The automatic triage's reasons: declared once, rendered as before (the stored English is
the record, so rebuilt views stay identical), and read in Chinese on Chinese pages.

The expected English below is written out by hand from the texts triage.py wrote before
the declarations existed (its f-strings, with these sample values); the Chinese checks ask
for what a reader needs (no English sentence left, every number kept), not for the
catalogue's exact wording, except where a cardiologist's term is the point.
"""

from __future__ import annotations

import ast
import collections
import functools
import re
from pathlib import Path

import pytest

from bench.ecg_accuracy import cases
from kernel.texts import first_match
from services.i18n.reasons import localise_reason, reason_text
from stream_processors.ecg_measurement import reason_texts as rt
from stream_processors.ecg_measurement.accuracy import evaluate
from stream_processors.ecg_measurement.published import ALL_REASON_TEXTS, REASON_TEXTS

ROOT = Path(__file__).resolve().parents[2]
reason = rt.reason


def uv(**leads: float) -> str:
    return ", ".join(rt.LEAD_UV.render(lead=k, uv=v) for k, v in leads.items())


def unknown(missing: str) -> str:
    return rt.UNKNOWN_WHO.render(missing=missing)


def v2_v3(leads: str, values: str, cut: float, who: str, reciprocal: str) -> str:
    """An anterior STEMI reason naming the V2-V3 cut-point it was judged at."""
    fields = {"leads": leads, "territory": "anterior", "values": values, "cut": cut, "who": who}
    return reason(rt.CRITICAL, rt.STEMI_V2_V3, reciprocal=reciprocal, **fields)


def hinges(leads: str, values: str, cut: float, who: str) -> str:
    """An elevation that meets the V2-V3 cut-point only for some patients."""
    fields = {"leads": leads, "territory": "anterior", "values": values, "cut": cut, "who": who}
    return reason(rt.HUMAN_READ, rt.HINGES, **fields)


# (rendered through the declarations, the English triage.py wrote before them)
SAMPLES: list[tuple[str, str]] = [
    (reason(rt.ROUTINE, rt.NO_FINDING), "routine: no critical or urgent finding"),
    (
        reason(
            rt.URGENT,
            rt.ST_DEPRESSION,
            limit=100.0,
            leads="V4, V5",
            territory="anterolateral",
            values=uv(V4=-111.4, V5=-101.6),
        ),
        "urgent: ST depression >= 100 uV at the J point in contiguous leads V4, V5 "
        "(anterolateral): V4 -111 uV, V5 -102 uV",
    ),
    (
        reason(
            rt.CRITICAL,
            rt.STEMI,
            leads="II, III, aVF",
            territory="inferior",
            values=uv(II=269.2, III=293.0, aVF=284.4),
            reciprocal=rt.RECIPROCAL.render(values=uv(aVL=-160.0)),
        ),
        "critical: ST elevation at the J point in contiguous leads II, III, aVF (inferior), "
        "4th UDMI cut-points met: II +269 uV, III +293 uV, aVF +284 uV; reciprocal ST "
        "depression supports it: aVL -160 uV",
    ),
    (
        v2_v3(
            "V2, V3",
            uv(V2=260.0, V3=300.0),
            250.0,
            rt.MAN_UNDER_40.english,
            rt.NO_RECIPROCAL.english,
        ),
        "critical: ST elevation at the J point in contiguous leads V2, V3 (anterior), 4th UDMI "
        "cut-points met: V2 +260 uV, V3 +300 uV; V2-V3 cut-point 250 uV (man < 40 years); "
        "no reciprocal ST depression",
    ),
    (
        v2_v3(
            "V1, V2",
            uv(V1=120.0, V2=210.0),
            200.0,
            rt.MAN_40_PLUS.english,
            rt.NO_RECIPROCAL.english,
        ),
        "critical: ST elevation at the J point in contiguous leads V1, V2 (anterior), 4th UDMI "
        "cut-points met: V1 +120 uV, V2 +210 uV; V2-V3 cut-point 200 uV (man >= 40 years); "
        "no reciprocal ST depression",
    ),
    (
        v2_v3(
            "V2, V3, V4",
            uv(V2=160.0, V3=170.0, V4=150.0),
            150.0,
            rt.WOMAN.english,
            rt.RECIPROCAL.render(values=uv(II=-60.0, III=-70.0)),
        ),
        "critical: ST elevation at the J point in contiguous leads V2, V3, V4 (anterior), 4th "
        "UDMI cut-points met: V2 +160 uV, V3 +170 uV, V4 +150 uV; V2-V3 cut-point 150 uV "
        "(woman); reciprocal ST depression supports it: II -60 uV, III -70 uV",
    ),
    (
        hinges("V2, V3", uv(V2=180.0, V3=190.0), 150.0, unknown("sex and age")),
        "urgent, needs human read: ST elevation at the J point in V2, V3 (anterior): V2 +180 "
        "uV, V3 +190 uV meets the V2-V3 cut-point of 150 uV only for some patients; sex and "
        "age unknown: the highest cut-point the patient could have, so not called critical",
    ),
    (
        hinges("V3, V4", uv(V3=204.0, V4=165.0), 150.0, unknown("sex")),
        "urgent, needs human read: ST elevation at the J point in V3, V4 (anterior): V3 +204 "
        "uV, V4 +165 uV meets the V2-V3 cut-point of 150 uV only for some patients; sex "
        "unknown: the highest cut-point the patient could have, so not called critical",
    ),
    (
        hinges("V2, V3", uv(V2=210.0, V3=220.0), 200.0, unknown("age")),
        "urgent, needs human read: ST elevation at the J point in V2, V3 (anterior): V2 +210 "
        "uV, V3 +220 uV meets the V2-V3 cut-point of 200 uV only for some patients; age "
        "unknown: the highest cut-point the patient could have, so not called critical",
    ),
    (
        reason(
            rt.HUMAN_READ,
            rt.DIFFUSE,
            territories="inferior, lateral, anterolateral",
            values=uv(II=130.0, aVF=102.0, V4=154.0, V5=128.0, V6=111.0),
            limit=50.0,
        ),
        "urgent, needs human read: ST elevation at the J point meets the 4th UDMI cut-points "
        "in inferior, lateral, anterolateral leads at once (II +130 uV, aVF +102 uV, V4 +154 "
        "uV, V5 +128 uV, V6 +111 uV) with no reciprocal ST depression (none >= 50 uV but in "
        "aVR): the diffuse pattern of early repolarization or pericarditis (4th UDMI "
        "pitfalls), or a wraparound LAD occlusion; not called critical without reciprocal "
        "evidence",
    ),
    (
        reason(
            rt.HUMAN_READ,
            rt.RBBB,
            qrs=146.0,
            leads="V5, V6",
            territory="lateral",
            values=uv(V5=108.0, V6=110.0),
        ),
        "urgent, needs human read: right bundle branch block (QRS 146 ms, late R' in V1 or "
        "V2, wide S in I and V6) with ST elevation at the J point in V5, V6 (lateral): V5 +108 "
        "uV, V6 +110 uV, after a wide S wave, where RBBB's own (secondary) ST-T change is an "
        "elevation; no reciprocal ST depression; not called critical: a previous ECG tells "
        "whether it is new (4th UDMI)",
    ),
    (
        reason(
            rt.HUMAN_READ,
            rt.SGARBOSSA,
            qrs=172.5,
            met="; ".join(
                [
                    rt.CONCORDANT_ELEVATION.render(lead="III", uv=235.0),
                    rt.CONCORDANT_DEPRESSION.render(lead="V2", uv=-130.0),
                    rt.DISCORDANT_ELEVATION.render(lead="aVL", uv=298.0, s=-1035.0),
                ]
            ),
        ),
        "urgent, needs human read: wide QRS 172.5 ms with a dominant negative V1 (LBBB-like or "
        "paced): ST elevation criteria do not apply; Sgarbossa: concordant ST elevation III "
        "+235 uV; concordant ST depression V2 -130 uV; discordant ST elevation aVL +298 uV >= "
        "25 % of its S (-1035 uV)",
    ),
    (
        reason(rt.ROUTINE, rt.NO_SGARBOSSA, qrs=130.0),
        "routine: wide QRS 130 ms with a dominant negative V1 (LBBB-like or paced): ST "
        "elevation criteria do not apply; no Sgarbossa criterion met",
    ),
    (
        reason(rt.HUMAN_READ, rt.POSTERIOR, values=uv(V1=-85.0, V2=-121.0), leads="V1, V2"),
        "urgent, needs human read: possible posterior MI (STEMI equivalent): ST depression "
        "V1 -85 uV, V2 -121 uV with a dominant R in V1, V2; record V7-V9",
    ),
    (
        reason(
            rt.HUMAN_READ,
            rt.DE_WINTER,
            leads="V3, V4",
            values=", ".join(
                [
                    rt.DE_WINTER_LEAD.render(lead="V3", j=-119.0, t=724.0),
                    rt.DE_WINTER_LEAD.render(lead="V4", j=-173.0, t=848.0),
                ]
            ),
        ),
        "urgent, needs human read: de Winter pattern (STEMI equivalent): upsloping J-point "
        "depression with tall T waves in V3, V4: V3 J -119 uV, T +724 uV, V4 J -173 uV, "
        "T +848 uV",
    ),
    (
        reason(rt.HUMAN_READ, rt.AVR, uv=185.0, n=8),
        "urgent, needs human read: ST elevation in aVR +185 uV with ST depression in 8 leads: "
        "left main or multivessel ischaemia?",
    ),
    (
        reason(rt.CRITICAL, rt.HR_BELOW, hr=36.5, limit=40.0),
        "critical: heart rate 36.5/min (below 40/min)",
    ),
    (
        reason(rt.CRITICAL, rt.HR_ABOVE, hr=169.1, limit=150.0),
        "critical: heart rate 169.1/min (above 150/min)",
    ),
    (
        reason(rt.URGENT, rt.HR_BAND, hr=49.9, low=40.0, high=50.0),
        "urgent: heart rate 49.9/min (40-50/min)",
    ),
    (
        reason(rt.URGENT, rt.IRREGULAR, cv=0.2371),
        "urgent: irregular rhythm (RR coefficient of variation 0.24)",
    ),
    (
        reason(rt.URGENT, rt.QTC, qtc=536.4, limit=500.0),
        "urgent: QTc 536 ms (Bazett) above 500 ms",
    ),
    (rt.SENDER_PREALERT.render(prealert="STEMI"), "sender pre-alert: STEMI"),
    (rt.SENDER_URGENCY.render(urgency="stat"), "sender urgency: stat"),
    (rt.SENDER_URGENCY.render(urgency="urgent"), "sender urgency: urgent"),
    (
        rt.NOT_ANALYSABLE.render(why=rt.NO_REASON_GIVEN.english),
        "ECG not analysable (no reason given): class from the sender only",
    ),
    (rt.ST_NOT_ASSESSED.render(leads="aVR, V5"), "ST not assessed in aVR, V5"),
    (rt.QUEUE_SENDER.render(urgency="routine"), "sender: routine"),
    (
        rt.QUEUE_SENDER_PREALERT.render(urgency="stat", prealert="STEMI"),
        "sender: stat, pre-alert STEMI",
    ),
]
# The measurer's problems (measure.py, beats.py), alone (the ECG page lists them) and as
# the reason an ECG was not analysed.
SAMPLES += [
    (rt.UNKNOWN_LEAD.render(name="X1"), "unknown lead 'X1' ignored"),
    (rt.LEAD_MISSING.render(lead="aVR"), "lead aVR: missing"),
    (
        rt.BAD_RATE.render(rate=50, low=125.0, high=10_000.0),
        "sampling rate 50 Hz outside 125-10000 Hz",
    ),
    (rt.NO_STANDARD_LEAD.english, "no standard lead"),
    (
        rt.LENGTHS_DIFFER.render(shortest=4990, longest=5000),
        "leads differ in length (4990-5000 samples)",
    ),
    (
        rt.TOO_SHORT.render(seconds=1.24, minimum=2.5),
        "too short: 1.2 s, at least 2.5 s needed",
    ),
    (rt.NOT_NUMBERS.english, "samples are not numbers"),
    (rt.NOT_FINITE.english, "samples are not finite numbers"),
    (rt.LEAD_STUCK.render(lead="II", uv=32000.0), "lead II: saturated (stuck at 32000 uV)"),
    (rt.LEAD_CLIPPED.render(lead="V2"), "lead V2: saturated (clipped)"),
    (
        rt.NO_QRS.render(limit=50.0),
        "no QRS complexes (nothing in the QRS band above 50 uV)",
    ),
    (rt.NO_QRS_IN_NOISE.english, "too noisy: no QRS complexes stand out of the noise"),
    (rt.NO_BEATS.render(found=1), "no beats found (1 complete QRS)"),
    (rt.NO_COMPLETE_BEAT.english, "no complete beat"),
    (
        rt.LEAD_NOISY.render(lead="V5", uv=134.4),
        "lead V5: too noisy (ST uncertain by 134 uV)",
    ),
    (
        rt.NOT_ANALYSABLE.render(
            why="; ".join(
                [
                    rt.LEAD_FLAT.render(lead="I"),
                    rt.LEAD_FLAT.render(lead="II"),
                    rt.NO_USABLE_LEAD.english,
                    rt.TOO_NOISY.english,
                ]
            )
        ),
        "ECG not analysable (lead I: flat line; lead II: flat line; no usable lead; too noisy): "
        "class from the sender only",
    ),
]
# Declared texts whose field values are English by nature (an exception's own message).
KEPT_SAMPLES = [
    (
        rt.MEASUREMENT_FAILED.render(kind="TypeError", error=TypeError("'NoneType' object")),
        "measurement failed: TypeError: 'NoneType' object",
    ),
]
ENGLISH = [old for _new, old in SAMPLES]
# English words a Chinese reason keeps: lead names, units, eponyms and abbreviations that
# Chinese cardiologists write as they are (words of three letters or more).
KEPT_WORDS = {
    "aVR", "aVL", "aVF", "III", "min", "QRS", "QTc", "STEMI", "UDMI", "LAD", "Bazett",
    "Sgarbossa", "Winter",
}  # fmt: skip
NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def zh(text: str) -> str:
    return reason_text(text, "zh-CN")


def reads_chinese(english: str, chinese: str) -> None:
    """Chinese with no English sentence left, microvolts as µV, every number kept."""
    assert re.search(r"[\u4e00-\u9fff]", chinese), chinese
    assert "uV" not in chinese, chinese
    left = set(re.findall(r"[A-Za-z]{3,}", chinese)) - KEPT_WORDS
    assert not left, f"English left in {chinese!r}: {left}"
    missing = collections.Counter(NUMBER.findall(english)) - collections.Counter(
        NUMBER.findall(chinese)
    )
    assert not missing, f"numbers lost from {english!r}: {chinese!r}"


@pytest.mark.parametrize(
    ("rendered", "old"), SAMPLES + KEPT_SAMPLES, ids=[o[:40] for _n, o in SAMPLES + KEPT_SAMPLES]
)
def test_a_declared_reason_renders_the_english_triage_wrote_before(rendered: str, old: str) -> None:
    assert rendered == old


def test_every_declaration_is_matched_back_from_a_sample() -> None:
    """The samples reach every declared text (a nested one through its field), so the
    round trip below covers them all."""
    asked: set[str] = set()

    def spy(msgid: str) -> str:
        asked.add(msgid)
        return msgid

    for text in [*ENGLISH, *(old for _new, old in KEPT_SAMPLES)]:
        assert localise_reason(text, spy) == text
    assert {t.msgid for t in ALL_REASON_TEXTS} <= asked


@pytest.mark.parametrize("english", ENGLISH, ids=[o[:40] for o in ENGLISH])
def test_a_reason_reads_chinese_on_a_chinese_page_and_stays_as_it_is_in_english(
    english: str,
) -> None:
    reads_chinese(english, zh(english))
    assert reason_text(english, "en") == english


def test_a_cardiologist_reads_the_stemi_reason_in_his_terms() -> None:
    stemi = zh(SAMPLES[2][1])
    assert stemi.startswith("危急：相邻导联 II, III, aVF（下壁）J点 ST 段抬高")
    assert "第四版心肌梗死通用定义" in stemi and "II +269 µV" in stemi and "aVL -160 µV" in stemi
    assert zh("urgent: heart rate 45/min (40-50/min)") == "紧急：心率 45/min（40-50/min）"
    assert "右束支传导阻滞" in zh(SAMPLES[10][1]) and "Sgarbossa 标准" in zh(SAMPLES[11][1])
    assert "男性 <40 岁" in zh(SAMPLES[3][1]) and "性别和年龄不详" in zh(SAMPLES[6][1])


def test_a_text_no_declaration_matches_is_shown_as_it_is() -> None:
    for text in (
        "critical: a finding a later version added",  # a class, but no declared finding
        "ST elevation V2 +300 uV",  # an older wording
        "胸痛 2 小时",  # a sender's own words
    ):
        assert zh(text) == text


def test_an_undeclared_problem_inside_not_analysable_is_kept_and_the_rest_translated() -> None:
    text = rt.NOT_ANALYSABLE.render(why="lead I: flat line; a problem of an older measurer")
    shown = zh(text)
    assert shown.startswith("心电图无法分析（I 导联：呈直线；a problem of an older measurer）")
    assert "仅按送检方分级" in shown
    failed = zh(KEPT_SAMPLES[0][1])
    assert failed == "测量失败：TypeError：'NoneType' object"


@functools.cache
def accuracy_reasons() -> list[str]:
    return [r for o in evaluate(cases()) for r in o.triaged.reasons]


def test_every_reason_triage_gives_the_real_recordings_is_declared() -> None:
    """The accuracy set's recordings (tests/data/ecg/README.md) through the real measurer
    and triage: each reason is matched by a declaration and reads Chinese."""
    reasons = accuracy_reasons()
    assert len(reasons) >= 15 and any(r.startswith("critical: ST elevation") for r in reasons)
    for text in reasons:
        assert first_match(text, REASON_TEXTS) is not None, text
        reads_chinese(text, zh(text))


def test_triage_writes_no_reason_text_of_its_own() -> None:
    """Every English text of triage.py comes from a declaration: no f-string, and no string
    with a space in it but the list separators (a new reason must be declared to be shown
    in Chinese)."""
    tree = ast.parse((ROOT / "stream_processors/ecg_measurement/triage.py").read_text())
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
    }
    assert not [n.lineno for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)]
    strings = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]
    assert {s for s in strings if " " in s} <= {", ", "; ", " and "}
