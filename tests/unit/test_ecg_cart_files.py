"""Real cart exports (tests/data/ecg/README.md): a Philips Sierra ECG XML file from a
HeartStart MRx, a GE MUSE XML file, a GE CardioSoft XML file and two GE DICOM files, read by
the ingest parsers. Expected samples come from
sierraecg-js's own test of the same Philips file (the middle sample of every lead, in units of
5 µV); the cart's measurements and statements are the text of the files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from services.ingest.ecg_files import CartReading, EcgFileError, detect, parse

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


# GE CardioSoft V6.73 "CardiologyXML" and two GE DICOM 12-lead files, from the ecgprocess 1.2.0
# wheel (GPL-3.0-or-later, tests/data/ecg/ecgprocess/LICENCE.txt). Expected values are the
# files' own text: CardioSoft's first StripData samples and its 12SL MeasurementTable.
ECGPROCESS = DATA / "ecgprocess"
CARDIOSOFT = (ECGPROCESS / "example-XML1.xml").read_bytes()
CARDIOSOFT_UV_PER_LSB = 5  # <StripData><Resolution units="uVperLsb">5</Resolution>
# <StripData><WaveformData lead="I"> and lead="V1": their first three samples
CARDIOSOFT_FIRST = {"I": (-4, -2, -2), "V1": (92, 91, 90)}
# <MeasurementTable Creation="12SL"><RAmplitude units="uV"> of II, V3, V4, V5, V6
TWELVE_SL_R_UV = {"II": 957, "V3": 1049, "V4": 1879, "V5": 1650, "V6": 1352}


def test_cardiosoft__detected_by_its_root_element() -> None:
    assert detect.detect(CARDIOSOFT) == "cardiosoft"


def test_cardiosoft__the_strip_in_uv_from_its_resolution() -> None:
    ecg = parse(CARDIOSOFT)
    assert ecg.format == "cardiosoft" and ecg.sampling_rate_hz == 500.0
    assert list(ecg.leads) == list(ORDER) and ecg.derived_leads == []
    assert {len(samples) for samples in ecg.leads.values()} == {5000}
    for lead, first in CARDIOSOFT_FIRST.items():
        assert tuple(ecg.leads[lead][:3]) == tuple(CARDIOSOFT_UV_PER_LSB * v for v in first)


def test_cardiosoft__tallest_r_waves_are_the_amplitudes_12sl_measured() -> None:
    # The scale checked against the cart's own µV: the tallest R of the strip above its
    # median level is 12SL's R amplitude (of its median beat) within 5 %.
    ecg = parse(CARDIOSOFT)
    for lead, r_uv in TWELVE_SL_R_UV.items():
        samples = sorted(ecg.leads[lead])
        tallest = samples[-1] - samples[len(samples) // 2]
        assert abs(tallest - r_uv) <= 0.05 * r_uv, (lead, tallest, r_uv)


def test_cardiosoft__patient_time_device_and_the_12sl_reading() -> None:
    ecg = parse(CARDIOSOFT)
    assert (ecg.patient_id, ecg.given, ecg.gender, ecg.age_years) == (
        "1532006361",
        "ACE",
        "male",
        53.0,
    )
    assert ecg.birth_date == dt.date(1965, 1, 1)
    assert ecg.acquired_at == dt.datetime(2018, 7, 19, 14, 19, 39)  # local, no offset
    assert (ecg.manufacturer, ecg.model) == ("GE Healthcare", "CardioSoft V6.73")
    assert ecg.file_id == "1.2.840.113619.2.235.305770679234075180681238120"
    assert ecg.cart == CartReading(
        heart_rate_bpm=50.0,
        pr_ms=174.0,
        qrs_ms=92.0,
        qt_ms=440.0,
        qtc_ms=401.0,
        statements=(
            "Sinus bradycardia",
            "Otherwise normal ECG",
            "Arrhythmia results of the full-disclosure ECG",
            "QRS Complexes: 4",
        ),
        program="GE 12SL V21",
    )


def test_cardiosoft__a_resolution_in_another_unit_is_refused_not_guessed() -> None:
    data = CARDIOSOFT.replace(b'<Resolution units="uVperLsb">5', b'<Resolution units="bits">5')
    with pytest.raises(EcgFileError, match="CardioSoft: StripData has no Resolution in uVperLsb"):
        parse(data)


def test_cardiosoft__a_measurement_in_another_unit_is_not_taken() -> None:
    data = CARDIOSOFT.replace(b'<QTInterval units="ms">', b'<QTInterval units="s">')
    ecg = parse(data)
    assert ecg.cart is not None and ecg.cart.qt_ms is None and ecg.cart.qrs_ms == 92.0


def test_dicom__a_ge_files_statements_and_global_measurements_from_its_annotations() -> None:
    # GE MAC55 (VUMC): 5 µV per unit; "PR Interval" 0 (atrial fibrillation) is not measured
    ecg = parse((ECGPROCESS / "example-DICOM2.dcm").read_bytes())
    assert (ecg.manufacturer, ecg.model, ecg.sampling_rate_hz) == ("GE", "MAC55", 500.0)
    assert ecg.cart is not None
    assert (ecg.cart.heart_rate_bpm, ecg.cart.pr_ms, ecg.cart.qrs_ms) == (81.0, None, 92.0)
    assert (ecg.cart.qt_ms, ecg.cart.qtc_ms) == (378.0, 439.0)
    assert ecg.cart.statements[0] == "ATRIAL FIBRILLATION" and len(ecg.cart.statements) == 8
    assert ecg.cart.statements[5] == "ABNORMAL CHANGES POSSIBLY DUE TO MYOCARDIAL ISCHEMIA"


def test_dicom__a_file_without_annotations_has_no_cart_reading() -> None:
    ecg = parse((ECGPROCESS / "example-DICOM1.dcm").read_bytes())
    assert (ecg.model, ecg.gender, len(ecg.leads)) == ("MV360", "female", 12)
    assert ecg.cart is None


def test_dicom__another_vendors_annotations_and_the_patients_age() -> None:
    # pydicom's waveform_ecg.dcm (Mortara ELI 250): the same SCPECG-coded annotations, an
    # RR interval but no rate, Patient's Age "042Y"
    path = get_testdata_file("waveform_ecg.dcm")
    assert isinstance(path, str)
    ecg = parse(Path(path).read_bytes())
    assert (ecg.gender, ecg.age_years) == ("female", 42.0)
    assert ecg.cart == CartReading(
        heart_rate_bpm=None,
        pr_ms=161.0,
        qrs_ms=75.0,
        qt_ms=368.0,
        qtc_ms=370.0,
        statements=("RITMO SINUSALE", "ECG NORMALE"),
    )
