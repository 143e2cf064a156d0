"""The 08:00 med pass in a real browser (Debian's chromium, Playwright).

A medication technician opens yesterday's 08:00 pass at Maple House (yesterday, so the test
does not depend on the hour it runs: those doses are late but may still be documented) for
three residents: the first's lisinopril is refused (she said it makes her dizzy), her
metoprolol is held by a pulse of 52; the second and third get their doses; the first gets
acetaminophen PRN for knee pain and, later, its effectiveness check is answered. The MAR PDF
shows it all: the refusal and the hold with their notes, the initials and the PRN dose.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from typing import Any
from urllib.parse import quote

import pytest
from playwright import sync_api
from pypdf import PdfReader

from carebench.core import clock
from carebench.meds import emar_services
from carebench.meds.emar_models import DoseRecord
from carebench.testing import (
    TEST_PASSWORD,
    FacilityFactory,
    OrganizationFactory,
    UserFactory,
    make_home,
    screenshot,
)

pytestmark = pytest.mark.browser


def _setup() -> Any:
    org = OrganizationFactory(name="Riverside Senior Living")
    FacilityFactory(organization=org, name="Riverside Clinic")
    nurse = UserFactory(organization=org, username="pnguyen", roles=["nurse"])
    medtech = UserFactory(
        organization=org,
        username="awilliams",
        first_name="Andre",
        last_name="Williams",
        roles=["medtech"],
        password=TEST_PASSWORD,
    )
    home = make_home(nurse, medtech, residents=3)
    for residency in home.residents[1:]:
        emar_services.add_order(
            actor=home.nurse,
            residency=residency,
            drug_name="Sertraline",
            strength="50 mg",
            dose="1 tablet",
            route="oral",
            frequency="QD",
            start_date=clock.today() - timedelta(days=7),
            prescriber="Samuel Chen, MD",
            quantity_on_hand=30,
        )
    return home


def sign_in(page: Any, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/account/login/?next={quote(next_url)}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.django_db(transaction=True)
def test_the_0800_pass_with_a_refusal_a_hold_and_a_prn(live_server: Any, page: Any) -> None:
    expect = sync_api.expect
    base = live_server.url
    home = _setup()
    yesterday = clock.today(home.home.time_zone) - timedelta(days=1)
    url = f"/meds/homes/{home.home.pk}/pass/?day={yesterday:%Y-%m-%d}&at=08:00"
    first = home.resident

    sign_in(page, base, "awilliams", url)
    expect(page.get_by_role("heading", name="Med pass 08:00")).to_be_visible()
    rooms = page.locator("table.pass-summary tbody tr")
    expect(rooms).to_have_count(3)
    expect(rooms.nth(0)).to_contain_text("101")
    expect(rooms.nth(2)).to_contain_text("103")
    screenshot(page, "emar-01-pass")

    # Scanning the first resident's wristband opens her doses.
    page.get_by_label("Scan the wristband or the medication card").fill(first.patient.mrn)
    page.get_by_role("button", name="Find").click()
    expect(page.locator("section.resident-pass h2")).to_contain_text("Room 101")

    # Lisinopril refused.
    row = page.locator(f'tr[data-order="{home.lisinopril.pk}"]')
    row.get_by_label("Reason for Lisinopril").fill("says it makes her dizzy; nurse told")
    row.get_by_role("button", name="Refused: Lisinopril").click()
    expect(page.locator("body")).to_contain_text("Lisinopril refused")

    # Metoprolol: pulse 52, so "Given" is refused and the dose is held.
    row = page.locator(f'tr[data-order="{home.metoprolol.pk}"]')
    row.get_by_label("pulse for Metoprolol tartrate").fill("52")
    row.get_by_role("button", name="Given: Metoprolol tartrate").click()
    expect(page.locator("body")).to_contain_text("record the dose as held")
    row = page.locator(f'tr[data-order="{home.metoprolol.pk}"]')
    row.get_by_label("pulse for Metoprolol tartrate").fill("52")
    row.get_by_role("button", name="Held: Metoprolol tartrate").click()
    expect(page.locator("body")).to_contain_text("Metoprolol tartrate held")
    expect(page.locator(f'tr[data-order="{home.metoprolol.pk}"]')).to_contain_text("pulse 52")

    # The other two residents get their sertraline, one after the other.
    for residency in home.residents[1:]:
        page.get_by_role("link", name=f"Next: room {residency.room}", exact=False).click()
        section = page.locator(f"#resident-{residency.pk}")
        section.get_by_role("button", name="Given: Sertraline").click()
        expect(page.locator("body")).to_contain_text("Sertraline given")
    screenshot(page, "emar-02-pass-documented")
    expect(page.locator("table.pass-summary tbody tr").nth(1)).to_contain_text("1")

    # Back to the first resident: acetaminophen PRN for knee pain.
    page.goto(f"{base}{url}&resident={first.pk}")
    # Acetaminophen PRN for knee pain; the effectiveness check is due an hour later.
    section = page.locator(f"#resident-{first.pk}")
    section.locator("summary", has_text="PRN").click()
    section.get_by_label("Why now: Acetaminophen").fill("right knee pain 6/10")
    section.get_by_role("button", name="Give PRN Acetaminophen").click()
    expect(page.locator("body")).to_contain_text("Check how it worked at")
    prn = DoseRecord.objects.get(order=home.tylenol)
    # Forty-five minutes pass.
    DoseRecord.objects.filter(pk=prn.pk).update(
        recorded_at=prn.recorded_at - timedelta(minutes=45),
        effectiveness_due_at=prn.effectiveness_due_at - timedelta(minutes=45),
    )
    page.goto(f"{base}/meds/residents/{first.pk}/")
    page.get_by_label("Effectiveness of Acetaminophen", exact=False).select_option("effective")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("body")).to_contain_text("Effectiveness recorded")
    screenshot(page, "emar-03-resident")

    # The MAR for yesterday's month shows the refusal, the hold, the PRN and the initials.
    mar = page.request.get(f"{base}/meds/residents/{first.pk}/mar.pdf?month={yesterday:%Y-%m}")
    assert mar.ok and mar.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(mar.body())).pages)
    assert "makes her dizzy" in text
    assert "pulse 52" in text
    assert "right knee pain" in text and "Effective" in text
    assert "Andre Williams, Medication technician" in text

    outcomes = dict(
        DoseRecord.objects.filter(order__residency=first).values_list("order__drug_name", "outcome")
    )
    assert outcomes == {
        "Lisinopril": "refused",
        "Metoprolol tartrate": "held",
        "Acetaminophen": "given",
    }
