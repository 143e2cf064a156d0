"""A visit through the clinic in a real browser (Debian's chromium, Playwright).

The front desk checks the patient in on the flow board (copay collected); the MAT rooms them
(chooses a room), enters vitals with a severe blood pressure, sees the recheck banner and sends
the patient on; the board shows the alert; the provider, signed in with their own account,
takes the patient and acknowledges the alert. Screenshots go to test-artifacts/.
"""

from datetime import timedelta

import pytest
from playwright import sync_api

from carebench.core import clock
from carebench.scheduling import services as sched
from carebench.scheduling.models import Appointment, Provider
from carebench.testing import (
    TEST_PASSWORD,
    FacilityFactory,
    OrganizationFactory,
    UserFactory,
    make_patient,
    make_schedule,
    next_weekday_at,
    screenshot,
)

pytestmark = pytest.mark.browser


def shot(page, name):
    screenshot(page, name)


def sign_in(page, base, username):
    page.goto(f"{base}/account/login/?next=/schedule/board/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    sync_api.expect(page.locator("#board")).to_be_visible()


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_check_in_room_vitals_alert_and_provider_takes_patient(live_server, page):
    expect = sync_api.expect
    base = live_server.url
    org = OrganizationFactory(name="Riverside Family Clinic")
    FacilityFactory(organization=org, name="Riverside Main")
    desk = UserFactory(
        organization=org,
        username="mfrank",
        first_name="Mia",
        last_name="Frank",
        roles=["frontdesk"],
        password=TEST_PASSWORD,
    )
    UserFactory(
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
    setup = make_schedule(desk)
    Provider.objects.filter(pk=setup.provider.pk).update(user=doctor)
    sched.create_resource(
        actor=setup.actor, facility=setup.facility, name="Exam 2", room_type="exam", sort_order=2
    )
    patient = make_patient(desk, family_name="Haddad", given_name="Samir")
    other = make_patient(desk, family_name="Lindgren", given_name="Elsa")
    rows = []
    for number, who in enumerate((patient, other)):
        appt = sched.book_appointment(
            actor=setup.actor,
            request=sched.BookingRequest(
                patient=who,
                provider=setup.provider,
                appointment_type=setup.visit,
                start=next_weekday_at(9 + number),
                facility=setup.facility,
                reason="cough",
            ),
        )
        start = clock.now() - timedelta(minutes=10 - 5 * number)
        Appointment.objects.filter(pk=appt.pk).update(
            start=start, end=start + timedelta(minutes=30)
        )
        rows.append(appt)
    appt = rows[0]
    row = page.locator(f"#row-{appt.pk}")

    # The front desk checks the patient in with the copay.
    sign_in(page, base, "mfrank")
    expect(row).to_contain_text("Haddad, Samir")
    expect(page.locator("#board")).to_have_attribute("hx-trigger", "every 15s")
    shot(page, "flow-01-board-scheduled")
    # A booking for next week first: typeahead, open slots, book.
    make_patient(desk, family_name="Mbeki", given_name="Thabo")
    page.get_by_role("link", name="Book", exact=True).click()
    page.get_by_label("Find the patient").press_sequentially("mbeki", delay=30)
    page.get_by_label("Mbeki, Thabo").check()
    page.get_by_label("Appointment type").select_option(label=str(setup.visit))
    page.get_by_label("On or after").fill(next_weekday_at(9).date().isoformat())
    page.get_by_role("button", name="Find open slots").click()
    page.locator("#slot-choices").get_by_label("9:30 AM").first.check()
    page.get_by_label("Reason for visit").fill("blood pressure follow-up")
    shot(page, "flow-00-book")
    page.get_by_role("button", name="Book appointment").click()
    expect(page.locator(".message-success")).to_contain_text(
        "Booked Mbeki, Thabo with Grace Okafor, MD on Mon"
    )
    page.get_by_role("link", name="Day view").click()
    expect(page.locator(".appt-block")).to_contain_text("Mbeki, Thabo")
    shot(page, "flow-00-day")
    page.goto(f"{base}/schedule/board/")

    row.get_by_label("Copay for Haddad").fill("25")
    row.get_by_label("collected").check()
    row.get_by_role("button", name="Check in").click()
    expect(page.locator(".board-group.status-arrived")).to_contain_text("Haddad, Samir")
    expect(row.get_by_label("Room for Haddad")).to_be_focused()  # the keyboard stays on the row
    shot(page, "flow-02-checked-in")
    sign_out(page)

    # The MAT rooms the patient, then enters vitals with a severe blood pressure.
    sign_in(page, base, "jrivera")
    row.get_by_label("Room for Haddad").select_option(label="Exam 2")
    row.get_by_role("button", name="Room").click()
    expect(page.locator(".board-group.status-roomed")).to_contain_text("Haddad, Samir")
    expect(page.locator(".board-rooms")).to_contain_text("Occupied")
    row.get_by_role("link", name="Rooming & vitals").click()
    expect(page.locator("#patient-banner")).to_contain_text("Haddad, Samir")
    page.get_by_role("textbox", name="Chief complaint").fill("Cough and headache for two days")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".message-success")).to_contain_text("Chief complaint saved")
    page.get_by_label("Systolic (mmHg)").fill("192")
    page.get_by_label("Diastolic (mmHg)").fill("124")
    page.get_by_label("Arm").select_option("left")
    page.get_by_label("Cuff size").select_option("adult")
    page.get_by_label("Pulse (beats/min)").fill("88")
    page.get_by_label("Respiratory rate (/min)").fill("18")
    page.get_by_label("Temperature", exact=True).fill("98.9")
    page.get_by_label("Route").select_option("oral")
    page.get_by_label("SpO2 (%)").fill("97")
    page.get_by_label("Height (ft)").fill("5")
    page.get_by_label("(in)").fill("10")
    page.get_by_label("Weight", exact=True).fill("198")
    expect(page.locator("[data-bmi-output]")).to_have_text("28.4 kg/m²")
    page.get_by_label("Pain (0-10)").fill("3")
    shot(page, "flow-03-vitals-entry")
    page.get_by_role("button", name="Save vital signs").click()
    banner = page.locator(".severe-banner")
    expect(banner).to_contain_text("Recheck in 5 minutes — provider alerted")
    expect(page.locator(".reading.flag-critical_high")).to_contain_text("192/124 mmHg")
    expect(page.locator(".reading.flag-critical_high")).to_contain_text("Critical high")
    page.locator(".screen-form").first.get_by_label("Not at all (0)").first.check()
    shot(page, "flow-04-severe-bp")
    page.get_by_role("button", name="Ready for provider").click()

    # The board shows the alert on the row and in the provider's panel.
    expect(page.locator(".board-group.status-ready")).to_contain_text("Haddad, Samir")
    expect(row.locator(".alert-badge")).to_contain_text("Severe blood pressure 192/124")
    expect(page.locator(".alerts-panel")).to_be_visible()
    shot(page, "flow-05-board-alert")
    sign_out(page)

    # The provider takes the patient and acknowledges the alert.
    sign_in(page, base, "gokafor")
    expect(page.locator(".alerts-panel")).to_contain_text("for you")
    row.get_by_role("button", name="Take patient").click()
    expect(page.locator(".board-group.status-with_provider")).to_contain_text("Haddad, Samir")
    shot(page, "flow-06-with-provider")
    page.locator(".alerts-panel").get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".alerts-panel")).to_have_count(0)
    appt.refresh_from_db()
    assert appt.status == "with_provider" and appt.copay_collected
    assert str(appt.copay_amount) == "25.00" and appt.room.name == "Exam 2"

    # The vitals history with its trend charts.
    page.goto(f"{base}/visits/patients/{patient.pk}/vitals/")
    expect(page.locator(".trend-chart svg")).to_have_count(8)
    shot(page, "flow-07-vitals-history")
