from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from carebench.audit.models import AuditEvent
from carebench.scheduling import services as sched
from carebench.scheduling.models import Appointment, AppointmentStep, Resource, Status
from carebench.testing import make_patient, make_schedule, next_weekday_at


@pytest.fixture
def setup(frontdesk):
    return make_schedule(frontdesk)


def _request(setup, patient, start, **kw):
    return sched.BookingRequest(
        patient=patient,
        provider=setup.provider,
        appointment_type=kw.pop("kind", setup.visit),
        start=start,
        facility=setup.facility,
        **kw,
    )


def test_books_inside_availability_and_records_the_step(setup, frontdesk):
    patient = make_patient(frontdesk)
    appt = sched.book_appointment(
        actor=setup.actor, request=_request(setup, patient, next_weekday_at(9))
    )
    assert appt.end - appt.start == timedelta(minutes=30)
    assert AppointmentStep.objects.filter(appointment=appt, status="booked").exists()
    assert AuditEvent.objects.filter(resource_type="Appointment", action="create").exists()


def test_provider_cannot_be_double_booked(setup, frontdesk):
    first, second = make_patient(frontdesk), make_patient(frontdesk)
    sched.book_appointment(actor=setup.actor, request=_request(setup, first, next_weekday_at(9)))
    with pytest.raises(sched.BookingConflict, match="already has an appointment"):
        sched.book_appointment(
            actor=setup.actor, request=_request(setup, second, next_weekday_at(9, 15))
        )
    assert Appointment.objects.count() == 1


def test_patient_cannot_be_double_booked_with_two_providers(setup, frontdesk):
    other = make_schedule(frontdesk, npi="1245319599")
    patient = make_patient(frontdesk)
    sched.book_appointment(actor=setup.actor, request=_request(setup, patient, next_weekday_at(9)))
    req = sched.BookingRequest(
        patient=patient,
        provider=other.provider,
        appointment_type=other.visit,
        start=next_weekday_at(9),
        facility=other.facility,
    )
    with pytest.raises(sched.BookingConflict, match="the patient already"):
        sched.book_appointment(actor=setup.actor, request=req)


def test_overbook_type_may_overlap(frontdesk):
    setup = make_schedule(frontdesk, overbook=True)
    sched.book_appointment(
        actor=setup.actor, request=_request(setup, make_patient(frontdesk), next_weekday_at(9))
    )
    sched.book_appointment(
        actor=setup.actor, request=_request(setup, make_patient(frontdesk), next_weekday_at(9))
    )
    assert Appointment.objects.count() == 2


def test_cancelled_slot_can_be_booked_again(setup, frontdesk):
    appt = sched.book_appointment(
        actor=setup.actor, request=_request(setup, make_patient(frontdesk), next_weekday_at(9))
    )
    sched.cancel_appointment(actor=setup.actor, appointment=appt, reason="patient called")
    sched.book_appointment(
        actor=setup.actor, request=_request(setup, make_patient(frontdesk), next_weekday_at(9))
    )


@pytest.mark.parametrize("hour,message", [(7, "not available"), (16, "not available")])
def test_outside_availability_is_refused(setup, frontdesk, hour, message):
    start = next_weekday_at(hour, 45)
    with pytest.raises(ValidationError) as err:
        sched.book_appointment(
            actor=setup.actor, request=_request(setup, make_patient(frontdesk), start)
        )
    assert message in err.value.message_dict["start"][0]


def test_booking_in_the_past_is_refused(setup, frontdesk):
    with pytest.raises(ValidationError) as err:
        sched.book_appointment(
            actor=setup.actor,
            request=_request(setup, make_patient(frontdesk), next_weekday_at(9, weeks_ahead=-2)),
        )
    assert "past" in err.value.message_dict["start"][0]


def test_patient_of_another_organization_is_refused(setup, other_mat):
    stranger = make_patient(other_mat)
    with pytest.raises(ValidationError) as err:
        sched.book_appointment(
            actor=setup.actor, request=_request(setup, stranger, next_weekday_at(9))
        )
    assert "patient" in err.value.message_dict


def test_holiday_blocks_booking(setup, frontdesk):
    from datetime import time

    day = next_weekday_at(9)
    sched.add_availability_rule(
        actor=setup.actor,
        provider=setup.provider,
        facility=setup.facility,
        kind="blocked",
        rrule="FREQ=DAILY;COUNT=1",
        start_time=time(0),
        end_time=time(0),
        starts_on=day.date(),
        reason="holiday",
    )
    with pytest.raises(ValidationError):
        sched.book_appointment(
            actor=setup.actor, request=_request(setup, make_patient(frontdesk), day)
        )


def test_overlapping_templates_are_refused(setup):
    from datetime import date, time

    with pytest.raises(ValidationError) as err:
        sched.add_availability_rule(
            actor=setup.actor,
            provider=setup.provider,
            facility=setup.facility,
            rrule="FREQ=WEEKLY;BYDAY=MO",
            start_time=time(16),
            end_time=time(18),
            starts_on=date(2026, 1, 1),
        )
    assert "overlaps" in err.value.message_dict["rrule"][0]


def test_series_books_all_or_nothing(setup, frontdesk):
    patient = make_patient(frontdesk)
    blocker = make_patient(frontdesk)
    sched.book_appointment(
        actor=setup.actor, request=_request(setup, blocker, next_weekday_at(9, weeks_ahead=3))
    )
    with pytest.raises(ValidationError) as err:
        sched.book_series(
            actor=setup.actor,
            request=_request(setup, patient, next_weekday_at(9)),
            rrule="FREQ=WEEKLY",
            count=4,
        )
    assert "cannot be booked" in err.value.message_dict["rrule"][0]
    assert Appointment.objects.filter(patient=patient).count() == 0
    booked = sched.book_series(
        actor=setup.actor,
        request=_request(setup, patient, next_weekday_at(10)),
        rrule="FREQ=WEEKLY",
        count=4,
    )
    assert len(booked) == 4 and len({a.series_id for a in booked}) == 1


def test_reschedule_moves_and_audits_old_time(setup, frontdesk):
    appt = sched.book_appointment(
        actor=setup.actor, request=_request(setup, make_patient(frontdesk), next_weekday_at(9))
    )
    sched.reschedule_appointment(actor=setup.actor, appointment=appt, start=next_weekday_at(11))
    appt.refresh_from_db()
    assert appt.start == next_weekday_at(11)
    event = AuditEvent.objects.filter(resource_type="Appointment", action="update").last()
    assert "rescheduled" in event.detail


def test_flow_moves_step_by_step_and_rooms(setup, frontdesk, mat):
    appt = sched.book_appointment(
        actor=setup.actor, request=_request(setup, make_patient(frontdesk), next_weekday_at(9))
    )
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ARRIVED)
    assert appt.encounter.status == "in-progress"
    with pytest.raises(ValidationError):
        sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.READY)
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ROOMED, room=setup.room)
    setup.room.refresh_from_db()
    assert setup.room.status == Resource.RoomStatus.OCCUPIED
    for step in (Status.READY, Status.WITH_PROVIDER, Status.CHECKOUT):
        sched.advance_flow(actor=setup.actor, appointment=appt, to=step)
    setup.room.refresh_from_db()
    assert setup.room.status == Resource.RoomStatus.NEEDS_TURNOVER
    sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.DONE)
    appt.encounter.refresh_from_db()
    assert appt.encounter.status == "finished"
    assert [s.status for s in appt.steps.all()] == [
        "booked",
        "arrived",
        "roomed",
        "ready",
        "with_provider",
        "checkout",
        "done",
    ]


def test_no_show_only_after_start(setup, frontdesk):
    appt = sched.book_appointment(
        actor=setup.actor, request=_request(setup, make_patient(frontdesk), next_weekday_at(9))
    )
    with pytest.raises(ValidationError):
        sched.mark_no_show(actor=setup.actor, appointment=appt)


def test_provider_npi_check_digit_is_enforced(frontdesk):
    with pytest.raises(ValidationError) as err:
        make_schedule(frontdesk, npi="1234567890")
    assert "check digit" in err.value.message_dict["npi"][0]
