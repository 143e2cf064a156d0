"""Autoclave cycles, biological indicators, recalls and where each set was used."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from carebench.compliance import selectors, services
from carebench.compliance.models import SterilizerCycle
from carebench.compliance.tests.factories import make_autoclave, make_cycle, make_set
from carebench.core import clock
from carebench.testing import actor_for, make_patient


def _use(user, instrument_set, patient, hours_ago=1):
    return services.record_set_use(
        actor=actor_for(user),
        instrument_set=instrument_set,
        patient=patient,
        used_at=clock.now() - timedelta(hours=hours_ago),
    )


def test_a_failed_bi_recalls_the_load_and_lists_sets_and_patients(mat, manager):
    autoclave = make_autoclave(manager)
    kit, tray = make_set(manager), make_set(manager, "Biopsy tray", "SET-002")
    ana, ben = make_patient(mat, given_name="Ana"), make_patient(mat, given_name="Ben")
    earlier = make_cycle(
        mat,
        autoclave,
        [kit, tray],
        cycle_number="100",
        run_at=clock.now() - timedelta(days=2),
        biological_indicator="pass",
    )
    released = make_cycle(mat, autoclave, [kit, tray], cycle_number="101")
    first = _use(mat, kit, ana, hours_ago=2)
    second = _use(mat, tray, ben)
    with_bi = make_cycle(
        mat,
        autoclave,
        [kit],
        cycle_number="102",
        run_at=clock.now(),
        biological_indicator="pending",
    )
    assert with_bi.status == "quarantined"
    services.read_biological_indicator(actor=actor_for(mat), cycle=with_bi, result="fail")
    assert SterilizerCycle.objects.get(pk=with_bi.pk).status == "recalled"
    # The loads since the autoclave's last passing BI are recalled with it; the one before stays.
    released.refresh_from_db()
    assert (released.status, released.recalled_with) == ("recalled", with_bi)
    assert SterilizerCycle.objects.get(pk=earlier.pk).status == "released"
    lines = selectors.recall_list(mat.organization, with_bi)
    table = [
        (line.cycle.cycle_number, line.instrument_set.barcode, [u.patient for u in line.uses])
        for line in lines
    ]
    assert table == [("102", "SET-001", []), ("101", "SET-002", [ben]), ("101", "SET-001", [ana])]
    assert [u.used_at for line in lines for u in line.uses] == [second.used_at, first.used_at]


def test_a_failed_chemical_indicator_recalls_at_once(mat, manager):
    cycle = make_cycle(mat, make_autoclave(manager), [make_set(manager)], chemical_indicator="fail")
    assert (cycle.status, cycle.recall_reason) == ("recalled", "chemical indicator failed")


def test_record_set_use_refuses_a_recalled_or_quarantined_or_opened_set(mat, manager):
    autoclave = make_autoclave(manager)
    kit = make_set(manager)
    patient = make_patient(mat)
    with pytest.raises(ValidationError, match="no sterilizer cycle on record"):
        _use(mat, kit, patient)
    cycle = make_cycle(mat, autoclave, [kit], biological_indicator="pending")
    with pytest.raises(ValidationError, match="quarantined until its biological indicator"):
        _use(mat, kit, patient)
    services.recall_cycle(actor=actor_for(mat), cycle=cycle, reason="wet packs")
    with pytest.raises(ValidationError) as caught:
        _use(mat, kit, patient)
    assert caught.value.message_dict["instrument_set"] == [
        "Suture removal kit is from recalled load 101 of Autoclave (wet packs): "
        "do not use it; reprocess it"
    ]
    make_cycle(mat, autoclave, [kit], cycle_number="102", run_at=clock.now() - timedelta(hours=2))
    use = _use(mat, kit, patient)
    assert use.cycle.cycle_number == "102"
    with pytest.raises(ValidationError, match="already opened since load 102"):
        _use(mat, kit, patient)


def test_cycle_parameters_are_checked(mat, manager):
    scale = services.add_device(
        actor=actor_for(manager),
        facility=manager.organization.facilities.first(),
        kind="scale",
        name="Scale",
        serial_number="S1",
    )
    with pytest.raises(ValidationError) as caught:
        make_cycle(mat, scale, [], temperature_c=12, duration_minutes=0)
    assert {"autoclave", "instrument_sets", "temperature_c", "duration_minutes"} <= set(
        caught.value.message_dict
    )
