"""Real cart exports (tests/data/ecg/README.md): a Philips Sierra ECG XML file from a
HeartStart MRx and a GE MUSE XML file, read by the ingest parsers. Expected samples come from
sierraecg-js's own test of the same Philips file (the middle sample of every lead, in units of
5 µV); the cart's measurements and statements are the text of the files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from services.ingest.ecg_files import CartReading, detect, parse

DATA = Path(__file__).resolve().parents[1] / "data" / "ecg"
PHILIPS = (DATA / "philips_129DYPRG.xml").read_bytes()
MUSE = (DATA / "muse_sinus.xml").read_bytes()
ORDER = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
# sierra-ecg-tools, sierraecg-js/packages/sierraecg-core/tests/sierraecg.test.js: the sample at
# index 2750 of each 5500-sample lead of 129DYPRG.xml
SIERRAECG_JS_MIDDLE = (-9, -17, -7, 13, -1, -12, 0, -1, -3, -4, -7, -6)
PHILIPS_UV_PER_UNIT = 5  # <signalresolution>5</signalresolution>


def test_philips__detected_by_its_root_element_and_namespace() -> None:
    assert detect.detect(PHILIPS) == "philips"


def test_philips__xli_leads_decode_to_the_samples_sierraecg_js_expects() -> None:
    ecg = parse(PHILIPS)
    assert ecg.format == "philips" and ecg.sampling_rate_hz == 500.0
    middle = tuple(ecg.leads[name][2750] for name in ORDER)
    assert middle == tuple(PHILIPS_UV_PER_UNIT * v for v in SIERRAECG_JS_MIDDLE)


def test_philips__the_calibration_pulse_after_the_ecg_is_cut_off() -> None:
    ecg = parse(PHILIPS)
    lengths = {len(samples) for samples in ecg.leads.values()}
    # 5500 samples stored; from 5264 on every lead holds the same value (flat, then 1 mV)
    assert lengths == {5264}
    assert max(max(samples) for samples in ecg.leads.values()) < 1000 + 500  # no 1 mV step left


def test_philips__patient_device_and_the_carts_reading() -> None:
    ecg = parse(PHILIPS)
    assert (ecg.patient_id, ecg.gender, ecg.age_years) == ("1112010721168bdc", "male", 50.0)
    assert ecg.acquired_at == dt.datetime(2011, 12, 1, 7, 27, 34)
    assert (ecg.manufacturer, ecg.model, ecg.device_id) == ("Philips", "HeartstartMRx", "0001")
    assert ecg.cart == CartReading(
        heart_rate_bpm=41.0,
        pr_ms=151.0,
        qrs_ms=135.0,
        qt_ms=476.0,
        qtc_ms=393.0,
        statements=(
            "Sinus bradycardia",
            "Nonspecific intraventricular conduction delay",
            "Inferior infarct, acute (LCx)",
            ">>> Acute MI <<<",
        ),
        program="Philips (criteria 0B)",
    )


def test_muse__the_carts_measurements_and_statements_line_by_line() -> None:
    ecg = parse(MUSE)
    assert ecg.age_years == 43.0 and ecg.sampling_rate_hz == 500.0
    assert ecg.cart is not None
    assert (ecg.cart.heart_rate_bpm, ecg.cart.pr_ms, ecg.cart.qrs_ms) == (90.0, 144.0, 86.0)
    assert (ecg.cart.qt_ms, ecg.cart.qtc_ms) == (402.0, 491.0)
    assert ecg.cart.statements[:4] == (
        "Normal Sinus rhythm",
        "Anterior infarct, age undetermined",
        "T wave abnormality, consider lateral ischemia",
        "Abnormal ECG",
    )
