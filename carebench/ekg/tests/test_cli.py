"""`carebench ekg`: analyze (JSON), report, and the watched folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from carebench import cli
from carebench.ekg.management.commands.carebench_ekg import Command
from carebench.ekg.models import EkgRecording
from carebench.patients.models import Patient
from carebench.testing import make_patient

from .helpers import ecg_data_dir, synthetic_csv

KEYS = {
    "sampling_rate_hz",
    "heart_rate_bpm",
    "rr_ms",
    "mean_rr_ms",
    "pr_ms",
    "qrs_ms",
    "qt_ms",
    "qtc_bazett_ms",
    "qtc_fridericia_ms",
    "axis_deg",
    "rhythm",
    "quality",
    "r_peaks",
    "confirmed",
}
BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")


@pytest.fixture(scope="module")
def ecg_data() -> Path:
    found = ecg_data_dir()
    if found is None:
        pytest.skip("shared ECG recordings not found (../shared/data/ecg or $CAREBENCH_ECG_DATA)")
    return found


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        cli.main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_json_prints_one_object_without_a_database(ecg_data, capsys):
    import wfdb

    record = str(ecg_data / "qtdb" / "sel100")
    code, out, err = run_cli(capsys, "ekg", "analyze", record, "--json")
    assert code == 0, err
    result = json.loads(out)  # exactly one JSON object
    assert set(result) >= KEYS
    assert result["sampling_rate_hz"] == 250 and result["confirmed"] is False
    beats = sum(1 for s in wfdb.rdann(record, "atr").symbol if s in BEAT_SYMBOLS)
    assert abs(len(result["r_peaks"]) - beats) <= max(3, beats // 100)
    assert result["r_peaks"] == sorted(result["r_peaks"])
    assert isinstance(result["rhythm"], list) and "II" in result["quality"]


def test_analyze_plain_text(ecg_data, capsys):
    code, out, _ = run_cli(capsys, "ekg", "analyze", str(ecg_data / "ptbdb" / "s0010_re"))
    assert code == 0 and "computer-measured, unconfirmed" in out and "QRS" in out


def test_analyze_bad_file_exits_1_with_the_reason(tmp_path, capsys):
    bad = tmp_path / "cut.xml"
    bad.write_text("<RestingECG><Waveform>")
    code, out, err = run_cli(capsys, "ekg", "analyze", str(bad), "--json")
    assert code == 1 and out == ""
    assert "cut.xml" in err
    code, _, err = run_cli(capsys, "ekg", "analyze", str(tmp_path / "missing"))
    assert code == 1 and "no such file" in err


@pytest.mark.parametrize("fmt,magic", [("pdf", b"%PDF"), ("svg", b"<svg"), ("png", b"\x89PNG")])
def test_report_writes_the_page(ecg_data, tmp_path, capsys, fmt, magic):
    out = tmp_path / f"page.{fmt}"
    source = ecg_data / "formats" / "generated" / "s0010_muse.xml"
    code, _, err = run_cli(capsys, "ekg", "report", str(source), "-o", str(out))
    assert code == 0, err
    assert magic in out.read_bytes()[:300]


def test_report_refuses_an_unknown_extension(ecg_data, tmp_path, capsys):
    code, _, err = run_cli(
        capsys, "ekg", "report", str(ecg_data / "ptbdb" / "s0010_re"), "-o", str(tmp_path / "x.doc")
    )
    assert code == 1 and ".pdf, .png or .svg" in err


def watch_once(folder: Path, org, **extra: str) -> None:
    args = ["watch", str(folder), "--org", org.slug, "--once", "--settle", "0"]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", value]
    call_command("carebench_ekg", *args)


def test_watch_attaches_a_dicom_by_mrn_and_moves_it(ecg_data, tmp_path, org, mat):
    patient = make_patient(mat, family_name="Doe", given_name="Jane")
    Patient.objects.filter(pk=patient.pk).update(mrn="PTB0010")
    shutil.copy(ecg_data / "formats/generated/s0010_muse.dcm", tmp_path / "cart1.dcm")
    watch_once(tmp_path, org)
    row = EkgRecording.objects.get()
    assert row.patient_id == patient.pk and row.source_format == "dicom"
    assert row.uploaded_by is None and row.status == EkgRecording.Status.AWAITING_REVIEW
    assert (tmp_path / "processed" / "cart1.dcm").exists()
    assert not (tmp_path / "cart1.dcm").exists()


def test_watch_matches_by_name_and_birth_date(ecg_data, tmp_path, org, mat):
    from datetime import date

    patient = make_patient(mat, family_name="Clark", given_name="Sam", birth_date=date(1953, 5, 8))
    shutil.copy(ecg_data / "formats/generated/Example_aECG.dcm", tmp_path / "a.dcm")
    watch_once(tmp_path, org)
    assert EkgRecording.objects.get().patient_id == patient.pk


def test_watch_moves_a_wfdb_record_as_one(ecg_data, tmp_path, org, mat):
    patient = make_patient(mat)
    for suffix in (".hea", ".dat"):
        shutil.copy(ecg_data / "ptbdb" / f"s0010_re{suffix}", tmp_path / f"s0010_re{suffix}")
    watch_once(tmp_path, org, patient_mrn=patient.mrn)
    assert EkgRecording.objects.get().source_format == "wfdb"
    assert sorted(p.name for p in (tmp_path / "processed").iterdir()) == [
        "s0010_re.dat",
        "s0010_re.hea",
    ]


def test_watch_puts_bad_and_unmatched_files_in_failed_with_the_reason(tmp_path, org, mat):
    make_patient(mat)
    (tmp_path / "broken.xml").write_text("<RestingECG><Waveform>")
    (tmp_path / "nobody.csv").write_bytes(synthetic_csv())
    watch_once(tmp_path, org)
    failed = tmp_path / "failed"
    assert (failed / "broken.xml").exists() and (failed / "nobody.csv").exists()
    assert "broken.xml" in (failed / "broken.xml.error.txt").read_text()
    assert "no MRN" in (failed / "nobody.csv.error.txt").read_text()
    assert not EkgRecording.objects.exists()


def test_watch_leaves_files_still_being_written(tmp_path):
    command = Command()
    growing = tmp_path / "cart.xml"
    growing.write_text("<Resting")
    (tmp_path / "upload.part").write_text("x")
    seen: dict = {}
    assert command._look(tmp_path, seen) == {growing: False}  # first sight: not yet
    growing.write_text("<RestingECG>more</RestingECG>")
    assert command._look(tmp_path, seen) == {growing: False}  # it grew: still writing
    assert command._look(tmp_path, seen) == {growing: True}  # unchanged since: complete
