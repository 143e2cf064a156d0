"""Devices, plans, service records and the warnings shown when a device is used."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from carebench.compliance import selectors, services
from carebench.compliance.models import Device
from carebench.compliance.tests.factories import make_device, make_plan
from carebench.labs.models import PocDevice
from carebench.testing import actor_for

TODAY = date(2026, 11, 20)


def test_plans_due_soon_and_overdue(mat, manager):
    glucometer = make_device(manager)
    scale = make_device(manager, kind="scale", name="Scale hall", serial_number="SC-1")
    ekg = make_device(manager, kind="ekg_machine", name="EKG cart", serial_number="EK-9")
    overdue = make_plan(manager, glucometer, next_due=TODAY - timedelta(days=1))
    soon = make_plan(manager, scale, kind="inspection", next_due=TODAY + timedelta(days=14))
    make_plan(manager, ekg, next_due=TODAY + timedelta(days=15))
    org = mat.organization
    assert selectors.plans_overdue(org, today=TODAY) == [overdue]
    assert selectors.plans_due_soon(org, today=TODAY) == [soon]


def test_passing_service_advances_the_plan_and_failing_takes_the_device_out(mat, manager):
    device = make_device(manager)
    plan = make_plan(manager, device, interval_days=90, next_due=date(2026, 1, 10))
    services.record_service(
        actor=actor_for(mat), device=device, plan=plan, done_on=date(2026, 1, 8), result="pass"
    )
    plan.refresh_from_db()
    assert plan.next_due == date(2026, 4, 8)
    record = services.record_service(
        actor=actor_for(mat),
        device=device,
        plan=plan,
        done_on=date(2026, 2, 1),
        result="fail",
        notes="reads 20% high on the control",
    )
    plan.refresh_from_db()
    device.refresh_from_db()
    assert plan.next_due == date(2026, 4, 8)  # a failure moves nothing
    assert record.performed_by == mat
    assert device.status == Device.Status.OUT_OF_SERVICE
    assert "failed calibration on 02/01/2026" in device.status_reason


def test_a_failed_service_needs_notes_and_someone_who_did_it(mat, manager):
    device = make_device(manager)
    with pytest.raises(ValidationError) as caught:
        services.record_service(
            actor=actor_for(mat), device=device, done_on=date(2099, 1, 1), result="fail"
        )
    assert set(caught.value.message_dict) == {"done_on", "notes"}


def test_device_warnings_for_the_linked_poc_device(mat, manager):
    poc = PocDevice.objects.create(
        organization=mat.organization, name="Glucometer room 3", serial_number="CN-20417"
    )
    device = make_device(manager, poc_device=poc)
    make_plan(manager, device, next_due=date(2026, 11, 2))
    assert selectors.device_warnings(poc_device=poc, today=TODAY) == [
        "Glucometer room 3 (CN-20417) is overdue for calibration since 11/02/2026"
    ]
    assert selectors.device_warnings(poc_device=poc, today=date(2026, 11, 2)) == []
    services.set_device_status(
        actor=actor_for(manager), device=device, status="out_of_service", reason="cracked screen"
    )
    assert selectors.device_warnings(device=device, today=date(2026, 11, 1)) == [
        "Glucometer room 3 (CN-20417) is out of service (cracked screen): do not use it"
    ]
    other = PocDevice.objects.create(
        organization=mat.organization, name="A1c analyzer", serial_number="A1-1"
    )
    assert selectors.device_warnings(poc_device=other) == []


def test_serial_numbers_are_unique_per_kind(manager):
    make_device(manager)
    with pytest.raises(ValidationError) as caught:
        make_device(manager, name="Another")
    assert "serial_number" in caught.value.message_dict


def test_another_organizations_device_is_refused(manager, other_mat):
    device = make_device(manager)
    with pytest.raises(PermissionError):
        services.record_service(
            actor=actor_for(other_mat), device=device, done_on=TODAY, result="pass"
        )
