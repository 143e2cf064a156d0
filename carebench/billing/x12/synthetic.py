"""Synthetic 837P batches (pure; no Django): made-up people, our own demo clinic, valid NPIs.

Used by the tests, to write the files in `samples/`, and by the benchmark (`bulk_batch`).
Nothing here is real patient data; the NPIs are made up with a correct check digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from carebench.core.npi import npi_check_digit

from .write837 import (
    Batch837,
    BillingProvider,
    Claim,
    PatientInfo,
    Receiver,
    ReferringProvider,
    RenderingProvider,
    ServiceLine,
    Submitter,
    Subscriber,
    SubscriberGroup,
    write_837p,
)


def make_npi(first_nine: str) -> str:
    """A ten-digit NPI with its check digit, from nine digits starting with 1 or 2."""
    return first_nine + str(npi_check_digit(first_nine))


BILLING_NPI = make_npi("123456789")  # 1234567893
RENDERING_NPI = make_npi("124531959")  # 1245319599
REFERRING_NPI = make_npi("167957672")  # 1679576722
SERVICE_DATE = date(2026, 11, 20)
CREATED_AT = datetime(2026, 11, 22, 9, 30)

SUBMITTER = Submitter(
    name="Carebench Family Clinic", id="CB0001", contact_name="Billing Office", phone="5555550100"
)
RECEIVER = Receiver(name="Demo Clearinghouse", id="DEMOCH")
BILLING = BillingProvider(
    name="Carebench Family Clinic",
    npi=BILLING_NPI,
    tax_id="12-3456789",
    address_line1="100 Clinic Way",
    city="Springfield",
    state="IL",
    postal_code="62701-1234",
    taxonomy="207Q00000X",
)
RENDERING = RenderingProvider(
    npi=RENDERING_NPI, last_name="Rivera", first_name="Ana", taxonomy="207Q00000X"
)


def subscriber(number: int = 1, **changes: object) -> Subscriber:
    """A commercial subscriber who is the patient."""
    base = Subscriber(
        member_id=f"XYZ{number:09d}",
        last_name="Sample",
        first_name=f"Pat{number}",
        birth_date=date(1980, 1, 2),
        sex="F",
        payer_name="Acme Health Plan",
        payer_id="ACME1",
        claim_filing_indicator="CI",
        group_number="GRP100",
        address_line1=f"{number} Main Street",
        city="Springfield",
        state="IL",
        postal_code="62704",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def dependent(**changes: object) -> PatientInfo:
    """A child covered by a parent's plan."""
    base = PatientInfo(
        last_name="Sample",
        first_name="Kid",
        birth_date=date(2015, 6, 7),
        sex="M",
        address_line1="1 Main Street",
        city="Springfield",
        state="IL",
        postal_code="62704",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def office_visit(claim_id: str = "CB0000001", **changes: object) -> Claim:
    """An office visit with a rapid strep test: 99213-25 and 87880, two diagnoses."""
    base = Claim(
        claim_id=claim_id,
        diagnoses=("J02.9", "R50.9"),
        lines=(
            ServiceLine(
                code="99213",
                charge=Decimal("125.00"),
                service_date=SERVICE_DATE,
                pointers=(1, 2),
                modifiers=("25",),
                line_id=f"{claim_id}-1",
            ),
            ServiceLine(
                code="87880",
                charge=Decimal("35.50"),
                service_date=SERVICE_DATE,
                pointers=(1,),
                line_id=f"{claim_id}-2",
            ),
        ),
        rendering=RENDERING,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def injection_visit(claim_id: str = "CB0000002") -> Claim:
    """An injection with the drug's NDC: 96372 and J1885 (ketorolac) x2 units."""
    return Claim(
        claim_id=claim_id,
        diagnoses=("M54.50",),
        lines=(
            ServiceLine(
                code="96372",
                charge=Decimal("40"),
                service_date=SERVICE_DATE,
                pointers=(1,),
            ),
            ServiceLine(
                code="J1885",
                charge=Decimal("12.40"),
                units=Decimal(2),
                service_date=SERVICE_DATE,
                pointers=(1,),
                ndc="0409-3795-01",
                ndc_quantity=Decimal(1),
                ndc_unit="ML",
            ),
        ),
        rendering=RENDERING,
        referring=ReferringProvider(npi=REFERRING_NPI, last_name="Okafor", first_name="Ben"),
        prior_auth="PA778899",
        patient_paid=Decimal("20"),
    )


TWELVE_DIAGNOSES = (
    "E11.9", "I10", "E78.5", "J45.909", "K21.9", "M54.50",
    "F41.1", "G47.33", "N39.0", "R51.9", "Z79.4", "E66.9",
)  # fmt: skip


def batch(
    groups: Sequence[SubscriberGroup] | None = None,
    *,
    interchange_control: int = 1,
    group_control: int = 1,
) -> Batch837:
    """A test-usage batch from our demo clinic; by default one self-subscriber office visit."""
    return Batch837(
        sender_id="CAREBENCH",
        receiver_id="DEMOCH",
        interchange_control=interchange_control,
        group_control=group_control,
        created_at=CREATED_AT,
        usage="T",
        submitter=SUBMITTER,
        receiver=RECEIVER,
        billing_provider=BILLING,
        subscribers=tuple(groups)
        if groups
        else (SubscriberGroup(subscriber(), (office_visit(),)),),
    )


def bulk_batch(claims: int) -> Batch837:
    """`claims` office visits, one subscriber each (three lines, three diagnoses), for the
    benchmark."""
    groups = []
    for number in range(1, claims + 1):
        claim_id = f"B{number:08d}"
        claim = office_visit(
            claim_id,
            diagnoses=("J02.9", "R50.9", "E11.9"),
            lines=(
                *office_visit(claim_id).lines,
                ServiceLine(
                    code="83036",
                    charge=Decimal("28"),
                    service_date=SERVICE_DATE,
                    pointers=(3,),
                    line_id=f"{claim_id}-3",
                ),
            ),
        )
        groups.append(SubscriberGroup(subscriber(number), (claim,)))
    return batch(groups)


def mixed_batch() -> Batch837:
    """Several subscribers: a self-subscriber with two claims (one with an NDC line), a
    dependent child on Medicaid (2000C), and a Medicare patient with 12 diagnoses, four
    modifiers and fractional units."""
    twelve = office_visit(
        "CB0000004",
        diagnoses=TWELVE_DIAGNOSES,
        lines=(
            ServiceLine(
                code="97110",
                charge=Decimal("90.25"),
                units=Decimal("2.5"),
                unit="UN",
                service_date=SERVICE_DATE,
                pointers=(6, 9, 10, 12),
                modifiers=("GP", "59", "KX", "XS"),
            ),
            ServiceLine(
                code="99214",
                charge=Decimal("180"),
                service_date=SERVICE_DATE,
                pointers=(1, 2, 3, 4),
                modifiers=("25",),
            ),
        ),
    )
    return batch(
        [
            SubscriberGroup(
                subscriber(1), (office_visit("CB0000001"), injection_visit("CB0000002"))
            ),
            SubscriberGroup(
                subscriber(2, relationship="19", claim_filing_indicator="MC", group_number=""),
                (office_visit("CB0000003"),),
                patient=dependent(),
            ),
            SubscriberGroup(
                subscriber(3, claim_filing_indicator="MB", group_number="", payer_id="MCR01"),
                (twelve,),
            ),
        ],
        interchange_control=42,
        group_control=42,
    )


def problem_batch() -> Batch837:
    """A batch pyx12 accepts but `check_837p` does not: a rendering NPI with a wrong check
    digit, a claim total that is not the sum of its lines, a line pointing to a diagnosis the
    claim does not have, a malformed ICD-10-CM code, and a service past the 365-day limit."""
    wrong_digit = str((int(RENDERING_NPI[9]) + 1) % 10)
    bad_npi = replace(RENDERING, npi=RENDERING_NPI[:9] + wrong_digit)
    first = office_visit("CB0000101", rendering=bad_npi, total_charge=Decimal("150"))
    second = office_visit(
        "CB0000102",
        diagnoses=("J02.9", "R5"),
        lines=(
            ServiceLine(
                code="99213",
                charge=Decimal("125"),
                service_date=date(2025, 9, 1),
                pointers=(1, 3),
            ),
        ),
    )
    return batch([SubscriberGroup(subscriber(7), (first, second))], interchange_control=101)


def redelimit(
    text: str, *, element: str, component: str, repetition: str, segment: str, line_breaks: bool
) -> str:
    """Our writer's text (* : ^ ~ and line breaks) with other delimiters, as other senders
    write it."""
    body = text.replace("~\n", "~")
    table = str.maketrans({"*": element, ":": component, "^": repetition})
    end = segment + ("\n" if line_breaks and segment != "\n" else "")
    return body.translate(table).replace("~", end)


SAMPLES = {
    "837p_office_visit.x12": lambda: write_837p(batch()),
    "837p_batch_other_delimiters.x12": lambda: redelimit(
        write_837p(mixed_batch()),
        element="|",
        component=">",
        repetition="!",
        segment="\n",
        line_breaks=False,
    ),
    "837p_check_problems.x12": lambda: write_837p(problem_batch()),
}


def write_samples(folder: str) -> list[str]:
    """Write the files of `samples/` (python -m carebench.billing.x12.synthetic FOLDER)."""
    import os

    written = []
    for name, make in SAMPLES.items():
        path = os.path.join(folder, name)
        with open(path, "w", encoding="ascii", newline="") as handle:
            handle.write(make())
        written.append(path)
    return written


if __name__ == "__main__":
    import sys

    for path in write_samples(sys.argv[1] if len(sys.argv) > 1 else "."):
        print(path)
