"""`bulk_insert` stores what `bulk_create` would, and sets the pks in order."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from carebench.core.bulk import bulk_insert
from carebench.labs.models import LabResult
from carebench.testing import make_patient

pytestmark = pytest.mark.django_db


def _rows(patient, count: int) -> list[LabResult]:
    return [
        LabResult(
            organization_id=patient.organization_id,
            patient=patient,
            sequence=i,
            code="718-7",
            name="Hemoglobin",
            value_numeric=Decimal("11.25") + i,
            comparator="<" if i % 2 else "",
            reference_low=Decimal("11.7"),
            reference_high=None,
            flag=LabResult.Flag.LOW,
            status=LabResult.Status.FINAL,
            source=LabResult.Source.INTERFACE,
            observed_at=datetime(2025, 3, 14, 15, 30, 1, 123456, tzinfo=UTC),
            note=f"row {i} ünïcode",
        )
        for i in range(count)
    ]


def test_bulk_insert_stores_what_bulk_create_would(mat):
    patient = make_patient(mat)
    ours = bulk_insert(_rows(patient, 60))  # more than one statement on SQLite
    theirs = LabResult.objects.bulk_create(_rows(patient, 60))
    assert [r.pk for r in ours] == sorted(r.pk for r in ours)
    assert all(not r._state.adding for r in ours)
    skip = {"id", "created_at", "updated_at"}
    for mine, reference in zip(ours, theirs, strict=True):
        got = model_to_dict(LabResult.objects.get(pk=mine.pk))
        want = model_to_dict(LabResult.objects.get(pk=reference.pk))
        assert {k: v for k, v in got.items() if k not in skip} == {
            k: v for k, v in want.items() if k not in skip
        }
        stored = LabResult.objects.get(pk=mine.pk)
        assert stored.created_at == mine.created_at and stored.updated_at is not None
    assert bulk_insert([]) == []
    with pytest.raises(ValueError):
        bulk_insert(ours[:1])  # already saved


def test_fast_values_reads_what_values_list_reads(mat):
    """Datetimes (microseconds, a null), dates and plain columns come back equal to Django's own
    conversion, on either database."""
    from carebench.core.bulk import fast_values
    from carebench.patients.models import Patient

    patient = make_patient(mat)
    rows = _rows(patient, 3)
    rows[1].voided_at = datetime(2025, 3, 15, 8, 0, 0, 5, tzinfo=UTC)
    bulk_insert(rows)
    results = LabResult.objects.filter(patient=patient).order_by("sequence")
    fields = ("sequence", "observed_at", "voided_at", "name")
    assert fast_values(results, fields, datetimes=("observed_at", "voided_at")) == list(
        results.values_list(*fields)
    )
    assert fast_values(results, fields, datetimes=())[0] == results.values_list(*fields)[0]
    people = Patient.objects.filter(pk=patient.pk)
    assert fast_values(people, ("pk", "birth_date"), datetimes=(), dates=("birth_date",)) == list(
        people.values_list("pk", "birth_date")
    )
