"""The inbox pages: who may open them, the forms, the actions, and tenancy."""

from __future__ import annotations

import pytest
from django.urls import reverse

from carebench.audit.models import AuditEvent
from carebench.conftest import signed_in
from carebench.inbox.models import Item
from carebench.patients import services as patient_services
from carebench.testing import actor_for, make_patient

from .factories import make_item

pytestmark = pytest.mark.django_db


def test_every_clinical_and_front_desk_role_may_open_the_inbox(
    mat, frontdesk, provider, nurse, manager, biller
):
    for user in (mat, frontdesk, provider, nurse, manager, biller):
        assert signed_in(user).get(reverse("inbox:home")).status_code == 200, user.username


def test_a_user_without_inbox_permissions_is_refused(org):
    from carebench.testing import UserFactory

    client = signed_in(UserFactory(organization=org, username="no-roles", roles=[]))
    assert client.get(reverse("inbox:home")).status_code == 403
    assert client.get(reverse("inbox:new")).status_code == 403


def test_the_inbox_lists_my_teams_items_with_overdue_highlighted(mat, frontdesk):
    from datetime import timedelta

    from carebench.core import clock

    with clock.frozen(clock.now() - timedelta(hours=2)):
        make_item(frontdesk, subject="Call Mr. Ito back", to_role="mat", priority="stat")
    response = signed_in(mat).get(reverse("inbox:home"))
    html = response.content.decode()
    assert "Call Mr. Ito back" in html
    assert 'class="board-row is-overdue"' in html
    assert "Medical assistant (MAT) queue" in html


def test_only_managers_get_the_all_open_tab(mat, manager):
    make_item(mat, subject="Restock the crash cart")
    assert "All open" not in signed_in(mat).get(reverse("inbox:home")).content.decode()
    page = signed_in(manager).get(reverse("inbox:home") + "?tab=all").content.decode()
    assert "Restock the crash cart" in page


def test_a_refill_request_from_the_patients_page(mat):
    patient = make_patient(mat)
    med = patient_services.add_medication(
        actor=actor_for(mat), patient=patient, medication="Atorvastatin 20 mg tablet"
    )
    client = signed_in(mat)
    chart = client.get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert reverse("inbox:patient", args=[patient.pk]) in chart
    url = reverse("inbox:new") + f"?kind=refill&patient={patient.pk}"
    form = client.get(url)
    assert form.status_code == 200 and "Atorvastatin 20 mg tablet" in form.content.decode()
    response = client.post(
        url,
        {
            "subject": "Refill request",
            "assignee": "role:provider",
            "priority": "routine",
            "medication": med.pk,
            "pharmacy": "Walgreens on 5th",
            "quantity": "90 tablets",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("inbox:patient", args=[patient.pk])
    item = Item.objects.get()
    assert (item.kind, item.patient, item.medication, item.assigned_role) == (
        "refill",
        patient,
        med,
        "provider",
    )
    listed = client.get(reverse("inbox:patient", args=[patient.pk])).content.decode()
    assert "Atorvastatin 20 mg tablet" in listed and "Walgreens" not in listed


def test_a_refused_form_comes_back_with_422_naming_the_field(frontdesk):
    response = signed_in(frontdesk).post(
        reverse("inbox:new") + "?kind=phone",
        {"subject": "Question about a bill", "assignee": "role:biller", "priority": "routine"},
    )
    assert response.status_code == 422
    assert "Call-back number: a phone message needs a call-back number" in (
        response.content.decode()
    )
    assert not Item.objects.exists()


def test_a_phone_message_from_the_inbox(frontdesk, mat):
    response = signed_in(frontdesk).post(
        reverse("inbox:new"),
        {
            "kind": "phone",
            "subject": "Wants lab results",
            "assignee": f"user:{mat.pk}",
            "priority": "urgent",
            "caller_name": "Ana Ruiz",
            "caller_relationship": "daughter",
            "callback_number": "512-555-0199",
            "best_time": "after 3 pm",
        },
    )
    item = Item.objects.get()
    assert response["Location"] == reverse("inbox:item", args=[item.pk])
    page = signed_in(mat).get(response["Location"]).content.decode()
    assert "(512) 555-0199" in page and "Ana Ruiz" in page and "after 3 pm" in page


def test_the_actions_on_an_item_page(mat):
    item = make_item(mat, to_role="mat", patient=make_patient(mat))
    client = signed_in(mat)
    start = client.post(reverse("inbox:start", args=[item.pk]))
    assert start.status_code == 302
    refused = client.post(reverse("inbox:cancel", args=[item.pk]), {"reason": ""})
    assert refused.status_code == 422
    assert "Reason: say why it is cancelled" in refused.content.decode()
    client.post(reverse("inbox:comment", args=[item.pk]), {"note": "Pharmacy on hold"})
    client.post(reverse("inbox:complete", args=[item.pk]), {"note": "Sent to CVS"})
    item.refresh_from_db()
    assert item.status == "done"
    page = client.get(reverse("inbox:item", args=[item.pk])).content.decode()
    assert page.index("Pharmacy on hold") < page.index("Sent to CVS")
    assert "Reopen" in page
    assert AuditEvent.objects.filter(
        action="view", resource_type="InboxItem", patient_id=item.patient_id
    ).exists()


def test_start_from_the_list_returns_to_the_list(mat):
    item = make_item(mat, to_role="mat")
    response = signed_in(mat).post(
        reverse("inbox:start", args=[item.pk]), {"next": reverse("inbox:home") + "?tab=mat"}
    )
    assert response["Location"] == reverse("inbox:home") + "?tab=mat"
    evil = signed_in(mat).post(
        reverse("inbox:complete", args=[item.pk]), {"next": "https://evil.example/"}
    )
    assert evil["Location"] == reverse("inbox:item", args=[item.pk])


def test_another_organizations_item_and_patient_are_not_found(mat, other_mat, other_org):
    item = make_item(other_mat, patient=make_patient(other_org))
    client = signed_in(mat)
    assert client.get(reverse("inbox:item", args=[item.pk])).status_code == 404
    assert client.post(reverse("inbox:complete", args=[item.pk])).status_code == 404
    assert client.get(reverse("inbox:patient", args=[item.patient_id])).status_code == 404
    new = client.get(reverse("inbox:new") + f"?kind=refill&patient={item.patient_id}")
    assert new.status_code == 404
    assert item.subject not in client.get(reverse("inbox:home") + "?tab=mat").content.decode()


def test_a_patient_item_needs_view_patient(org, mat):
    from django.contrib.auth.models import Permission

    from carebench.testing import UserFactory

    clerk = UserFactory(organization=org)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_item", "add_item"]))
    item = make_item(mat, patient=make_patient(mat))
    client = signed_in(clerk)
    assert client.get(reverse("inbox:item", args=[item.pk])).status_code == 403
    assert client.get(reverse("inbox:home")).status_code == 200
    task = make_item(mat, to_user=clerk)
    assert client.get(reverse("inbox:item", args=[task.pk])).status_code == 200
