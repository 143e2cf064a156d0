"""Reads for billing: what a visit documented (for its superbill), the fee for a code, the
claims worklist by status, one claim with its lines, trail and payments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet, Sum

from carebench.core.models import Organization
from carebench.encounters.models import Encounter
from carebench.patients.models import Payer

from .models import Claim, ClaimBatch, Fee, ProcedureCode
from .superbill import Documented, Kind

# Tubes filled from a venipuncture; a fingerstick (capillary), a urine cup or a swab is not one.
VENOUS_CONTAINERS = frozenset(
    {"blood_culture", "light_blue", "red", "gold_sst", "green", "lavender", "grey"}
)
ECG_BILLING = {"93000": "93000", "93005+93010": "93005", "93040": "93040"}
_CODE = re.compile(r"\b(\d{4}[0-9A-Z]|[A-Z]\d{4})\b")


def first_code(text: str) -> str:
    """The first CPT/HCPCS-looking code in a free-text hint ('82962', '83540, 83550' -> 83540)."""
    match = _CODE.search((text or "").upper())
    return match.group(1) if match else ""


def drug_units(product: Any, given: Decimal | None) -> Decimal:
    """A drug's HCPCS units for the amount given: the product's units for its standard dose,
    in proportion (150 units for 150 mg of J1050; 2 units for 1 mL when 0.5 mL is 1 unit),
    rounded up to the next whole unit as payers count them."""
    units = Decimal(product.billing_units)
    if given is not None and product.dose_amount and given != product.dose_amount:
        units = units * given / product.dose_amount
    return max(Decimal(1), units.to_integral_value(rounding=ROUND_CEILING))


def documented_items(encounter: Encounter) -> list[Documented]:
    """Everything billable documented at the visit: blood drawn, ECGs, shots, in-house tests."""
    from carebench.ekg.models import EkgRecording
    from carebench.labs.models import LabResult, Specimen
    from carebench.meds.models import Administration, Product, StockLot

    zone = ZoneInfo(encounter.facility.time_zone)

    def day(moment: Any) -> date:
        return moment.astimezone(zone).date()

    items: list[Documented] = []
    for specimen_id, collected_at in (
        Specimen.objects.filter(
            order__encounter=encounter,
            collected_at__isnull=False,
            container__in=VENOUS_CONTAINERS,
        )
        .order_by("collected_at")
        .values_list("id", "collected_at")
    ):
        items.append(Documented(Kind.VENIPUNCTURE, f"specimen:{specimen_id}", day(collected_at)))
    for ekg_id, acquired_at, billing in EkgRecording.objects.filter(
        encounter=encounter, voided_at__isnull=True
    ).values_list("id", "acquired_at", "billing_code"):
        items.append(
            Documented(Kind.ECG, f"ekg:{ekg_id}", day(acquired_at), code=ECG_BILLING[billing])
        )
    for given in (
        Administration.objects.filter(
            encounter=encounter,
            kind=Administration.Kind.GIVEN,
            voided_at__isnull=True,
            product__isnull=False,
        )
        .select_related("product")
        .order_by("occurred_at", "id")
    ):
        product = given.product
        assert product is not None
        vaccine = product.kind == Product.Kind.VACCINE
        items.append(
            Documented(
                Kind.VACCINE if vaccine else Kind.INJECTION,
                f"administration:{given.pk}",
                day(given.occurred_at),
                code=product.billing_code,
                description=product.name,
                ndc=given.ndc or product.ndc,
                dose_amount=given.dose_amount,
                dose_unit=given.dose_unit,
                publicly_funded=given.funding in (StockLot.Funding.VFC, StockLot.Funding.STATE),
                billing_units=drug_units(product, given.dose_amount),
            )
        )
    from carebench.encounters.models import Procedure

    for procedure in (
        Procedure.objects.filter(encounter=encounter, status=Procedure.Status.COMPLETED)
        .select_related("template")
        .order_by("completed_at", "id")
    ):
        codes = [str(c.get("code", "")) for c in procedure.template.codes if c.get("code")]
        if codes:
            items.append(
                Documented(
                    Kind.PROCEDURE,
                    f"procedure:{procedure.pk}",
                    day(procedure.completed_at or encounter.started_at),
                    code=codes[0],
                    description=procedure.template.name
                    + (f" (other codes: {', '.join(codes[1:])})" if len(codes) > 1 else ""),
                )
            )
    seen_items: set[int] = set()
    for result in (
        LabResult.objects.filter(
            order__encounter=encounter,
            source=LabResult.Source.POC,
            voided_at__isnull=True,
            order_item__isnull=False,
        )
        .select_related("order_item__test")
        .order_by("id")
    ):
        assert result.order_item is not None
        if result.order_item_id in seen_items:
            continue  # one test, many analytes (a dipstick): billed once
        seen_items.add(result.order_item.pk)
        test = result.order_item.test
        items.append(
            Documented(
                Kind.POC,
                f"labresult:{result.pk}",
                day(encounter.started_at),
                code=first_code(test.cpt_hint),
                description=test.name,
            )
        )
    return items


def fee_for(
    organization: Organization, payer: Payer | None, code: str, modifiers: list[str], on: date
) -> Decimal | None:
    """The charge for one unit of a code: the payer's schedule first, then the standard one;
    a fee for the code with the line's first modifier beats the plain fee."""
    fees = list(
        Fee.objects.filter(
            schedule__organization=organization,
            code=code,
            schedule__effective_from__lte=on,
        )
        .filter(Q(schedule__effective_to__isnull=True) | Q(schedule__effective_to__gte=on))
        .filter(Q(schedule__payer=payer) | Q(schedule__payer__isnull=True))
        .values_list("schedule__payer_id", "modifier", "amount")
    )
    modifier = modifiers[0] if modifiers else ""
    payer_id = payer.pk if payer is not None else None

    def rank(row: tuple[int | None, str, Decimal]) -> tuple[int, int]:
        return (
            0 if payer_id is not None and row[0] == payer_id else 1,
            0 if row[1] == modifier else 1,
        )

    usable = [row for row in fees if row[1] in ("", modifier)]
    if not usable:
        return None
    return min(usable, key=rank)[2]


def procedure_labels(organization: Organization, codes: list[str]) -> dict[str, str]:
    return dict(
        ProcedureCode.objects.filter(organization=organization, code__in=codes).values_list(
            "code", "label"
        )
    )


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int
    total: Decimal


def status_counts(organization: Organization) -> list[StatusCount]:
    rows = {
        row["status"]: row
        for row in Claim.objects.filter(organization=organization)
        .values("status")
        .annotate(n=Count("id"), total=Sum("total_charge"))
    }
    return [
        StatusCount(
            value,
            label,
            rows[value]["n"] if value in rows else 0,
            rows[value]["total"] if value in rows else Decimal("0.00"),
        )
        for value, label in Claim.Status.choices
    ]


def claims(
    organization: Organization, *, status: str = "", patient_id: int | None = None, limit: int = 200
) -> QuerySet[Claim]:
    rows = Claim.objects.filter(organization=organization).select_related(
        "patient", "payer", "rendering_provider"
    )
    if status:
        rows = rows.filter(status=status)
    if patient_id is not None:
        rows = rows.filter(patient_id=patient_id)
    return rows.order_by("-service_date", "-id")[:limit]


def claim_detail(organization: Organization, claim_id: int) -> Claim | None:
    return (
        Claim.objects.filter(organization=organization, pk=claim_id)
        .select_related(
            "patient", "payer", "coverage", "facility", "rendering_provider", "encounter", "batch"
        )
        .prefetch_related("lines", "events__by", "payments__remittance", "payments__lines")
        .first()
    )


def claims_for_encounter(encounter: Encounter) -> list[Claim]:
    return list(encounter.claims.exclude(status=Claim.Status.VOID).order_by("id"))


def batches(organization: Organization, limit: int = 50) -> QuerySet[ClaimBatch]:
    return ClaimBatch.objects.filter(organization=organization).defer("content")[:limit]
