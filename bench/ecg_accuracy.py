"""Accuracy of our ECG measurements and triage on real 12-lead recordings (tests/data/ecg),
against the global measurements and statements of the cart program that recorded them.

Prints the Bland-Altman table (n, mean difference ours - cart, SD, the IEC 60601-2-25 limit,
pass) for HR, PR, QRS, QT and QTc, the STEMI confusion counts, and one line per recording.
The same comparison is asserted by tests/unit/test_ecg_accuracy.py.

Two kinds of reference: cart files (GE MUSE and CardioSoft XML, Philips XML, DICOM with a
Waveform Annotation Sequence) carry the cart program's global measurements and statements;
the CPSC 2018 records (WFDB, tests/data/ecg/cpsc2018) carry only the cardiologists'
rhythm/morphology label, so they count for the triage, not the intervals.
For a MUSE file the statements are the 12SL program's own (<OriginalDiagnosis>) where the file
keeps them beside the over-reader's confirmed <Diagnosis>: the reference is the program's.
Usage:

    .venv/bin/python -m bench.ecg_accuracy [FILE ...]   (cart files or WFDB .hea headers)
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.io

from services.ingest.ecg_files import ParsedEcg, muse, parse
from stream_processors.ecg_measurement.accuracy import MEASURES, Case, evaluate, per_case, table

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "ecg"
# Real resting 12-leads whose file carries the cart's own reading (see tests/data/ecg/README.md)
CART_FILES = (
    DATA / "philips_129DYPRG.xml",
    DATA / "muse_sinus.xml",
    DATA / "muse_guangxi_sinus.xml",
    DATA / "ecgprocess" / "example-XML1.xml",  # GE CardioSoft
    DATA / "ecgprocess" / "example-DICOM2.dcm",  # GE MAC55 via DICOM annotations
)
# CPSC 2018 (PhysioNet/CinC Challenge 2020 copies): the label as SNOMED CT code -> the CPSC
# class it stands for there (the Challenge's dx_mapping_scored.csv); "Normal" is CPSC's class 1.
CPSC_LABELS = {
    "426783006": "Normal ECG (CPSC 2018 class Normal, SNOMED CT 426783006 sinus rhythm)",
    "164889003": "Atrial fibrillation",
    "59118001": "Right bundle branch block",
    "164884008": "Premature ventricular contraction",
    "429622005": "ST-segment depression",
    "164931005": "ST-segment elevation",
}
CPSC_RECORDS = tuple(sorted((DATA / "cpsc2018").glob("*.hea")))
RECORDINGS = (*CART_FILES, *CPSC_RECORDS)


def case(path: Path) -> Case:
    """A recording and its reference reading, from the file (or WFDB header) alone."""
    if path.suffix == ".hea":
        return wfdb_case(path)
    data = path.read_bytes()
    parsed = parse(data)
    if parsed.cart is None:
        raise ValueError(f"{path.name}: the file carries no cart measurements")
    return Case(
        name=path.name,
        leads={name: np.asarray(samples).tolist() for name, samples in parsed.leads.items()},
        rate_hz=parsed.sampling_rate_hz,
        reference={key: getattr(parsed.cart, key) for key in MEASURES},
        statements=_program_statements(parsed, data) or parsed.cart.statements,
        sex=_sex(parsed),
        age_years=parsed.age_years,
    )


def wfdb_case(header: Path) -> Case:
    """A PhysioNet/CinC 2020 record: WFDB header (gain, baseline, lead names, "# Age", "# Sex",
    "# Dx" SNOMED codes) and its MATLAB v4 signal file ("val": leads x samples)."""
    lines = header.read_text().splitlines()
    record = lines[0].split()
    comments = dict(
        line.lstrip("# ").split(": ", 1) for line in lines if line.startswith("#") and ": " in line
    )
    signals = [line.split() for line in lines[1 : 1 + int(record[1])]]
    val = scipy.io.loadmat(str(header.with_suffix(".mat")))["val"].astype(np.float64)
    leads = {}
    for row, fields in zip(val, signals, strict=True):
        gain, _, rest = fields[2].partition("(")
        baseline = float(rest.partition(")")[0] or 0)
        leads[fields[-1]] = [int(v) for v in np.rint((row - baseline) * 1000.0 / float(gain))]
    sex = comments.get("Sex", "").strip().lower()
    age = comments.get("Age", "").strip()
    return Case(
        name=f"cpsc2018/{header.stem}",
        leads=leads,
        rate_hz=float(record[2]),
        reference=dict.fromkeys(MEASURES),
        statements=[CPSC_LABELS.get(c, f"SNOMED CT {c}") for c in comments["Dx"].split(",")],
        sex=sex if sex in ("male", "female") else None,
        age_years=float(age) if age.replace(".", "", 1).isdigit() else None,
    )


def _program_statements(parsed: ParsedEcg, data: bytes) -> tuple[str, ...]:
    """The 12SL program's own statements of a MUSE file (before any over-read), if kept."""
    if parsed.format != "muse":
        return ()
    original = ET.fromstring(data).find("OriginalDiagnosis")
    # the reader keeps <Diagnosis> (what the workstation shows); its line joining is reused
    return muse._statements(original) if original is not None else ()


def cases(paths: Sequence[Path] = RECORDINGS) -> list[Case]:
    """Every recording as a `Case`."""
    return [case(path) for path in paths]


def _sex(parsed: ParsedEcg) -> str | None:
    return parsed.gender if parsed.gender in ("male", "female") else None


def main(argv: Sequence[str] | None = None) -> None:
    """Print the accuracy table for the given files (default: the real recordings)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "files", nargs="*", type=Path, help="ECG files with the cart's measurements"
    )
    args = parser.parse_args(argv)
    outcomes = evaluate(cases(args.files or RECORDINGS))
    print("\n".join([*table(outcomes), "", *per_case(outcomes)]))


if __name__ == "__main__":
    main()
