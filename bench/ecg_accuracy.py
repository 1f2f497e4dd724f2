"""Accuracy of our ECG measurements and triage on real 12-lead recordings (tests/data/ecg),
against the global measurements and statements of the cart program that recorded them.

Prints the Bland-Altman table (n, mean difference ours - cart, SD, the IEC 60601-2-25 limit,
pass) for HR, PR, QRS, QT and QTc, the STEMI confusion counts, and one line per recording.
The same comparison is asserted by tests/unit/test_ecg_accuracy.py. Usage:

    .venv/bin/python -m bench.ecg_accuracy [FILE ...]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from services.ingest.ecg_files import ParsedEcg, parse
from stream_processors.ecg_measurement.accuracy import MEASURES, Case, evaluate, per_case, table

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "ecg"
# Real resting 12-leads whose file carries the cart's own reading (see tests/data/ecg/README.md)
RECORDINGS = (DATA / "philips_129DYPRG.xml", DATA / "muse_sinus.xml")


def case(path: Path) -> Case:
    """A recording and the cart's reading of it, from the file alone."""
    parsed = parse(path.read_bytes())
    if parsed.cart is None:
        raise ValueError(f"{path.name}: the file carries no cart measurements")
    return Case(
        name=path.name,
        leads=parsed.leads,
        rate_hz=parsed.sampling_rate_hz,
        reference={key: getattr(parsed.cart, key) for key in MEASURES},
        statements=parsed.cart.statements,
        sex=_sex(parsed),
        age_years=parsed.age_years,
    )


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
