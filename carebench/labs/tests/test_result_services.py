"""Storing results: flags, corrections, critical alerts, completion, review and cancelling."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError

from carebench.audit.models import AuditEvent
from carebench.encounters.models import Alert
from carebench.labs import result_services as results
from carebench.labs.models import LabOrder, LabResult
from carebench.labs.tests.conftest import order_for

pytestmark = pytest.mark.django_db


def _value(item, value: str, **kw) -> results.ResultValue:  # type: ignore[no-untyped-def]
    return results.ResultValue(
        code=kw.pop("code", item.loinc), name=item.name, value=Decimal(value), order_item=item, **kw
    )


def test_result_out_of_range_is_flagged_and_audited(lab: SimpleNamespace) -> None:
    order = order_for(lab, "TSH")
    item = order.items.get()
    [row] = results.store_results(
        actor=lab.mat,
        patient=lab.patient,
        order=order,
        source="hl7",
        values=[
            _value(
                item,
                "7.9",
                unit="mIU/L",
                reference_low=Decimal("0.4"),
                reference_high=Decimal("4.5"),
            )
        ],
    )
    assert row.flag == "H"
    assert AuditEvent.objects.filter(resource_type="LabResult", resource_id=str(row.pk)).exists()


def test_critical_value_alerts_the_ordering_provider(lab: SimpleNamespace) -> None:
    order = order_for(lab, "GLUPOC")
    item = order.items.get()
    results.store_results(
        actor=lab.mat,
        patient=lab.patient,
        order=order,
        source="poc",
        values=[_value(item, "38", unit="mg/dL", reference_low=Decimal("70"))],
    )
    alert = Alert.objects.get(patient=lab.patient)
    assert alert.recipient == lab.provider.user
    assert "38 mg/dL (LL)" in alert.message


def test_every_test_final_completes_the_order(lab: SimpleNamespace) -> None:
    order = order_for(lab, "TSH")
    results.store_results(
        actor=lab.mat,
        patient=lab.patient,
        order=order,
        source="hl7",
        values=[_value(order.items.get(), "2.0")],
    )
    order.refresh_from_db()
    assert order.status == LabOrder.Status.COMPLETED


def test_preliminary_result_leaves_the_order_active(lab: SimpleNamespace) -> None:
    order = order_for(lab, "TSH")
    results.store_results(
        actor=lab.mat,
        patient=lab.patient,
        order=order,
        source="hl7",
        values=[_value(order.items.get(), "2.0", status="preliminary")],
    )
    order.refresh_from_db()
    assert order.status == LabOrder.Status.ACTIVE


def test_second_final_result_is_a_correction_that_voids_the_first(lab: SimpleNamespace) -> None:
    order = order_for(lab, "TSH")
    item = order.items.get()
    [first] = results.store_results(
        actor=lab.mat, patient=lab.patient, order=order, source="hl7", values=[_value(item, "2.0")]
    )
    [second] = results.store_results(
        actor=lab.mat, patient=lab.patient, order=order, source="hl7", values=[_value(item, "2.4")]
    )
    first.refresh_from_db()
    assert first.is_voided and second.replaces == first
    assert second.status == LabResult.Status.CORRECTED


def test_result_without_value_is_refused_naming_the_field(lab: SimpleNamespace) -> None:
    order = order_for(lab, "TSH")
    item = order.items.get()
    with pytest.raises(ValidationError) as caught:
        results.store_results(
            actor=lab.mat,
            patient=lab.patient,
            order=order,
            source="hl7",
            values=[results.ResultValue(code="3016-3", name="TSH", order_item=item)],
        )
    assert "results[0].value" in caught.value.message_dict
    assert not LabResult.objects.exists()


def test_provider_reviews_results(lab: SimpleNamespace) -> None:
    order = order_for(lab, "TSH")
    results.store_results(
        actor=lab.mat,
        patient=lab.patient,
        order=order,
        source="hl7",
        values=[_value(order.items.get(), "2.0")],
    )
    review = results.review_results(actor=lab.doc, order=order, comment="normal, letter")
    assert review.reviewed_by == lab.provider.user


def test_cancel_keeps_the_reason(lab: SimpleNamespace) -> None:
    order = order_for(lab, "TSH")
    results.cancel_order(actor=lab.mat, order=order, reason="duplicate order")
    assert order.status == LabOrder.Status.CANCELLED and order.cancel_reason == "duplicate order"


def test_cancel_needs_a_reason(lab: SimpleNamespace) -> None:
    order = order_for(lab, "TSH")
    with pytest.raises(ValidationError) as caught:
        results.cancel_order(actor=lab.mat, order=order, reason="  ")
    assert "reason" in caught.value.message_dict
