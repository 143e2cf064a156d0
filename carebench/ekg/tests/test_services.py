"""EKG services: attach every sample format, refuse bad and duplicate files, sign, void."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from carebench.audit.models import Action, AuditEvent
from carebench.ekg import files, services
from carebench.ekg.models import EkgRecording
from carebench.testing import actor_for, make_patient

from .helpers import ecg_data_dir, synthetic_csv

SAMPLES = [
    ("qtdb/sel100", "wfdb"),
    ("ptbdb/s0010_re", "wfdb"),
    ("formats/philips/2020-5-18_15-48-11.xml", "philips-xml"),
    ("formats/hl7aecg/Example_aECG.xml", "hl7-aecg"),
    ("formats/generated/s0010_muse.xml", "muse-xml"),
    ("formats/generated/s0010_12lead.dcm", "dicom"),
    ("formats/generated/s0010_10s.csv", "csv"),
]


@pytest.fixture(scope="module")
def ecg_data() -> Path:
    found = ecg_data_dir()
    if found is None:
        pytest.skip("shared ECG recordings not found (../shared/data/ecg or $CAREBENCH_ECG_DATA)")
    return found


def sample(ecg_data: Path, name: str) -> tuple[str, bytes]:
    path = ecg_data / name
    if not path.suffix or path.suffix == ".hea":  # a WFDB record travels as a zip
        return path.name + ".zip", files.zip_wfdb(path.with_suffix(".hea"))
    return path.name, path.read_bytes()


@pytest.fixture
def patient(mat):
    return make_patient(mat, family_name="Rhythm")


@pytest.mark.parametrize("name,fmt", SAMPLES)
def test_attach_each_sample_format(ecg_data, mat, patient, name, fmt):
    filename, data = sample(ecg_data, name)
    row = services.attach_ekg(actor=actor_for(mat), patient=patient, filename=filename, data=data)
    row.refresh_from_db()
    assert row.source_format == fmt
    assert row.status == EkgRecording.Status.AWAITING_REVIEW
    assert row.organization_id == mat.organization_id
    assert bytes(row.data) == data and row.size_bytes == len(data)
    assert row.measurements["heart_rate_bpm"] > 20
    assert "r_peaks" not in row.measurements and len(row.r_peaks) > 5
    assert row.measurements["confirmed"] is False
    assert row.lead_names and row.sampling_rate_hz >= 250
    event = AuditEvent.objects.get(resource_type="EkgRecording", resource_id=str(row.pk))
    assert event.action == Action.CREATE and event.patient_id == patient.pk
    assert json.loads(event.detail)["format"] == fmt


def test_attach_synthetic_csv_to_a_visit_sets_billing(mat, patient):
    from carebench.encounters import services as enc

    visit = enc.open_walk_in(actor=actor_for(mat), patient=patient)
    row = services.attach_ekg(
        actor=actor_for(mat),
        patient=patient,
        encounter=visit,
        filename="a.csv",
        data=synthetic_csv(),
    )
    assert row.encounter_id == visit.pk
    # two recorded leads (the limb leads derived from them do not count): a rhythm strip
    assert row.billing_code == EkgRecording.Billing.RHYTHM
    assert 65 <= row.measurements["heart_rate_bpm"] <= 80


def test_truncated_file_names_the_file_and_writes_nothing(ecg_data, mat, patient):
    data = (ecg_data / "formats/generated/s0010_muse.xml").read_bytes()[:4000]
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.attach_ekg(actor=actor_for(mat), patient=patient, filename="cut.xml", data=data)
    message = " ".join(caught.value.message_dict["file"])
    assert "cut.xml" in message
    assert not EkgRecording.objects.exists()
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    "filename,data,words",
    [
        ("empty.csv", b"", "empty"),
        ("noise.bin", b"\x00\x01garbage", "unrecognised"),
        ("rec.hea", b"sel100 2 250 225000\n", "zip"),
        ("short.csv", b"# sampling_rate_hz=500\ntime_s,II\n0,0.1\n0.002,0.2\n", "short.csv"),
        ("bad.zip", b"PK\x03\x04broken", "zip"),
    ],
)
def test_bad_files_are_refused_on_the_file_field(mat, patient, filename, data, words):
    with pytest.raises(ValidationError) as caught:
        services.attach_ekg(actor=actor_for(mat), patient=patient, filename=filename, data=data)
    assert words in " ".join(caught.value.message_dict["file"])
    assert not EkgRecording.objects.exists()


def test_same_file_twice_for_a_patient_is_refused(mat, patient):
    data = synthetic_csv(seed=3)
    first = services.attach_ekg(actor=actor_for(mat), patient=patient, filename="a.csv", data=data)
    with pytest.raises(ValidationError) as caught:
        services.attach_ekg(actor=actor_for(mat), patient=patient, filename="b.csv", data=data)
    assert f"EKG {first.pk}" in caught.value.message_dict["file"][0]
    # another patient may have it (a test tracing), and after voiding it may come back
    other = make_patient(mat, family_name="Other")
    services.attach_ekg(actor=actor_for(mat), patient=other, filename="a.csv", data=data)
    services.void_ekg(actor=actor_for(mat), recording=first, reason="wrong patient")
    services.attach_ekg(actor=actor_for(mat), patient=patient, filename="a.csv", data=data)
    assert EkgRecording.objects.filter(patient=patient).count() == 2


def test_another_organizations_patient_is_refused(mat, other_mat):
    theirs = make_patient(other_mat)
    with pytest.raises(PermissionError):
        services.attach_ekg(
            actor=actor_for(mat), patient=theirs, filename="a.csv", data=synthetic_csv()
        )


@pytest.fixture
def ekg(mat, patient):
    return services.attach_ekg(
        actor=actor_for(mat), patient=patient, filename="a.csv", data=synthetic_csv()
    )


def test_only_a_provider_signs(mat, ekg):
    with pytest.raises(PermissionDenied):
        services.confirm_and_sign(
            actor=actor_for(mat), recording=ekg, corrections={}, interpretation="Normal EKG"
        )
    ekg.refresh_from_db()
    assert ekg.status == EkgRecording.Status.AWAITING_REVIEW


def test_sign_needs_an_interpretation(provider, ekg):
    with pytest.raises(ValidationError) as caught:
        services.confirm_and_sign(
            actor=actor_for(provider), recording=ekg, corrections={}, interpretation="  "
        )
    assert "interpretation" in caught.value.message_dict
    ekg.refresh_from_db()
    assert ekg.status == EkgRecording.Status.AWAITING_REVIEW and ekg.signed_at is None


def test_impossible_corrections_are_refused_per_field(provider, ekg):
    with pytest.raises(ValidationError) as caught:
        services.confirm_and_sign(
            actor=actor_for(provider),
            recording=ekg,
            corrections={"qt_ms": 4000, "pr_ms": "abc", "axis_deg": 270},
            interpretation="Sinus rhythm",
        )
    errors = caught.value.message_dict
    assert set(errors) == {"qt_ms", "pr_ms", "axis_deg"}
    assert "QT interval must be 120-800 ms" in errors["qt_ms"][0]


def test_sign_with_corrections_is_audited_old_and_new(provider, ekg):
    computer_qt = ekg.measurements["qt_ms"]
    signed = services.confirm_and_sign(
        actor=actor_for(provider),
        recording=ekg,
        corrections={"qt_ms": 452, "pr_ms": None},
        interpretation="Sinus rhythm. Prolonged QT.",
    )
    assert signed.status == EkgRecording.Status.SIGNED
    assert signed.signed_by == provider and signed.signed_at is not None
    assert signed.confirmed_measurements["qt_ms"] == 452
    assert signed.confirmed_measurements["pr_ms"] == ekg.measurements["pr_ms"]
    assert signed.confirmed_measurements["corrected"] == ["qt_ms"]
    assert signed.measurements["qt_ms"] == computer_qt  # the computer's numbers are kept
    assert signed.shown_measurements["qt_ms"] == 452
    event = AuditEvent.objects.filter(action=Action.UPDATE, resource_type="EkgRecording").get()
    detail = json.loads(event.detail)
    assert detail["corrections"] == {"qt_ms": {"old": computer_qt, "new": 452.0}}
    assert detail["status"] == {"old": "awaiting_review", "new": "signed"}
    with pytest.raises(ValidationError):  # once signed, it stays signed
        services.confirm_and_sign(
            actor=actor_for(provider), recording=signed, corrections={}, interpretation="again"
        )


def test_void_needs_a_reason(mat, ekg):
    with pytest.raises(ValidationError) as caught:
        services.void_ekg(actor=actor_for(mat), recording=ekg, reason=" ")
    assert "reason" in caught.value.message_dict
    voided = services.void_ekg(actor=actor_for(mat), recording=ekg, reason="wrong patient")
    assert voided.voided_at is not None and voided.void_reason == "wrong patient"
    assert AuditEvent.objects.filter(action=Action.VOID, resource_type="EkgRecording").count() == 1
    with pytest.raises(PermissionError):
        voided.delete()
