"""What the crew app needs to know besides the incident: one JSON document built from the
sources the tablet API itself checks against, so the app's help and the API's refusals
cannot disagree.

- unit statuses, in timeline order: the tablet API's `UnitStatusName`;
- vital signs with their UCUM unit and plausibility limits: services/ingest/vital_signs.py;
- pre-alert kinds and dose units: services/ingest/tablet_models.py;
- hospitals (pre-alert and handover destinations) and stations with their units: the
  registry (stream_processors/registry/published.py), names in Chinese and English;
- quick picks of common interventions, medications and routes (SNOMED CT codes);
- the catalogue ids (English texts, services/i18n) naming each code the app shows
  (`labels`); the page carries their translations in its `#messages` block.
"""

from __future__ import annotations

from functools import cache
from typing import Any, get_args

from avro_schemas import events
from kernel.codes import RESIDENT_ID, STANDARD_LEAD_ORDER
from kernel.jsontypes import Json
from services import i18n
from services.i18n import N_
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
# kind -> code -> catalogue id: how the app names a code it shows (a status button, a vital
# sign, a SNOMED pick, an event in the record). The crew's wording, not the board's: a
# tablet button says "Departed" where the ED board says "en route".
LABELS: dict[str, dict[str, str]] = {
    "status": {
        "CALL_RECEIVED": N_("Call received"),
        "DISPATCHED": N_("Dispatched"),
        "EN_ROUTE": N_("Departed"),
        "ON_SCENE": N_("On scene"),
        "AT_PATIENT": N_("At patient"),
        "LEFT_SCENE": N_("Left scene"),
        "AT_DESTINATION": N_("At hospital"),
        "TRANSFER_OF_CARE": N_("Transfer of care"),
        "BACK_IN_SERVICE": N_("Back in service"),
    },
    "gender": {
        "male": N_("Male"),
        "female": N_("Female"),
        "unknown": N_("Unknown"),
    },
    "vital": {
        "8867-4": N_("Heart rate"),
        "8480-6": N_("Systolic BP"),
        "8462-4": N_("Diastolic BP"),
        "9279-1": N_("Respiratory rate"),
        "59408-5": N_("SpO2 (pulse oximetry)"),
        "2708-6": N_("SaO2"),
        "8310-5": N_("Temperature"),
        "9269-2": N_("Glasgow coma score"),
        "15074-8": N_("Blood glucose"),
        "19889-5": N_("End-tidal CO2"),
        "72514-3": N_("Pain score (0–10)"),
    },
    "unit": {
        "/min": N_("/min"),
        "mm[Hg]": N_("mmHg"),
        "Cel": N_("°C"),
        "{score}": N_("points"),
        "%": N_("%"),
        "mmol/L": N_("mmol/L"),
    },
    "intervention": {
        "392230005": N_("IV access"),
        "57485005": N_("Oxygen"),
        "89666000": N_("CPR"),
        "268400002": N_("12-lead ECG"),
    },
    "medication": {
        "387458008": N_("Aspirin"),
        "387404004": N_("Nitroglycerin"),
        "386952008": N_("Clopidogrel"),
        "372877000": N_("Heparin"),
        "373529000": N_("Morphine"),
        "387362001": N_("Epinephrine"),
    },
    "route": {
        "26643006": N_("Oral"),
        "37839007": N_("Sublingual"),
        "47625008": N_("Intravenous"),
        "78421000": N_("Intramuscular"),
        "34206005": N_("Subcutaneous"),
    },
    "prealert": {
        "STEMI": N_("STEMI (chest pain)"),
        "STROKE": N_("Stroke"),
        "TRAUMA": N_("Trauma"),
        "SEPSIS": N_("Sepsis"),
        "CARDIAC_ARREST": N_("Cardiac arrest"),
        "OTHER": N_("Other"),
    },
    # keyed by the tablet's short event type, from the one list of event names
    "event": {
        events.short(events.INCIDENT_OPENED): N_("Incident opened"),
        events.short(events.UNIT_STATUS_CHANGED): N_("Status"),
        events.short(events.PATIENT_RECORDED): N_("Patient details"),
        events.short(events.VITALS_RECORDED): N_("Vitals"),
        events.short(events.INTERVENTION_PERFORMED): N_("Intervention"),
        events.short(events.MEDICATION_GIVEN): N_("Medication"),
        events.short(events.ECG_ACQUIRED): N_("ECG"),
        events.short(events.PRE_ALERT_RAISED): N_("Pre-alert"),
        events.short(events.HANDOVER_SUBMITTED): N_("Handover submitted"),
        events.short(events.HANDOVER_ACCEPTED): N_("Handover accepted"),
    },
    "log": {
        "pending": N_("waiting"),
        "synced": N_("synced"),
        "refused": N_("refused"),
        "merged": N_("already recorded by the partner, not sent twice"),
    },
}


def _names(party: registry.Party) -> dict[str, str]:
    return {lang: party.display_name(lang) for lang in i18n.LOCALES}


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
        "labels": LABELS,
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
