"""Lab data for the FHIR lab tests: an order with specimens drawn and results stored."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from carebench.labs import services
from carebench.labs.models import LabOrder, LabOrderItem, LabResult, Specimen
from carebench.labs.result_services import ResultValue, store_results
from carebench.labs.tests.conftest import order_for


@dataclass
class Resulted:
    order: LabOrder
    items: dict[str, LabOrderItem]
    specimens: list[Specimen]
    results: list[LabResult]


def hemoglobin(item: LabOrderItem, value: str = "13.5", **kw: Any) -> ResultValue:
    options: dict[str, Any] = {
        "code": "718-7",
        "name": "Hemoglobin",
        "value": Decimal(value),
        "unit": "g/dL",
        "reference_low": Decimal("12.0"),
        "reference_high": Decimal("16.0"),
        "order_item": item,
    }
    options.update(kw)
    return ResultValue(**options)


def sodium(item: LabOrderItem, value: str = "150", **kw: Any) -> ResultValue:
    options: dict[str, Any] = {
        "code": "2951-2",
        "name": "Sodium",
        "value": Decimal(value),
        "unit": "mmol/L",
        "reference_low": Decimal("135"),
        "reference_high": Decimal("145"),
        "order_item": item,
    }
    options.update(kw)
    return ResultValue(**options)


def drawn_order(lab: SimpleNamespace, *codes: str, collector: Any = None) -> Resulted:
    """An order of `codes` (CBC and BMP by default) with every tube labelled and collected."""
    order = order_for(lab, *(codes or ("CBC", "BMP")))
    specimens = services.create_specimens(actor=lab.mat, order=order)
    specimens = [
        services.collect_specimen(
            actor=collector or lab.mat, specimen=specimen, site="left antecubital"
        )
        for specimen in specimens
    ]
    items = {item.code: item for item in order.items.all()}
    return Resulted(order, items, specimens, [])


def resulted_order(lab: SimpleNamespace, *, final: bool = True) -> Resulted:
    """A CBC + BMP order, drawn, with a hemoglobin, a (high) sodium and a text comment."""
    drawn = drawn_order(lab)
    status = LabResult.Status.FINAL if final else LabResult.Status.PRELIMINARY
    cbc, bmp = drawn.items["CBC"], drawn.items["BMP"]
    drawn.results = store_results(
        actor=lab.mat,
        patient=lab.patient,
        values=[
            hemoglobin(cbc, status=status),
            sodium(bmp, status=status),
            ResultValue(
                code="COMM",
                code_system="L",
                name="Lab comment",
                text="Specimen slightly lipemic",
                order_item=bmp,
                status=status,
            ),
        ],
        source="hl7",
        order=drawn.order,
        specimen=drawn.specimens[0],
        performing_lab="Quest Diagnostics",
    )
    drawn.order.refresh_from_db()
    return drawn
