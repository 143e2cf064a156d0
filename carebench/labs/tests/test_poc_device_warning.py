"""The point-of-care entry page warns when a device that reads the test is overdue for
calibration in the compliance log (a warning, not a refusal)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse

from carebench.compliance.tests.factories import make_device, make_plan
from carebench.conftest import signed_in
from carebench.core import clock
from carebench.labs.models import PocDevice
from carebench.labs.tests.conftest import order_for

pytestmark = pytest.mark.django_db


def test_the_entry_page_names_a_device_overdue_for_calibration(
    lab: SimpleNamespace, mat: Any, manager: Any
) -> None:
    order = order_for(lab, "GLUPOC")
    meter = PocDevice.objects.create(
        organization=lab.org, name="Glucometer room 3", serial_number="CN-20417"
    )
    meter.tests.add(lab.tests["GLUPOC"])
    device = make_device(manager, poc_device=meter)
    make_plan(manager, device, next_due=clock.today() - timedelta(days=3))
    item = order.items.get()
    page = signed_in(mat).get(reverse("labs:poc_entry", args=[item.pk])).content.decode()
    assert "Glucometer room 3 (CN-20417) is overdue for calibration" in page
