"""Posting 835 remittances onto claims (remit_services.post_835) and the denial worklist and
unmatched payments (remit_selectors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from carebench.audit.models import AuditEvent
from carebench.billing import remit_selectors, remit_services
from carebench.billing.models import (
    Claim,
    ClaimEvent,
    ClaimLine,
    ClaimPayment,
    LinePayment,
    Remittance,
)
from carebench.testing import actor_for, make_billing_clinic, make_claim

ISA = (
    "ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*MAINSTCLINIC   *261120*0830*^*00501*"
    "000000451*0*P*:"
)
assert len(ISA) == 105  # the 106th character is the terminator


@dataclass
class Svc:
    """One SVC: as billed (code, modifiers), what was paid, CAS (group, reason, amount)."""

    code: str
    charge: str
    paid: str
    modifiers: tuple[str, ...] = ()
    cas: list[tuple[str, str, str]] = field(default_factory=list)
    control: str = ""
    paid_code: str = ""  # SVC01 when the payer changed the code (SVC06 is then as billed)
    paid_modifiers: tuple[str, ...] | None = None
    allowed: str = ""
    remarks: tuple[str, ...] = ()


@dataclass
class Clp:
    number: str
    charge: str
    paid: str
    status: str = "1"
    patient: str = ""
    payer_claim: str = "PCN1"
    cas: list[tuple[str, str, str]] = field(default_factory=list)
    lines: list[Svc] = field(default_factory=list)
    remarks: tuple[str, ...] = ()


def write_835(
    claims: list[Clp], *, trace: str = "EFT0001", payer: str = "ACME HEALTH PLAN", total: str = ""
) -> str:
    """An 835 (one payment) for these claims; BPR02 is the sum of the CLP04s unless `total`."""
    paid = sum((Decimal(c.paid) for c in claims), Decimal(0))
    body = [
        f"BPR*I*{total or paid}*C*ACH*CCP*01*011000015*DA*123456789*1512345678**01*021000021*DA*"
        "987654321*20261120",
        f"TRN*1*{trace}*1512345678",
        "DTM*405*20261119",
        f"N1*PR*{payer}",
        "REF*2U*60054",
        "N1*PE*TEST FAMILY CLINIC*XX*1245319599",
        "LX*1",
    ]
    for c in claims:
        body.append(
            f"CLP*{c.number}*{c.status}*{c.charge}*{c.paid}*{c.patient}*12*{c.payer_claim}*11*1"
        )
        body += [f"CAS*{g}*{r}*{a}" for g, r, a in c.cas]
        body.append("NM1*QC*1*RIVERA*MARIA****MI*ACM123456789")
        if c.remarks:
            body.append("MOA***" + "*".join(c.remarks))
        for s in c.lines:
            billed = ":".join(("HC", s.code, *s.modifiers))
            if s.paid_code or s.paid_modifiers is not None:
                mods = s.modifiers if s.paid_modifiers is None else s.paid_modifiers
                adjudicated = ":".join(("HC", s.paid_code or s.code, *mods))
                body.append(f"SVC*{adjudicated}*{s.charge}*{s.paid}**1*{billed}")
            else:
                body.append(f"SVC*{billed}*{s.charge}*{s.paid}**1")
            body.append("DTM*472*20261102")
            body += [f"CAS*{g}*{r}*{a}" for g, r, a in s.cas]
            if s.control:
                body.append(f"REF*6R*{s.control}")
            if s.allowed:
                body.append(f"AMT*B6*{s.allowed}")
            body += [f"LQ*HE*{r}" for r in s.remarks]
    segments = [
        ISA,
        "GS*HP*ACMEHEALTH*MAINSTCLINIC*20261120*0830*451*X*005010X221A1",
        "ST*835*0001",
        *body,
        f"SE*{len(body) + 2}*0001",
        "GE*1*451",
        "IEA*1*000000451",
    ]
    return "~\n".join(segments) + "~\n"


@pytest.fixture
def clinic(biller: Any) -> Any:
    return make_billing_clinic(biller)


def _post(clinic: Any, claims: list[Clp], **kwargs: Any) -> Remittance:
    [remittance] = remit_services.post_835(
        actor=clinic.actor, text=write_835(claims, **kwargs), file_name="era-1.835"
    )
    return remittance


def _line(claim: Claim, number: int) -> ClaimLine:
    return ClaimLine.objects.get(claim=claim, number=number)


@pytest.mark.django_db
def test_lines_are_matched_by_control_number(clinic: Any) -> None:
    claim = make_claim(clinic, lines=[("99213", "110.00"), ("99213", "110.00")], modifiers={})
    # Reported in reverse order, same code and charge: only the REF*6R tells them apart.
    _post(
        clinic,
        [
            Clp(
                claim.number,
                "220",
                "150",
                lines=[
                    Svc(
                        "99213", "110", "90", cas=[("CO", "45", "20")], control=f"{claim.number}-2"
                    ),
                    Svc(
                        "99213", "110", "60", cas=[("CO", "45", "50")], control=f"{claim.number}-1"
                    ),
                ],
            )
        ],
    )
    assert _line(claim, 1).paid_amount == Decimal("60.00")
    assert _line(claim, 2).paid_amount == Decimal("90.00")
    assert _line(claim, 2).adjustment_amount == Decimal("20.00")


@pytest.mark.django_db
def test_a_line_is_matched_when_the_payer_dropped_the_modifier(clinic: Any) -> None:
    claim = make_claim(clinic)  # 99213-25 $110, 96372 $30
    _post(
        clinic,
        [
            Clp(
                claim.number,
                "140",
                "100",
                lines=[
                    Svc("96372", "30", "20", cas=[("CO", "45", "10")]),
                    Svc("99213", "110", "80", cas=[("CO", "45", "30")]),  # no 25, no 6R
                ],
            )
        ],
    )
    line = _line(claim, 1)
    assert (line.code, line.paid_amount, line.status) == ("99213", Decimal("80.00"), "paid")
    assert LinePayment.objects.get(line=line).paid == Decimal("80.00")
    assert _line(claim, 2).paid_amount == Decimal("20.00")


@pytest.mark.django_db
def test_a_line_is_matched_by_the_original_procedure_when_the_payer_changed_the_code(
    clinic: Any,
) -> None:
    claim = make_claim(clinic)
    _post(
        clinic,
        [
            Clp(
                claim.number,
                "140",
                "90",
                lines=[
                    Svc("99213", "110", "70", modifiers=("25",), paid_code="99212",
                        cas=[("CO", "45", "40")]),
                    Svc("96372", "30", "20", cas=[("CO", "45", "10")]),
                ],
            )
        ],
    )  # fmt: skip
    assert _line(claim, 1).paid_amount == Decimal("70.00")


@pytest.mark.django_db
def test_partial_payment_with_a_deductible(clinic: Any) -> None:
    claim = make_claim(clinic)
    remittance = _post(
        clinic,
        [
            Clp(
                claim.number,
                "140",
                "85",
                patient="20",
                payer_claim="94060555410001",
                lines=[
                    Svc("99213", "110", "65", ("25",), [("PR", "1", "20"), ("CO", "45", "25")],
                        control=f"{claim.number}-1", allowed="85"),
                    Svc("96372", "30", "20", cas=[("CO", "45", "10")],
                        control=f"{claim.number}-2"),
                ],
            )
        ],
    )  # fmt: skip
    claim.refresh_from_db()
    assert claim.status == "paid"
    assert claim.paid_amount == Decimal("85.00")
    assert claim.patient_responsibility == Decimal("20.00")
    assert claim.adjustment_amount == Decimal("35.00")
    assert claim.balance == Decimal("0.00")
    assert claim.payer_claim_number == "94060555410001"
    line = _line(claim, 1)
    assert (line.allowed_amount, line.patient_responsibility) == (Decimal(85), Decimal(20))
    event = ClaimEvent.objects.get(claim=claim)
    assert (event.from_status, event.to_status, event.source) == ("submitted", "paid", "era-1.835")
    assert event.note.startswith("Paid $85.00 of $140.00; PR-1 deductible $20.00")
    assert remittance.claim_count == 1 and remittance.unmatched_count == 0
    assert remittance.total_paid == Decimal("85.00")


@pytest.mark.django_db
def test_a_denial_shows_on_the_worklist_with_the_carc_meaning(clinic: Any) -> None:
    claim = make_claim(clinic, lines=[("99213", "110.00")])
    _post(
        clinic,
        [
            Clp(
                claim.number,
                "110",
                "0",
                status="4",
                lines=[Svc("99213", "110", "0", cas=[("CO", "16", "110")], remarks=("N290",))],
            )
        ],
    )
    claim.refresh_from_db()
    assert claim.status == "denied"
    assert _line(claim, 1).status == "denied"
    assert "CO-16" in ClaimEvent.objects.get(claim=claim).note
    [row] = remit_selectors.denial_worklist(clinic.org)
    assert row.number == claim.number
    assert row.denied_lines == [1]
    assert row.codes == ["CO-16", "N290"]
    assert "missing information" in row.reasons[0].meaning
    assert row.reasons[1].kind == "rarc" and not row.reasons[1].meaning.startswith("unknown")


@pytest.mark.django_db
def test_an_appealed_denial_leaves_the_worklist(clinic: Any) -> None:
    claim = make_claim(clinic, status="appealed")
    ClaimLine.objects.filter(claim=claim).update(status="denied")
    assert remit_selectors.denial_worklist(clinic.org) == []


@pytest.mark.django_db
def test_a_reversal_takes_the_payment_back_and_reopens_the_claim(clinic: Any) -> None:
    claim = make_claim(clinic, lines=[("99213", "110.00")])
    line = [Svc("99213", "110", "80", cas=[("CO", "45", "30")], control=f"{claim.number}-1")]
    _post(clinic, [Clp(claim.number, "110", "80", lines=line)], trace="EFT1")
    reversed_line = [
        Svc("99213", "-110", "-80", cas=[("CO", "45", "-30")], control=f"{claim.number}-1")
    ]
    _post(
        clinic, [Clp(claim.number, "-110", "-80", status="22", lines=reversed_line)], trace="EFT2"
    )
    claim.refresh_from_db()
    assert claim.status == "accepted"
    assert (claim.paid_amount, claim.adjustment_amount) == (Decimal(0), Decimal(0))
    assert _line(claim, 1).status == "open"
    assert _line(claim, 1).paid_amount == Decimal(0)
    last = ClaimEvent.objects.filter(claim=claim).last()
    assert last is not None and last.to_status == "accepted" and "reversed" in last.note


@pytest.mark.django_db
def test_the_same_trace_number_is_not_posted_twice(clinic: Any) -> None:
    claim = make_claim(clinic, lines=[("99213", "110.00")])
    clp = Clp(claim.number, "110", "110", lines=[Svc("99213", "110", "110")])
    _post(clinic, [clp], trace="EFT777")
    with pytest.raises(ValidationError, match=r"TRN02 trace number EFT777") as exc:
        _post(clinic, [clp], trace="EFT777")
    assert "trace_number" in exc.value.message_dict
    claim.refresh_from_db()
    assert claim.paid_amount == Decimal("110.00")
    assert ClaimPayment.objects.count() == 1


@pytest.mark.django_db
def test_an_unbalanced_835_is_refused_and_nothing_is_written(clinic: Any) -> None:
    claim = make_claim(clinic, lines=[("99213", "110.00")])
    clp = Clp(claim.number, "110", "80", lines=[Svc("99213", "110", "80")])  # 30 unexplained
    with pytest.raises(ValidationError, match="does not balance") as exc:
        _post(clinic, [clp])
    assert any("leaves 30.00" in m for m in exc.value.message_dict["balance"])
    assert not Remittance.objects.exists() and not ClaimPayment.objects.exists()
    assert not ClaimEvent.objects.exists()
    claim.refresh_from_db()
    assert (claim.status, claim.paid_amount) == ("submitted", Decimal(0))


@pytest.mark.django_db
def test_a_truncated_835_is_refused_naming_the_segment(clinic: Any) -> None:
    claim = make_claim(clinic, lines=[("99213", "110.00")])
    text = write_835([Clp(claim.number, "110", "110", lines=[Svc("99213", "110", "110")])])
    truncated = text[: text.index("SE*")]
    with pytest.raises(ValidationError, match=r"truncated interchange.*segment \d+") as exc:
        remit_services.post_835(actor=clinic.actor, text=truncated)
    assert "file" in exc.value.message_dict
    assert not Remittance.objects.exists()


@pytest.mark.django_db
def test_an_unknown_claim_is_kept_unmatched(clinic: Any) -> None:
    claim = make_claim(clinic, lines=[("99213", "110.00")])
    remittance = _post(
        clinic,
        [
            Clp(claim.number, "110", "110", lines=[Svc("99213", "110", "110")]),
            Clp("ZZ999", "50", "50", lines=[Svc("99212", "50", "50")]),
        ],
    )
    assert (remittance.claim_count, remittance.unmatched_count) == (2, 1)
    [kept] = remit_selectors.unmatched_payments(clinic.org)
    assert kept.patient_control_number == "ZZ999" and kept.paid == Decimal(50)
    assert [lp.line_id for lp in kept.lines.all()] == [None]


@pytest.mark.django_db
def test_another_organizations_claim_with_the_same_number_is_never_touched(
    clinic: Any, other_org: Any
) -> None:
    from carebench.testing import UserFactory

    theirs = make_billing_clinic(
        UserFactory(organization=other_org, username="biller-other", roles=["biller"])
    )
    their_claim = make_claim(theirs, number="CB555555", lines=[("99213", "110.00")])
    remittance = _post(clinic, [Clp("CB555555", "110", "110", lines=[Svc("99213", "110", "110")])])
    assert remittance.unmatched_count == 1
    their_claim.refresh_from_db()
    assert (their_claim.status, their_claim.paid_amount) == ("submitted", Decimal(0))
    assert not ClaimEvent.objects.filter(claim=their_claim).exists()


@pytest.mark.django_db
def test_one_audit_event_per_remittance_with_counts(clinic: Any) -> None:
    claims = [make_claim(clinic, lines=[("99213", "110.00")]) for _ in range(3)]
    before = AuditEvent.objects.count()
    _post(clinic, [Clp(c.number, "110", "110", lines=[Svc("99213", "110", "110")]) for c in claims])
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None and event.resource_type == "Remittance"
    assert '"matched": 3' in event.detail


@pytest.mark.django_db
def test_posting_queries_do_not_grow_with_the_claims(
    clinic: Any, django_assert_max_num_queries: Any
) -> None:
    claims = [make_claim(clinic, lines=[("99213", "110.00")]) for _ in range(30)]
    clps = [Clp(c.number, "110", "110", lines=[Svc("99213", "110", "110")]) for c in claims]
    with django_assert_max_num_queries(25):
        _post(clinic, clps)
    assert Claim.objects.filter(status="paid").count() == 30


@pytest.mark.django_db
def test_the_actor_is_used_for_the_trail(clinic: Any, biller: Any) -> None:
    claim = make_claim(clinic, lines=[("99213", "110.00")])
    remit_services.post_835(
        actor=actor_for(biller),
        text=write_835([Clp(claim.number, "110", "110", lines=[Svc("99213", "110", "110")])]),
    )
    assert ClaimEvent.objects.get(claim=claim).by == biller
    assert Remittance.objects.get().imported_by == biller
