"""Phone messages, refill requests and tasks (`Item`), and the trail of each (`ItemEvent`).

An item is assigned to exactly one user or one role (a group named in accounts/roles.py
ROLE_LABELS); the database refuses both or neither. Nothing here is deleted: an item is
cancelled with a reason, and its events are append-only.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from carebench.core.models import OrganizationScoped

from . import due


class Item(OrganizationScoped):
    class Kind(models.TextChoices):
        PHONE = due.PHONE, "Phone message"
        REFILL = due.REFILL, "Refill request"
        TASK = due.TASK, "Task"

    class Priority(models.TextChoices):
        ROUTINE = due.ROUTINE, "Routine"
        URGENT = due.URGENT, "Urgent"
        STAT = due.STAT, "STAT"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)
    CLOSED_STATUSES = (Status.DONE, Status.CANCELLED)

    kind = models.CharField(max_length=10, choices=Kind.choices)
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inbox_items",
    )
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # a phone message
    caller_name = models.CharField(max_length=200, blank=True)
    caller_relationship = models.CharField(
        max_length=60, blank=True, help_text="self, mother, pharmacy, home health…"
    )
    callback_number = models.CharField("call-back number", max_length=20, blank=True)
    best_time = models.CharField("best time to call", max_length=100, blank=True)
    # a refill request: the medication list entry when known, else what the caller said
    medication = models.ForeignKey(
        "patients.MedicationStatement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    medication_text = models.CharField("medication", max_length=200, blank=True)
    pharmacy = models.CharField(max_length=200, blank=True)
    quantity = models.CharField(max_length=60, blank=True, help_text="for example 30 tablets")
    # exactly one of these two
    assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inbox_items",
    )
    assigned_role = models.CharField(max_length=30, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["due_at", "pk"]
        permissions = [("view_all_items", "Can see every open item of the organization")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(assigned_user__isnull=False) & Q(assigned_role=""))
                | (Q(assigned_user__isnull=True) & ~Q(assigned_role="")),
                name="inbox_item_one_assignee",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "assigned_user", "status"], name="inbox_user"),
            models.Index(fields=["organization", "assigned_role", "status"], name="inbox_role"),
            models.Index(fields=["organization", "patient"], name="inbox_patient"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("inbox items are never deleted: cancel them with a reason")

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def is_overdue_at(self, now: Any) -> bool:
        return self.is_open and self.due_at < now

    @property
    def medication_name(self) -> str:
        return self.medication.medication if self.medication is not None else self.medication_text

    @property
    def callback_display(self) -> str:
        from carebench.patients.validation import format_phone

        return format_phone(self.callback_number)

    @property
    def assignee_label(self) -> str:
        return assignee_label(self.assigned_user, self.assigned_role)


def assignee_label(user: Any, role: str) -> str:
    from carebench.accounts.roles import ROLE_LABELS

    if user is not None:
        return str(user.display_name)
    if role:
        return f"{ROLE_LABELS.get(role, role)} (team)"
    return ""


class ItemEvent(OrganizationScoped):
    """One line of an item's trail: who did what, when, with their note."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        ASSIGNED = "assigned", "Assigned"
        COMMENT = "comment", "Comment"
        STATUS = "status", "Status change"

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_role = models.CharField(max_length=30, blank=True)
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_role = models.CharField(max_length=30, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["item", "created_at"], name="inbox_event_item")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on item {self.item_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("the trail is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("the trail is append-only")

    @property
    def from_label(self) -> str:
        return assignee_label(self.from_user, self.from_role)

    @property
    def to_label(self) -> str:
        return assignee_label(self.to_user, self.to_role)

    @property
    def from_status_label(self) -> str:
        return str(Item.Status(self.from_status).label) if self.from_status else ""

    @property
    def to_status_label(self) -> str:
        return str(Item.Status(self.to_status).label) if self.to_status else ""
