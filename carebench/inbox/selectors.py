"""Reads for the inbox. Each takes the organization first, loads the rows a list shows in one
query (select_related), and orders open work the way a busy desk works it: overdue first, then
STAT, urgent, routine, then by due time.

A user who may not see patients (no patients.view_patient) sees only items without a patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When

from carebench.core import clock

from .models import Item, ItemEvent

if TYPE_CHECKING:
    from carebench.accounts.models import User
    from carebench.core.models import Organization
    from carebench.patients.models import Patient

LIST_RELATED = ("patient", "assigned_user", "created_by", "medication")
DONE_LIMIT = 100
PRIORITY_RANK = {Item.Priority.STAT: 0, Item.Priority.URGENT: 1, Item.Priority.ROUTINE: 2}


def _base(organization: Organization | int, user: User | None = None) -> QuerySet[Item]:
    rows = Item.objects.for_org(organization)
    if user is not None and not user.has_perm("patients.view_patient"):
        rows = rows.filter(patient__isnull=True)
    return rows


def _worklist(rows: QuerySet[Item], now: datetime | None = None) -> list[Item]:
    """Open items, overdue first, then by priority, then by due time (one query)."""
    now = now or clock.now()
    return list(
        rows.filter(status__in=Item.OPEN_STATUSES)
        .annotate(
            overdue_rank=Case(
                When(due_at__lt=now, then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
            priority_rank=Case(
                *(When(priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()),
                default=Value(3),
                output_field=IntegerField(),
            ),
        )
        .select_related(*LIST_RELATED)
        .order_by("overdue_rank", "priority_rank", "due_at", "pk")
    )


def _mine(user: User) -> Q:
    return Q(assigned_user=user) | Q(assigned_role__in=user.role_names)


def my_inbox(organization: Organization | int, user: User) -> list[Item]:
    """Open items assigned to me or to any of my roles."""
    return _worklist(_base(organization, user).filter(_mine(user)))


def role_queue(organization: Organization | int, role: str, user: User | None = None) -> list[Item]:
    """A team's queue: open items assigned to the role (not yet taken by a person)."""
    return _worklist(_base(organization, user).filter(assigned_role=role))


def all_open(organization: Organization | int, user: User | None = None) -> list[Item]:
    """Every open item of the organization (the manager's view)."""
    return _worklist(_base(organization, user))


def recently_closed(organization: Organization | int, user: User) -> list[Item]:
    """Done and cancelled items that were mine, my roles', or closed by me, newest first."""
    return list(
        _base(organization, user)
        .filter(status__in=Item.CLOSED_STATUSES)
        .filter(_mine(user) | Q(closed_by=user))
        .select_related(*LIST_RELATED, "closed_by")
        .order_by("-closed_at", "-pk")[:DONE_LIMIT]
    )


def items_for_patient(organization: Organization | int, patient: Patient) -> list[Item]:
    """All of a patient's items: open ones first (in worklist order), then closed, newest
    first."""
    rows = list(
        Item.objects.for_org(organization)
        .filter(patient=patient)
        .select_related("assigned_user", "created_by", "medication", "closed_by")
        .order_by("-created_at", "-pk")
    )
    now = clock.now()
    open_rows = [r for r in rows if r.is_open]
    open_rows.sort(
        key=lambda r: (0 if r.due_at < now else 1, PRIORITY_RANK.get(r.priority, 3), r.due_at)
    )
    return open_rows + [r for r in rows if not r.is_open]


@dataclass(frozen=True)
class BadgeCounts:
    open: int
    overdue: int


def badge_counts(organization: Organization | int, user: User) -> BadgeCounts:
    """The nav badge: my open items and how many of them are overdue (one query)."""
    counts: dict[str, Any] = (
        _base(organization, user)
        .filter(_mine(user), status__in=Item.OPEN_STATUSES)
        .aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=clock.now())))
    )
    return BadgeCounts(open=counts["open"] or 0, overdue=counts["overdue"] or 0)


def get_item(organization: Organization | int, pk: int) -> Item:
    """One item with its trail (two queries). Another organization's: Item.DoesNotExist."""
    return (
        Item.objects.for_org(organization)
        .select_related(*LIST_RELATED, "closed_by")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=ItemEvent.objects.select_related("created_by", "from_user", "to_user"),
                to_attr="trail",
            )
        )
        .get(pk=pk)
    )


def assignable_users(organization: Organization | int) -> list[User]:
    """Active users of the organization, for the assignee picker."""
    from carebench.accounts.models import User

    org_id = organization if isinstance(organization, int) else organization.pk
    return list(
        User.objects.filter(organization_id=org_id, is_active=True).order_by(
            "last_name", "first_name", "username"
        )
    )
