"""The encounter-form rules (pure): codes, units and modifiers from what was documented."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from carebench.billing.superbill import Documented, Kind, build_lines, check_pointers

DAY = date(2026, 11, 2)


def _codes(lines: list) -> list[tuple[str, tuple[str, ...], Decimal]]:
    return [(line.code, line.modifiers, line.units) for line in lines]


def test_two_tubes_from_one_stick_bill_one_venipuncture() -> None:
    lines = build_lines(
        [
            Documented(Kind.VENIPUNCTURE, "specimen:1", DAY),
            Documented(Kind.VENIPUNCTURE, "specimen:2", DAY),
        ]
    )
    assert _codes(lines) == [("36415", (), Decimal(1))]
    assert lines[0].source == "specimen:1,specimen:2"


def test_three_vaccines_bill_90471_once_and_90472_twice_plus_each_product() -> None:
    shots = [
        Documented(Kind.VACCINE, f"administration:{n}", DAY, code=code)
        for n, code in enumerate(("90686", "90715", "90750"), start=1)
    ]
    assert _codes(build_lines(shots)) == [
        ("90471", (), Decimal(1)),
        ("90472", (), Decimal(2)),
        ("90686", (), Decimal(1)),
        ("90715", (), Decimal(1)),
        ("90750", (), Decimal(1)),
    ]


def test_a_vfc_vaccine_bills_its_administration_and_the_product_at_no_charge_with_sl() -> None:
    lines = build_lines(
        [Documented(Kind.VACCINE, "administration:1", DAY, code="90686", publicly_funded=True)]
    )
    product = lines[-1]
    assert (product.code, product.modifiers, product.no_charge) == ("90686", ("SL",), True)
    assert lines[0].code == "90471" and not lines[0].no_charge


def test_an_injection_bills_96372_and_the_drug_with_its_ndc_and_amount() -> None:
    lines = build_lines(
        [
            Documented(
                Kind.INJECTION,
                "administration:9",
                DAY,
                code="J1030",
                ndc="0009-3073-01",
                dose_amount=Decimal("1"),
                dose_unit="mL",
            )
        ]
    )
    assert [line.code for line in lines] == ["96372", "J1030"]
    assert (lines[1].ndc, lines[1].ndc_quantity, lines[1].ndc_unit) == (
        "0009-3073-01",
        Decimal("1"),
        "ML",
    )


def test_the_em_level_gets_modifier_25_when_a_procedure_was_done() -> None:
    lines = build_lines([Documented(Kind.ECG, "ekg:1", DAY, code="93000")], em_code="99213")
    assert _codes(lines)[0] == ("99213", ("25",), Decimal(1))


def test_the_em_level_has_no_25_when_only_labs_were_drawn() -> None:
    lines = build_lines([Documented(Kind.VENIPUNCTURE, "specimen:1", DAY)], em_code="99213")
    assert _codes(lines)[0] == ("99213", (), Decimal(1))


def test_a_waived_test_that_needs_qw_gets_it_and_an_exempt_one_does_not() -> None:
    lines = build_lines(
        [
            Documented(Kind.POC, "labresult:1", DAY, code="87880"),
            Documented(Kind.POC, "labresult:2", DAY, code="81002"),
        ]
    )
    assert _codes(lines) == [("87880", ("QW",), Decimal(1)), ("81002", (), Decimal(1))]


def test_an_unknown_em_level_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="99299"):
        build_lines([], em_code="99299")


@pytest.mark.parametrize(
    ("pointers", "count", "message"),
    [
        ([], 2, "at least one"),
        ([1, 2, 3, 4, 5], 5, "at most 4"),
        ([1, 1], 2, "twice"),
        ([3], 2, "points at diagnosis 3"),
    ],
)
def test_bad_pointers_say_what_is_wrong(pointers: list[int], count: int, message: str) -> None:
    assert message in check_pointers(pointers, count)


def test_good_pointers_pass() -> None:
    assert check_pointers([2, 1], 2) == ""


def test_medicare_flu_and_pneumococcal_shots_use_g_codes_and_others_90471() -> None:
    lines = build_lines(
        [
            Documented(Kind.VACCINE, "administration:1", DAY, code="90662"),
            Documented(Kind.VACCINE, "administration:2", DAY, code="90677"),
            Documented(Kind.VACCINE, "administration:3", DAY, code="90715"),
        ],
        medicare=True,
    )
    assert [line.code for line in lines] == ["G0008", "G0009", "90471", "90662", "90677", "90715"]


def test_a_procedure_bills_its_code_and_puts_25_on_the_visit() -> None:
    lines = build_lines(
        [Documented(Kind.PROCEDURE, "procedure:1", DAY, code="12001", description="Laceration")],
        em_code="99213",
    )
    assert _codes(lines) == [("99213", ("25",), Decimal(1)), ("12001", (), Decimal(1))]
