"""Lead names from the codes files carry, written from the standards: MDC lead terms
(ISO/IEEE 11073-10101: MDC_ECG_LEAD_I = 2:1, ..._II 2:2, ..._V1-V6 2:3-2:8, ..._III 2:61,
..._AVR 2:62, ..._AVL 2:63, ..._AVF 2:64; DICOM CID 3001 writes them "2:1" with scheme MDC,
older files "5.6.3-9-1" with scheme SCPECG), SCP-ECG section 3 lead ids (the same numbers),
and the names vendors print."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from kernel.codes import STANDARD_LEAD_ORDER
from services.hl7_gateway.observations import derive_limb_leads
from services.ingest.ecg_files import EcgFileError

# MDC lead term number (also the SCP-ECG lead id) -> our lead name
LEAD_BY_NUMBER = {
    1: "I", 2: "II", 3: "V1", 4: "V2", 5: "V3", 6: "V4", 7: "V5", 8: "V6",
    61: "III", 62: "aVR", 63: "aVL", 64: "aVF",
}  # fmt: skip
LEAD_BY_NAME = {name.upper(): name for name in STANDARD_LEAD_ORDER}


def lead_of_mdc_code(value: str) -> str | None:
    """ "2:1" (MDC) or "5.6.3-9-1" (SCPECG) -> "I"."""
    number = value.rsplit(":", 1)[-1] if ":" in value else value.rsplit("-", 1)[-1]
    return LEAD_BY_NUMBER.get(int(number)) if number.isdigit() else None


def lead_of_name(text: str) -> str | None:
    """ "MDC_ECG_LEAD_AVR", "Lead aVR", "AVR", "I" -> our name (None for other leads)."""
    name = text.strip().upper()
    for prefix in ("MDC_ECG_LEAD_", "LEAD "):
        name = name.removeprefix(prefix)
    name = name.split(" (")[0].strip()
    return LEAD_BY_NAME.get(name)


def complete(fmt: str, leads: MutableMapping[str, Any]) -> list[str]:
    """Derive III, aVR, aVL, aVF when only the 8 independent leads were recorded; the
    derived names. Other lead sets are left to EcgIn's 12-lead check."""
    if not leads:
        raise EcgFileError(f"{fmt}: no standard ECG lead found")
    return derive_limb_leads(leads)
