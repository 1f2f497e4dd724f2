"""OpenAPI examples of the tablet API: what a crew's tablet sends on a chest-pain call."""

from __future__ import annotations

from typing import Any

from avro_schemas.events import (
    INCIDENT_OPENED,
    MEDICATION_GIVEN,
    PATIENT_RECORDED,
    PRE_ALERT_RAISED,
    UNIT_STATUS_CHANGED,
    VITALS_RECORDED,
    short,
)

RESIDENT_ID = "https://goldenhour.health/sid/cn-resident-id"
SNOMED = "http://snomed.info/sct"

_OPEN = {
    "expected_version": 0,
    "device_id": "tablet-amb-07",
    "user_id": "crew-liu",
    "events": [
        {
            "type": short(INCIDENT_OPENED),
            "event_id": "0b5c8f3e-3c1e-4f7a-9a55-6c1d2f1e0a01",
            "occurred_at": "2026-11-23T09:40:00+08:00",
            "dispatch_reason": "Chest pain, sweating, 58-year-old man",
            "priority": "1",
            "station_id": "station-chengguan",
            "unit_id": "amb-07",
            "scene": {"latitude": 34.266, "longitude": 108.954, "address": "12 Xinhua Rd"},
        },
        {
            "type": short(UNIT_STATUS_CHANGED),
            "event_id": "0b5c8f3e-3c1e-4f7a-9a55-6c1d2f1e0a02",
            "occurred_at": "2026-11-23T09:41:30+08:00",
            "unit_id": "amb-07",
            "status": "EN_ROUTE",
        },
    ],
}

_CARE = {
    "expected_version": 2,
    "device_id": "tablet-amb-07",
    "user_id": "crew-liu",
    "events": [
        {
            "type": short(PATIENT_RECORDED),
            "event_id": "0b5c8f3e-3c1e-4f7a-9a55-6c1d2f1e0a03",
            "occurred_at": "2026-11-23T09:52:00+08:00",
            "temporary_id": "EMS-20261123-0007",
            "gender": "male",
            "estimated_age_years": 58,
        },
        {
            "type": short(VITALS_RECORDED),
            "event_id": "0b5c8f3e-3c1e-4f7a-9a55-6c1d2f1e0a04",
            "occurred_at": "2026-11-23T09:53:00+08:00",
            "vitals": [
                {"code": "8867-4", "value": 108, "unit": "/min"},
                {"code": "8480-6", "value": 96, "unit": "mm[Hg]"},
                {"code": "8462-4", "value": 60, "unit": "mm[Hg]"},
                {"code": "59408-5", "value": 93, "unit": "%"},
                {"code": "72514-3", "value": 8, "unit": "{score}"},
            ],
        },
        {
            "type": short(MEDICATION_GIVEN),
            "event_id": "0b5c8f3e-3c1e-4f7a-9a55-6c1d2f1e0a05",
            "occurred_at": "2026-11-23T09:58:00+08:00",
            "medication": {"system": SNOMED, "code": "387458008", "display": "Aspirin"},
            "dose": {"value": 300, "unit": "mg"},
            "route": {"system": SNOMED, "code": "26643006", "display": "Oral route"},
        },
        {
            "type": short(PRE_ALERT_RAISED),
            "event_id": "0b5c8f3e-3c1e-4f7a-9a55-6c1d2f1e0a06",
            "occurred_at": "2026-11-23T10:01:00+08:00",
            "kind": "STEMI",
            "destination_id": "county-hospital",
            "eta": "2026-11-23T10:20:00+08:00",
            "note": "Inferior ST elevation on 12-lead, cath lab please",
        },
    ],
}

BATCH_EXAMPLES: dict[str, Any] = {
    "open": {"summary": "Open a new incident (expected_version 0)", "value": _OPEN},
    "care": {"summary": "An offline batch of care on the same incident", "value": _CARE},
}
