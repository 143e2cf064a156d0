"""Writes for the inbox: create an item, assign it, comment, start, complete, cancel, reopen.

Every function is keyword-only with the `Actor` first, runs in one transaction, writes one
`ItemEvent` on the item's trail and one audit event (with the patient when there is one). Bad
input raises a `ValidationError` naming the field and the rule (nothing is written); a row of
another organization raises `PermissionError`. The item row is locked before its status is
checked, so two people closing the same item at once cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction

from carebench.accounts.roles import ROLE_LABELS
from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.patients.validation import normalize_phone

from . import due
from .models import Item, ItemEvent

if TYPE_CHECKING:
    from carebench.accounts.models import User
    from carebench.patients.models import MedicationStatement, Patient

MAX_NOTE = 4000


@dataclass(frozen=True)
class Assignee:
    """Who an item goes to: a user or a role (a group named in ROLE_LABELS), never both."""

    user: User | None = None
    role: str = ""


def zone_for(actor: Actor) -> str:
    """The clinic's zone for business days: the user's facility, else the organization's first."""
    facility = (
        getattr(actor.user, "default_facility", None) or actor.organization.facilities.first()
    )
    return facility.time_zone if facility is not None else settings.CAREBENCH_DEFAULT_TIME_ZONE


def _check_assignee(actor: Actor, assignee: Assignee, errors: FieldErrors) -> None:
    if (assignee.user is None) == (not assignee.role):
        errors.add("assignee", "assign to one person or one role")
        return
    if assignee.user is not None:
        if assignee.user.organization_id != actor.organization.pk:
            errors.add("assignee", "that user is not in this organization")
        elif not assignee.user.is_active:
            errors.add("assignee", f"{assignee.user.display_name} is not an active user")
    elif assignee.role not in ROLE_LABELS:
        errors.add("assignee", f"there is no role {assignee.role!r}")


def _event(actor: Actor, item: Item, kind: str, **fields: Any) -> ItemEvent:
    return ItemEvent.objects.create(
        organization=item.organization,
        created_by=actor.user,
        item=item,
        kind=kind,
        **fields,
    )


def _audit(actor: Actor, action: str, item: Item, detail: dict[str, Any]) -> None:
    audit.record_for_actor(
        actor,
        action=action,
        patient_id=item.patient_id,
        resource_type="InboxItem",
        resource_id=item.pk,
        detail=detail,
    )


def _note(errors: FieldErrors, field: str, note: str, *, required: str = "") -> str:
    note = (note or "").strip()
    if required and not note:
        errors.add(field, required)
    if len(note) > MAX_NOTE:
        errors.add(field, f"keep it under {MAX_NOTE} characters")
    return note


def create_item(
    *,
    actor: Actor,
    kind: str,
    subject: str,
    assignee: Assignee,
    priority: str = Item.Priority.ROUTINE,
    patient: Patient | None = None,
    body: str = "",
    due_at: datetime | None = None,
    caller_name: str = "",
    caller_relationship: str = "",
    callback_number: str = "",
    best_time: str = "",
    medication: MedicationStatement | None = None,
    medication_text: str = "",
    pharmacy: str = "",
    quantity: str = "",
) -> Item:
    """A phone message, refill request or task, assigned to one user or one role. Without
    `due_at` it is due by kind and priority (`due.default_due`)."""
    if patient is not None:
        actor.check_owns(patient, "patient")
    if medication is not None:
        actor.check_owns(medication, "medication")
    errors = FieldErrors()
    now = clock.now()
    if kind not in Item.Kind.values:
        errors.add("kind", f"unknown kind {kind!r}")
    if priority not in Item.Priority.values:
        errors.add("priority", f"unknown priority {priority!r}")
    subject = subject.strip()
    if not subject:
        errors.add("subject", "say in a few words what it is about")
    elif len(subject) > 200:
        errors.add("subject", "keep it under 200 characters")
    body = _note(errors, "body", body)
    if patient is not None and patient.is_voided:
        errors.add("patient", "this patient's record was voided")
    _check_assignee(actor, assignee, errors)
    if kind == Item.Kind.PHONE:
        if not callback_number.strip():
            errors.add("callback_number", "a phone message needs a call-back number")
        else:
            callback_number = (
                errors.check("callback_number", normalize_phone, callback_number) or ""
            )
    elif callback_number.strip():
        callback_number = errors.check("callback_number", normalize_phone, callback_number) or ""
    medication_text = medication_text.strip()
    if kind == Item.Kind.REFILL:
        if patient is None:
            errors.add("patient", "a refill request is for a patient")
        if medication is None and not medication_text:
            errors.add("medication", "name the medication to refill")
    if medication is not None:
        if patient is None or medication.patient_id != patient.pk:
            errors.add("medication", "pick a medication from this patient's list")
        elif medication.is_voided:
            errors.add("medication", "that medication entry was voided")
    if due_at is not None and due_at <= now:
        errors.add("due_at", "the due time must be in the future")
    errors.raise_if_any()
    if due_at is None:
        due_at = due.default_due(kind, priority, now, zone_for(actor))
    with transaction.atomic():
        item = Item.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            kind=kind,
            patient=patient,
            subject=subject,
            body=body,
            caller_name=caller_name.strip(),
            caller_relationship=caller_relationship.strip(),
            callback_number=callback_number,
            best_time=best_time.strip(),
            medication=medication,
            medication_text="" if medication is not None else medication_text,
            pharmacy=pharmacy.strip(),
            quantity=quantity.strip(),
            assigned_user=assignee.user,
            assigned_role=assignee.role,
            priority=priority,
            due_at=due_at,
        )
        _event(
            actor,
            item,
            ItemEvent.Kind.CREATED,
            to_status=item.status,
            to_user=assignee.user,
            to_role=assignee.role,
            note=body,
        )
        _audit(
            actor,
            Action.CREATE,
            item,
            {"kind": kind, "priority": priority, "assigned_to": item.assignee_label},
        )
    return item


def _locked(actor: Actor, item: Item) -> Item:
    """The item re-read under a row lock (SQLite: the IMMEDIATE transaction already holds it)."""
    actor.check_owns(item, "item")
    return Item.objects.select_for_update().get(pk=item.pk)


def _refresh(item: Item, locked: Item) -> None:
    """Copy the written row's state back onto the caller's instance."""
    for name in ("status", "assigned_user_id", "assigned_role", "closed_at", "closed_by_id"):
        setattr(item, name, getattr(locked, name))
    for cached in ("assigned_user", "closed_by"):
        item._state.fields_cache.pop(cached, None)


def assign_item(*, actor: Actor, item: Item, assignee: Assignee, note: str = "") -> Item:
    """Give an open item to another user or role. Work in progress goes back to open: the new
    assignee starts it."""
    errors = FieldErrors()
    note = _note(errors, "note", note)
    _check_assignee(actor, assignee, errors)
    errors.raise_if_any()
    with transaction.atomic():
        row = _locked(actor, item)
        if row.status not in Item.OPEN_STATUSES:
            errors.add(
                "assignee", f"this item is {row.get_status_display().lower()}: reopen it first"
            )
        elif row.assigned_user_id == (assignee.user.pk if assignee.user else None) and (
            row.assigned_role == assignee.role
        ):
            errors.add("assignee", f"it is already assigned to {row.assignee_label}")
        errors.raise_if_any()
        event = _event(
            actor,
            row,
            ItemEvent.Kind.ASSIGNED,
            from_user_id=row.assigned_user_id,
            from_role=row.assigned_role,
            to_user=assignee.user,
            to_role=assignee.role,
            from_status=row.status,
            to_status=Item.Status.OPEN,
            note=note,
        )
        row.assigned_user = assignee.user
        row.assigned_role = assignee.role
        row.status = Item.Status.OPEN
        row.save(update_fields=["assigned_user", "assigned_role", "status", "updated_at"])
        _audit(
            actor,
            Action.UPDATE,
            row,
            {"event": "assigned", "to": row.assignee_label, "trail": event.pk},
        )
    _refresh(item, row)
    return item


def comment_on_item(*, actor: Actor, item: Item, note: str) -> ItemEvent:
    """Add a comment to the trail (open or closed items alike)."""
    errors = FieldErrors()
    note = _note(errors, "note", note, required="write the comment")
    errors.raise_if_any()
    with transaction.atomic():
        row = _locked(actor, item)
        event = _event(actor, row, ItemEvent.Kind.COMMENT, note=note)
        Item.objects.filter(pk=row.pk).update(updated_at=clock.now())
        _audit(actor, Action.UPDATE, row, {"event": "comment", "trail": event.pk})
    return event


def _move(
    actor: Actor,
    item: Item,
    *,
    to: str,
    allowed_from: tuple[str, ...],
    note: str,
    field: str = "note",
    claim: bool = False,
) -> Item:
    errors = FieldErrors()
    with transaction.atomic():
        row = _locked(actor, item)
        if row.status not in allowed_from:
            errors.add(
                "status",
                f"this item is {row.get_status_display().lower()}; it cannot become "
                f"{Item.Status(to).label.lower()}",
            )
        errors.raise_if_any()
        fields: dict[str, Any] = {"from_status": row.status, "to_status": to, "note": note}
        if claim and actor.user is not None and row.assigned_user_id != actor.user.pk:
            fields.update(
                from_user_id=row.assigned_user_id,
                from_role=row.assigned_role,
                to_user=actor.user,
                to_role="",
            )
            row.assigned_user = actor.user
            row.assigned_role = ""
        event = _event(actor, row, ItemEvent.Kind.STATUS, **fields)
        row.status = to
        if to in Item.CLOSED_STATUSES:
            row.closed_at = clock.now()
            row.closed_by = actor.user
        else:
            row.closed_at = None
            row.closed_by = None
        row.save(
            update_fields=[
                "status",
                "assigned_user",
                "assigned_role",
                "closed_at",
                "closed_by",
                "updated_at",
            ]
        )
        _audit(actor, Action.UPDATE, row, {"event": "status", "to": to, "trail": event.pk})
    _refresh(item, row)
    return item


def start_item(*, actor: Actor, item: Item, note: str = "") -> Item:
    """I am working on it: open → in progress, and it becomes mine (taken from a role's
    queue or from a colleague, which the trail shows)."""
    errors = FieldErrors()
    note = _note(errors, "note", note)
    errors.raise_if_any()
    return _move(
        actor,
        item,
        to=Item.Status.IN_PROGRESS,
        allowed_from=(Item.Status.OPEN,),
        note=note,
        claim=True,
    )


def complete_item(*, actor: Actor, item: Item, note: str = "") -> Item:
    """Done, with what was done ("called back, sent to pharmacy")."""
    errors = FieldErrors()
    note = _note(errors, "note", note)
    errors.raise_if_any()
    return _move(actor, item, to=Item.Status.DONE, allowed_from=Item.OPEN_STATUSES, note=note)


def cancel_item(*, actor: Actor, item: Item, reason: str) -> Item:
    """Not to be done after all; the reason is required and kept on the trail."""
    errors = FieldErrors()
    reason = _note(errors, "reason", reason, required="say why it is cancelled")
    errors.raise_if_any()
    return _move(
        actor, item, to=Item.Status.CANCELLED, allowed_from=Item.OPEN_STATUSES, note=reason
    )


def reopen_item(*, actor: Actor, item: Item, note: str = "") -> Item:
    """A done or cancelled item back to open, with the same assignee."""
    errors = FieldErrors()
    note = _note(errors, "note", note)
    errors.raise_if_any()
    return _move(actor, item, to=Item.Status.OPEN, allowed_from=Item.CLOSED_STATUSES, note=note)
