"""A procedure completed in the procedure room goes on the visit's encounter form."""

from __future__ import annotations

from typing import Any

import pytest

from carebench.billing import services
from carebench.encounters import procedure_services
from carebench.encounters.tests.test_procedure_services import make_procedure_clinic, started

pytestmark = pytest.mark.django_db


def test_a_completed_laceration_repair_is_on_the_encounter_form(mat: Any, provider: Any) -> None:
    clinic = make_procedure_clinic(mat, provider)
    procedure = started(clinic)
    procedure_services.complete_procedure(
        actor=clinic.actor, procedure=procedure, complications="none"
    )
    lines = services.superbill_lines(clinic.encounter, em_code="99213")
    assert [(line.code, line.modifiers) for line in lines][:2] == [
        ("99213", ("25",)),
        ("12001", ()),
    ]
    assert lines[1].source == f"procedure:{procedure.pk}"


def test_a_procedure_not_completed_is_not_billed(mat: Any, provider: Any) -> None:
    clinic = make_procedure_clinic(mat, provider)
    started(clinic)
    assert [line.code for line in services.superbill_lines(clinic.encounter)] == []
