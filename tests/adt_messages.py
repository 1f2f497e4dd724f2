"""HL7 v2 ADT test messages in the profile `services.hl7_gateway.adt_in` documents (A01, A04,
A08, A02, A03, A40); edit one field with `tests.hl7_messages.set_field`."""

from __future__ import annotations

import uuid

from tests.hl7_messages import _join
from tests.standard_codes import gb11643_check_char

HOSPITAL = "county-hospital"
T_ADMIT = "20261123101200+0800"
T_EVENT = "20261123101500+0800"
T_DISCHARGE = "20261128093000+0800"


def valid_resident_id(first17: str = "11010519491231002") -> str:
    """A resident ID with its check character computed from GB 11643 here, not by the code
    under test (the default is the standard's own example, 11010519491231002X)."""
    return first17 + gb11643_check_char(first17)


def msh(trigger: str, control_id: str, hospital: str = HOSPITAL, version: str = "2.5.1") -> str:
    structure = "ADT_A39" if trigger == "A40" else "ADT_A01"
    return (
        f"MSH|^~\\&|HIS|{hospital}|GOLDENHOUR|COUNTY|{T_EVENT}||ADT^{trigger}^{structure}|"
        f"{control_id}|P|{version}"
    )


def pid(mrn: str, resident: str | None = None, hospital: str = HOSPITAL) -> str:
    ids = [f"{mrn}^^^{hospital}^MR"] + ([f"{resident}^^^CHN^NNCHN"] if resident else [])
    return _join({1: "1", 3: "~".join(ids), 5: "王^建国", 7: "19491231", 8: "M"}, "PID")


def pv1(
    visit: str,
    patient_class: str = "E",
    location: str = "ED^3^1^" + HOSPITAL,
    admitted: str = T_ADMIT,
    discharged: str = "",
    incident: str | None = None,
) -> str:
    fields = {1: "1", 2: patient_class, 3: location, 19: visit, 44: admitted, 45: discharged}
    if incident:
        fields[50] = f"{incident}^^^EMS"
    return _join(fields, "PV1")


def adt(
    trigger: str,
    *,
    mrn: str = "H-778",
    resident: str | None = None,
    visit: str | None = "V-2026-001",
    control_id: str | None = None,
    hospital: str = HOSPITAL,
    patient_class: str = "E",
    location: str = "ED^3^1^" + HOSPITAL,
    discharged: str = "",
    incident: str | None = None,
    prior: str | None = None,
) -> str:
    """One ADT message. `prior` is MRG-1 (A40), e.g. "EMS-inc-1^^^EMS" or "H-1^^^h^MR"."""
    control_id = control_id or uuid.uuid4().hex[:20]
    segments = [msh(trigger, control_id, hospital), f"EVN|{trigger}|{T_EVENT}"]
    segments.append(pid(mrn, resident, hospital))
    if prior is not None:
        segments.append(_join({1: prior}, "MRG"))
    if visit is not None and trigger != "A40":
        segments.append(pv1(visit, patient_class, location, T_ADMIT, discharged, incident))
    return "\r".join(segments) + "\r"
