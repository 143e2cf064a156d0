"""The lab corner in a real browser (Debian's chromium, Playwright).

A MAT, at a walk-in visit, orders CBC, CMP, lipid panel and A1c under the provider's standing
order; the draw guide lists the tubes in the order of draw (serum before EDTA); the specimens
are made and the label PDF prints. Then the point-of-care corner: the MAT runs today's QC on
the urinalysis kit lot, enters a dipstick urinalysis on that lot, and enters a fingerstick
glucose of 38 mg/dL, which is flagged critical and raises an alert on the visit for the
provider. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright import sync_api

from carebench.core import clock
from carebench.encounters import services as visits
from carebench.encounters.models import Alert
from carebench.labs import poc, poc_services, services
from carebench.labs.models import LabResult, LabTest
from carebench.scheduling import services as sched
from carebench.testing import (
    TEST_PASSWORD,
    FacilityFactory,
    OrganizationFactory,
    UserFactory,
    actor_for,
    load_sample_icd10,
    make_patient,
    screenshot,
)

pytestmark = pytest.mark.browser


def _setup() -> Any:
    org = OrganizationFactory(name="Riverside Family Clinic")
    FacilityFactory(organization=org, name="Riverside Main")
    load_sample_icd10()
    mat = UserFactory(
        organization=org,
        username="jrivera",
        first_name="Jo",
        last_name="Rivera",
        roles=["mat"],
        password=TEST_PASSWORD,
    )
    doctor = UserFactory(
        organization=org,
        username="gokafor",
        first_name="Grace",
        last_name="Okafor",
        roles=["provider"],
        password=TEST_PASSWORD,
    )
    actor = actor_for(mat)
    services.load_shipped_catalog(actor=actor)
    provider = sched.create_provider(
        actor=actor_for(doctor),
        family_name="Okafor",
        given_name="Grace",
        credentials="MD",
        npi="1234567893",
        facilities=[org.facilities.first()],
        user=doctor,
    )
    patient = make_patient(mat, family_name="Lindqvist", given_name="Maja")
    visit = visits.open_walk_in(actor=actor, patient=patient, chief_complaint="Diabetes follow-up")
    tests = {t.code: t for t in LabTest.objects.for_org(org)}
    today = clock.today(poc_services.zone_for(actor))
    poc_services.add_kit_lot(
        actor=actor,
        test=tests["UADIP"],
        kit_name="Multistix 10 SG",
        lot_number="UA2611",
        expires_on=today + timedelta(days=200),
    )
    strips = poc_services.add_kit_lot(
        actor=actor,
        test=tests["GLUPOC"],
        kit_name="Glucose strips",
        lot_number="GS77",
        expires_on=today + timedelta(days=200),
    )
    meter = poc_services.add_device(
        actor=actor, name="Glucometer room 3", serial_number="GM-3301", tests=[tests["GLUPOC"]]
    )
    poc_services.record_qc_run(
        actor=actor,
        test=tests["GLUPOC"],
        device=meter,
        levels=[
            poc.QcLevel("Level 1 (low)", "36-60", "48"),
            poc.QcLevel("Level 2 (high)", "280-420", "330"),
        ],
    )
    return org, provider, patient, visit, strips


def sign_in(page: Any, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/account/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.django_db(transaction=True)
def test_order_draw_labels_qc_urinalysis_and_critical_glucose(live_server: Any, page: Any) -> None:
    expect = sync_api.expect
    base = live_server.url
    org, provider, patient, visit, strips = _setup()

    # Order the four tests from the visit.
    sign_in(page, base, "jrivera", f"/labs/visits/{visit.pk}/order/")
    expect(page.get_by_role("heading", name="Order labs for this visit")).to_be_visible()
    page.get_by_label("Ordering provider").select_option(label=provider.display_name)
    page.get_by_label("Order basis").select_option("standing")
    reason = page.get_by_label("Reason (ICD-10-CM codes)")
    reason.fill("type 2 diab")  # the typeahead lists billable codes; choosing one fills it in
    page.locator('.code-option[data-code="E11.9"]').click()
    expect(reason).to_have_value("E11.9, ")
    for code in ("CBC", "CMP", "LIPID", "A1C"):
        page.get_by_label(f"{code} ·", exact=False).first.check()
    screenshot(page, "labs-01-order")
    page.get_by_role("button", name="Place order").click()

    # The draw guide: gold SST (CMP + lipid share it) before lavender EDTA (CBC + A1c).
    page.get_by_role("link", name="Draw guide").click()
    tubes = page.locator(".tube-row")
    expect(tubes).to_have_count(2)
    expect(tubes.nth(0)).to_contain_text("Gold")
    expect(tubes.nth(0)).to_contain_text("CMP")
    expect(tubes.nth(0)).to_contain_text("LIPID")
    expect(tubes.nth(1)).to_contain_text("Lavender")
    expect(tubes.nth(1)).to_contain_text("CBC")
    expect(tubes.nth(1)).to_contain_text("A1C")
    page.get_by_role("button", name="Make specimens and labels").click()
    labels_link = page.get_by_role("link", name="Print labels (PDF, 2 × 1 in)")
    expect(labels_link).to_be_visible()
    screenshot(page, "labs-02-draw-guide")
    pdf = page.request.get(base + labels_link.get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF") and pdf.body().count(b"/Type /Page") >= 2

    # Today's QC on the urinalysis kit lot, through the QC page.
    page.goto(f"{base}/labs/qc/")
    page.get_by_role("link", name="Run QC on lot UA2611").click()
    for select in page.locator("select").all():
        select.select_option("Within range")
    page.get_by_role("button", name="Record QC").click()
    expect(page.locator('tr[data-lot="UA2611"]')).to_contain_text("passed")

    # A second order for the point-of-care tests, then the urinalysis on the kit that passed.
    page.goto(f"{base}/labs/visits/{visit.pk}/order/")
    page.get_by_label("Ordering provider").select_option(label=provider.display_name)
    page.get_by_label("Order basis").select_option("standing")
    page.get_by_label("Reason (ICD-10-CM codes)").fill("E11.9")
    page.get_by_label("UADIP ·", exact=False).first.check()
    page.get_by_label("GLUPOC ·", exact=False).first.check()
    page.get_by_role("button", name="Place order").click()
    page.get_by_role("link", name="Enter result for UADIP").click()
    page.get_by_label("Kit lot").select_option(index=1)
    expect(page.get_by_label("Kit lot")).to_contain_text("QC passed today")
    for field in page.locator(".poc-analytes select").all():
        field.select_option(index=1)  # Negative / first reading on every pad
    page.get_by_label("Urine specific gravity (dipstick)").fill("1.020")
    page.get_by_label("Urine pH (dipstick)", exact=False).fill("6.0")
    screenshot(page, "labs-03-urinalysis")
    page.get_by_role("button", name="Save result").click()
    expect(page.locator("body")).to_contain_text("Urine specific gravity")

    # A fingerstick glucose of 38 mg/dL: critical, and the provider is alerted on the visit.
    page.get_by_role("link", name="Enter result for GLUPOC").click()
    page.get_by_label("Device").select_option(index=1)
    page.get_by_label("Kit lot").select_option(str(strips.pk))
    page.locator(".poc-analytes input").first.fill("38")
    page.get_by_role("button", name="Save result").click()
    expect(page.locator("body")).to_contain_text("CRITICAL: Glucose, fingerstick (meter) 38 mg/dL")
    expect(page.locator("body")).to_contain_text("Critical low")
    screenshot(page, "labs-04-critical-glucose")
    page.goto(f"{base}/visits/{visit.pk}/")
    expect(page.locator(".alerts-panel")).to_contain_text("Critical lab")
    expect(page.locator(".alerts-panel")).to_contain_text("38 mg/dL")

    assert LabResult.objects.filter(patient=patient, kit_lot__lot_number="UA2611").count() == 10
    alert = Alert.objects.get(patient=patient)
    assert alert.recipient_id == provider.user_id
