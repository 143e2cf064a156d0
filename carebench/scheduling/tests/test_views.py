"""The schedule pages: day and week views, booking (409 on a taken slot, 422 on a refused
value), one appointment, the flow board and room board, setup, the ICS feed; permissions,
organization scoping (404) and query counts."""

from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse
from icalendar import Calendar

from carebench.audit.models import AuditEvent
from carebench.conftest import signed_in
from carebench.core import clock
from carebench.encounters import services as enc
from carebench.encounters.vitals import VitalsEntry
from carebench.patients.models import Patient
from carebench.scheduling import services as sched
from carebench.scheduling.models import Appointment, AvailabilityRule, Provider, Resource, Status
from carebench.scheduling.views import calendar_token
from carebench.testing import actor_for, make_patient, make_schedule, next_weekday_at

HTMX = {"HX-Request": "true"}


@pytest.fixture
def setup(frontdesk):
    return make_schedule(frontdesk)


def book(setup, patient, start, provider=None):
    return sched.book_appointment(
        actor=setup.actor,
        request=sched.BookingRequest(
            patient=patient,
            provider=provider or setup.provider,
            appointment_type=setup.visit,
            start=start,
            facility=setup.facility,
        ),
    )


def book_today(setup, patient, *, minutes_ago=5, provider=None):
    """A visit booked for next week, then moved to now (the services refuse the past)."""
    appt = book(
        setup,
        patient,
        next_weekday_at(9, weeks_ahead=4) + timedelta(minutes=30 * Appointment.objects.count()),
        provider=provider,
    )
    start = clock.now() - timedelta(minutes=minutes_ago)
    Appointment.objects.filter(pk=appt.pk).update(start=start, end=start + timedelta(minutes=30))
    appt.refresh_from_db()
    return appt


# --- day and week ------------------------------------------------------------------------------


def test_day_view_shows_blocks_with_patient_and_status(setup, frontdesk):
    patient = make_patient(frontdesk, family_name="Okonkwo", given_name="Ada")
    appt = book(setup, patient, next_weekday_at(9))
    client = signed_in(frontdesk)
    response = client.get(reverse("scheduling:day"), {"date": appt.start.date().isoformat()})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Okonkwo, Ada" in html and "DOB 05/17/1980" in html and "Scheduled" in html
    assert f'data-color="{setup.visit.color}"' in html
    assert "9:00 AM" in html
    assert reverse("scheduling:appointment", args=[appt.pk]) in html
    assert AuditEvent.objects.filter(action="view", resource_type="Schedule").exists()


def test_day_view_filters_by_provider(setup, frontdesk):
    other = sched.create_provider(
        actor=setup.actor,
        family_name="Lindqvist",
        given_name="Eva",
        npi="1245319599",
        facilities=[setup.facility],
    )
    client = signed_in(frontdesk)
    html = client.get(reverse("scheduling:day")).content.decode()
    assert "Grace Okafor" in html and "Eva Lindqvist" in html
    html = client.get(reverse("scheduling:day"), {"provider": other.pk}).content.decode()
    assert f'id="col-{other.pk}"' in html and f'id="col-{setup.provider.pk}"' not in html


def test_day_view_query_count_with_three_providers(setup, frontdesk, django_assert_max_num_queries):
    providers = [setup.provider]
    for npi in ("1245319599", "1679576722"):
        providers.append(
            sched.create_provider(
                actor=setup.actor,
                family_name=f"Doc{npi[-2:]}",
                given_name="A",
                npi=npi,
                facilities=[setup.facility],
            )
        )
        sched.add_availability_rule(
            actor=setup.actor,
            provider=providers[-1],
            facility=setup.facility,
            rrule="FREQ=WEEKLY;BYDAY=MO",
            start_time=next_weekday_at(8).time(),
            end_time=next_weekday_at(17).time(),
            starts_on=next_weekday_at(8).date(),
        )
    day = next_weekday_at(8)
    for provider in providers:
        for i in range(10):
            book(setup, make_patient(frontdesk), day + timedelta(minutes=30 * i), provider=provider)
    client = signed_in(frontdesk)
    client.get(reverse("scheduling:day"))  # warm the session
    # 8 for session, user and permissions; 4 for the page (facilities, providers, the
    # day's appointments); the rest is the audit event and the session save. None per visit.
    with django_assert_max_num_queries(20):
        response = client.get(reverse("scheduling:day"), {"date": day.date().isoformat()})
    assert response.content.decode().count('class="appt-block') == 30


def test_week_view_for_provider(setup, frontdesk, django_assert_max_num_queries):
    start = next_weekday_at(10)
    for i in range(5):
        book(
            setup,
            make_patient(frontdesk, family_name=f"Weekly{chr(97 + i)}"),
            start + timedelta(days=i % 5, minutes=30 * i),
        )
    client = signed_in(frontdesk)
    client.get(reverse("scheduling:week"))
    with django_assert_max_num_queries(19):  # as the day view: none per visit
        response = client.get(
            reverse("scheduling:week"),
            {"provider": setup.provider.pk, "date": start.date().isoformat()},
        )
    html = response.content.decode()
    assert response.status_code == 200 and html.count('class="appt-block') == 5


# --- booking -----------------------------------------------------------------------------------


def _book_data(setup, patient, **extra):
    start = next_weekday_at(9)
    data = {
        "patient": patient.pk,
        "appointment_type": setup.visit.pk,
        "facility": setup.facility.pk,
        "provider": "",
        "date": start.date().isoformat(),
        "slot": f"{setup.provider.pk}|{start.isoformat()}",
        "reason": "cough",
        "every_weeks": 1,
        "count": 4,
    }
    data.update(extra)
    return data


def test_book_page_finds_slots_and_books(setup, frontdesk):
    patient = make_patient(frontdesk, family_name="Mbeki")
    client = signed_in(frontdesk)
    assert client.get(reverse("scheduling:book")).status_code == 200
    day = next_weekday_at(8)
    response = client.get(
        reverse("scheduling:slots"),
        {
            "appointment_type": setup.visit.pk,
            "facility": setup.facility.pk,
            "date": day.date().isoformat(),
        },
        headers=HTMX,
    )
    html = response.content.decode()
    assert 'name="slot"' in html and "<html" not in html
    assert f'value="{setup.provider.pk}|{day.isoformat()}"' in html
    options = client.get(
        reverse("scheduling:patient_options"), {"patient_q": "mbeki"}, headers=HTMX
    ).content.decode()
    assert f'value="{patient.pk}"' in options
    response = client.post(reverse("scheduling:book"), _book_data(setup, patient))
    appt = Appointment.objects.get(patient=patient)
    assert response.status_code == 302
    assert response.url == reverse("scheduling:appointment", args=[appt.pk])
    assert appt.reason == "cough" and appt.start == next_weekday_at(9)


def test_book_without_js_finds_slots_with_get(setup, frontdesk):
    patient = make_patient(frontdesk)
    client = signed_in(frontdesk)
    response = client.get(
        reverse("scheduling:book"),
        {
            "patient": patient.pk,
            "appointment_type": setup.visit.pk,
            "facility": setup.facility.pk,
            "date": next_weekday_at(8).date().isoformat(),
            "find": "1",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'name="slot"' in html
    assert f'value="{patient.pk}" checked' in html


def test_booking_conflict_is_409_with_message(setup, frontdesk):
    book(setup, make_patient(frontdesk), next_weekday_at(9))
    patient = make_patient(frontdesk)
    client = signed_in(frontdesk)
    response = client.post(reverse("scheduling:book"), _book_data(setup, patient))
    assert response.status_code == 409
    html = response.content.decode()
    assert "This time was just taken" in html and "already has an appointment" in html
    assert not Appointment.objects.filter(patient=patient).exists()


def test_booking_refused_value_is_422_on_field(setup, frontdesk):
    patient = make_patient(frontdesk)
    saturday = next_weekday_at(9) + timedelta(days=5)
    client = signed_in(frontdesk)
    response = client.post(
        reverse("scheduling:book"),
        _book_data(setup, patient, slot=f"{setup.provider.pk}|{saturday.isoformat()}"),
    )
    assert response.status_code == 422
    assert "is not available then" in response.content.decode()
    response = client.post(reverse("scheduling:book"), _book_data(setup, patient, slot=""))
    assert response.status_code == 422
    assert "find open slots and choose one" in response.content.decode()
    assert not Appointment.objects.filter(patient=patient).exists()


def test_override_availability_only_for_managers(setup, frontdesk, manager):
    patient = make_patient(frontdesk)
    saturday = next_weekday_at(9) + timedelta(days=5)
    data = _book_data(
        setup,
        patient,
        slot="",
        provider=setup.provider.pk,
        date=saturday.date().isoformat(),
        start_time="09:00",
        override_availability="on",
    )
    client = signed_in(frontdesk)
    assert "override_availability" not in client.get(reverse("scheduling:book")).content.decode()
    assert client.post(reverse("scheduling:book"), data).status_code == 422
    manager_client = signed_in(manager)
    assert (
        "override_availability" in manager_client.get(reverse("scheduling:book")).content.decode()
    )
    assert manager_client.post(reverse("scheduling:book"), data).status_code == 302
    assert Appointment.objects.get(patient=patient).start == saturday


def test_recurring_booking_books_series(setup, frontdesk):
    patient = make_patient(frontdesk)
    client = signed_in(frontdesk)
    response = client.post(
        reverse("scheduling:book"), _book_data(setup, patient, repeat="on", every_weeks=2, count=3)
    )
    assert response.status_code == 302
    starts = list(
        Appointment.objects.filter(patient=patient)
        .order_by("start")
        .values_list("start", flat=True)
    )
    assert [s - starts[0] for s in starts] == [timedelta(0), timedelta(weeks=2), timedelta(weeks=4)]


def test_biller_cannot_book(setup, biller, frontdesk):
    patient = make_patient(frontdesk)
    client = signed_in(biller)
    assert client.get(reverse("scheduling:day")).status_code == 200
    assert client.get(reverse("scheduling:book")).status_code == 403
    assert client.post(reverse("scheduling:book"), _book_data(setup, patient)).status_code == 403
    assert not Appointment.objects.exists()


# --- one appointment ---------------------------------------------------------------------------


def test_appointment_page_reschedule_cancel(setup, frontdesk):
    appt = book(setup, make_patient(frontdesk), next_weekday_at(9))
    client = signed_in(frontdesk)
    url = reverse("scheduling:appointment", args=[appt.pk])
    html = client.get(url).content.decode()
    assert "Reschedule" in html and "Scheduled" in html
    html = client.get(
        url, {"find": "1", "date": next_weekday_at(9).date().isoformat()}, headers=HTMX
    ).content.decode()
    assert 'name="slot"' in html and "<html" not in html
    new = next_weekday_at(11)
    response = client.post(
        reverse("scheduling:reschedule", args=[appt.pk]),
        {"date": new.date().isoformat(), "slot": f"{setup.provider.pk}|{new.isoformat()}"},
    )
    assert response.status_code == 302
    appt.refresh_from_db()
    assert appt.start == new
    response = client.post(reverse("scheduling:cancel", args=[appt.pk]), {"cancel_reason": ""})
    assert response.status_code == 422
    response = client.post(
        reverse("scheduling:cancel", args=[appt.pk]), {"cancel_reason": "patient is travelling"}
    )
    assert response.status_code == 302
    appt.refresh_from_db()
    assert appt.status == Status.CANCELLED
    html = client.get(url).content.decode()
    assert "patient is travelling" in html and "Cancelled" in html


def test_reschedule_into_taken_slot_is_409(setup, frontdesk):
    taken = next_weekday_at(11)
    book(setup, make_patient(frontdesk), taken)
    appt = book(setup, make_patient(frontdesk), next_weekday_at(9))
    response = signed_in(frontdesk).post(
        reverse("scheduling:reschedule", args=[appt.pk]),
        {"date": taken.date().isoformat(), "slot": f"{setup.provider.pk}|{taken.isoformat()}"},
    )
    assert response.status_code == 409
    assert "This time was just taken" in response.content.decode()


def test_no_show_and_step_history(setup, frontdesk):
    appt = book_today(setup, make_patient(frontdesk))
    client = signed_in(frontdesk)
    response = client.post(reverse("scheduling:no_show", args=[appt.pk]))
    assert response.status_code == 302
    appt.refresh_from_db()
    assert appt.status == Status.NO_SHOW
    html = client.get(reverse("scheduling:appointment", args=[appt.pk])).content.decode()
    assert "No-show" in html and "Scheduled" in html  # both steps listed


# --- the flow board ----------------------------------------------------------------------------


def test_board_flow_check_in_room_ready_with_provider(setup, frontdesk, mat):
    appt = book_today(setup, make_patient(frontdesk, family_name="Haddad"))
    client = signed_in(frontdesk)
    html = client.get(reverse("scheduling:board")).content.decode()
    assert "Haddad" in html and 'hx-trigger="every 15s"' in html and "Check in" in html
    assert AuditEvent.objects.filter(resource_type="FlowBoard").exists()
    response = client.post(
        reverse("scheduling:advance", args=[appt.pk]),
        {"to": "arrived", "copay_amount": "25.00", "copay_collected": "on"},
        headers=HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="board"' in html and "<html" not in html and "arrived" in html
    appt.refresh_from_db()
    assert appt.status == Status.ARRIVED and appt.copay_collected
    assert str(appt.copay_amount) == "25.00" and hasattr(appt, "encounter")
    mat_client = signed_in(mat)
    response = mat_client.post(
        reverse("scheduling:advance", args=[appt.pk]),
        {"to": "roomed", "room": setup.room.pk},
        headers=HTMX,
    )
    assert response.status_code == 200
    setup.room.refresh_from_db()
    assert setup.room.status == Resource.RoomStatus.OCCUPIED
    for step in ("ready", "with_provider", "checkout"):
        assert (
            mat_client.post(reverse("scheduling:advance", args=[appt.pk]), {"to": step}).status_code
            == 302
        )
    setup.room.refresh_from_db()
    assert setup.room.status == Resource.RoomStatus.NEEDS_TURNOVER
    html = mat_client.get(reverse("scheduling:board")).content.decode()
    assert "Turnover done" in html
    response = mat_client.post(
        reverse("scheduling:room_status", args=[setup.room.pk]), {"status": "ready"}, headers=HTMX
    )
    assert response.status_code == 200
    setup.room.refresh_from_db()
    assert setup.room.status == Resource.RoomStatus.READY


def test_board_refuses_wrong_step_with_422(setup, frontdesk):
    appt = book_today(setup, make_patient(frontdesk))
    client = signed_in(frontdesk)
    response = client.post(
        reverse("scheduling:advance", args=[appt.pk]), {"to": "roomed"}, headers=HTMX
    )
    assert response.status_code == 422
    assert "the next step is" in response.content.decode()
    appt.refresh_from_db()
    assert appt.status == Status.BOOKED


def test_board_shows_wait_overdue_and_severe_bp_alert(setup, frontdesk, mat):
    appt = book_today(setup, make_patient(frontdesk, family_name="Varga"))
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ARRIVED)
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ROOMED, room=setup.room)
    Appointment.objects.filter(pk=appt.pk).update(
        status_changed_at=clock.now() - timedelta(minutes=25)
    )
    appt.refresh_from_db()
    enc.record_vitals(
        actor=actor_for(mat),
        patient=appt.patient,
        encounter=appt.encounter,
        entry=VitalsEntry(systolic=192, diastolic=124),
    )
    html = signed_in(mat).get(reverse("scheduling:board")).content.decode()
    assert "is-overdue" in html and "long wait" in html and "25 min" in html
    assert "alert-badge" in html and "Severe blood pressure 192/124" in html
    assert "Alerts for the provider" in html


def test_board_query_count(setup, frontdesk, mat, django_assert_max_num_queries):
    for i in range(8):
        appt = book_today(setup, make_patient(frontdesk), minutes_ago=i)
        if i % 2:
            sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ARRIVED)
    client = signed_in(mat)
    client.get(reverse("scheduling:board"))
    # 8 for session, user and permissions; 7 for the page (facilities, the visits, their
    # steps, the rooms, who is in them, open alerts); the audit event and the session save.
    with django_assert_max_num_queries(24):
        response = client.get(reverse("scheduling:board"))
    assert response.content.decode().count('class="board-row') == 8
    book_today(setup, make_patient(frontdesk))  # one more visit costs no more queries
    with django_assert_max_num_queries(24):
        response = client.get(reverse("scheduling:board"))
    assert response.content.decode().count('class="board-row') == 9


def test_medtech_cannot_use_board(setup, medtech):
    assert signed_in(medtech).get(reverse("scheduling:board")).status_code == 403


# --- setup -------------------------------------------------------------------------------------


def test_manager_sets_up_provider_room_type_and_rules(org, manager, provider):
    client = signed_in(manager)
    facility = org.facilities.first()
    response = client.post(
        reverse("scheduling:providers"),
        {
            "given_name": "Ines",
            "family_name": "Ferreira",
            "credentials": "NP",
            "npi": "1234567890",
            "facilities": [facility.pk],
            "color": "#336699",
        },
    )
    assert response.status_code == 422
    assert "check digit" in response.content.decode()
    response = client.post(
        reverse("scheduling:providers"),
        {
            "given_name": "Ines",
            "family_name": "Ferreira",
            "credentials": "NP",
            "npi": "1234567893",
            "facilities": [facility.pk],
            "color": "#336699",
            "user": provider.pk,
        },
    )
    assert response.status_code == 302
    doc = Provider.objects.get(npi="1234567893")
    assert doc.user == provider
    response = client.post(
        reverse("scheduling:provider", args=[doc.pk]),
        {
            "form": "weekly",
            "weekly-facility": facility.pk,
            "weekly-weekdays": ["MO", "TU"],
            "weekly-every_weeks": 1,
            "weekly-start_time": "08:00",
            "weekly-end_time": "12:00",
            "weekly-starts_on": "2026-01-05",
        },
    )
    assert response.status_code == 302
    assert AvailabilityRule.objects.get(provider=doc).rrule == "FREQ=WEEKLY;BYDAY=MO,TU"
    response = client.post(
        reverse("scheduling:provider", args=[doc.pk]),
        {
            "form": "blocked",
            "blocked-facility": facility.pk,
            "blocked-starts_on": "2026-12-24",
            "blocked-ends_on": "2026-12-26",
            "blocked-reason": "Holiday",
        },
    )
    assert response.status_code == 302
    blocked = AvailabilityRule.objects.get(provider=doc, kind="blocked")
    assert blocked.rrule == "FREQ=DAILY" and blocked.reason == "Holiday"
    html = client.get(reverse("scheduling:provider", args=[doc.pk])).content.decode()
    assert "BYDAY=MO,TU" in html and "Holiday" in html and "calendar.ics?token=" in html
    response = client.post(
        reverse("scheduling:rooms"),
        {
            "facility": facility.pk,
            "name": "Exam 4",
            "kind": "room",
            "room_type": "exam",
            "sort_order": 4,
        },
    )
    assert response.status_code == 302 and Resource.objects.filter(name="Exam 4").exists()
    response = client.post(
        reverse("scheduling:types"),
        {"name": "Allergy shot", "duration_minutes": 3, "color": "#aa3300"},
    )
    assert response.status_code == 422 and "between 5 and 480" in response.content.decode()
    response = client.post(
        reverse("scheduling:types"),
        {
            "name": "Allergy shot",
            "duration_minutes": 10,
            "color": "#aa3300",
            "allow_overbook": "on",
        },
    )
    assert response.status_code == 302


def test_setup_pages_render_and_mat_cannot_add(setup, mat):
    client = signed_in(mat)
    for name in ("providers", "rooms", "types"):
        response = client.get(reverse(f"scheduling:{name}"))
        assert response.status_code == 200, name
        assert 'class="add-entry' not in response.content.decode()
    assert (
        client.post(
            reverse("scheduling:types"), {"name": "X", "duration_minutes": 10, "color": "#000000"}
        ).status_code
        == 403
    )
    html = client.get(reverse("scheduling:provider", args=[setup.provider.pk])).content.decode()
    assert "calendar.ics" not in html  # the feed is for managers and the provider


def test_provider_sees_own_feed_url(setup, provider):
    Provider.objects.filter(pk=setup.provider.pk).update(user=provider)
    html = (
        signed_in(provider)
        .get(reverse("scheduling:provider", args=[setup.provider.pk]))
        .content.decode()
    )
    assert "calendar.ics?token=" in html


# --- the ICS feed ------------------------------------------------------------------------------


def test_ics_feed_with_token_and_404_without(client, setup, frontdesk):
    patient = make_patient(frontdesk, family_name="Hiddenname")
    book(setup, patient, next_weekday_at(9))
    url = reverse("scheduling:calendar", args=[setup.provider.pk])
    response = client.get(url, {"token": calendar_token(setup.provider)})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1 and "Hiddenname" not in response.content.decode()
    assert client.get(url).status_code == 404
    assert client.get(url, {"token": "forged"}).status_code == 404
    other = sched.create_provider(
        actor=setup.actor,
        family_name="B",
        given_name="A",
        npi="1245319599",
        facilities=[setup.facility],
    )
    wrong = reverse("scheduling:calendar", args=[other.pk])
    assert client.get(wrong, {"token": calendar_token(setup.provider)}).status_code == 404
    salted = signing.dumps({"provider": setup.provider.pk, "org": setup.provider.organization_id})
    assert client.get(url, {"token": salted}).status_code == 404


# --- organization scoping ----------------------------------------------------------------------


def test_other_organizations_rows_are_404_everywhere(setup, frontdesk, other_mat):
    appt = book(setup, make_patient(frontdesk), next_weekday_at(9))
    client = signed_in(other_mat)
    for name in ("appointment",):
        assert client.get(reverse(f"scheduling:{name}", args=[appt.pk])).status_code == 404
    posts = {
        "reschedule": {"slot": f"{setup.provider.pk}|{next_weekday_at(11).isoformat()}"},
        "cancel": {"cancel_reason": "x"},
        "no_show": {},
        "advance": {"to": "arrived"},
    }
    for name, data in posts.items():
        url = reverse(f"scheduling:{name}", args=[appt.pk])
        assert client.post(url, data).status_code == 404, name
        assert client.post(url, data, headers=HTMX).status_code == 404, name
    assert (
        client.post(
            reverse("scheduling:room_status", args=[setup.room.pk]), {"status": "ready"}
        ).status_code
        == 404
    )
    assert client.get(reverse("scheduling:provider", args=[setup.provider.pk])).status_code == 404
    assert (
        client.post(
            reverse("scheduling:provider", args=[setup.provider.pk]), {"form": "weekly"}
        ).status_code
        == 404
    )
    # another organization's patient, type or provider is not a valid choice when booking
    stranger = make_patient(other_mat)
    own = make_schedule(other_mat, npi="1245319599")
    response = client.post(
        reverse("scheduling:book"), _book_data(setup, stranger) | {"facility": own.facility.pk}
    )
    assert response.status_code == 422
    appt.refresh_from_db()
    assert appt.status == Status.BOOKED
    html = client.get(reverse("scheduling:day")).content.decode()
    assert reverse("scheduling:appointment", args=[appt.pk]) not in html


def test_signed_out_user_is_sent_to_login(client, setup):
    response = client.get(reverse("scheduling:board"))
    assert response.status_code == 302 and "/account/login/" in response.url


def test_board_facility_switcher(setup, frontdesk):
    from carebench.testing import FacilityFactory

    second = FacilityFactory(organization=frontdesk.organization, name="North Clinic")
    client = signed_in(frontdesk)
    html = client.get(reverse("scheduling:board"), {"facility": second.pk}).content.decode()
    assert "Flow board: North Clinic" in html


# --- HTML built in Python (day_html.py, board_html.py): every value escaped ----------------------

HOSTILE_FAMILY = '<script>alert("x")</script>'
HOSTILE_GIVEN = "O'Brien & <b>Co</b>"


def _hostile_patient(user):
    """Names the registration form refuses, as an import from an older system might hold."""
    patient = make_patient(user)
    Patient.objects.filter(pk=patient.pk).update(
        family_name=HOSTILE_FAMILY, given_name=HOSTILE_GIVEN
    )
    patient.refresh_from_db()
    return patient


def test_day_view_escapes_names_in_the_grid(setup, frontdesk):
    appt = book(setup, _hostile_patient(frontdesk), next_weekday_at(9))
    html = (
        signed_in(frontdesk)
        .get(reverse("scheduling:day"), {"date": appt.start.date().isoformat()})
        .content.decode()
    )
    assert "<script>alert" not in html and "<b>Co</b>" not in html
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;, O&#x27;Brien &amp; &lt;b&gt;Co" in html
    )
    assert f'id="col-{setup.provider.pk}"' in html and "(1)</span>" in html


def test_board_escapes_names_in_its_rows(setup, frontdesk):
    book_today(setup, _hostile_patient(frontdesk))
    html = signed_in(frontdesk).get(reverse("scheduling:board")).content.decode()
    assert "<script>alert" not in html and "<b>Co</b>" not in html
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;, O&#x27;Brien &amp; &lt;b&gt;Co" in html
    )
    assert 'aria-label="Copay for &lt;script&gt;' in html
    assert 'name="csrfmiddlewaretoken"' in html and ">Check in</button>" in html
