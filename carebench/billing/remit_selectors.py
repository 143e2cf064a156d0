"""Reads for remittance work: the denial worklist and the payments that matched no claim.

Each brings its rows in a fixed number of queries (no query per claim).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q

from .models import Claim, ClaimLine, ClaimPayment, LinePayment
from .x12 import codes

REVERSAL = "22"


@dataclass(frozen=True)
class Reason:
    """One adjustment (CARC, with its group) or remark (RARC) on a denied claim, in words."""

    kind: str  # "carc" or "rarc"
    code: str  # "CO-16" for an adjustment, "N290" for a remark
    meaning: str
    amount: Decimal | None = None
    line: int | None = None  # the claim line number, None for the whole claim


@dataclass(frozen=True)
class DenialRow:
    """A claim on the denial worklist: denied whole, or with denied lines."""

    claim: Claim
    number: str
    patient_name: str
    payer_name: str
    service_date: date
    status: str
    total_charge: Decimal
    paid_amount: Decimal
    denied_lines: list[int]
    reasons: list[Reason] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        """ "CO-16", "N290"... once each, in order."""
        return list(dict.fromkeys(r.code for r in self.reasons))


def _reasons(payment: ClaimPayment | None, lines_by_id: dict[int, int]) -> list[Reason]:
    if payment is None:
        return []
    out: list[Reason] = []

    def add(adjustments: list[dict[str, str]], remarks: list[str], line: int | None) -> None:
        for a in adjustments:
            out.append(
                Reason(
                    kind="carc",
                    code=f"{a['group']}-{a['reason']}",
                    meaning=codes.carc(a["reason"]),
                    amount=Decimal(a["amount"]),
                    line=line,
                )
            )
        for code in remarks:
            out.append(Reason(kind="rarc", code=code, meaning=codes.rarc(code), line=line))

    add(payment.adjustments, payment.remark_codes, None)
    for lp in payment.lines.all():
        add(lp.adjustments, lp.remark_codes, lines_by_id.get(lp.line_id) if lp.line_id else None)
    return out


def denial_worklist(organization: Any) -> list[DenialRow]:
    """Claims denied, or with a denied line, not appealed or voided: oldest service first, each
    with the CARC and RARC codes of its latest payment (not a reversal) and their meanings.
    Three queries."""
    denied_line = ClaimLine.objects.filter(claim=OuterRef("pk"), status=ClaimLine.Status.DENIED)
    payments = ClaimPayment.objects.exclude(status_code=REVERSAL).order_by("-id")
    claims = (
        Claim.objects.filter(organization=organization)
        .filter(Q(status=Claim.Status.DENIED) | Q(Exists(denied_line)))
        .exclude(status__in=[Claim.Status.APPEALED, Claim.Status.VOID])
        .select_related("patient", "payer")
        .prefetch_related(
            Prefetch("lines", queryset=ClaimLine.objects.order_by("number")),
            Prefetch(
                "payments",
                queryset=payments.prefetch_related(
                    Prefetch("lines", queryset=LinePayment.objects.order_by("id"))
                ),
            ),
        )
        .order_by("service_date", "id")
    )
    rows = []
    for claim in claims:
        lines = list(claim.lines.all())
        latest = next(iter(claim.payments.all()), None)
        patient = claim.patient
        rows.append(
            DenialRow(
                claim=claim,
                number=claim.number,
                patient_name=f"{patient.family_name}, {patient.given_name}",
                payer_name=claim.payer.name,
                service_date=claim.service_date,
                status=claim.status,
                total_charge=claim.total_charge,
                paid_amount=claim.paid_amount,
                denied_lines=[x.number for x in lines if x.status == ClaimLine.Status.DENIED],
                reasons=_reasons(latest, {x.pk: x.number for x in lines}),
            )
        )
    return rows


def unmatched_payments(organization: Any) -> list[ClaimPayment]:
    """The 835 claim payments that matched none of the organization's claims (CLP01 unknown),
    oldest remittance first, with their remittance and lines. Two queries."""
    return list(
        ClaimPayment.objects.filter(organization=organization, claim__isnull=True)
        .select_related("remittance")
        .prefetch_related(Prefetch("lines", queryset=LinePayment.objects.order_by("id")))
        .order_by("remittance__imported_at", "id")
    )
