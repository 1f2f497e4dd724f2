"""What an ambulance tablet sends: one incident's events, alone or as an offline batch.

Each event carries the tablet's own `event_id` (its idempotency key) and `occurred_at` with a
UTC offset (the tablet's clock; a time without an offset is refused, never guessed). The
batch carries `expected_version`: how many events of the incident the tablet has seen, so a
tablet that missed someone else's write (a colleague's tablet, the hospital's acceptance) is
told instead of silently interleaving. Validation is complete before anything is appended.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StrictInt, field_validator, model_validator

from kernel.codes import STANDARD_LEAD_ORDER
from services.ingest import vital_signs
from services.ingest.ecg_models import (
    MAX_ABS_UV,
    DeviceIn,
    Id,
    IdentifierIn,
    LeadName,
    MeasurementsIn,
    PersonId,
)

MAX_BATCH = 500
# UCUM codes a crew doses in; anything else is most likely a typo ("mcg", "ml").
DOSE_UNITS = frozenset(
    [
        "mg",
        "ug",
        "g",
        "ng",
        "mL",
        "L",
        "[iU]",
        "U",
        "mmol",
        "meq",
        "mg/kg",
        "ug/kg",
        "ug/kg/min",
        "mg/h",
        "mL/h",
        "{puff}",
        "{tbl}",
        "[drp]",
    ]
)
UnitStatusName = Literal[
    "CALL_RECEIVED",
    "DISPATCHED",
    "EN_ROUTE",
    "ON_SCENE",
    "AT_PATIENT",
    "LEFT_SCENE",
    "AT_DESTINATION",
    "TRANSFER_OF_CARE",
    "BACK_IN_SERVICE",
]
PreAlertKindName = Literal["STEMI", "STROKE", "TRAUMA", "SEPSIS", "CARDIAC_ARREST", "OTHER"]
Text = Annotated[str, Field(max_length=4000)]


class LocationIn(BaseModel):
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=500)


class CodingIn(BaseModel):
    system: str = Field(
        min_length=1, max_length=200, pattern=r"^(https?|urn):", examples=["http://snomed.info/sct"]
    )
    code: str = Field(min_length=1, max_length=64)
    display: str | None = Field(None, max_length=200)


class QuantityIn(BaseModel):
    value: float
    unit: str = Field(min_length=1, max_length=32, description="UCUM code")


class VitalIn(BaseModel):
    code: str = Field(description="LOINC code of the vital sign", examples=["8867-4"])
    value: float
    unit: str = Field(description="UCUM unit", examples=["/min"])

    @model_validator(mode="after")
    def _plausible(self) -> VitalIn:
        if why := vital_signs.problem(self.code, self.value, self.unit):
            raise ValueError(why)
        return self


class AtmistIn(BaseModel):
    age: Text | None = None
    time: Text | None = None
    mechanism: Text | None = None
    injuries: Text | None = None
    signs: Text | None = None
    treatment: Text | None = None


class _Event(BaseModel):
    event_id: Id
    occurred_at: AwareDatetime


class IncidentOpenedIn(_Event):
    type: Literal["IncidentOpened"]
    dispatch_reason: str = Field(min_length=1, max_length=500, examples=["Chest pain"])
    priority: str = Field(min_length=1, max_length=32, examples=["1"])
    station_id: Id
    unit_id: Id
    scene: LocationIn | None = None


class UnitStatusChangedIn(_Event):
    type: Literal["UnitStatusChanged"]
    unit_id: Id
    status: UnitStatusName
    position: LocationIn | None = None


class PatientRecordedIn(_Event):
    """Who the patient is: identified (resident ID, name) or unidentified, then with a
    temporary id (e.g. the wristband's), an estimated age and the sex."""

    type: Literal["PatientRecorded"]
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=10)
    family: str | None = Field(None, max_length=100)
    given: str | None = Field(None, max_length=100)
    gender: Literal["male", "female", "other", "unknown"] | None = None
    birth_date: dt.date | None = None
    estimated_age_years: int | None = Field(None, ge=0, le=130)
    temporary_id: Id | None = None

    @model_validator(mode="after")
    def _someone(self) -> PatientRecordedIn:
        if not self.identifiers and self.temporary_id is None:
            raise ValueError("a patient needs identifiers or, if unidentified, a temporary_id")
        return self


class VitalsRecordedIn(_Event):
    type: Literal["VitalsRecorded"]
    vitals: list[VitalIn] = Field(min_length=1, max_length=20)

    @field_validator("vitals")
    @classmethod
    def _one_of_each(cls, vitals: list[VitalIn]) -> list[VitalIn]:
        codes = [v.code for v in vitals]
        if repeated := sorted({c for c in codes if codes.count(c) > 1}):
            raise ValueError(f"one value per vital sign in a set; repeated {', '.join(repeated)}")
        by_code = {v.code: v.value for v in vitals}
        sys_, dia = by_code.get(vital_signs.SYSTOLIC), by_code.get(vital_signs.DIASTOLIC)
        if (sys_ is None) != (dia is None):
            raise ValueError("blood pressure needs both systolic (8480-6) and diastolic (8462-4)")
        if sys_ is not None and dia is not None and dia >= sys_ > 0:
            raise ValueError(f"diastolic {dia:g} mm[Hg] is not below systolic {sys_:g} mm[Hg]")
        return vitals


class InterventionPerformedIn(_Event):
    type: Literal["InterventionPerformed"]
    code: CodingIn
    note: Text | None = None


class MedicationGivenIn(_Event):
    type: Literal["MedicationGiven"]
    medication: CodingIn
    dose: QuantityIn
    route: CodingIn

    @field_validator("dose")
    @classmethod
    def _dose(cls, dose: QuantityIn) -> QuantityIn:
        if dose.unit not in DOSE_UNITS:
            raise ValueError(
                f"dose unit {dose.unit!r} is not a UCUM dose unit; use one of {', '.join(sorted(DOSE_UNITS))}"
            )
        if not dose.value > 0:
            raise ValueError(f"dose must be positive, got {dose.value:g}")
        return dose


class EcgAcquiredIn(_Event):
    type: Literal["EcgAcquired"]
    ecg_id: Id
    device: DeviceIn
    sampling_rate_hz: float = Field(ge=100, le=2000)
    units: Literal["uV"] = "uV"
    leads: dict[LeadName, list[StrictInt]]
    measurements: MeasurementsIn | None = None

    @field_validator("leads")
    @classmethod
    def _twelve_leads(cls, leads: dict[LeadName, list[int]]) -> dict[LeadName, list[int]]:
        if missing := [lead for lead in STANDARD_LEAD_ORDER if lead not in leads]:
            raise ValueError(f"a 12-lead ECG needs all 12 leads; missing {', '.join(missing)}")
        if len({len(s) for s in leads.values()}) != 1:
            raise ValueError("all leads must have the same number of samples")
        for lead, samples in leads.items():
            if samples and max(abs(min(samples)), abs(max(samples))) > MAX_ABS_UV:
                raise ValueError(f"lead {lead} has samples beyond +-{MAX_ABS_UV} uV")
        return leads


class PreAlertRaisedIn(_Event):
    type: Literal["PreAlertRaised"]
    kind: PreAlertKindName
    destination_id: Id
    eta: AwareDatetime | None = None
    note: Text | None = None


class HandoverSubmittedIn(_Event):
    type: Literal["HandoverSubmitted"]
    destination_id: Id
    atmist: AtmistIn
    narrative: Text | None = None


class HandoverAcceptedIn(_Event):
    type: Literal["HandoverAccepted"]
    accepted_by: str = Field(min_length=1, max_length=200)
    hospital_id: Id | None = None


TabletEvent = Annotated[
    IncidentOpenedIn
    | UnitStatusChangedIn
    | PatientRecordedIn
    | VitalsRecordedIn
    | InterventionPerformedIn
    | MedicationGivenIn
    | EcgAcquiredIn
    | PreAlertRaisedIn
    | HandoverSubmittedIn
    | HandoverAcceptedIn,
    Field(discriminator="type"),
]


class IncidentBatch(BaseModel):
    """Events of one incident in the tablet's order (one event is a batch of one)."""

    expected_version: int = Field(
        ge=0, description="Events of this incident the tablet has seen (0 for a new incident)"
    )
    device_id: Id | None = Field(None, description="The tablet")
    user_id: PersonId | None = Field(None, description="The crew member signed in")
    events: list[TabletEvent] = Field(min_length=1, max_length=MAX_BATCH)

    @field_validator("events")
    @classmethod
    def _distinct_ids(cls, events: list[TabletEvent]) -> list[TabletEvent]:
        ids = [e.event_id for e in events]
        if repeated := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"event_id used twice in one batch: {', '.join(repeated)}")
        return events


class EventAccepted(BaseModel):
    event_id: str
    type: str
    sequence: int = Field(description="The incident's version once this event is in")
    duplicate: bool


class BatchAccepted(BaseModel):
    incident_id: str
    version: int = Field(description="The incident's version after this batch")
    encounter: str = Field(description="The FHIR Encounter the incident projects to")
    events: list[EventAccepted]


class PositionIn(BaseModel):
    event_id: Id
    unit_id: Id
    station_id: Id
    occurred_at: AwareDatetime
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    speed_kmh: float | None = Field(None, ge=0, le=300)
    heading_deg: float | None = Field(None, ge=0, lt=360)
    incident_id: Id | None = None


class PositionBatch(BaseModel):
    device_id: Id | None = None
    positions: list[PositionIn] = Field(min_length=1, max_length=MAX_BATCH)
