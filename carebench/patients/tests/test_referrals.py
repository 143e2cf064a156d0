"""Imaging and referral orders: validation, the prior-auth flag, the statuses, the result
document and the worklist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from carebench.conftest import signed_in
from carebench.core import clock
from carebench.patients import referral_selectors, referral_services
from carebench.patients.referral_models import OutsideOrder
from carebench.scheduling.models import Provider
from carebench.testing import actor_for, make_patient

from .test_filetypes import EXE, PDF


@pytest.fixture
def doctor(org, provider):
    return Provider.objects.create(
        organization=org, family_name="Okafor", given_name="Grace", npi="1234567893", user=provider
    )


@pytest.fixture
def patient(mat):
    return make_patient(mat)


def _order(user, patient, doctor, **kwargs):
    values = {
        "kind": "imaging",
        "modality": "xray",
        "requested": "Chest X-ray, 2 views",
        "diagnosis_codes": ["I10"],
        "cpt_code": "71046",
    }
    values.update(kwargs)
    return referral_services.place_order(
        actor=actor_for(user), patient=patient, ordering_provider=doctor, **values
    )


def test_a_category_code_is_refused_as_not_billable(mat, patient, doctor, icd10):
    with pytest.raises(ValidationError) as caught:
        _order(mat, patient, doctor, diagnosis_codes=["E11"])
    assert "not billable" in caught.value.message_dict["diagnosis_codes"][0]


def test_a_referral_needs_its_specialty(mat, patient, doctor, icd10):
    with pytest.raises(ValidationError) as caught:
        _order(mat, patient, doctor, kind="referral", modality="", requested="Dr. Lee")
    assert "specialty" in caught.value.message_dict


def test_prior_auth_is_flagged_when_a_rule_says_so(mat, icd10):
    from carebench.billing import auth_services
    from carebench.testing import make_billing_clinic

    clinic = make_billing_clinic(mat)
    auth_services.add_rule(
        actor=clinic.actor, code_from="70450", code_to="79999", payer=clinic.payer
    )
    order = _order(mat, clinic.patient, clinic.provider, modality="mri", cpt_code="72148")
    assert order.needs_prior_auth
    assert "72148 needs a prior authorization from Acme Health" in order.prior_auth_warnings[0]
    plain = _order(mat, clinic.patient, clinic.provider, cpt_code="")
    assert not plain.needs_prior_auth


def test_statuses_move_in_order_and_a_result_comes_back_as_a_document(
    mat, provider, patient, doctor, icd10
):
    order = _order(mat, patient, doctor)
    actor = actor_for(mat)
    with pytest.raises(ValidationError):
        referral_services.review_result(actor=actor_for(provider), order=order)
    referral_services.mark_sent(actor=actor, order=order, via="fax")
    referral_services.schedule(actor=actor, order=order, on=clock.today() + timedelta(days=3))
    with pytest.raises(ValidationError) as caught:
        referral_services.receive_result(actor=actor, order=order, data=EXE, filename="r.pdf")
    assert "file" in caught.value.message_dict
    document = referral_services.receive_result(
        actor=actor, order=order, data=PDF, filename="report.pdf"
    )
    assert document.order == order and document.category == "imaging_report"
    assert document.patient_id == patient.pk
    with pytest.raises(ValidationError) as caught:
        referral_services.review_result(actor=actor, order=order)  # a MAT is not a provider
    assert "provider" in caught.value.messages[0]
    referral_services.review_result(actor=actor_for(provider), order=order, note="normal")
    order.refresh_from_db()
    assert order.status == "reviewed" and order.reviewed_by == provider
    with pytest.raises(ValidationError):
        referral_services.cancel_order(actor=actor, order=order, reason="too late")


def test_cancel_needs_a_reason(mat, patient, doctor, icd10):
    order = _order(mat, patient, doctor)
    with pytest.raises(ValidationError) as caught:
        referral_services.cancel_order(actor=actor_for(mat), order=order, reason="")
    assert "reason" in caught.value.message_dict
    referral_services.cancel_order(actor=actor_for(mat), order=order, reason="patient declined")
    assert OutsideOrder.objects.get(pk=order.pk).status == "cancelled"


def test_worklist_is_oldest_first_with_overdue_by_kind_and_counts(mat, patient, doctor, icd10):
    now = clock.now()
    with clock.frozen(now - timedelta(days=20)):
        old_imaging = _order(mat, patient, doctor)
        old_referral = _order(
            mat, patient, doctor, kind="referral", modality="", specialty="Cardiology"
        )
    new = _order(mat, patient, doctor)
    done = _order(mat, patient, doctor)
    referral_services.cancel_order(actor=actor_for(mat), order=done, reason="duplicate")
    found = referral_selectors.worklist(patient.organization, clock.today(), "America/Chicago")
    assert [row.order.pk for row in found.rows] == [old_imaging.pk, old_referral.pk, new.pk]
    assert [row.overdue for row in found.rows] == [True, False, False]  # imaging 14 d, referral 30
    assert found.counts["ordered"] == 3 and found.overdue == 1


def test_order_page_refuses_a_bad_order_with_422(mat, patient, doctor, icd10):
    client = signed_in(mat)
    response = client.post(
        reverse("patients:new_outside_order", args=[patient.pk]),
        {
            "kind": "imaging",
            "modality": "ct",
            "requested": "CT head",
            "diagnosis_codes": "E11",
            "priority": "routine",
            "ordering_provider": doctor.pk,
        },
    )
    assert response.status_code == 422
    assert "not billable" in response.content.decode()
    response = client.post(
        reverse("patients:new_outside_order", args=[patient.pk]),
        {
            "kind": "imaging",
            "modality": "ct",
            "requested": "CT head",
            "diagnosis_codes": "I10",
            "priority": "routine",
            "ordering_provider": doctor.pk,
        },
    )
    assert response.status_code == 302
    assert signed_in(mat).get(reverse("patients:referral_worklist")).status_code == 200
