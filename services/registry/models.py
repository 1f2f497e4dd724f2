"""What the admin API and the seed file take: one model per party type (`...In`), turned
into the Avro `<Type>Details` record by `details()`. Ids are any Unicode text (a practitioner
may be registered under 赵医生); names are Chinese first (`name`), other languages in `names`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from stream_processors.registry.published import codes as c

PartyId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s/\\?#%]+$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
EventId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
OrganizationKind = Literal[
    "region", "dispatch-centre", "station", "clinic", "hospital", "reading-centre"
]
RoleName = Literal["crew", "reader", "ed-clinician", "clinic-clinician", "dispatcher"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: PartyId
    event_id: EventId | None = Field(
        None,
        description="Idempotency key; omitted: derived from the content, so the same body "
        "sent twice appends once",
    )

    def details(self) -> dict[str, Any]:
        """The Avro `<Type>Details` record."""
        return self.model_dump(exclude={"id", "event_id", "roles"})


class IdentifierIn(BaseModel):
    system: str = Field(min_length=1, max_length=200, pattern=r"^(https?|urn):")
    value: str = Field(min_length=1, max_length=100)


class LocationIn(BaseModel):
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=500)


def _languages(names: dict[str, str]) -> dict[str, str]:
    for lang in names:
        if not 2 <= len(lang) <= 12 or not lang.replace("-", "").isalnum():
            raise ValueError(f"{lang!r} is not a BCP 47 language tag")
    return names


class OrganizationIn(_In):
    kind: OrganizationKind
    name: Name
    names: dict[str, Name] = Field(default_factory=dict, examples=[{"en": "County Hospital"}])
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=20)
    parent_id: PartyId | None = None
    region_id: PartyId | None = None
    serves: list[PartyId] = Field(
        default_factory=list, max_length=500, description="A reading centre: clinic ids"
    )
    location: LocationIn | None = None
    phone: str | None = Field(None, max_length=40)

    _names = field_validator("names")(_languages)


class UnitIn(_In):
    station_id: PartyId
    name: Name
    names: dict[str, Name] = Field(default_factory=dict)
    call_sign: str | None = Field(None, max_length=40)
    plate: str | None = Field(None, max_length=20)
    unit_type: Literal["ambulance"] = "ambulance"

    _names = field_validator("names")(_languages)


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: PartyId
    role: RoleName
    event_id: EventId | None = None


class PractitionerIn(_In):
    name: Name
    family: str | None = Field(None, max_length=100)
    given: str | None = Field(None, max_length=100)
    names: dict[str, Name] = Field(default_factory=dict)
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=20)
    gender: Literal["male", "female", "other", "unknown"] | None = None
    roles: list[RoleIn] = Field(
        default_factory=list, max_length=50, description="Seed files only: roles to assign"
    )

    _names = field_validator("names")(_languages)


class DeviceIn(_In):
    kind: Literal["ecg-cart", "tablet"]
    name: Name
    organization_id: PartyId
    unit_id: PartyId | None = None
    manufacturer: str | None = Field(None, max_length=100)
    model: str | None = Field(None, max_length=100)
    serial_number: str | None = Field(None, max_length=100)


class PeerIn(_In):
    sending_facility: str = Field(min_length=1, max_length=180)
    sending_application: str | None = Field(None, max_length=180)
    organization_id: PartyId
    addresses: list[str] = Field(default_factory=list, max_length=50)
    certificate_subject: str | None = Field(None, max_length=500)
    time_zone: str = Field("Asia/Shanghai", max_length=64)
    identifier_authorities: dict[str, str] = Field(
        default_factory=dict, examples=[{"BYWSY": "https://goldenhour.health/sid/mrn/baiyang"}]
    )
    hl7_versions: list[Literal["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.8"]] = Field(
        default_factory=list
    )
    charset: Literal["UNICODE UTF-8", "GB 18030-2000", "ASCII", "8859/1"] = "UNICODE UTF-8"
    report_destination: str | None = Field(
        None, max_length=255, pattern=r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$"
    )

    @field_validator("addresses")
    @classmethod
    def _networks(cls, addresses: list[str]) -> list[str]:
        import ipaddress

        for a in addresses:
            ipaddress.ip_network(a, strict=False)  # ValueError names the bad one
        return addresses

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{zone!r} is not an IANA time zone") from exc
        return zone

    @field_validator("identifier_authorities")
    @classmethod
    def _systems(cls, authorities: dict[str, str]) -> dict[str, str]:
        for authority, system in authorities.items():
            if not system.startswith(("http://", "https://", "urn:")):
                raise ValueError(f"{authority}: {system!r} is not a URI")
        return authorities


class RetireIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500)
    event_id: EventId | None = None


MODELS: dict[str, type[_In]] = {
    c.ORGANIZATION: OrganizationIn,
    c.UNIT: UnitIn,
    c.PRACTITIONER: PractitionerIn,
    c.DEVICE: DeviceIn,
    c.PEER: PeerIn,
}
COLLECTIONS = {
    "organizations": c.ORGANIZATION,
    "units": c.UNIT,
    "practitioners": c.PRACTITIONER,
    "devices": c.DEVICE,
    "peers": c.PEER,
}
