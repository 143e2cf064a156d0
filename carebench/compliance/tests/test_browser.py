"""A temperature excursion in a real browser (Debian's chromium, Playwright).

The MAT reads the vaccine fridge at 9.5 °C and records it: the page shows the excursion and the
lot it quarantined. At the chair, the vial from that fridge is refused with the reason.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright import sync_api

from carebench.compliance.models import Excursion
from carebench.meds import services as meds
from carebench.meds.models import Administration, StockLot
from carebench.meds.tests.test_browser_meds import sign_in
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

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_fridge_excursion_quarantines_the_lot_and_the_injection_refuses_it(
    live_server: Any, page: Any
) -> None:
    expect = sync_api.expect
    base = live_server.url
    org = OrganizationFactory(name="Riverside Family Clinic")
    FacilityFactory(organization=org, name="Riverside Main")
    mat = UserFactory(
        organization=org,
        username="jrivera",
        first_name="Jo",
        last_name="Rivera",
        roles=["mat"],
        password=TEST_PASSWORD,
    )
    doctor = UserFactory(organization=org, username="gokafor", roles=["provider"])
    clinic = make_vaccine_clinic(mat, doctor)
    patient = make_patient(mat, family_name="Lindqvist", given_name="Maja")
    order = meds.start_standing_order(
        actor=clinic.actor,
        protocol=clinic.standing,
        patient=patient,
        product=clinic.flu,
        answers=NO_TO_ALL,
    )

    # The morning reading: 9.5 °C in the vaccine fridge.
    sign_in(page, base, "jrivera", f"/compliance/storage/{clinic.fridge.pk}/")
    expect(page.get_by_role("heading", name="Vaccine fridge: temperatures")).to_be_visible()
    page.get_by_label("Now (°C)").fill("9.5")
    page.get_by_role("button", name="Record reading").click()
    banner = page.locator("[data-open-excursion]")
    expect(banner).to_contain_text("Temperature excursion")
    expect(banner).to_contain_text("lot FL7Y2")
    expect(page.locator(".message-error")).to_contain_text("quarantined")
    expect(page.locator("svg circle.excursion")).to_have_count(1)
    screenshot(page, "compliance-01-excursion")
    assert Excursion.objects.get().status == "open"
    assert StockLot.objects.get(pk=clinic.good_lot.pk).status == "quarantined"

    # At the chair: the vial from that fridge is refused, with the reason.
    page.goto(f"{base}/meds/orders/{order.pk}/give/")
    expect(page.get_by_role("heading", name=f"Give {clinic.flu.name}")).to_be_visible()
    page.get_by_label("Scan the wristband or card").fill(patient.mrn)
    page.get_by_label("Scan the vial or syringe").fill(clinic.good_lot.lot_number)
    page.get_by_label("Site", exact=True).select_option("LD")
    page.get_by_label("VFC eligibility").select_option("V01")
    page.get_by_role("button", name="Record as given").click()
    expect(page.locator(".field-error").first).to_contain_text(
        "lot FL7Y2 is quarantined (temperature excursion: Vaccine fridge current 9.5 °C"
    )
    expect(page.locator(".field-error").first).to_contain_text("do not give it")
    screenshot(page, "compliance-02-lot-refused")
    assert not Administration.objects.exists()
