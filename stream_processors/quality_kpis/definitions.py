"""The chest-pain centre and 120 quality indicators: what each one measures, from which event
time to which, and against which target. This table is the definition; `fold.py` and
`aggregate.py` implement exactly what is written here.

Times
-----
* Every interval is measured between *event times*: `meta.occurred_at` (the device's clock
  when it happened), or the domain time the event names (`acquired_at` of an ECG). Never the
  wall clock at processing time, and never `recorded_at`.
* `recorded_at` (when the platform accepted the event) decides only *what was known*: the
  figures "as of T" are those computed from the events whose `recorded_at <= T`. A crew that
  back-fills its timeline at 23:00 changes the 22:00 figures of the next day's report, not the
  figures as they stood at 22:00. See `aggregate.as_of`.
* Where an event type can occur more than once (a unit status, an ECG), the earliest
  `occurred_at` counts ("first"). Every fact is merged as a minimum, so the fold gives the same
  answer whatever order the three topics interleave in.

Compliance
----------
* An interval is *within target* when `end - start <= target`, compared in whole microseconds:
  exactly 10 min 0 s is compliant, 10 min 0.000001 s is not (the standard says "<= 10 min").
* A case whose start is known but whose end is not (yet) recorded is *missing*: counted beside
  the figures, never as compliant nor as a failure (as of T it may simply not have happened).
* An end before its start (a device clock set wrong) is *invalid*: counted, left out of the
  figures.
* `compliance` is within-target / measured. For the share indicator it is the share itself.

Statistics: median = the middle value (mean of the two middle ones for an even count);
p90 = nearest rank (the value at rank ceil(0.9 n) of the sorted values), so it is always a
measured interval.

Months are calendar months in China Standard Time (UTC+08:00, no daylight saving), of the
interval's start.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

CHINA = dt.timezone(dt.timedelta(hours=8), "CST")
MICROS_PER_MINUTE = 60_000_000

# A read signed with this SNOMED CT code makes the incident of the ECG a STEMI.
STEMI_SNOMED = "401303003"  # Acute ST segment elevation myocardial infarction (disorder)
# A hospital's Procedure with one of these SNOMED CT codes is a PCI (both listed in DICOM
# CID 3764, Myocardial Infarction Therapy).
PCI_SNOMED = frozenset(
    {
        "415070008",  # Percutaneous coronary intervention (procedure)
        "36969009",  # Insertion of coronary artery stent (procedure)
    }
)
PCI_STATUSES = frozenset({"completed", "in-progress"})
# A Condition's verificationStatus that makes it a final diagnosis (absent counts as
# confirmed: R4 leaves the element optional and an EMR's discharge diagnosis often omits it)
# and the one that rules a diagnosis out.
CONFIRMED = frozenset({"confirmed", ""})
REFUTED = "refuted"
# Words of a dispatch reason that make an incident a chest-pain case (besides a STEMI).
CHEST_PAIN_WORDS = ("chest pain", "chest tightness", "胸痛", "胸闷")

INTERVAL = "interval"
SHARE = "share"


@dataclass(frozen=True)
class Kpi:
    code: str
    title: str
    kind: str  # INTERVAL (minutes against a target) or SHARE (a proportion)
    start: str  # what starts the interval (or: the denominator)
    end: str  # what ends it (or: the numerator)
    population: str  # which incidents / ECGs are cases
    target_minutes: float | None  # an interval within this is compliant
    compliance_target: float | None  # share of compliant cases the standard asks for
    source: str  # where the target comes from
    available: bool = True
    unavailable_reason: str = ""

    @property
    def target_micros(self) -> int | None:
        if self.target_minutes is None:
            return None
        return round(self.target_minutes * MICROS_PER_MINUTE)


CPC = "China Chest Pain Center accreditation standard (中国胸痛中心认证标准)"
# 2013 ACCF/AHA Guideline for the Management of STEMI (O'Gara et al., Circulation
# 2013;127:e362-e425, doi:10.1161/CIR.0b013e3182742cf6): primary PCI with a first medical
# contact (or door)-to-device time of 90 min or less as a systems goal (Class I, LOE A).
ACC_AHA = "2013 ACCF/AHA STEMI guideline (O'Gara et al., Circulation 2013;127:e362): <= 90 min"
LOCAL = "regional 120 target set in this module (no national figure is encoded here)"

FMC_TO_ECG = Kpi(
    "fmc_to_first_ecg",
    "First medical contact to first ECG",
    INTERVAL,
    start="first medical contact: the unit's first AT_PATIENT status (ON_SCENE if the crew "
    "recorded no AT_PATIENT)",
    end="acquired_at of the incident's first EcgAcquired",
    population="chest-pain incidents: dispatch reason mentions chest pain/tightness, or a STEMI "
    "pre-alert was raised, or a read of one of its ECGs is coded STEMI",
    target_minutes=10,
    compliance_target=0.75,
    source=CPC,
)
ECG_TO_DIAGNOSIS = Kpi(
    "ecg_to_diagnosis",
    "First ECG to diagnosis (signed remote read)",
    INTERVAL,
    start="acquired_at of the ECG (EcgSubmitted, or EcgAcquired for an ambulance ECG)",
    end="occurred_at of the ECG's first ReadReported (the signed read)",
    population="every ECG recorded, clinic (EcgSubmitted) or ambulance (EcgAcquired): each one "
    "is sent for a remote read",
    target_minutes=10,
    compliance_target=None,
    source=CPC,
)
DOOR_TO_BALLOON = Kpi(
    "door_to_balloon",
    "Door to balloon (primary PCI)",
    INTERVAL,
    start="arrival at the PCI hospital: the unit's first AT_DESTINATION status, else transfer "
    "of care, else the start (period.start) of the hospital Encounter the Procedure names",
    end="balloon / device time of the hospital's PCI Procedure (ProcedureReported.device_at: "
    "performedDateTime, else performedPeriod.start); the earliest PCI of the case, each "
    "Procedure at its latest version",
    population="patients treated by primary PCI: a hospital reported (FHIR Procedure, status "
    "completed or in-progress) a PCI coded SNOMED CT 415070008 or one of PCI_SNOMED",
    target_minutes=90,
    compliance_target=0.75,
    source=ACC_AHA + "; the CPC standard asks the same <= 90 min",
)
STEMI_ECG_TRANSMITTED = Kpi(
    "stemi_ecg_transmitted",
    "Ambulance STEMIs with a prehospital ECG transmitted to the platform",
    SHARE,
    start="denominator: ambulance STEMI incidents (a STEMI pre-alert, or a read of one of the "
    "incident's ECGs coded SNOMED CT 401303003)",
    end="numerator: those with at least one EcgAcquired recorded on the platform",
    population="ambulance STEMI incidents",
    target_minutes=None,
    compliance_target=0.30,
    source=CPC,
)


def _regional_interval(
    code: str, title: str, start: str, end: str, population: str, target_minutes: float
) -> Kpi:
    """A 120 operational interval: minutes against the regional target, no compliance share."""
    return Kpi(code, title, INTERVAL, start, end, population, target_minutes, None, LOCAL)


# The 120 service's own intervals, against regional targets (minutes).
CALL_TO_DISPATCH, RESPONSE_TIME, ON_SCENE_TIME, HANDOVER_TIME = (
    _regional_interval(*row)
    for row in (
        # code, title, start, end, population, target minutes
        (
            "call_to_dispatch",
            "Call to dispatch",
            "the call: CALL_RECEIVED status, else IncidentOpened (the call became an incident)",
            "the unit's first DISPATCHED status",
            "every incident",
            3,
        ),
        (
            "response_time",
            "Response time (call to on scene)",
            "the call (as for call to dispatch)",
            "the unit's first ON_SCENE status",
            "every incident",
            15,
        ),
        (
            "on_scene_time",
            "On-scene time",
            "the unit's first ON_SCENE status",
            "the unit's first LEFT_SCENE status",
            "incidents whose unit reached the scene",
            20,
        ),
        (
            "handover_time",
            "Handover time (at hospital to transfer of care)",
            "the unit's first AT_DESTINATION status",
            "transfer of care: HandoverAccepted, or a TRANSFER_OF_CARE status, whichever is first",
            "incidents that reached a destination hospital",
            15,
        ),
    )
)

KPIS: tuple[Kpi, ...] = (
    FMC_TO_ECG,
    ECG_TO_DIAGNOSIS,
    DOOR_TO_BALLOON,
    STEMI_ECG_TRANSMITTED,
    CALL_TO_DISPATCH,
    RESPONSE_TIME,
    ON_SCENE_TIME,
    HANDOVER_TIME,
)
BY_CODE = {k.code: k for k in KPIS}

# What a figure can be grouped by. A case without that dimension (a clinic ECG has no
# station) is left out of that grouping's groups but always counted in the "all" row.
DIMENSIONS = ("station", "clinic", "hospital", "centre", "month")
DIMENSION_MEANING = {
    "station": "the 120 station of the incident (IncidentOpened.station_id)",
    "clinic": "the township clinic that sent the ECG (EcgSubmitted.site, kind clinic)",
    "hospital": "the receiving hospital: HandoverAccepted.hospital_id, else the handover's or "
    "the pre-alert's destination",
    "centre": "the reading centre asked to read the ECG (ReadRequested.reading_centre_id)",
    "month": "calendar month of the interval's start, China Standard Time (UTC+08:00)",
}


# The triage outcome loop (issue 12): the ambulance's STEMI call against the hospital's final
# diagnosis, per calendar month of the call.
TRIAGE_OUTCOME = {
    "call": "a STEMI pre-alert was raised, or one of the incident's ECGs was triaged critical "
    "(EcgMeasured.triage_class)",
    "final STEMI": "the hospital reported a Condition coded SNOMED CT 401303003, verification "
    "confirmed (or absent), for the incident's patient naming the ambulance Encounter",
    "final not STEMI": "the STEMI Condition refuted, or only other confirmed diagnoses",
    "pending": "no final diagnosis reported yet (not counted in tp/fp/fn/tn)",
    "month": "calendar month (CST) of the call (CALL_RECEIVED, else IncidentOpened)",
}


def month_of(at: dt.datetime) -> str:
    """`YYYY-MM` of an instant in China Standard Time."""
    return at.astimezone(CHINA).strftime("%Y-%m")


def is_chest_pain(reason: str) -> bool:
    text = reason.casefold()
    return any(word in text for word in CHEST_PAIN_WORDS)
