"""Tablet JSON <-> `ems.incident` Avro events, both ways: in for appending, out for telling a
stale tablet what it missed (in the same shape it sends)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from avro_schemas.catalogue import EVENT_TYPES, INCIDENT
from avro_schemas.events import ECG_ACQUIRED, PATIENT_RECORDED, VITALS_RECORDED, short
from avro_schemas.lead_samples import lead_samples, pack
from kernel.codes import STANDARD_LEAD_ORDER
from kernel.jsontypes import Json
from services.ingest.tablet_models import TabletEvent

# The tablet's `type` is the short name of an `ems.incident` event (`VitalsRecorded`).
_EVENT_NAMES = {short(n): n for n, t in EVENT_TYPES.items() if t.topic == INCIDENT}
_ADAPTER: TypeAdapter[TabletEvent] = TypeAdapter(TabletEvent)
_COMMON = ("type", "event_id", "occurred_at")


def to_event(
    item: TabletEvent,
    incident_id: str,
    recorded_at: dt.datetime,
    device_id: str | None,
    user_id: str | None,
) -> tuple[str, Json]:
    """The Avro record name and record for one validated tablet event."""
    fields = item.model_dump(exclude=set(_COMMON))
    name = _EVENT_NAMES[item.type]
    body = _BODY_IN.get(name, _same)(fields, item)
    meta = {
        "event_id": item.event_id,
        "occurred_at": item.occurred_at,
        "recorded_at": recorded_at,
        "source": {
            "channel": "tablet",
            "device_id": device_id,
            "user_id": user_id,
            "site_id": None,
        },
    }
    return name, {"meta": meta, "incident_id": incident_id, **body}


def to_tablet(name: str, event: Json) -> Json:
    """The tablet's JSON for a stored event (what a stale tablet receives to merge)."""
    fields = {k: v for k, v in event.items() if k not in ("meta", "incident_id")}
    doc = {
        "type": short(name),
        "event_id": event["meta"]["event_id"],
        "occurred_at": event["meta"]["occurred_at"],
        **_BODY_OUT.get(name, _same)(fields, event),
    }
    try:
        return _ADAPTER.validate_python(doc).model_dump(mode="json", exclude_none=True)
    except ValidationError:
        # Written under older rules: still the fact the log holds, so pass it on as is.
        return to_jsonable_python(doc)  # type: ignore[no-any-return]


def _same(fields: Json, _: Any) -> Json:
    return fields


def _patient_in(fields: Json, _: Any) -> Json:
    temporary_id = fields.pop("temporary_id")
    return {"patient": fields, "temporary_id": temporary_id}


def _patient_out(fields: Json, _: Any) -> Json:
    return {**fields["patient"], "temporary_id": fields.get("temporary_id")}


def _vitals_in(fields: Json, _: Any) -> Json:
    return {
        "vitals": [
            {"loinc": v["code"], "quantity": {"value": v["value"], "unit": v["unit"]}}
            for v in fields["vitals"]
        ]
    }


def _vitals_out(fields: Json, _: Any) -> Json:
    return {
        "vitals": [
            {"code": v["loinc"], "value": v["quantity"]["value"], "unit": v["quantity"]["unit"]}
            for v in fields["vitals"]
        ]
    }


def _ecg_in(fields: Json, item: Any) -> Json:
    return {
        "ecg_id": fields["ecg_id"],
        "device": fields["device"],
        "acquired_at": item.occurred_at,
        "waveform": {
            "sampling_rate_hz": fields["sampling_rate_hz"],
            "units": fields["units"],
            "leads": [
                {"lead": lead, "samples": pack(fields["leads"][lead])}
                for lead in STANDARD_LEAD_ORDER
            ],
        },
        "measurements": fields["measurements"],
    }


def _ecg_out(fields: Json, _: Any) -> Json:
    waveform = fields["waveform"]
    return {
        "ecg_id": fields["ecg_id"],
        "device": fields["device"],
        "sampling_rate_hz": waveform["sampling_rate_hz"],
        "units": waveform["units"],
        "leads": {lead["lead"]: lead_samples(lead).tolist() for lead in waveform["leads"]},
        "measurements": fields.get("measurements"),
    }


_BODY_IN = {PATIENT_RECORDED: _patient_in, VITALS_RECORDED: _vitals_in, ECG_ACQUIRED: _ecg_in}
_BODY_OUT = {
    PATIENT_RECORDED: _patient_out,
    VITALS_RECORDED: _vitals_out,
    ECG_ACQUIRED: _ecg_out,
}
