from datetime import timedelta

import pytest
from icalendar import Calendar

from carebench.encounters import services as enc
from carebench.encounters.vitals import VitalsEntry
from carebench.scheduling import selectors
from carebench.scheduling import services as sched
from carebench.scheduling.ics import provider_calendar
from carebench.scheduling.models import Status
from carebench.testing import actor_for, make_patient, make_schedule, next_weekday_at


@pytest.fixture
def setup(frontdesk):
    return make_schedule(frontdesk)


def _book(setup, patient, start):
    return sched.book_appointment(
        actor=setup.actor,
        request=sched.BookingRequest(
            patient=patient,
            provider=setup.provider,
            appointment_type=setup.visit,
            start=start,
            facility=setup.facility,
        ),
    )


def test_day_view_groups_by_provider_in_one_query_per_list(
    setup, frontdesk, django_assert_max_num_queries
):
    for hour in (9, 10, 11):
        _book(setup, make_patient(frontdesk), next_weekday_at(hour))
    with django_assert_max_num_queries(2):
        columns = selectors.day_view(
            frontdesk.organization, setup.facility, next_weekday_at(9).date()
        )
        assert [len(c.appointments) for c in columns] == [3]


def test_next_open_slots_skip_booked_time(setup, frontdesk):
    day = next_weekday_at(8)
    _book(setup, make_patient(frontdesk), day)
    found = selectors.next_open_slots(
        frontdesk.organization,
        setup.visit,
        date_from=day.date(),
        date_to=day.date(),
        facility=setup.facility,
        limit=3,
    )
    assert found[0].start == day + timedelta(minutes=30)
    assert all(s.provider == setup.provider for s in found)


def test_next_open_slots_are_few_queries(setup, frontdesk, django_assert_max_num_queries):
    day = next_weekday_at(8)
    with django_assert_max_num_queries(3):
        selectors.next_open_slots(
            frontdesk.organization,
            setup.visit,
            date_from=day.date(),
            date_to=day.date() + timedelta(days=30),
            facility=setup.facility,
        )


def test_flow_board_shows_steps_wait_and_alerts(setup, frontdesk, mat):
    start = next_weekday_at(9)
    appt = _book(setup, make_patient(frontdesk), start)
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ARRIVED)
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ROOMED, room=setup.room)
    enc.record_vitals(
        actor=actor_for(mat),
        patient=appt.patient,
        encounter=appt.encounter,
        entry=VitalsEntry(systolic=190, diastolic=125),
    )
    rows = selectors.flow_board(frontdesk.organization, setup.facility, start.date())
    assert len(rows) == 1
    row = rows[0]
    assert set(row.step_times) == {"booked", "arrived", "roomed"}
    assert row.alerts and "Severe blood pressure" in row.alerts[0]


def test_room_board_shows_who_is_in_the_room(setup, frontdesk):
    appt = _book(setup, make_patient(frontdesk), next_weekday_at(9))
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ARRIVED)
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ROOMED, room=setup.room)
    rooms = selectors.room_board(frontdesk.organization, setup.facility)
    assert rooms[0].status == "occupied"
    assert rooms[0].current_appointment.pk == appt.pk


def test_ics_feed_parses_and_hides_patient_names(setup, frontdesk):
    patient = make_patient(frontdesk, family_name="Secretname")
    appt = _book(setup, patient, next_weekday_at(9))
    data = provider_calendar(setup.provider, [appt])
    calendar = Calendar.from_ical(data)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1 and events[0]["summary"] == setup.visit.name
    assert b"Secretname" not in data


def test_board_counts_lateness_for_visits_not_yet_arrived(setup, frontdesk):
    from carebench.core import clock

    start = next_weekday_at(9)
    _book(setup, make_patient(frontdesk), start)
    with clock.frozen(start - timedelta(minutes=30)):
        early = selectors.flow_board(frontdesk.organization, setup.facility, start.date())[0]
    with clock.frozen(start + timedelta(minutes=20)):
        late = selectors.flow_board(frontdesk.organization, setup.facility, start.date())[0]
    assert early.minutes_in_step <= 0 and not early.overdue
    assert late.minutes_in_step == 20 and late.overdue
