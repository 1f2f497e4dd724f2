"""What the crew app needs to know besides the incident: one JSON document built from the
sources the tablet API itself checks against, so the app's help and the API's refusals
cannot disagree.

- unit statuses, in timeline order: the tablet API's `UnitStatusName`;
- vital signs with their UCUM unit and plausibility limits: services/ingest/vital_signs.py;
- pre-alert kinds and dose units: services/ingest/tablet_models.py;
- hospitals (pre-alert and handover destinations) and stations with their units: the
  registry (stream_processors/registry/published.py), names in Chinese and English;
- quick picks of common interventions, medications and routes (SNOMED CT codes);
- the app's strings (services/crew/messages.py).
"""

from __future__ import annotations

from functools import cache
from typing import Any, get_args

from kernel.codes import RESIDENT_ID, STANDARD_LEAD_ORDER
from kernel.jsontypes import Json
from services.crew.messages import CATALOGUE
from services.ingest import vital_signs
from services.ingest.tablet_models import DOSE_UNITS, PreAlertKindName, UnitStatusName
from services.simulate.ecg_synth import INFERIOR, synth_ecg
from stream_processors.registry import published as registry
from viewstore.base import ViewStore

SNOMED = "http://snomed.info/sct"
# Common prehospital interventions and chest-pain medications, as SNOMED CT concepts; the
# crew picks one with a tap (names come from the message catalogue, by code).
INTERVENTIONS = ("392230005", "57485005", "89666000", "268400002")
ROUTES = ("26643006", "37839007", "47625008", "78421000", "34206005")
# (SNOMED substance, usual adult dose, UCUM unit, SNOMED route): the form is prefilled
# with these and the crew corrects what differs.
MEDICATIONS = (
    ("387458008", 300, "mg", "26643006"),  # aspirin, loading dose, oral
    ("387404004", 0.5, "mg", "37839007"),  # nitroglycerin, sublingual
    ("386952008", 300, "mg", "26643006"),  # clopidogrel, loading dose, oral
    ("372877000", 4000, "[iU]", "47625008"),  # heparin, IV bolus
    ("373529000", 3, "mg", "47625008"),  # morphine, IV
    ("387362001", 1, "mg", "47625008"),  # epinephrine, IV (arrest)
)
# The demo's synthetic 12-lead: an inferior STEMI at 96/min, 10 s at 500 Hz (the tablet
# API's `EcgAcquired` shape).
DEMO_ECG_RATE_HZ = 500
DEMO_ECG_SECONDS = 10


def _names(party: registry.Party) -> dict[str, str]:
    return {lang: party.display_name(lang) for lang in CATALOGUE}


def _hospitals(store: ViewStore) -> list[Json]:
    return [
        {"id": p.id, "names": _names(p)} for p in registry.of_kind(store, registry.codes.HOSPITAL)
    ]


def _stations(store: ViewStore) -> list[Json]:
    return [
        {
            "id": s.id,
            "names": _names(s),
            "units": [
                {"id": u.id, "names": _names(u)} for u in registry.station_units(store, s.id)
            ],
        }
        for s in registry.of_kind(store, registry.codes.STATION)
    ]


def _vitals() -> list[Json]:
    return [
        {
            "code": k.loinc,
            "display": k.display,
            "unit": k.unit,
            "low": k.low,
            "high": k.high,
            "integer": k.integer,
        }
        for k in vital_signs.KINDS.values()
    ]


def reference(store: ViewStore) -> Json:
    """The crew app's reference document (see the module doc)."""
    return {
        "statuses": list(get_args(UnitStatusName)),
        "resident_id_system": RESIDENT_ID,
        "leads": list(STANDARD_LEAD_ORDER),
        "vitals": _vitals(),
        "blood_pressure": {"systolic": vital_signs.SYSTOLIC, "diastolic": vital_signs.DIASTOLIC},
        "prealert_kinds": list(get_args(PreAlertKindName)),
        "dose_units": sorted(DOSE_UNITS),
        "snomed": SNOMED,
        "interventions": list(INTERVENTIONS),
        "routes": list(ROUTES),
        "medications": [
            {"code": c, "dose": d, "unit": u, "route": r} for c, d, u, r in MEDICATIONS
        ],
        "hospitals": _hospitals(store),
        "stations": _stations(store),
        "messages": CATALOGUE,
    }


@cache
def demo_ecg() -> dict[str, Any]:
    """The demo's synthetic 12-lead ECG, in the shape the app attaches (and accepts as a file)."""
    leads = synth_ecg(
        heart_rate_bpm=96,
        seconds=DEMO_ECG_SECONDS,
        rate_hz=DEMO_ECG_RATE_HZ,
        st_elevation_uv=250,
        st_leads=INFERIOR,
        seed=11,
    )
    return {"sampling_rate_hz": DEMO_ECG_RATE_HZ, "units": "uV", "leads": leads}
