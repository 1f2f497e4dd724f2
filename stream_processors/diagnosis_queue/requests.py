"""The read request that puts an ECG in a reading centre's queue, built from the ECG's
`EcgSubmitted` record; shared by every intake (HTTP, MLLP, ambulance incidents)."""

from __future__ import annotations

from kernel.ids import patient_id
from kernel.jsontypes import Json


def read_request(ecg: Json, centre_id: str, region_id: str, prealert: str | None = None) -> Json:
    """`ReadRequested` for a submitted ECG; its event id derives from the ECG's, so a retry
    or a replay appends it once."""
    patient = ecg["patient"]
    name = "".join(p for p in (patient.get("family"), patient.get("given")) if p)
    return {
        "meta": {**ecg["meta"], "event_id": f"{ecg['meta']['event_id']}:read"},
        "ecg_id": ecg["ecg_id"],
        "reading_centre_id": centre_id,
        "region_id": region_id,
        "reason": ecg.get("clinical_question"),
        "site": ecg["site"],
        "patient_ref": f"Patient/{patient_id(patient['identifiers'])}",
        "patient_name": name or None,
        "urgency": ecg["urgency"],
        "prealert": prealert,
        "clinical_question": ecg.get("clinical_question"),
    }
