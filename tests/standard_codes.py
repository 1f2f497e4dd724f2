"""Codes the test messages and expectations use, written here from the standards, not
imported from the code under test: a wrong code in the production tables then fails a
test instead of round-tripping green.

ISO/IEEE 11073-10101 (MDC), partition 2 (SCADA, 2 << 16 = 131072) for the ECG terms and
partition 4 (dimensions, 4 << 16 = 262144) for units; codes as published in the FHIR value
set "11073MDC metric" (hl7.org/fhir/uv/pocd) and used in IHE PCD-01 examples:
MDC_ECG_ELEC_POTL 256 -> 131328, MDC_ECG_ELEC_POTL_I 257 -> 131329, ..._II 258, ..._V1 to
..._V6 259-264, ..._III 317, ..._AVR 318, ..._AVL 319, ..._AVF 320.

LOINC (loinc.org; the US Core "clinical test codes" value set lists the EKG ones): 8867-4
Heart rate, 8625-6 P-R interval, 8633-0 QRS duration, 8634-8 Q-T interval, 8636-3 Q-T
interval corrected, 8626-4 P wave axis, 8632-2 QRS axis, 8638-9 T wave axis, 8601-7 EKG
impression.
"""

from __future__ import annotations

MDC_ECG_ELEC_POTL = "131328"

# lead name -> (MDC code, reference id), in the standard 12-lead order of an ECG cart.
MDC_LEADS: dict[str, tuple[str, str]] = {
    "I": ("131329", "MDC_ECG_ELEC_POTL_I"),
    "II": ("131330", "MDC_ECG_ELEC_POTL_II"),
    "III": ("131389", "MDC_ECG_ELEC_POTL_III"),
    "aVR": ("131390", "MDC_ECG_ELEC_POTL_AVR"),
    "aVL": ("131391", "MDC_ECG_ELEC_POTL_AVL"),
    "aVF": ("131392", "MDC_ECG_ELEC_POTL_AVF"),
    "V1": ("131331", "MDC_ECG_ELEC_POTL_V1"),
    "V2": ("131332", "MDC_ECG_ELEC_POTL_V2"),
    "V3": ("131333", "MDC_ECG_ELEC_POTL_V3"),
    "V4": ("131334", "MDC_ECG_ELEC_POTL_V4"),
    "V5": ("131335", "MDC_ECG_ELEC_POTL_V5"),
    "V6": ("131336", "MDC_ECG_ELEC_POTL_V6"),
}
LEAD_ORDER = tuple(MDC_LEADS)

# MDC units (partition 4): MDC_DIM_VOLT 4256 with the decimal prefix added (milli 18,
# micro 19) -> 266418, 266419; MDC_DIM_PER_SEC 2464 -> 264608.
MDC_MILLI_VOLT = "266418^MDC_DIM_MILLI_VOLT^MDC"
MDC_MICRO_VOLT = "266419^MDC_DIM_MICRO_VOLT^MDC"
MDC_PER_SEC = "264608^MDC_DIM_PER_SEC^MDC"

# device measurement field (EcgIn.measurements) -> (LOINC code, LOINC short name, UCUM unit)
LOINC_MEASUREMENTS: dict[str, tuple[str, str, str]] = {
    "heart_rate_bpm": ("8867-4", "Heart rate", "/min"),
    "pr_ms": ("8625-6", "P-R interval", "ms"),
    "qrs_ms": ("8633-0", "QRS duration", "ms"),
    "qt_ms": ("8634-8", "Q-T interval", "ms"),
    "qtc_ms": ("8636-3", "Q-T interval corrected", "ms"),
    "p_axis_deg": ("8626-4", "P wave axis", "deg"),
    "qrs_axis_deg": ("8632-2", "QRS axis", "deg"),
    "t_axis_deg": ("8638-9", "T wave axis", "deg"),
}
LOINC_EKG_IMPRESSION = "8601-7"


def gb11643_check_char(first17: str) -> str:
    """The check character of a resident ID (GB 11643-1999: ISO 7064 MOD 11-2 over the
    17 digits, weights 2^(17-i) mod 11; a check value of 10 is written X)."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    return "0123456789X"[(12 - total % 11) % 11]
