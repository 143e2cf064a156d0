"""A flu shot under the standing order, in a real browser (Debian's chromium, Playwright).

The MAT opens the patient's immunizations, asks the screening questions and starts the clinic's
flu standing order; at the chair she scans the wristband and first the expired vial (refused,
naming the lot and its expiry), then the good vial by its GS1 barcode; the dose is recorded,
the lot has one dose fewer on the stock page, the VXU for the registry is queued, and the
handout prints as a PDF with the protocol's instructions. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from playwright import sync_api
from pypdf import PdfReader

from carebench.labs.models import Hl7Message
from carebench.meds.models import Administration, StockLot
from carebench.meds.tests.vxu_helpers import vxu_errors
from carebench.testing import (
    TEST_PASSWORD,
    FacilityFactory,
    OrganizationFactory,
    UserFactory,
    make_patient,
    make_vaccine_clinic,
    screenshot,
)

pytestmark = pytest.mark.browser


def _gs1(ndc10: str, lot: Any) -> str:
    """What a scanner types for a vial's 2D barcode: (01) GTIN-14, (17) expiry, (10) lot."""
    body = "003" + ndc10
    check = (10 - sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body)) % 10) % 10
    return f"01{body}{check}17{lot.expires_on:%y%m%d}10{lot.lot_number}"


def _setup() -> Any:
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
    clinic.patient = make_patient(mat, family_name="Lindqvist", given_name="Maja")
    return clinic


def sign_in(page: Any, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/account/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.django_db(transaction=True)
def test_flu_shot_under_the_standing_order(live_server: Any, page: Any) -> None:
    expect = sync_api.expect
    base = live_server.url
    clinic = _setup()
    patient = clinic.patient

    # The patient's immunizations: influenza is due; run the standing order.
    sign_in(page, base, "jrivera", f"/meds/patients/{patient.pk}/")
    expect(page.get_by_role("heading", name="Immunizations and injections")).to_be_visible()
    expect(page.locator('tr[data-group="FLU"]')).to_contain_text("due")
    section = page.locator("section", has=page.get_by_role("heading", name="Standing order:"))
    for question in section.locator("select").all()[1:]:
        question.select_option("no")
    screenshot(page, "meds-01-standing-order")
    section.get_by_role("button", name="Start the standing order").click()

    # The five rights: the wristband scanned, then the expired vial: refused.
    expect(page.get_by_role("heading", name=f"Give {clinic.flu.name}")).to_be_visible()
    page.get_by_label("Scan the wristband or card").fill(patient.mrn)
    page.get_by_label("Scan the vial or syringe").fill(clinic.expired_lot.lot_number)
    page.get_by_label("Site", exact=True).select_option("LD")
    page.get_by_label("VFC eligibility").select_option("V01")
    page.get_by_role("button", name="Record as given").click()
    expect(page.locator(".field-error").first).to_contain_text("expired")
    expect(page.locator("body")).to_contain_text(f"lot {clinic.expired_lot.lot_number} expired on")
    screenshot(page, "meds-02-expired-lot-refused")
    assert not Administration.objects.exists()

    # The good vial, by its GS1 barcode: accepted.
    page.get_by_label("Scan the wristband or card").fill(patient.mrn)
    page.get_by_label("Scan the vial or syringe").fill(_gs1("5816091952", clinic.good_lot))
    page.get_by_label("Site", exact=True).select_option("LD")
    page.get_by_label("VFC eligibility").select_option("V01")
    page.get_by_role("button", name="Record as given").click()
    expect(page.locator("body")).to_contain_text("given, lot FL7Y2")
    expect(page.locator("body")).to_contain_text("Observe the patient for 15 minutes")
    expect(page.locator("body")).to_contain_text("Queued to send")
    screenshot(page, "meds-03-given")

    # The handout prints, with the standing order's instructions.
    handout = page.get_by_role("link", name="Print handout", exact=False)
    pdf = page.request.get(base + handout.get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf.body())).pages)
    assert "a cool cloth helps" in text and "FL7Y2" in text

    # Stock went down by one dose; the VXU waits in the registry queue.
    page.goto(f"{base}/meds/")
    expect(page.locator('tr[data-lot="FL7Y2"] [data-on-hand]')).to_have_text("9")
    screenshot(page, "meds-04-stock")
    assert StockLot.objects.get(pk=clinic.good_lot.pk).doses_on_hand == 9
    message = Hl7Message.objects.get(message_type="VXU^V04")
    assert message.status == Hl7Message.Status.QUEUED
    assert vxu_errors(message.raw) == []
