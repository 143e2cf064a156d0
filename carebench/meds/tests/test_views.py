"""The immunization pages: what is due, running a standing order, the five rights at the chair,
refusals, the handout, stock and lots, co-signing, the registry log and set-up."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse
from pypdf import PdfReader

from carebench.audit.models import AuditEvent
from carebench.conftest import signed_in
from carebench.core import clock
from carebench.meds import services
from carebench.meds.models import Administration, MedicationOrder, Product, StockLot
from carebench.terminology.models import VaccineCode
from carebench.testing import NO_TO_ALL, actor_for, make_patient, make_vaccine_clinic

pytestmark = pytest.mark.django_db

QUESTIONS = list(NO_TO_ALL)


@pytest.fixture
def clinic(mat: Any, provider: Any) -> SimpleNamespace:
    setup = make_vaccine_clinic(mat, provider)
    setup.patient = make_patient(
        mat, given_name="Maria", family_name="Lopez", birth_date=date(1970, 3, 4)
    )
    setup.client = signed_in(mat)
    return setup


def _order(clinic: SimpleNamespace) -> MedicationOrder:
    return services.start_standing_order(
        actor=clinic.actor,
        protocol=clinic.standing,
        patient=clinic.patient,
        product=clinic.flu,
        answers=NO_TO_ALL,
    )


def _give_data(clinic: SimpleNamespace, **overrides: str) -> dict[str, str]:
    data = {
        "give-patient_scan": clinic.patient.mrn,
        "give-lot": str(clinic.good_lot.pk),
        "give-dose_amount": "0.5",
        "give-dose_unit": "mL",
        "give-route": "C28161",
        "give-site": "LD",
        "give-eligibility": "V01",
        "give-vis_given_on": clock.today().isoformat(),
        "give-observation_minutes": "15",
    }
    data.update(overrides)
    return data


def test_the_patient_page_shows_what_is_due_and_is_audited(clinic: Any) -> None:
    response = clinic.client.get(reverse("meds:patient", args=[clinic.patient.pk]))
    assert response.status_code == 200
    assert b'data-group="FLU"' in response.content
    assert AuditEvent.objects.filter(
        patient_id=clinic.patient.pk, action="view", resource_type="Administration"
    ).exists()


def test_running_the_standing_order_goes_to_the_give_page(clinic: Any) -> None:
    url = reverse("meds:run_standing_order", args=[clinic.patient.pk, clinic.standing.pk])
    prefix = f"so{clinic.standing.pk}"
    data = {f"{prefix}-product": str(clinic.flu.pk)}
    data.update({f"{prefix}-q{i}": "no" for i in range(len(QUESTIONS))})
    response = clinic.client.post(url, data)
    order = MedicationOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("meds:give", args=[order.pk])


def test_a_yes_answer_comes_back_on_the_form(clinic: Any) -> None:
    url = reverse("meds:run_standing_order", args=[clinic.patient.pk, clinic.standing.pk])
    prefix = f"so{clinic.standing.pk}"
    data = {f"{prefix}-product": str(clinic.flu.pk), f"{prefix}-q0": "yes"}
    data.update({f"{prefix}-q{i}": "no" for i in range(1, len(QUESTIONS))})
    response = clinic.client.post(url, data)
    assert response.status_code == 422
    assert "the provider must decide" in response.content.decode()
    assert not MedicationOrder.objects.exists()


def test_the_give_page_offers_only_usable_lots(clinic: Any) -> None:
    response = clinic.client.get(reverse("meds:give", args=[_order(clinic).pk]))
    page = response.content.decode()
    assert "Lot FL7Y2" in page
    assert "Lot OLD9X" not in page


def test_a_scanned_expired_vial_is_refused_on_the_page(clinic: Any) -> None:
    order = _order(clinic)
    data = _give_data(clinic, **{"give-lot": "", "give-lot_scan": "OLD9X"})
    response = clinic.client.post(reverse("meds:give", args=[order.pk]), data)
    assert response.status_code == 422
    assert "expired" in response.content.decode()
    assert StockLot.objects.get(pk=clinic.expired_lot.pk).doses_on_hand == 5


def test_giving_on_the_page_records_the_dose_and_shows_it(clinic: Any) -> None:
    order = _order(clinic)
    response = clinic.client.post(reverse("meds:give", args=[order.pk]), _give_data(clinic))
    dose = Administration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("meds:administration", args=[dose.pk])
    assert StockLot.objects.get(pk=clinic.good_lot.pk).doses_on_hand == 9
    page = clinic.client.get(response["Location"]).content.decode()
    assert "FL7Y2" in page and "Queued to send" in page


def test_a_missing_identification_is_refused_before_the_service(clinic: Any) -> None:
    order = _order(clinic)
    data = _give_data(clinic, **{"give-patient_scan": ""})
    response = clinic.client.post(reverse("meds:give", args=[order.pk]), data)
    assert response.status_code == 422
    assert "scan the wristband" in response.content.decode()


def test_a_refusal_on_the_page_closes_the_order(clinic: Any) -> None:
    order = _order(clinic)
    response = clinic.client.post(reverse("meds:refuse", args=[order.pk]), {"refuse-reason": "03"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.REFUSED


def _given(clinic: SimpleNamespace) -> Administration:
    return services.administer(
        actor=clinic.actor,
        order=_order(clinic),
        patient_check=services.PatientCheck(scanned=clinic.patient.mrn),
        lot=clinic.good_lot,
        dose_amount=clinic.flu.dose_amount,
        dose_unit="mL",
        route="C28161",
        site="LD",
        eligibility="V01",
        vis_given_on=clock.today(),
    )


def test_the_handout_prints_with_the_protocols_instructions(clinic: Any) -> None:
    dose = _given(clinic)
    response = clinic.client.get(reverse("meds:handout", args=[dose.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(response.content)).pages)
    assert "FL7Y2" in text
    assert "a cool cloth helps" in text


def test_the_handout_prints_in_spanish_for_a_spanish_speaker(clinic: Any, mat: Any) -> None:
    clinic.patient.preferred_language = "es"
    clinic.patient.save()
    dose = _given(clinic)
    response = clinic.client.get(reverse("meds:handout", args=[dose.pk]))
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(response.content)).pages)
    assert "vacuna" in text.lower()


def test_the_stock_page_flags_the_expired_lot(clinic: Any) -> None:
    page = clinic.client.get(reverse("meds:stock")).content.decode()
    assert 'data-lot="OLD9X"' in page
    assert "expired" in page


def test_receiving_stock_on_the_page_adds_a_lot(clinic: Any) -> None:
    data = {
        "receive-product": str(clinic.tdap.pk),
        "receive-lot_number": "TD1",
        "receive-expires_on": date(clock.today().year + 1, 12, 31).isoformat(),
        "receive-ndc": "58160-0842-52",
        "receive-funding": "vfc",
        "receive-storage_unit": str(clinic.fridge.pk),
        "receive-doses": "10",
    }
    response = clinic.client.post(reverse("meds:receive"), data)
    assert response.status_code == 302
    assert StockLot.objects.get(lot_number="TD1").funding == "vfc"


def test_quarantining_a_lot_on_the_page(clinic: Any) -> None:
    url = reverse("meds:lot_status", args=[clinic.good_lot.pk])
    response = clinic.client.post(
        url, {"status-status": "quarantined", "status-reason": "fridge at 10 °C overnight"}
    )
    assert response.status_code == 302
    assert StockLot.objects.get(pk=clinic.good_lot.pk).status == "quarantined"


def test_front_desk_cannot_give_a_dose(clinic: Any, frontdesk: Any) -> None:
    order = _order(clinic)
    response = signed_in(frontdesk).post(reverse("meds:give", args=[order.pk]), _give_data(clinic))
    assert response.status_code == 403
    assert not Administration.objects.exists()


def test_the_provider_cosigns_from_the_queue(clinic: Any, provider: Any) -> None:
    order = _order(clinic)
    client = signed_in(provider)
    assert "Maria" in client.get(reverse("meds:cosign_queue")).content.decode()
    client.post(reverse("meds:cosign", args=[order.pk]))
    order.refresh_from_db()
    assert order.cosigned_by == provider


def test_the_provider_orders_from_the_patient_page(clinic: Any, provider: Any) -> None:
    response = signed_in(provider).post(
        reverse("meds:provider_order", args=[clinic.patient.pk]),
        {"order-product": str(clinic.tdap.pk), "order-instructions": "Tylenol if sore"},
    )
    assert response.status_code == 302
    order = MedicationOrder.objects.get()
    assert (order.basis, order.instructions) == ("provider", "Tylenol if sore")


def test_history_with_an_unknown_cvx_is_refused(clinic: Any) -> None:
    response = clinic.client.post(
        reverse("meds:record_history", args=[clinic.patient.pk]),
        {"history-vaccine_code": "9999", "history-given_on": "2020-01-01", "history-source": "02"},
    )
    assert response.status_code == 422
    assert "no CVX code" in response.content.decode()


def test_the_registry_page_lists_the_queued_vxu(clinic: Any, manager: Any) -> None:
    dose = _given(clinic)
    page = signed_in(manager).get(reverse("meds:registry")).content.decode()
    assert dose.latest_registry_message.control_id in page


def test_the_manager_adds_a_product(clinic: Any, manager: Any) -> None:
    response = signed_in(manager).post(
        reverse("meds:add_product"),
        {
            "product-kind": "injectable",
            "product-name": "Ceftriaxone 500 mg",
            "product-ndc": "0409-7332-01",
            "product-dose_amount": "500",
            "product-dose_unit": "mg",
            "product-route": "C28161",
            "product-billing_code": "J0696",
        },
    )
    assert response.status_code == 302
    assert Product.objects.get(ndc="0409-7332-01").kind == "injectable"


def test_the_patient_page_runs_a_fixed_number_of_queries(
    clinic: Any, django_assert_max_num_queries: Any
) -> None:
    _given(clinic)
    for cvx, year in (("115", 2019), ("140", 2024), ("208", 2023)):
        services.record_historical(
            actor=clinic.actor,
            patient=clinic.patient,
            vaccine_code=VaccineCode.objects.get(cvx=cvx),
            given_on=date(year, 10, 1),
            source="02",
        )
    url = reverse("meds:patient", args=[clinic.patient.pk])
    clinic.client.get(url)
    with django_assert_max_num_queries(30):
        assert clinic.client.get(url).status_code == 200


def test_another_organizations_user_cannot_open_the_dose(clinic: Any, other_mat: Any) -> None:
    dose = _given(clinic)
    response = signed_in(other_mat).get(reverse("meds:administration", args=[dose.pk]))
    assert response.status_code == 404
    assert actor_for(other_mat).organization != clinic.patient.organization
