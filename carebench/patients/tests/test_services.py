from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from carebench.audit.models import AuditEvent
from carebench.patients import services
from carebench.patients.models import Allergy, Patient
from carebench.testing import actor_for, make_patient


def test_register_assigns_sequential_mrn_per_organization(mat, other_mat):
    first = make_patient(mat)
    second = make_patient(mat)
    elsewhere = make_patient(other_mat)
    assert int(second.mrn) == int(first.mrn) + 1
    assert elsewhere.mrn == first.mrn  # each organization counts on its own


def test_register_refuses_future_birth_date_and_writes_nothing(mat):
    with pytest.raises(ValidationError) as err:
        make_patient(mat, birth_date=date.today() + timedelta(days=2))
    assert "birth_date" in err.value.message_dict
    assert "future" in err.value.message_dict["birth_date"][0]
    assert Patient.objects.count() == 0
    assert not AuditEvent.objects.filter(action="create").exists()


def test_register_names_every_bad_field_at_once(mat):
    with pytest.raises(ValidationError) as err:
        make_patient(mat, phone_mobile="555-12", email="not-an-email", state="XX", sex="robot")
    fields = set(err.value.message_dict)
    assert {"phone_mobile", "email", "state", "sex"} <= fields


def test_update_keeps_old_value_in_audit(mat):
    patient = make_patient(mat, family_name="Smith")
    details = services.PatientDetails.from_patient(patient)
    details.family_name = "Smyth"
    services.update_patient(actor=actor_for(mat), patient=patient, details=details)
    event = AuditEvent.objects.filter(action="update", patient_id=patient.pk).get()
    assert '"old": "Smith"' in event.detail and '"new": "Smyth"' in event.detail
    patient.refresh_from_db()
    assert patient.family_key == "smyth"


def test_allergy_replaces_no_known_allergies_statement(mat):
    patient = make_patient(mat)
    actor = actor_for(mat)
    nka = services.record_no_known_allergies(actor=actor, patient=patient)
    services.add_allergy(
        actor=actor,
        patient=patient,
        substance="Penicillin",
        reaction="Hives",
        severity="moderate",
        category="medication",
    )
    nka.refresh_from_db()
    assert nka.voided_at is not None
    assert Allergy.objects.filter(patient=patient).count() == 2  # nothing deleted


def test_no_known_allergies_refused_when_allergies_on_file(mat):
    patient = make_patient(mat)
    actor = actor_for(mat)
    services.add_allergy(actor=actor, patient=patient, substance="Latex")
    with pytest.raises(ValidationError) as err:
        services.record_no_known_allergies(actor=actor, patient=patient)
    assert "kind" in err.value.message_dict


def test_correction_voids_old_row_and_links_new(mat):
    patient = make_patient(mat)
    actor = actor_for(mat)
    med = services.add_medication(
        actor=actor,
        patient=patient,
        medication="Lisinopril 10 mg tab",
        dose="10 mg",
        frequency="daily",
    )
    fixed = services.correct_entry(
        actor=actor, entry=med, changes={"dose": "20 mg"}, reason="dose misread"
    )
    med.refresh_from_db()
    assert med.voided_at is not None and med.voided_by == mat
    assert fixed.replaces_id == med.pk and fixed.dose == "20 mg"


def test_clinical_rows_cannot_be_deleted(mat):
    patient = make_patient(mat)
    med = services.add_medication(actor=actor_for(mat), patient=patient, medication="Aspirin 81 mg")
    with pytest.raises(PermissionError):
        med.delete()


def test_problem_requires_billable_icd10_code(mat, icd10):
    patient = make_patient(mat)
    actor = actor_for(mat)
    with pytest.raises(ValidationError) as err:
        services.add_problem(actor=actor, patient=patient, icd10_code="E11")
    assert "category" in err.value.message_dict["icd10_code"][0]
    with pytest.raises(ValidationError) as err:
        services.add_problem(actor=actor, patient=patient, icd10_code="Q99.999")
    assert "not an ICD-10-CM code" in err.value.message_dict["icd10_code"][0]
    problem = services.add_problem(actor=actor, patient=patient, icd10_code="e119")
    assert problem.icd10_code == "E11.9"
    assert problem.description.startswith("Type 2 diabetes")


def test_tobacco_status_supersedes_previous(mat):
    patient = make_patient(mat)
    actor = actor_for(mat)
    first = services.add_history(
        actor=actor, patient=patient, kind="tobacco", tobacco_status="449868002"
    )
    services.add_history(actor=actor, patient=patient, kind="tobacco", tobacco_status="8517006")
    first.refresh_from_db()
    assert first.voided_at is not None


def test_entry_for_other_organizations_patient_is_refused(mat, other_mat):
    patient = make_patient(other_mat)
    with pytest.raises(PermissionError):
        services.add_medication(actor=actor_for(mat), patient=patient, medication="Metformin")
