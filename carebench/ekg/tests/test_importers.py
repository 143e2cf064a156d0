"""Importers: every shared sample recording in each format, and every kind of broken file."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import signal as sp_signal

from carebench.ekg import importers
from carebench.ekg.importers import csv as csv_importer
from carebench.ekg.importers import dicom, hl7_aecg, muse, philips, wfdb
from carebench.ekg.importers.common import standard_lead_name
from carebench.ekg.recording import STANDARD_LEADS, RecordingError


def _data_dir() -> Path | None:
    env = os.environ.get("CAREBENCH_ECG_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[4] / "shared" / "data" / "ecg")
    return next((p for p in candidates if p.is_dir()), None)


@pytest.fixture(scope="module")
def ecg_data() -> Path:
    found = _data_dir()
    if found is None:
        pytest.skip("shared ECG recordings not found (../shared/data/ecg or $CAREBENCH_ECG_DATA)")
    return found


# path, format, leads (None = the 12 standard), rate Hz, duration s, derived leads
SAMPLES = [
    ("qtdb/sel100", "wfdb", ["II", "V5"], 250.0, 900.0, []),
    ("mitdb/100", "wfdb", ["II", "V5"], 360.0, 650000 / 360, []),
    ("ptbdb/s0010_re", "wfdb", None, 1000.0, 38.4, []),
    ("ptbdb/s0010_re.hea", "wfdb", None, 1000.0, 38.4, []),
    ("ptbdb/s0010_re.dat", "wfdb", None, 1000.0, 38.4, []),
    # Philips files hold 11 s; the calibration pulse at the end is cut off
    ("formats/philips/2020-5-18_15-48-11.xml", "philips-xml", None, 500.0, 10.6, []),
    ("formats/philips/repbeats_example.xml", "philips-xml", None, 500.0, 10.528, []),
    ("formats/hl7aecg/Example_aECG.xml", "hl7-aecg", None, 500.0, 10.0, []),
    (
        "formats/generated/s0010_muse.xml",
        "muse-xml",
        None,
        500.0,
        10.0,
        ["III", "aVR", "aVL", "aVF"],
    ),
    ("formats/generated/s0010_12lead.dcm", "dicom", None, 500.0, 10.0, []),
    ("formats/generated/s0010_muse.dcm", "dicom", None, 500.0, 10.0, []),
    ("formats/generated/Example_aECG.dcm", "dicom", None, 500.0, 10.0, []),
    ("formats/generated/s0010_10s.csv", "csv", None, 500.0, 10.0, []),
]


@pytest.mark.parametrize(("name", "fmt", "leads", "rate", "duration", "derived"), SAMPLES)
def test_sample_loads(ecg_data, name, fmt, leads, rate, duration, derived):
    path = ecg_data / name
    assert importers.detect(path) == fmt
    rec = importers.load(path)
    assert rec.source_format == fmt
    assert rec.lead_names == (leads or list(STANDARD_LEADS))
    assert rec.sampling_rate_hz == pytest.approx(rate)
    assert rec.duration_s == pytest.approx(duration, abs=0.01)
    assert rec.derived_leads == derived
    for lead, samples in rec.leads.items():
        window = samples[: int(10 * rate)]
        p2p = float(np.nanmax(window) - np.nanmin(window))
        assert 0.2 < p2p < 8.0, f"{lead}: {p2p:.2f} mV peak to peak"


def _first_seconds(samples: np.ndarray, rate: float, seconds: float, to_rate: float) -> np.ndarray:
    part = samples[: int(round(seconds * rate))]
    if rate != to_rate:
        part = sp_signal.resample_poly(part, int(to_rate), int(rate))
    return part


@pytest.mark.parametrize(
    "name",
    [
        "formats/generated/s0010_muse.xml",
        "formats/generated/s0010_12lead.dcm",
        "formats/generated/s0010_muse.dcm",
        "formats/generated/s0010_10s.csv",
    ],
)
@pytest.mark.parametrize("lead", ["II", "III", "V2"])
def test_generated_files_match_the_ptb_record(ecg_data, name, lead):
    reference = importers.load(ecg_data / "ptbdb/s0010_re")
    other = importers.load(ecg_data / name)
    a = _first_seconds(reference.leads[lead], reference.sampling_rate_hz, 10, 500)
    b = _first_seconds(other.leads[lead], other.sampling_rate_hz, 10, 500)
    n = min(len(a), len(b))
    r = np.corrcoef(a[:n], b[:n])[0, 1]
    assert r > 0.99, f"{name} lead {lead}: correlation {r:.4f}"
    # same amplitude scale (catches uV read as mV and the like)
    assert np.std(b[:n]) == pytest.approx(np.std(a[:n]), rel=0.05)


def test_muse_derived_leads_follow_einthoven(ecg_data):
    rec = muse.load(ecg_data / "formats/generated/s0010_muse.xml")
    np.testing.assert_allclose(rec.leads["III"], rec.leads["II"] - rec.leads["I"])
    np.testing.assert_allclose(rec.leads["aVR"], -(rec.leads["I"] + rec.leads["II"]) / 2)
    assert rec.patient_hint["id"] == "PTB0010"
    assert rec.patient_hint["birth_date"] == "1909-01-01"
    assert rec.patient_hint["name"] == "JANE DOE"
    # the file's measurement block is all zeros (placeholders): none are reported
    assert "heart_rate_bpm" not in rec.device_measurements
    assert rec.device_measurements["statements"] == [
        "Synthetic test export built from PTB s0010_re"
    ]
    assert rec.acquired_at == "1990-10-01T10:15:00"


def test_philips_device_measurements(ecg_data):
    rec = philips.load(ecg_data / "formats/philips/2020-5-18_15-48-11.xml")
    m = rec.device_measurements
    assert (m["heart_rate_bpm"], m["pr_ms"], m["qrs_ms"], m["qt_ms"]) == (64, 164, 102, 399)
    assert (m["qtc_bazett_ms"], m["qtc_fridericia_ms"], m["axis_deg"]) == (412, 408, 22)
    assert any(s.startswith("Sinus rhythm") for s in m["statements"])
    assert rec.acquired_at.startswith("2020-05-18T15:48")
    assert "PageWriter" in rec.device
    other = philips.load(ecg_data / "formats/philips/repbeats_example.xml")
    assert other.device_measurements["axis_deg"] == -21
    assert any("Acute MI" in s for s in other.device_measurements["statements"])


@pytest.mark.parametrize("name", ["2020-5-18_15-48-11.xml", "repbeats_example.xml"])
def test_philips_limb_leads_are_consistent(ecg_data, name):
    # holds only once the calibration pulse (identical in all leads) is cut from the end
    rec = philips.load(ecg_data / "formats/philips" / name)
    np.testing.assert_allclose(rec.leads["III"], rec.leads["II"] - rec.leads["I"], atol=0.011)
    last = np.vstack([rec.leads[n][-5:] for n in rec.leads])
    assert not np.all(last == last[0])


def test_philips_calibration_tail_trim():
    wave = np.sin(np.arange(100) / 5)
    tail = np.r_[np.zeros(5), np.ones(10), np.zeros(5)]
    leads = {n: np.r_[wave * k, tail] for k, n in enumerate(["I", "II", "V1"], start=1)}
    trimmed = philips.trim_calibration_tail(leads)
    assert all(len(v) == 100 for v in trimmed.values())


def test_aecg_globals(ecg_data):
    rec = hl7_aecg.load(ecg_data / "formats/hl7aecg/Example_aECG.xml")
    m = rec.device_measurements
    assert (m["pr_ms"], m["qrs_ms"], m["qt_ms"], m["axis_deg"]) == (148, 120, 420, -61)
    assert rec.patient_hint["id"] == "SBJ-123"
    assert rec.acquired_at.startswith("2002-11-22")


def test_dicom_metadata(ecg_data):
    rec = dicom.load(ecg_data / "formats/generated/s0010_muse.dcm")
    assert rec.patient_hint["birth_date"] == "1909-01-01"
    assert rec.patient_hint["id"] == "PTB0010"
    assert rec.acquired_at == "1990-10-01T10:15:00"
    assert rec.device == "GE Healthcare MAC5500"
    assert "heart_rate_bpm" not in rec.device_measurements  # zeros are placeholders


def test_wfdb_record_in_any_spelling(ecg_data):
    a = wfdb.load(ecg_data / "qtdb/sel100")
    b = wfdb.load(ecg_data / "qtdb/sel100.hea")
    np.testing.assert_array_equal(a.leads["II"], b.leads["II"])


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("MLII", "II"),
        ("ml2", "ml2"),
        ("avr", "aVR"),
        ("AVL", "aVL"),
        ("aVF", "aVF"),
        ("V5", "V5"),
        ("v1", "V1"),
        ("Lead I (Einthoven)", "I"),
        ("Lead III", "III"),
        ("aVF, augmented voltage, foot", "aVF"),
        ("MDC_ECG_LEAD_V6", "V6"),
        ("DII", "II"),
        ("vx", "vx"),
    ],
)
def test_lead_names(raw, name):
    assert standard_lead_name(raw) == name


# ----- CSV format -----------------------------------------------------------------------------


def _wave(n: int, rate: float) -> np.ndarray:
    t = np.arange(n) / rate
    return 0.8 * np.sin(2 * np.pi * 1.2 * t)


def _write_csv(path: Path, header: str, rows: list[str], comment: str = "") -> Path:
    path.write_text((comment + "\n" if comment else "") + header + "\n" + "\n".join(rows) + "\n")
    return path


def test_csv_comment_rate_and_microvolts(tmp_path):
    rate = 250.0
    wave = _wave(1000, rate)
    rows = [f"{v * 1000:.1f},{v:.4f}" for v in wave]
    rec = csv_importer.load(
        _write_csv(tmp_path / "a.csv", "II_uV,i", rows, "# sampling_rate_hz = 250")
    )
    assert rec.sampling_rate_hz == 250.0
    np.testing.assert_allclose(rec.leads["II"], wave, atol=1e-3)
    assert rec.derived_leads == ["III", "aVR", "aVL", "aVF"]
    assert rec.lead_names == ["I", "II", "III", "aVR", "aVL", "aVF"]


def test_csv_rate_from_time_column(tmp_path):
    wave = _wave(1500, 500.0)
    rows = [f"{i / 500:.4f},{v:.4f}" for i, v in enumerate(wave)]
    rec = csv_importer.load(_write_csv(tmp_path / "t.csv", "t,MLII", rows))
    assert rec.sampling_rate_hz == pytest.approx(500.0)
    assert rec.lead_names == ["II"]


def test_csv_semicolons(tmp_path):
    rows = [f"{v:.4f};{-v:.4f}" for v in _wave(1000, 250.0)]
    rec = csv_importer.load(_write_csv(tmp_path / "s.csv", "V1;V2", rows, "# sampling_rate_hz=250"))
    assert rec.lead_names == ["V1", "V2"]


def test_csv_missing_rate(tmp_path):
    rows = [f"{v:.4f}" for v in _wave(1000, 250.0)]
    with pytest.raises(RecordingError, match="sampling rate missing"):
        csv_importer.load(_write_csv(tmp_path / "m.csv", "II", rows))


def test_csv_rate_disagrees_with_time(tmp_path):
    rows = [f"{i / 500:.4f},{v:.4f}" for i, v in enumerate(_wave(1500, 500.0))]
    path = _write_csv(tmp_path / "d.csv", "time_s,II", rows, "# sampling_rate_hz=250")
    with pytest.raises(RecordingError, match="disagrees"):
        csv_importer.load(path)


def test_csv_ragged_row_names_the_line(tmp_path):
    rows = [f"{v:.4f},{v:.4f}" for v in _wave(1000, 250.0)]
    rows[10] = "0.1"
    path = _write_csv(tmp_path / "r.csv", "I,II", rows, "# sampling_rate_hz=250")
    with pytest.raises(RecordingError, match=r"r\.csv: line 13: 1 cells.*2 columns"):
        csv_importer.load(path)


def test_csv_non_numeric_cell_names_row_and_column(tmp_path):
    rows = [f"{v:.4f},{v:.4f}" for v in _wave(1000, 250.0)]
    rows[4] = "0.1,abc"
    path = _write_csv(tmp_path / "n.csv", "I,II", rows, "# sampling_rate_hz=250")
    with pytest.raises(RecordingError, match=r"line 7, column 'II': 'abc' is not a number"):
        csv_importer.load(path)


def test_csv_header_only(tmp_path):
    path = _write_csv(tmp_path / "h.csv", "I,II", [], "# sampling_rate_hz=250")
    with pytest.raises(RecordingError, match="no data rows"):
        csv_importer.load(path)


def test_csv_too_short(tmp_path):
    rows = [f"{v:.4f}" for v in _wave(100, 250.0)]
    path = _write_csv(tmp_path / "short.csv", "II", rows, "# sampling_rate_hz=250")
    with pytest.raises(RecordingError, match="at least"):
        csv_importer.load(path)


def test_csv_microvolts_read_as_millivolts_is_refused(tmp_path):
    rows = [f"{v * 1000:.1f}" for v in _wave(1000, 250.0)]
    path = _write_csv(tmp_path / "u.csv", "II", rows, "# sampling_rate_hz=250")
    with pytest.raises(RecordingError, match="wrong units"):
        csv_importer.load(path)


def test_csv_truncated_mid_row(ecg_data, tmp_path):
    data = (ecg_data / "formats/generated/s0010_10s.csv").read_bytes()
    lines = data.splitlines(keepends=True)
    cut = b"".join(lines[:2600]) + b"5.1980,0.1,0.2"  # the last row stops after 3 cells
    path = tmp_path / "cut.csv"
    path.write_bytes(cut)
    with pytest.raises(RecordingError, match=r"cut\.csv: line \d+: \d+ cells"):
        importers.load(path)


# ----- broken files in every format ------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xml", ".dcm", ".hea"])
def test_empty_file(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(RecordingError, match="empty"):
        importers.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(RecordingError, match="not found"):
        importers.load(tmp_path / "nothing.xml")


@pytest.mark.parametrize(
    "name",
    [
        "formats/philips/2020-5-18_15-48-11.xml",
        "formats/hl7aecg/Example_aECG.xml",
        "formats/generated/s0010_muse.xml",
    ],
)
def test_truncated_xml(ecg_data, tmp_path, name):
    data = (ecg_data / name).read_bytes()
    path = tmp_path / Path(name).name
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RecordingError, match=r"\.xml: XML is malformed or truncated"):
        importers.load(path)


@pytest.mark.parametrize(
    "name", ["formats/generated/s0010_12lead.dcm", "formats/generated/Example_aECG.dcm"]
)
def test_truncated_dicom(ecg_data, tmp_path, name):
    data = (ecg_data / name).read_bytes()
    path = tmp_path / Path(name).name
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(RecordingError, match=r"\.dcm: .*(truncated|malformed)"):
        importers.load(path)


def test_truncated_wfdb(ecg_data, tmp_path):
    (tmp_path / "sel100.hea").write_bytes((ecg_data / "qtdb/sel100.hea").read_bytes())
    (tmp_path / "sel100.dat").write_bytes((ecg_data / "qtdb/sel100.dat").read_bytes()[:5000])
    with pytest.raises(RecordingError, match=r"sel100\.dat: signal file is truncated"):
        importers.load(tmp_path / "sel100")


def test_wfdb_missing_signal_file(ecg_data, tmp_path):
    (tmp_path / "sel100.hea").write_bytes((ecg_data / "qtdb/sel100.hea").read_bytes())
    with pytest.raises(RecordingError, match="signal file not found"):
        importers.load(tmp_path / "sel100.hea")


def test_wfdb_bad_header(tmp_path):
    (tmp_path / "junk.hea").write_text("this is not a header\n")
    with pytest.raises(RecordingError, match=r"junk"):
        importers.load(tmp_path / "junk.hea")


@pytest.mark.parametrize(
    ("loader", "name", "root"),
    [
        (philips.load, "formats/generated/s0010_muse.xml", "restingecgdata"),
        (muse.load, "formats/hl7aecg/Example_aECG.xml", "RestingECG"),
        (hl7_aecg.load, "formats/philips/repbeats_example.xml", "AnnotatedECG"),
    ],
)
def test_wrong_xml_root(ecg_data, loader, name, root):
    with pytest.raises(RecordingError, match=f"XML root is <.+>, expected <{root}>"):
        loader(ecg_data / name)


def test_unknown_xml_root(tmp_path):
    path = tmp_path / "other.xml"
    path.write_text('<?xml version="1.0"?>\n<!-- c --><Invoice><x/></Invoice>')
    with pytest.raises(RecordingError, match=r"XML root <Invoice> is not a known ECG format"):
        importers.load(path)


def test_xml_entities_refused(tmp_path):
    path = tmp_path / "bomb.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE RestingECG [<!ENTITY a "aaaa">]>\n'
        "<RestingECG>&a;</RestingECG>"
    )
    with pytest.raises(RecordingError, match="entity declarations are not allowed"):
        importers.load(path)


@pytest.mark.parametrize(
    ("name", "pattern", "message"),
    [
        (
            "formats/generated/s0010_muse.xml",
            rb"<SampleBase>500</SampleBase>",
            "no <SampleBase>",
        ),
        (
            "formats/philips/repbeats_example.xml",
            rb"<samplingrate>[^<]*</samplingrate>",
            "no <samplingrate>",
        ),
        (
            "formats/hl7aecg/Example_aECG.xml",
            rb"<increment [^>]*/>",
            r"no time <increment>",
        ),
    ],
)
def test_xml_missing_sampling_rate(ecg_data, tmp_path, name, pattern, message):
    data = (ecg_data / name).read_bytes()
    stripped, count = re.subn(pattern, b"", data)
    assert count, "the sample file changed; update the test"
    path = tmp_path / Path(name).name
    path.write_bytes(stripped)
    with pytest.raises(RecordingError, match=f"{message}.*sampling rate missing"):
        importers.load(path)


def test_dicom_missing_sampling_rate(ecg_data, tmp_path):
    import pydicom

    ds = pydicom.dcmread(ecg_data / "formats/generated/s0010_12lead.dcm")
    for group in ds.WaveformSequence:
        del group.SamplingFrequency
    path = tmp_path / "norate.dcm"
    ds.save_as(path)
    with pytest.raises(RecordingError, match="missing SamplingFrequency"):
        importers.load(path)


def test_non_ecg_dicom(tmp_path):
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Test^Image"
    ds.Modality = "OT"
    path = tmp_path / "image.dcm"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(RecordingError, match="not an ECG waveform DICOM"):
        importers.load(path)


def test_not_dicom_with_dcm_suffix(tmp_path):
    path = tmp_path / "fake.dcm"
    path.write_bytes(b"hello, this is text and not DICOM at all" * 10)
    with pytest.raises(RecordingError, match=r"fake\.dcm"):
        importers.load(path)


def test_unknown_binary(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(RecordingError, match="unrecognised file format"):
        importers.load(path)
