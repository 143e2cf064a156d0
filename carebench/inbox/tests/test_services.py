"""Creating and working inbox items: the rules, the trail, and the audit."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from carebench.audit.models import AuditEvent
from carebench.core import clock
from carebench.inbox import services
from carebench.inbox.models import Item, ItemEvent
from carebench.patients import services as patient_services
from carebench.testing import UserFactory, actor_for, make_patient

from .factories import make_item

pytestmark = pytest.mark.django_db

WEDNESDAY_10AM = datetime(2026, 11, 18, 10, tzinfo=ZoneInfo("America/Chicago"))


def _fields(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return set(exc.value.message_dict)


def test_a_refill_request_needs_a_patient_and_a_medication(mat):
    with pytest.raises(ValidationError) as exc:
        make_item(mat, kind=Item.Kind.REFILL, subject="Refill")
    assert _fields(exc) == {"patient", "medication"}


def test_a_refill_request_takes_a_medication_from_the_patients_list(mat):
    patient = make_patient(mat)
    med = patient_services.add_medication(
        actor=actor_for(mat), patient=patient, medication="Lisinopril 10 mg tablet"
    )
    item = make_item(mat, kind=Item.Kind.REFILL, patient=patient, medication=med, pharmacy="CVS")
    assert item.medication_name == "Lisinopril 10 mg tablet"


def test_a_refill_medication_must_be_on_that_patients_list(mat):
    patient, other = make_patient(mat), make_patient(mat)
    med = patient_services.add_medication(actor=actor_for(mat), patient=other, medication="Aspirin")
    with pytest.raises(ValidationError) as exc:
        make_item(mat, kind=Item.Kind.REFILL, patient=patient, medication=med)
    assert exc.value.message_dict["medication"] == ["pick a medication from this patient's list"]


def test_a_phone_message_needs_a_dialable_call_back_number(mat):
    with pytest.raises(ValidationError) as exc:
        make_item(mat, kind=Item.Kind.PHONE, callback_number="")
    assert exc.value.message_dict == {
        "callback_number": ["a phone message needs a call-back number"]
    }
    with pytest.raises(ValidationError) as exc:
        make_item(mat, kind=Item.Kind.PHONE, callback_number="555-01")
    assert _fields(exc) == {"callback_number"}
    item = make_item(mat, kind=Item.Kind.PHONE, callback_number="(512) 555-0147")
    assert item.callback_number == "5125550147"


def test_the_assignee_must_be_an_active_user_of_the_organization(mat, other_mat):
    with pytest.raises(ValidationError) as exc:
        make_item(mat, to_user=other_mat)
    assert exc.value.message_dict == {"assignee": ["that user is not in this organization"]}
    gone = UserFactory(organization=mat.organization, is_active=False, roles=["mat"])
    with pytest.raises(ValidationError) as exc:
        make_item(mat, to_user=gone)
    assert "is not an active user" in exc.value.message_dict["assignee"][0]


def test_the_role_must_exist_and_only_one_assignee_is_allowed(mat):
    with pytest.raises(ValidationError) as exc:
        make_item(mat, to_role="janitor")
    assert exc.value.message_dict == {"assignee": ["there is no role 'janitor'"]}
    with pytest.raises(ValidationError) as exc:
        services.create_item(
            actor=actor_for(mat),
            kind=Item.Kind.TASK,
            subject="Both",
            assignee=services.Assignee(user=mat, role="mat"),
        )
    assert exc.value.message_dict == {"assignee": ["assign to one person or one role"]}


def test_nothing_is_written_when_a_rule_fails(mat):
    with pytest.raises(ValidationError):
        make_item(mat, subject="  ")
    assert not Item.objects.exists() and not ItemEvent.objects.exists()


def test_another_organizations_patient_is_refused(mat, other_org):
    stranger = make_patient(other_org)
    with pytest.raises(PermissionError):
        make_item(mat, patient=stranger)


def test_default_due_time_by_kind_and_priority(mat):
    patient = make_patient(mat)
    with clock.frozen(WEDNESDAY_10AM):
        refill = make_item(
            mat, kind=Item.Kind.REFILL, patient=patient, medication_text="Metformin 500 mg"
        )
        stat = make_item(mat, priority=Item.Priority.STAT)
    assert refill.due_at == WEDNESDAY_10AM + timedelta(days=2)
    assert stat.due_at == WEDNESDAY_10AM + timedelta(hours=1)


def test_a_given_due_time_must_be_in_the_future(mat):
    with pytest.raises(ValidationError) as exc:
        make_item(mat, due_at=clock.now() - timedelta(minutes=5))
    assert _fields(exc) == {"due_at"}


def test_the_trail_keeps_every_step_in_order(mat, frontdesk):
    actor = actor_for(mat)
    item = make_item(frontdesk, to_role="mat", body="Mrs. Lopez asks about her labs")
    services.start_item(actor=actor, item=item)
    services.comment_on_item(actor=actor, item=item, note="Left a voicemail")
    services.assign_item(actor=actor, item=item, assignee=services.Assignee(user=frontdesk))
    services.complete_item(actor=actor_for(frontdesk), item=item, note="Called back")
    services.reopen_item(actor=actor, item=item, note="She called again")
    trail = list(item.events.order_by("created_at", "pk"))
    assert [(e.kind, e.to_status) for e in trail] == [
        ("created", "open"),
        ("status", "in_progress"),
        ("comment", ""),
        ("assigned", "open"),
        ("status", "done"),
        ("status", "open"),
    ]
    assert trail[1].from_role == "mat" and trail[1].to_user == mat  # started = taken from the team
    assert trail[3].from_user == mat and trail[3].to_user == frontdesk
    assert trail[4].note == "Called back" and trail[4].created_by == frontdesk
    item.refresh_from_db()
    assert item.status == Item.Status.OPEN and item.closed_at is None


def test_cancel_needs_a_reason(mat):
    item = make_item(mat)
    with pytest.raises(ValidationError) as exc:
        services.cancel_item(actor=actor_for(mat), item=item, reason="  ")
    assert exc.value.message_dict == {"reason": ["say why it is cancelled"]}
    services.cancel_item(actor=actor_for(mat), item=item, reason="Duplicate of the fax")
    item.refresh_from_db()
    assert item.status == Item.Status.CANCELLED and item.closed_by == mat


def test_status_changes_follow_the_rules(mat):
    actor = actor_for(mat)
    item = make_item(mat)
    with pytest.raises(ValidationError) as exc:
        services.reopen_item(actor=actor, item=item)
    assert _fields(exc) == {"status"}
    services.complete_item(actor=actor, item=item)
    for step in (services.start_item, services.complete_item):
        with pytest.raises(ValidationError):
            step(actor=actor, item=item)
    with pytest.raises(ValidationError) as exc:
        services.assign_item(actor=actor, item=item, assignee=services.Assignee(role="mat"))
    assert "reopen it first" in exc.value.message_dict["assignee"][0]


def test_assigning_to_the_same_assignee_is_refused(mat):
    item = make_item(mat, to_role="frontdesk")
    with pytest.raises(ValidationError) as exc:
        services.assign_item(
            actor=actor_for(mat), item=item, assignee=services.Assignee(role="frontdesk")
        )
    assert exc.value.message_dict == {"assignee": ["it is already assigned to Front desk (team)"]}


def test_every_write_is_audited_with_the_patient(mat):
    patient = make_patient(mat)
    before = AuditEvent.objects.count()
    item = make_item(mat, patient=patient)
    services.comment_on_item(actor=actor_for(mat), item=item, note="Noted")
    services.complete_item(actor=actor_for(mat), item=item)
    events = list(AuditEvent.objects.order_by("pk")[before:])
    assert [(e.action, e.resource_type, e.patient_id) for e in events] == [
        ("create", "InboxItem", patient.pk),
        ("update", "InboxItem", patient.pk),
        ("update", "InboxItem", patient.pk),
    ]


def test_another_organizations_item_cannot_be_worked(mat, other_mat):
    item = make_item(other_mat)
    with pytest.raises(PermissionError):
        services.complete_item(actor=actor_for(mat), item=item)


def test_items_and_their_trail_are_never_deleted(mat):
    item = make_item(mat)
    with pytest.raises(PermissionError):
        item.delete()
    event = item.events.get()
    with pytest.raises(PermissionError):
        event.delete()
    event.note = "rewritten"
    with pytest.raises(PermissionError):
        event.save()
