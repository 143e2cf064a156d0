"""The manager's dashboard page."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from carebench.conftest import signed_in

pytestmark = pytest.mark.django_db


def test_a_mat_cannot_open_the_dashboard(mat: Any) -> None:
    assert signed_in(mat).get(reverse("dashboard:dashboard")).status_code == 403


def test_the_dashboard_shows_todays_waits_by_step(manager: Any, mat: Any) -> None:
    from datetime import timedelta

    from carebench.core import clock
    from carebench.scheduling import services as sched
    from carebench.scheduling.models import Status
    from carebench.testing import make_patient, make_schedule, next_weekday_at

    setup = make_schedule(mat)
    start = next_weekday_at(9)
    appt = sched.book_appointment(
        actor=setup.actor,
        request=sched.BookingRequest(
            patient=make_patient(mat),
            provider=setup.provider,
            appointment_type=setup.visit,
            start=start,
            facility=setup.facility,
        ),
    )
    with clock.frozen(start - timedelta(minutes=5)):
        sched.advance_flow(actor=setup.actor, appointment=appt, to=Status.ARRIVED)
    with clock.frozen(start + timedelta(minutes=20)):
        page = signed_in(manager).get(reverse("dashboard:dashboard")).content.decode()
    assert "Median minutes in each step today" in page
    assert "25.0 min" in page and "past the limit" in page


def test_the_dashboard_lists_a_refused_access(manager: Any, mat: Any) -> None:
    signed_in(mat).get(reverse("dashboard:dashboard"))  # refused and audited
    page = signed_in(manager).get(reverse("dashboard:dashboard")).content.decode()
    assert "was refused 1 time(s)" in page


def test_the_dashboard_lists_an_expiring_credential(manager: Any, mat: Any) -> None:
    from datetime import timedelta

    from carebench.core import clock
    from carebench.core.actor import Actor
    from carebench.staff import services as staff

    kinds = {k.code: k for k in staff.ensure_credential_types(manager.organization)}
    staff.add_credential(
        actor=Actor.system(manager.organization, user=manager),
        user=mat,
        credential_type=kinds["BLS"],
        number="BLS-1",
        issued_on=clock.today() - timedelta(days=600),
        expires_on=clock.today() + timedelta(days=20),
    )
    page = signed_in(manager).get(reverse("dashboard:dashboard")).content.decode()
    assert "BLS" in page and "(20 days)" in page
