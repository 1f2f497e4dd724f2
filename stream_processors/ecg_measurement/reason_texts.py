"""Every triage reason and measurer problem, declared once: the English the `EcgMeasured` event stores, with named
fields, that pages show in the reader's language (services/i18n/reasons.py matches a stored
reason back to its declaration; the catalogue has each `msgid`).

A measured finding reads "<class>: <finding>" (`reason`); the sender's and the queue's
reasons stand alone. Numbers and lead names are kept as written; words from a closed set
(territories, who a cut-point is for, Sgarbossa's criteria) are texts of their own.
See triage.py for the criteria themselves.
"""

from __future__ import annotations

from kernel.texts import LEADS, NUMBER, Slot, Text, every_text

# --- closed sets ----------------------------------------------------------------------------

CRITICAL = Text("critical")
URGENT = Text("urgent")
HUMAN_READ = Text("urgent, needs human read")
ROUTINE = Text("routine")
HEADS = (CRITICAL, URGENT, HUMAN_READ, ROUTINE)

TERRITORY = {name: Text(name) for name in ("inferior", "lateral", "anterior", "anterolateral")}
TERRITORIES = tuple(TERRITORY.values())

WOMAN = Text("woman")
MAN_40_PLUS = Text("man >= 40 years")
MAN_UNDER_40 = Text("man < 40 years")
MISSING = {name: Text(name) for name in ("sex", "age", "sex and age")}
UNKNOWN_WHO = Text(
    "{missing} unknown: the highest cut-point the patient could have",
    {"missing": Slot(texts=tuple(MISSING.values()))},
)
WHO = Slot(texts=(WOMAN, MAN_40_PLUS, MAN_UNDER_40, UNKNOWN_WHO))

STAT = Text("stat")
SENDER_URGENCIES = Slot(texts=(STAT, URGENT, ROUTINE))

NUM = Slot(NUMBER)
LEAD_LIST = Slot(LEADS)
LEAD_UV = Text("{lead} {uv:+.0f} uV", {"lead": LEAD_LIST, "uv": NUM})
UV_VALUES = Slot(texts=(LEAD_UV,), sep=", ")

# --- findings (after "<class>: ") -----------------------------------------------------------

_AT_J = {"leads": LEAD_LIST, "territory": Slot(texts=TERRITORIES), "values": UV_VALUES}
NO_FINDING = Text("no critical or urgent finding")
ST_DEPRESSION = Text(
    "ST depression >= {limit:g} uV at the J point in contiguous leads {leads} ({territory}): "
    "{values}",
    {**_AT_J, "limit": NUM},
)
NO_RECIPROCAL = Text("no reciprocal ST depression")
RECIPROCAL = Text("reciprocal ST depression supports it: {values}", {"values": UV_VALUES})
_RECIPROCAL = Slot(texts=(NO_RECIPROCAL, RECIPROCAL))
_STEMI = "ST elevation at the J point in contiguous leads {leads} ({territory}), 4th UDMI cut-points met: {values}"
STEMI = Text(_STEMI + "; {reciprocal}", {**_AT_J, "reciprocal": _RECIPROCAL})
STEMI_V2_V3 = Text(
    _STEMI + "; V2-V3 cut-point {cut:g} uV ({who}); {reciprocal}",
    {**_AT_J, "reciprocal": _RECIPROCAL, "cut": NUM, "who": WHO},
)
HINGES = Text(
    "ST elevation at the J point in {leads} ({territory}): {values} meets the V2-V3 cut-point "
    "of {cut:g} uV only for some patients; {who}, so not called critical",
    {**_AT_J, "cut": NUM, "who": WHO},
)
DIFFUSE = Text(
    "ST elevation at the J point meets the 4th UDMI cut-points in {territories} leads at once "
    "({values}) with no reciprocal ST depression (none >= {limit:g} uV but in aVR): the diffuse "
    "pattern of early repolarization or pericarditis (4th UDMI pitfalls), or a wraparound "
    "LAD occlusion; not called critical without reciprocal evidence",
    {"territories": Slot(texts=TERRITORIES, sep=", "), "values": UV_VALUES, "limit": NUM},
)
RBBB = Text(
    "right bundle branch block (QRS {qrs:g} ms, late R' in V1 or V2, wide S in I and V6) with "
    "ST elevation at the J point in {leads} ({territory}): {values}, after a wide S wave, where "
    "RBBB's own (secondary) ST-T change is an elevation; no reciprocal ST depression; not called "
    "critical: a previous ECG tells whether it is new (4th UDMI)",
    {**_AT_J, "qrs": NUM},
)
_LEAD_ONE = {"lead": LEAD_LIST, "uv": NUM}
CONCORDANT_ELEVATION = Text("concordant ST elevation {lead} {uv:+.0f} uV", _LEAD_ONE)
CONCORDANT_DEPRESSION = Text("concordant ST depression {lead} {uv:+.0f} uV", _LEAD_ONE)
DISCORDANT_ELEVATION = Text(
    "discordant ST elevation {lead} {uv:+.0f} uV >= 25 % of its S ({s:.0f} uV)",
    {**_LEAD_ONE, "s": NUM},
)
_LBBB = (
    "wide QRS {qrs:g} ms with a dominant negative V1 (LBBB-like or paced): "
    "ST elevation criteria do not apply"
)
SGARBOSSA = Text(
    _LBBB + "; Sgarbossa: {met}",
    {
        "qrs": NUM,
        "met": Slot(
            texts=(CONCORDANT_ELEVATION, CONCORDANT_DEPRESSION, DISCORDANT_ELEVATION), sep="; "
        ),
    },
)
NO_SGARBOSSA = Text(_LBBB + "; no Sgarbossa criterion met", {"qrs": NUM})
POSTERIOR = Text(
    "possible posterior MI (STEMI equivalent): ST depression {values} with a dominant R in "
    "{leads}; record V7-V9",
    {"values": UV_VALUES, "leads": LEAD_LIST},
)
DE_WINTER_LEAD = Text(
    "{lead} J {j:+.0f} uV, T {t:+.0f} uV", {"lead": LEAD_LIST, "j": NUM, "t": NUM}
)
DE_WINTER = Text(
    "de Winter pattern (STEMI equivalent): upsloping J-point depression with tall T waves in "
    "{leads}: {values}",
    {"leads": LEAD_LIST, "values": Slot(texts=(DE_WINTER_LEAD,), sep=", ")},
)
AVR = Text(
    "ST elevation in aVR {uv:+.0f} uV with ST depression in {n} leads: left main or "
    "multivessel ischaemia?",
    {"uv": NUM, "n": NUM},
)
HR_BELOW = Text("heart rate {hr:g}/min (below {limit:g}/min)", {"hr": NUM, "limit": NUM})
HR_ABOVE = Text("heart rate {hr:g}/min (above {limit:g}/min)", {"hr": NUM, "limit": NUM})
HR_BAND = Text("heart rate {hr:g}/min ({low:g}-{high:g}/min)", {"hr": NUM, "low": NUM, "high": NUM})
IRREGULAR = Text("irregular rhythm (RR coefficient of variation {cv:.2f})", {"cv": NUM})
QTC = Text("QTc {qtc:.0f} ms (Bazett) above {limit:g} ms", {"qtc": NUM, "limit": NUM})
FINDINGS = (
    NO_FINDING,
    ST_DEPRESSION,
    STEMI,
    STEMI_V2_V3,
    HINGES,
    DIFFUSE,
    RBBB,
    SGARBOSSA,
    NO_SGARBOSSA,
    POSTERIOR,
    DE_WINTER,
    AVR,
    HR_BELOW,
    HR_ABOVE,
    HR_BAND,
    IRREGULAR,
    QTC,
)

# --- the measurer's problems (measure.py, beats.py): why a lead or the ECG was not measured --

MEASUREMENT_FAILED = Text("measurement failed: {kind}: {error}")
UNKNOWN_LEAD = Text("unknown lead {name!r} ignored")
LEAD_MISSING = Text("lead {lead}: missing")
BAD_RATE = Text("sampling rate {rate} Hz outside {low:g}-{high:g} Hz")
NO_STANDARD_LEAD = Text("no standard lead")
LENGTHS_DIFFER = Text("leads differ in length ({shortest}-{longest} samples)")
TOO_SHORT = Text("too short: {seconds:.1f} s, at least {minimum} s needed")
NOT_NUMBERS = Text("samples are not numbers")
NOT_FINITE = Text("samples are not finite numbers")
NO_USABLE_LEAD = Text("no usable lead")
LEAD_STUCK = Text("lead {lead}: saturated (stuck at {uv:.0f} uV)")
LEAD_FLAT = Text("lead {lead}: flat line")
LEAD_CLIPPED = Text("lead {lead}: saturated (clipped)")
NO_QRS = Text("no QRS complexes (nothing in the QRS band above {limit:g} uV)")
NO_QRS_IN_NOISE = Text("too noisy: no QRS complexes stand out of the noise")
NO_BEATS = Text("no beats found ({found} complete QRS)")
NO_COMPLETE_BEAT = Text("no complete beat")
TOO_NOISY = Text("too noisy")
LEAD_NOISY = Text("lead {lead}: too noisy (ST uncertain by {uv:.0f} uV)")
PROBLEMS = (
    MEASUREMENT_FAILED,
    UNKNOWN_LEAD,
    LEAD_MISSING,
    BAD_RATE,
    NO_STANDARD_LEAD,
    LENGTHS_DIFFER,
    TOO_SHORT,
    NOT_NUMBERS,
    NOT_FINITE,
    NO_USABLE_LEAD,
    LEAD_STUCK,
    LEAD_FLAT,
    LEAD_CLIPPED,
    NO_QRS,
    NO_QRS_IN_NOISE,
    NO_BEATS,
    NO_COMPLETE_BEAT,
    TOO_NOISY,
    LEAD_NOISY,
)

# --- whole reasons --------------------------------------------------------------------------

REASON = Text("{cls}: {finding}", {"cls": Slot(texts=HEADS), "finding": Slot(texts=FINDINGS)})
SENDER_PREALERT = Text("sender pre-alert: {prealert}")
SENDER_URGENCY = Text("sender urgency: {urgency}", {"urgency": SENDER_URGENCIES})
NO_REASON_GIVEN = Text("no reason given")
NOT_ANALYSABLE = Text(
    "ECG not analysable ({why}): class from the sender only",
    # A problem no declaration matches (an older measurer's) is kept as written.
    {"why": Slot(pattern=r".+", texts=(NO_REASON_GIVEN, *PROBLEMS), sep="; ")},
)
ST_NOT_ASSESSED = Text("ST not assessed in {leads}", {"leads": LEAD_LIST})
# The reading queue's own reason (stream_processors/diagnosis_queue/fold.py): the request's.
QUEUE_SENDER = Text("sender: {urgency}", {"urgency": SENDER_URGENCIES})
QUEUE_SENDER_PREALERT = Text(
    "sender: {urgency}, pre-alert {prealert}", {"urgency": SENDER_URGENCIES}
)
# What a stored reason may be; a finding alone (a report's computer statement) and a
# measurer's problem (the ECG page lists them) too.
REASONS = (
    REASON,
    SENDER_PREALERT,
    SENDER_URGENCY,
    NOT_ANALYSABLE,
    ST_NOT_ASSESSED,
    QUEUE_SENDER,
    QUEUE_SENDER_PREALERT,
    *FINDINGS,
    *PROBLEMS,
)
ALL_TEXTS = tuple(every_text(REASONS))


def reason(head: Text, finding: Text, **values: object) -> str:
    """A measured finding's reason: "urgent: heart rate 49.9/min (40-50/min)"."""
    return REASON.render(cls=head.english, finding=finding.render(**values))
