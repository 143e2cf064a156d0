"""An expired credential blocks a flu shot, in a real browser (Debian's chromium, Playwright).

The clinic has loaded the example scope rules; the MAT's CCMA expired last week. At the chair
she scans the wristband and the vial and records the dose: the page refuses it with a message
naming the task, the clinic, the credentials that would do and the date hers expired. No dose
is recorded and the lot keeps its doses.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright import sync_api

from carebench.core import clock
from carebench.meds import services as meds
from carebench.meds.models import Administration, StockLot
from carebench.testing import (
    NO_TO_ALL,
    TEST_PASSWORD,
    FacilityFactory,
    OrganizationFactory,
    UserFactory,
    make_patient,
    make_vaccine_clinic,
    screenshot,
)

from .factories import install_examples, make_credential

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_an_expired_ccma_blocks_a_flu_shot(live_server: Any, page: Any) -> None:
    expect = sync_api.expect
    org = OrganizationFactory(name="Riverbend Health")
    FacilityFactory(organization=org, name="Riverbend Family Clinic", state="TX")
    mat = UserFactory(
        organization=org,
        username="jrivera",
        first_name="Jo",
        last_name="Rivera",
        roles=["mat"],
        password=TEST_PASSWORD,
    )
    doctor = UserFactory(organization=org, username="gokafor", roles=["provider"])
    manager = UserFactory(organization=org, username="boss", roles=["manager"])
    clinic = make_vaccine_clinic(mat, doctor)
    patient = make_patient(mat, family_name="Lindqvist", given_name="Maja")
    order = meds.start_standing_order(
        actor=clinic.actor,
        protocol=clinic.standing,
        patient=patient,
        product=clinic.flu,
        answers=NO_TO_ALL,
    )
    install_examples(manager)
    expired_on = clock.today() - timedelta(days=7)
    make_credential(mat, "CCMA", expires_on=expired_on)

    page.goto(f"{live_server.url}/account/login/?next=/meds/orders/{order.pk}/give/")
    page.get_by_label("Username").fill("jrivera")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name=f"Give {clinic.flu.name}")).to_be_visible()
    page.get_by_label("Scan the wristband or card").fill(patient.mrn)
    page.get_by_label("Scan the vial or syringe").fill(clinic.good_lot.lot_number)
    page.get_by_label("Site", exact=True).select_option("LD")
    page.get_by_label("VFC eligibility").select_option("V01")
    page.get_by_role("button", name="Record as given").click()

    summary = page.locator(".error-summary")
    expect(summary).to_contain_text(
        "Immunization at Riverbend Family Clinic (TX): needs a current CMA, RMA, CCMA or NCMA "
        f"credential; your CCMA expired on {expired_on:%m/%d/%Y}."
    )
    screenshot(page, "staff-01-expired-credential-refused")
    assert not Administration.objects.exists()
    assert StockLot.objects.get(pk=clinic.good_lot.pk).doses_on_hand == 10
