"""The lists: my inbox, a team's queue, all open, a patient's items, the badge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission

from carebench.core import clock
from carebench.inbox import selectors, services
from carebench.inbox.models import Item
from carebench.testing import UserFactory, actor_for, make_patient

from .factories import make_item

pytestmark = pytest.mark.django_db


def test_an_item_for_a_role_shows_in_each_members_inbox(org, frontdesk, mat):
    second_mat = UserFactory(organization=org, roles=["mat"])
    item = make_item(frontdesk, to_role="mat")
    assert selectors.my_inbox(org, mat) == [item]
    assert selectors.my_inbox(org, second_mat) == [item]
    assert selectors.my_inbox(org, frontdesk) == []
    assert selectors.role_queue(org, "mat") == [item]


def test_once_started_it_leaves_the_team_queue_for_the_one_who_took_it(org, frontdesk, mat):
    second_mat = UserFactory(organization=org, roles=["mat"])
    item = make_item(frontdesk, to_role="mat")
    services.start_item(actor=actor_for(mat), item=item)
    assert selectors.my_inbox(org, mat) == [item]
    assert selectors.my_inbox(org, second_mat) == []
    assert selectors.role_queue(org, "mat") == []


def test_overdue_first_then_priority_then_due(org, mat):
    now = clock.now()
    with clock.frozen(now - timedelta(hours=3)):
        overdue = make_item(mat, subject="overdue routine", due_at=now - timedelta(hours=1))
    routine_soon = make_item(mat, subject="routine soon", due_at=now + timedelta(minutes=30))
    urgent_late = make_item(
        mat, subject="urgent", priority=Item.Priority.URGENT, due_at=now + timedelta(hours=3)
    )
    stat = make_item(mat, subject="stat", priority=Item.Priority.STAT)
    routine_late = make_item(mat, subject="routine late", due_at=now + timedelta(days=2))
    assert selectors.my_inbox(org, mat) == [overdue, stat, urgent_late, routine_soon, routine_late]


def test_closed_items_leave_the_inbox_and_show_as_done(org, mat):
    item = make_item(mat)
    services.complete_item(actor=actor_for(mat), item=item, note="ok")
    assert selectors.my_inbox(org, mat) == []
    assert selectors.recently_closed(org, mat) == [item]


def test_another_organizations_items_are_never_listed(org, other_org, mat, other_mat):
    make_item(other_mat, to_role="mat")
    patient = make_patient(other_org)
    make_item(other_mat, patient=patient)
    assert selectors.my_inbox(org, mat) == []
    assert selectors.role_queue(org, "mat") == []
    assert selectors.all_open(org) == []
    assert selectors.items_for_patient(org, patient) == []
    assert selectors.badge_counts(org, mat) == selectors.BadgeCounts(open=0, overdue=0)


def test_without_view_patient_only_items_without_a_patient_are_listed(org, mat):
    clerk = UserFactory(organization=org)
    clerk.user_permissions.add(Permission.objects.get(codename="view_item"))
    make_item(mat, to_user=clerk, patient=make_patient(mat))
    plain = make_item(mat, to_user=clerk)
    assert selectors.my_inbox(org, clerk) == [plain]


def test_badge_counts_my_open_and_overdue_items(org, mat):
    now = clock.now()
    with clock.frozen(now - timedelta(hours=2)):
        make_item(mat, priority=Item.Priority.STAT)  # due an hour ago
    make_item(mat, to_role="mat")
    done = make_item(mat)
    services.complete_item(actor=actor_for(mat), item=done)
    assert selectors.badge_counts(org, mat) == selectors.BadgeCounts(open=2, overdue=1)


def test_lists_take_a_fixed_number_of_queries(org, mat, django_assert_num_queries):
    patient = make_patient(mat)
    for n in range(6):
        make_item(mat, subject=f"item {n}", patient=patient if n % 2 else None)
        make_item(mat, subject=f"team {n}", to_role="mat", patient=patient)
    mat = type(mat).objects.get(pk=mat.pk)  # fresh: no cached roles or permissions
    mat.has_perm("patients.view_patient")  # the request has loaded these already
    with django_assert_num_queries(2):  # the user's roles, then the items
        items = selectors.my_inbox(org, mat)
        rows = [(i.patient, i.assigned_user, i.created_by, i.medication) for i in items]
    assert len(rows) == 12
    with django_assert_num_queries(1):
        selectors.items_for_patient(org, patient)
    with django_assert_num_queries(1):
        selectors.all_open(org, mat)
    with django_assert_num_queries(2):  # the item, its trail
        item = selectors.get_item(org, items[0].pk)
        [(e.created_by, e.from_user, e.to_user) for e in item.trail]
