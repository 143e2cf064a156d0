"""A MAT's first minutes with a new patient, in a real browser (Debian's chromium, Playwright).

Signs in, registers a patient, records "no known allergies", then an allergy (the banner
changes), finds the patient again with the typeahead, and opens the chart. Screenshots go to
test-artifacts/ at the project root.
"""

import pytest
from playwright import sync_api

from carebench.testing import (
    TEST_PASSWORD,
    FacilityFactory,
    OrganizationFactory,
    UserFactory,
    screenshot,
)

pytestmark = pytest.mark.browser


def shot(page, name):
    screenshot(page, name)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_mat_registers_records_allergies_and_finds_patient(live_server, page):
    expect = sync_api.expect
    org = OrganizationFactory(name="Riverside Family Clinic")
    FacilityFactory(organization=org)
    UserFactory(
        organization=org,
        username="jrivera",
        first_name="Jo",
        last_name="Rivera",
        roles=["mat"],
        password=TEST_PASSWORD,
    )

    # Sign in through the login page.
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/account/login/?next=/")
    page.get_by_label("Username").fill("jrivera")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    shot(page, "01-login")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#patient-search")).to_be_focused()
    expect(page.locator(".org-name")).to_have_text("Riverside Family Clinic")

    # Register a patient.
    page.get_by_role("link", name="Register patient").first.click()
    page.get_by_label("Last name").fill("Núñez")
    page.get_by_label("First name").fill("María")
    page.get_by_label("Preferred name").fill("Mari")
    page.get_by_label("Date of birth").fill("1984-03-09")
    page.locator("#id_sex").select_option("female")
    page.get_by_label("Mobile phone").fill("512 555 0142")
    shot(page, "02-register")
    page.get_by_role("button", name="Register patient").click()
    banner = page.locator("#patient-banner")
    expect(banner).to_contain_text("Núñez, María")
    expect(banner).to_contain_text("Allergies not recorded")
    shot(page, "03-chart-new")

    # No known allergies (htmx swaps the section and the banner).
    page.get_by_role("button", name="No known allergies").click()
    expect(banner.locator(".allergy-none")).to_have_text("No known allergies")
    expect(page.locator("#section-allergies .section-notice")).to_be_visible()

    # Then an allergy turns up: NKA leaves the banner, the allergy shows in red.
    section = page.locator("#section-allergies")
    section.get_by_text("Add allergy", exact=True).first.click()
    section.get_by_label("Substance").fill("Penicillin")
    section.get_by_label("Reaction").fill("Hives")
    section.get_by_label("Severity").select_option("severe")
    section.get_by_role("button", name="Add allergy").click()
    expect(banner.locator(".allergy-list")).to_contain_text("Penicillin")
    expect(banner).not_to_contain_text("No known allergies")
    expect(section.locator(".entry-nka")).to_have_count(0)
    shot(page, "04-chart-allergy")

    # Home again: the typeahead finds her as typed without accents.
    page.get_by_role("link", name="Patients").click()
    search = page.locator("#patient-search")
    expect(search).to_be_focused()
    search.press_sequentially("nunez, mar", delay=40)
    result = page.locator("#search-results .result-link")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("Núñez, María")
    expect(page.locator("#search-results")).to_contain_text("(512) 555-0142")
    shot(page, "05-search")

    # Keyboard: Down arrow moves into the results, Enter opens the chart.
    search.press("ArrowDown")
    expect(result).to_be_focused()
    page.keyboard.press("Enter")
    expect(banner).to_contain_text("Penicillin")
    expect(page).to_have_title("Núñez, María · chart · carebench")
    shot(page, "06-chart")
