"""The ECG submission API model (`EcgIn`), its answer (`EcgAccepted`) and the one function
that turns a validated submission into the `EcgSubmitted` event.

Samples travel as numpy integer arrays from the moment they are read to the packed int16
bytes of the event: JSON's integer lists become one array each as they are validated, and
the file and HL7 readers hand over the arrays they decoded, so no channel converts a
waveform to Python integers and back (that cost ~8 ms of a 10 s 12-lead ECG).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AwareDatetime,
    Base64Bytes,
    BaseModel,
    Field,
    GetCoreSchemaHandler,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from avro_schemas.catalogue import CLINIC_ECG
from avro_schemas.lead_samples import Samples, pack
from kernel.codes import RESIDENT_ID, STANDARD_LEAD_ORDER
from kernel.ids import ecg_observation_id, patient_id
from services.ingest import resident_id

LeadName = Literal["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
# A person's id (crew member, reader, clinician): any script (赵医生), no spaces or path
# characters; things (ECGs, incidents, devices) keep the ASCII `Id`.
PersonId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w.:@\-]+$")]
# Resting ECGs are 10 s; accept 2.5 s (one 3x4 row) to 60 s (a long rhythm strip).
MIN_SECONDS, MAX_SECONDS = 2.5, 60.0
# A sample beyond +-20 mV is not a surface ECG (saturated or wrong units).
MAX_ABS_UV = 20_000
# A cart's one-page PDF report is 50-500 KB; 3 MiB fits in the 4 MiB MLLP frame as base64.
MAX_DOCUMENT_BYTES = 3 * 1024 * 1024
# JSON integers beyond int64 are clipped to this as they become an array: far beyond
# MAX_ABS_UV, so the range check still refuses them by name.
_CLIP = 2**62


def _array_of(values: list[int]) -> Samples:
    """A validated list of integers (JSON, or a Python list) as one int64 array."""
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:
        return np.array([min(max(v, -_CLIP), _CLIP) for v in values], dtype=np.int64)


def _samples_of(value: Any, as_list: ValidatorFunctionWrapHandler) -> Samples:
    """An integer array as it is (a file or HL7 reader decoded it), anything else as a list
    of strict integers (the errors name the offending sample, as for JSON)."""
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or value.dtype.kind != "i":  # signed integers of any width
            raise ValueError("samples must be a one-dimensional array of integers")
        return value.astype(np.int64, copy=False)
    samples: Samples = as_list(value)
    return samples


class _SampleArray:
    """Pydantic schema of one lead's samples: JSON (and OpenAPI) see an array of integers,
    Python code gets an int64 array (`_samples_of`); dumped as a list again."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        strict_ints = core_schema.list_schema(core_schema.int_schema(strict=True))
        from_list = core_schema.no_info_after_validator_function(_array_of, strict_ints)
        return core_schema.json_or_python_schema(
            json_schema=from_list,
            python_schema=core_schema.no_info_wrap_validator_function(_samples_of, from_list),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda samples: np.asarray(samples).tolist()
            ),
        )


LeadSamples = Annotated[Samples, _SampleArray]


class IdentifierIn(BaseModel):
    system: str = Field(min_length=1, examples=[RESIDENT_ID])
    value: str = Field(min_length=1, max_length=64, examples=["11010519491231002X"])

    @model_validator(mode="after")
    def _resident_id_checks(self) -> IdentifierIn:
        if self.system == RESIDENT_ID:
            if why := resident_id.problem(self.value):
                raise ValueError(f"resident ID {why}")
            self.value = resident_id.normalised(self.value)
        return self


class PatientIn(BaseModel):
    identifiers: list[IdentifierIn] = Field(min_length=1)
    family: str | None = Field(None, max_length=100)
    given: str | None = Field(None, max_length=100)
    gender: Literal["male", "female", "other", "unknown"] | None = None
    birth_date: dt.date | None = None
    estimated_age_years: int | None = Field(None, ge=0, le=130)


class SiteIn(BaseModel):
    id: Id
    name: str | None = Field(None, max_length=200)
    kind: Literal["clinic", "ambulance", "hospital"] = "clinic"


class DeviceIn(BaseModel):
    id: Id
    manufacturer: str | None = Field(None, max_length=100)
    model: str | None = Field(None, max_length=100)


class MeasurementsIn(BaseModel):
    heart_rate_bpm: float | None = Field(None, ge=10, le=350)
    pr_ms: float | None = Field(None, ge=0, le=1000)
    qrs_ms: float | None = Field(None, ge=0, le=500)
    qt_ms: float | None = Field(None, ge=0, le=1000)
    qtc_ms: float | None = Field(None, ge=0, le=1000)
    p_axis_deg: float | None = Field(None, ge=-180, le=360)
    qrs_axis_deg: float | None = Field(None, ge=-180, le=360)
    t_axis_deg: float | None = Field(None, ge=-180, le=360)
    statements: list[str] = Field(default_factory=list, max_length=50)


class DocumentIn(BaseModel):
    """The device's own report (a PDF print-out, an image), base64 in JSON."""

    content_type: Literal["application/pdf", "image/jpeg", "image/png"]
    title: str | None = Field(None, max_length=200)
    data: Base64Bytes = Field(max_length=MAX_DOCUMENT_BYTES)


class EcgIn(BaseModel):
    """A resting 12-lead ECG. `event_id` is the sender's idempotency key: resending the
    same submission with the same `event_id` is answered as the first time. Without
    `leads` (a report-only result: the device sent its measurements, statements and/or
    printed report, no waveform) `measurements` or `document` is required."""

    event_id: Id
    ecg_id: Id
    patient: PatientIn
    acquired_at: AwareDatetime
    site: SiteIn
    device: DeviceIn
    sampling_rate_hz: float | None = Field(None, ge=100, le=2000, examples=[500])
    units: Literal["uV"] = "uV"
    leads: dict[LeadName, LeadSamples] = Field(default_factory=dict)
    # Leads the sender did not record but that were computed from I and II (an 8-lead cart:
    # Einthoven, Goldberger; services/hl7_gateway/observations.py); said so in the FHIR view.
    derived_leads: list[LeadName] = Field(default_factory=list)
    measurements: MeasurementsIn | None = None
    clinical_question: str | None = Field(None, max_length=2000)
    urgency: Literal["routine", "urgent", "stat"] = "routine"
    document: DocumentIn | None = None

    @field_validator("leads")
    @classmethod
    def _twelve_leads(cls, leads: dict[LeadName, Samples]) -> dict[LeadName, Samples]:
        if not leads:
            return leads  # report-only: checked in `_duration`
        missing = [lead for lead in STANDARD_LEAD_ORDER if lead not in leads]
        if missing:
            raise ValueError(f"a 12-lead ECG needs all 12 leads; missing {', '.join(missing)}")
        lengths = {len(s) for s in leads.values()}
        if len(lengths) != 1:
            raise ValueError(
                f"all leads must have the same number of samples, got {sorted(lengths)}"
            )
        for lead, samples in leads.items():  # two vectorised passes a lead
            if samples.size and max(-int(samples.min()), int(samples.max())) > MAX_ABS_UV:
                raise ValueError(f"lead {lead} has samples beyond +-{MAX_ABS_UV} uV")
        return leads

    @model_validator(mode="after")
    def _duration(self) -> EcgIn:
        if not self.leads:
            if self.measurements is None and self.document is None:
                raise ValueError(
                    "leads: no waveform; a report without one needs measurements or a document"
                )
            return self
        if self.sampling_rate_hz is None:
            raise ValueError("sampling_rate_hz: required with leads")
        seconds = len(self.leads["I"]) / self.sampling_rate_hz
        if not MIN_SECONDS <= seconds <= MAX_SECONDS:
            raise ValueError(
                f"leads: {len(self.leads['I'])} samples at {self.sampling_rate_hz:g} Hz is "
                f"{seconds:.2f} s; expected {MIN_SECONDS:g} to {MAX_SECONDS:g} s"
            )
        return self


class EcgAccepted(BaseModel):
    """Where the submission went and where its FHIR resources will be."""

    event_id: str
    ecg_id: str
    observation: str
    patient: str
    topic: str
    partition: int
    offset: int


def ecg_event(body: EcgIn, recorded_at: dt.datetime, channel: str = "http") -> dict[str, Any]:
    """The `EcgSubmitted` Avro record for a validated submission."""
    return {
        "meta": {
            "event_id": body.event_id,
            "occurred_at": body.acquired_at,
            "recorded_at": recorded_at,
            "source": {
                "channel": channel,
                "device_id": body.device.id,
                "user_id": None,
                "site_id": body.site.id,
            },
        },
        "ecg_id": body.ecg_id,
        "patient": body.patient.model_dump(),
        "site": body.site.model_dump(),
        "device": body.device.model_dump(),
        "acquired_at": body.acquired_at,
        "waveform": {
            # A report-only result has no waveform: no leads, rate 0.
            "sampling_rate_hz": body.sampling_rate_hz or 0.0,
            "units": body.units,
            "leads": [
                {"lead": lead, "samples": pack(body.leads[lead])}  # type: ignore[index]
                for lead in STANDARD_LEAD_ORDER
                if body.leads
            ],
        },
        "measurements": body.measurements.model_dump() if body.measurements else None,
        "clinical_question": body.clinical_question,
        "urgency": body.urgency,
        "incident_id": None,
        "derived_leads": list(body.derived_leads),
        "document": _document(body.document),
    }


def _document(doc: DocumentIn | None) -> dict[str, Any] | None:
    """The Avro EcgDocument: the decoded bytes (`model_dump` would give base64 back)."""
    if doc is None:
        return None
    return {"content_type": doc.content_type, "title": doc.title, "data": doc.data}


def accepted(event: dict[str, Any], partition: int, offset: int) -> EcgAccepted:
    """The answer for an appended event (computed from the event, so a retry gets the same)."""
    return EcgAccepted(
        event_id=event["meta"]["event_id"],
        ecg_id=event["ecg_id"],
        observation=f"Observation/{ecg_observation_id(event['ecg_id'])}",
        patient=f"Patient/{patient_id(event['patient']['identifiers'])}",
        topic=CLINIC_ECG,
        partition=partition,
        offset=offset,
    )
