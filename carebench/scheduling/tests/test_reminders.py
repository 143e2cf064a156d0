from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command

from carebench.core import clock
from carebench.patients.models import Patient
from carebench.scheduling import services as sched
from carebench.scheduling.models import Appointment, Reminder
from carebench.scheduling.reminders import ConsoleSmsBackend
from carebench.testing import make_patient, make_schedule, next_weekday_at


@pytest.fixture
def booked(frontdesk, settings):
    settings.CAREBENCH_REMINDER_LEAD_HOURS = [48, 2]
    setup = make_schedule(frontdesk)

    def book(**patient_fields):
        patient = make_patient(frontdesk, **patient_fields)
        appt = sched.book_appointment(
            actor=setup.actor,
            request=sched.BookingRequest(
                patient=patient,
                provider=setup.provider,
                appointment_type=setup.visit,
                start=next_weekday_at(9 + Appointment.objects.count()),
                facility=setup.facility,
            ),
        )
        # booked well ahead of the reminder windows
        Appointment.objects.filter(pk=appt.pk).update(created_at=appt.start - timedelta(days=10))
        return appt

    ConsoleSmsBackend.outbox.clear()
    return book


def test_sms_reminder_goes_to_mobile_once(booked):
    appt = booked(phone_mobile="512-555-0111")
    at = appt.start - timedelta(hours=47)
    assert sched.send_due_reminders(now=at)["sent"] == 1
    assert sched.send_due_reminders(now=at + timedelta(minutes=1))["sent"] == 0
    assert ConsoleSmsBackend.outbox[0][0] == "5125550111"
    assert "Okafor" in ConsoleSmsBackend.outbox[0][1]
    assert Reminder.objects.get(appointment=appt).lead_hours == 48


def test_email_reminder_when_no_mobile(booked):
    appt = booked(email="pat@example.org")
    sched.send_due_reminders(now=appt.start - timedelta(hours=1))
    assert [m.to for m in mail.outbox] == [["pat@example.org"]]
    # the 2-hour reminder is sent; the overdue 48-hour one is recorded as superseded
    assert Reminder.objects.filter(appointment=appt, outcome="sent").get().lead_hours == 2
    assert Reminder.objects.filter(appointment=appt, outcome="skipped").get().lead_hours == 48


def test_opted_out_patient_is_skipped_and_recorded(booked):
    appt = booked(phone_mobile="512-555-0112")
    Patient.objects.filter(pk=appt.patient_id).update(reminders_opt_out=True)
    sched.send_due_reminders(now=appt.start - timedelta(hours=47))
    assert ConsoleSmsBackend.outbox == []
    assert Reminder.objects.get(appointment=appt).outcome == "skipped"


def test_cancelled_visits_get_no_reminder(booked):
    appt = booked(phone_mobile="512-555-0113")
    sched.cancel_appointment(
        actor=sched.Actor.system(appt.organization), appointment=appt, reason="rescheduled by phone"
    )
    assert sched.send_due_reminders(now=appt.start - timedelta(hours=47))["sent"] == 0


def test_visit_booked_inside_lead_time_gets_no_early_reminder(booked):
    appt = booked(phone_mobile="512-555-0114")
    Appointment.objects.filter(pk=appt.pk).update(created_at=appt.start - timedelta(hours=5))
    counts = sched.send_due_reminders(now=appt.start - timedelta(hours=4))
    assert counts["sent"] == 0


@pytest.mark.django_db(transaction=True)
def test_worker_once_runs_queued_reminders(booked):
    appt = booked(phone_mobile="512-555-0115")
    Appointment.objects.filter(pk=appt.pk).update(
        start=clock.now() + timedelta(hours=1),
        end=clock.now() + timedelta(hours=1, minutes=30),
        created_at=clock.now() - timedelta(days=5),
    )
    call_command("carebench_worker", "--once")
    assert Reminder.objects.filter(appointment=appt, outcome="sent").exists()
