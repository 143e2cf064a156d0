"""Issue 11, part 7, in a real browser (Debian's chromium, Playwright).

A MAT sets up a laceration repair: the tray from a load that passed, the consent signed on
screen (drawn in the signature box), the time-out completed, the anaesthetic (an expired vial
refused first), supplies counted, the procedure completed and the aftercare handout printed;
then the load is failed in the sterilization log and the recall lists this patient.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from playwright import sync_api
from pypdf import PdfReader

from carebench.compliance.models import InstrumentSetUse
from carebench.core import clock
from carebench.encounters.procedure_models import Procedure
from carebench.encounters.tests.test_procedure_services import make_procedure_clinic
from carebench.testing import (
    TEST_PASSWORD,
    FacilityFactory,
    OrganizationFactory,
    UserFactory,
    screenshot,
)

pytestmark = pytest.mark.browser


def sign_in(page: Any, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/account/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _draw_signature(page: Any) -> None:
    pad = page.locator("canvas[data-signature-pad][data-ready]")  # its script is attached
    pad.wait_for()
    pad.scroll_into_view_if_needed()  # the mouse only reaches what is on screen
    box = pad.bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 30, y + 110)
    page.mouse.down()
    for dx, dy in ((80, 40), (140, 120), (200, 50), (260, 115), (330, 60)):
        page.mouse.move(x + dx, y + dy, steps=6)
    page.mouse.up()


@pytest.mark.django_db(transaction=True)
def test_laceration_repair_then_the_load_is_recalled(live_server: Any, page: Any) -> None:
    expect = sync_api.expect
    base = live_server.url
    page.set_default_timeout(30_000)  # the whole walk-through on a busy CI machine
    expect.set_options(timeout=30_000)
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
    clinic = make_procedure_clinic(mat, doctor)
    tray, load, patient = clinic.tray.tray, clinic.tray.load, clinic.patient
    assert load.status == "released" and load.biological_indicator == "pass"

    # From the visit, the procedures page: plan a laceration repair.
    sign_in(page, base, "jrivera", f"/visits/{clinic.encounter.pk}/")
    page.get_by_role("link", name="Procedures", exact=True).click()
    expect(page.get_by_role("heading", name="Procedures", exact=True)).to_be_visible()
    page.locator("#id_template").select_option(str(clinic.templates["laceration-repair"].pk))
    page.get_by_label("Body site").fill("left forearm, volar")
    page.locator("#id_side").select_option("left")
    page.get_by_role("button", name="Plan the procedure").click()
    expect(page.get_by_role("heading", name="Laceration repair: left forearm")).to_be_visible()

    # Room and tray: the provider, the room, the tray scanned by its barcode.
    page.get_by_label("Performed by (provider)").select_option(str(clinic.provider.pk))
    page.locator("#id_room").select_option(str(clinic.setup.room.pk))
    page.get_by_label("Instrument set (scan the tray's barcode)").fill(tray.barcode.lower())
    page.get_by_role("button", name="Room and tray ready").click()
    expect(page.locator("[data-tray]")).to_contain_text(f"{tray.name} ({tray.barcode})")
    expect(page.locator("[data-tray]")).to_contain_text("cycle 101")
    screenshot(page, "procedure-01-tray")

    # The consent, signed on screen.
    expect(page.get_by_text("I agree to the procedure named above")).to_be_visible()
    page.get_by_role("button", name="Save the consent").click()  # nothing drawn: refused
    expect(page.locator(".field-error").first).to_contain_text("Signature")
    _draw_signature(page)
    page.get_by_role("button", name="Save the consent").click()
    expect(page.locator("[data-consent='drawn']")).to_contain_text("Signed on screen by")
    expect(page.locator("img.signature-image")).to_be_visible()
    screenshot(page, "procedure-02-consent")

    # The time-out: every check confirmed.
    for box in page.locator("#step-timeout input[type=checkbox]").all():
        box.check()
    page.get_by_role("button", name="Time-out complete").click()
    expect(page.locator("#step-timeout")).to_contain_text("Allergies confirmed")

    # The anaesthetic: an expired vial refused, then a good one.
    page.get_by_label("Lot number").fill("LD1001")
    page.get_by_label("Expires").fill((clock.today() - timedelta(days=3)).isoformat())
    page.get_by_label("Amount").fill("3 mL")
    page.get_by_role("button", name="Record the anaesthetic").click()
    expect(page.locator(".field-error").first).to_contain_text("expired")
    page.get_by_label("Lot number").fill("LD2002")
    page.get_by_label("Expires").fill((clock.today() + timedelta(days=300)).isoformat())
    page.get_by_label("Amount").fill("3 mL")
    page.get_by_role("button", name="Record the anaesthetic").click()
    expect(page.locator("[data-anaesthetic]")).to_contain_text("lot LD2002")

    # Start, count the supplies, complete.
    page.get_by_role("button", name="Start the procedure").click()
    for name, count in (("Nylon suture 4-0", "1"), ("Gauze 4x4", "4")):
        page.get_by_label("Supply", exact=True).fill(name)
        page.get_by_label("Count").fill(count)
        page.get_by_role("button", name="Count it").click()
    expect(page.locator("[data-supplies]")).to_contain_text("4 × Gauze 4x4")
    page.get_by_label("No complications").check()
    page.get_by_role("button", name="Procedure complete").click()
    expect(page.locator("[data-status]")).to_have_text("Completed")
    expect(page.locator("[data-complications]")).to_have_text("none")
    screenshot(page, "procedure-03-completed")

    # The handout prints, with the template's aftercare.
    handout = page.get_by_role("link", name="Print aftercare handout")
    pdf = page.request.get(base + handout.get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = " ".join("".join(p.extract_text() for p in PdfReader(BytesIO(pdf.body())).pages).split())
    assert "Aftercare: Laceration repair" in text and "Stitches come out" in text

    procedure = Procedure.objects.get(encounter=clinic.encounter)
    assert procedure.status == "completed" and procedure.supplies.count() == 2
    assert InstrumentSetUse.objects.get(pk=procedure.tray_use_id).patient_id == patient.pk

    # The load fails in the sterilization log: recalled; the recall lists this patient.
    page.goto(f"{base}/compliance/sterilization/{load.pk}/")
    page.get_by_label("Why recall this load").fill("Biological indicator re-test failed")
    page.get_by_role("button", name="Recall").click()
    row = page.locator(f'tr[data-recall="{tray.barcode}"]')
    expect(row).to_contain_text(patient.display_name)
    expect(row).to_contain_text(f"MRN {patient.mrn}")
    screenshot(page, "procedure-04-recall")
