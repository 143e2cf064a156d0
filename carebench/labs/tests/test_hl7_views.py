"""The interface page: the logs, the unmatched queue and matching, raw messages, permissions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from carebench.conftest import signed_in
from carebench.core.actor import Actor
from carebench.labs import hl7_services
from carebench.labs.models import Hl7Message, LabResult

from .conftest import order_for
from .hl7_helpers import for_order

pytestmark = pytest.mark.django_db


def _held(lab, order):
    _, message = hl7_services.ingest(
        actor=Actor.system(lab.org), raw=for_order("oru_unknown_placer.hl7", order)
    )
    assert message.status == "unmatched"
    return message


def test_interface_lists_outbound_inbound_and_the_queue(lab, mat):
    order = order_for(lab, "CBC")
    held = _held(lab, order)
    hl7_services.ingest(actor=Actor.system(lab.org), raw=for_order("malformed_nm_value.hl7", order))
    response = signed_in(mat).get(reverse("labs:hl7_interface"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Unmatched results" in body
    assert held.control_id in body
    assert order.number in body  # outbound ORM
    assert "OBX-5" in body  # the error of the malformed message
    assert 'href="/labs/interface/"' in body or reverse("labs:hl7_interface") in body


def test_raw_message_page(lab, mat):
    order = order_for(lab, "CBC")
    message = Hl7Message.objects.get(order=order)
    response = signed_in(mat).get(reverse("labs:hl7_message", args=[message.pk]))
    assert response.status_code == 200
    assert "ORC|NW|" in response.content.decode()


def test_a_person_matches_a_held_message(lab, mat):
    order = order_for(lab, "CBC")
    held = _held(lab, order)
    client = signed_in(mat)
    page = client.get(reverse("labs:hl7_message", args=[held.pk])).content.decode()
    assert "Match to an order" in page
    assert order.number in page  # a candidate: the patient's order
    response = client.post(reverse("labs:hl7_resolve", args=[held.pk]), {"order": order.number})
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.status == "accepted"
    assert held.resolved_by == mat
    assert LabResult.objects.filter(order=order).count() == 1


def test_matching_to_an_unknown_order_says_so(lab, mat):
    order = order_for(lab, "CBC")
    held = _held(lab, order)
    response = signed_in(mat).post(
        reverse("labs:hl7_resolve", args=[held.pk]), {"order": "L424242"}, follow=True
    )
    assert "no order L424242" in response.content.decode()
    held.refresh_from_db()
    assert held.status == "unmatched"


def test_front_desk_cannot_see_the_interface(lab, frontdesk):
    order_for(lab, "CBC")
    assert signed_in(frontdesk).get(reverse("labs:hl7_interface")).status_code == 403


def test_provider_sees_but_cannot_match(lab, provider):
    order = order_for(lab, "CBC")
    held = _held(lab, order)
    client = signed_in(provider)
    assert client.get(reverse("labs:hl7_interface")).status_code == 200
    page = client.get(reverse("labs:hl7_message", args=[held.pk])).content.decode()
    assert "Match to an order" not in page
    response = client.post(reverse("labs:hl7_resolve", args=[held.pk]), {"order": order.number})
    assert response.status_code == 403
    held.refresh_from_db()
    assert held.status == "unmatched"


def test_another_organizations_message_is_not_found(lab, other_mat):
    order = order_for(lab, "CBC")
    held = _held(lab, order)
    client = signed_in(other_mat)
    assert client.get(reverse("labs:hl7_message", args=[held.pk])).status_code == 404
    response = client.post(reverse("labs:hl7_resolve", args=[held.pk]), {"order": order.number})
    assert response.status_code == 404
