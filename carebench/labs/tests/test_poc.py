"""Point-of-care definitions (pure): checked values, flags, reference ranges and QC."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from carebench.labs import poc

UA = poc.TESTS["UADIP"]
NORMAL_UA = {
    "25428-4": "Negative",
    "5770-3": "neg",
    "2514-8": "negative",
    "5811-5": "1.015",
    "5794-3": "Negative",
    "5803-2": "6.0",
    "20454-5": "Negative",
    "20405-7": "0.2",
    "5802-4": "Negative",
    "5799-2": "Negative",
}


def _check(code: str, entries: dict[str, str], *, sex: str = "female", age: int = 40, **kw):  # type: ignore[no-untyped-def]
    return poc.check_entry(poc.TESTS[code], entries, sex=sex, age=age, **kw)


def _luhn_ok(code: str) -> bool:
    digits = [int(ch) for ch in code if ch.isdigit()]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2 == 1:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        total += digit
    return total % 10 == 0


def test_every_analyte_has_a_loinc_code_with_a_good_check_digit() -> None:
    codes = [a.code for t in poc.TESTS.values() for a in t.analytes]
    assert len(codes) == len(set(codes))
    assert all(_luhn_ok(code) for code in codes), codes


def test_dipstick_has_every_pad() -> None:
    names = " ".join(a.name for a in UA.analytes).lower()
    for pad in (
        "glucose",
        "bilirubin",
        "ketones",
        "specific gravity",
        "blood",
        "ph",
        "protein",
        "urobilinogen",
        "nitrite",
        "leukocyte esterase",
    ):
        assert pad in names, pad
    assert len(UA.analytes) == 10


def test_normal_dipstick_is_all_normal_with_stored_labels() -> None:
    checked, errors = _check("UADIP", NORMAL_UA)
    assert not errors
    assert len(checked) == 10 and {c.flag for c in checked} == {"N"}
    bilirubin = next(c for c in checked if c.analyte.code == "5770-3")
    assert bilirubin.text == "Negative" and bilirubin.value is None
    gravity = next(c for c in checked if c.analyte.code == "5811-5")
    assert gravity.value == Decimal("1.015") and gravity.reference_text == "1.005-1.030"


def test_positive_nitrite_and_large_leukocytes_are_abnormal() -> None:
    checked, errors = _check("UADIP", {**NORMAL_UA, "5802-4": "pos", "5799-2": "3+"})
    assert not errors
    flags = {c.analyte.code: (c.text, c.flag) for c in checked}
    assert flags["5802-4"] == ("Positive", "A")
    assert flags["5799-2"] == ("Large (3+)", "A")


def test_a_missing_pad_is_required_by_name() -> None:
    entries = dict(NORMAL_UA)
    del entries["5803-2"]
    checked, errors = _check("UADIP", entries)
    assert checked == []
    assert errors == {"5803-2": ["Urine pH (dipstick): a result is required"]}


def test_unknown_choice_names_the_pad_and_the_choices() -> None:
    _, errors = _check("UADIP", {**NORMAL_UA, "5802-4": "maybe"})
    assert errors["5802-4"][0].startswith("Urine nitrite (dipstick): 'maybe' is not one of")
    assert "Positive" in errors["5802-4"][0]


@pytest.mark.parametrize("raw", ["10.5", "0.998", "abc"])
def test_impossible_dipstick_numbers_are_refused(raw: str) -> None:
    _, errors = _check("UADIP", {**NORMAL_UA, "5811-5": raw})
    assert "5811-5" in errors and "specific gravity" in errors["5811-5"][0]


def test_glucose_900_is_impossible_and_says_so() -> None:
    _, errors = _check("GLUPOC", {"41653-7": "900"})
    assert errors["41653-7"] == [
        "Glucose, fingerstick (meter): 900 mg/dL is not a possible value "
        "(possible 20-600 mg/dL; enter LO or HI when the meter shows it)"
    ]


def test_glucose_38_is_critical_low() -> None:
    [row], errors = _check("GLUPOC", {"41653-7": "38"})
    assert not errors and row.flag == "LL"


def test_glucose_meter_hi_is_stored_as_over_600_and_critical() -> None:
    [row], _ = _check("GLUPOC", {"41653-7": "HI"})
    assert (row.comparator, row.value, row.flag) == (">", Decimal(600), "HH")


def test_glucose_decimals_are_refused() -> None:
    _, errors = _check("GLUPOC", {"41653-7": "101.5"})
    assert errors["41653-7"] == ["Glucose, fingerstick (meter): enter whole numbers, not 101.5"]


def test_glucose_115_is_high_fasting_but_normal_random() -> None:
    [fasting], _ = _check("GLUPOC", {"41653-7": "115"}, fasting=True)
    [random], _ = _check("GLUPOC", {"41653-7": "115"}, fasting=False)
    assert (fasting.flag, fasting.reference_high) == ("H", Decimal(99))
    assert (random.flag, random.reference_high) == ("N", Decimal(139))


@pytest.mark.parametrize(
    "sex,age,value,flag,low",
    [
        ("female", 40, "12.8", "N", "12.0"),
        ("male", 40, "12.8", "L", "13.5"),
        ("male", 13, "12.8", "N", "12.5"),
        ("female", 3, "10.6", "L", "11.0"),
        ("female", 8, "11.2", "L", "11.5"),
        ("unknown", 40, "12.8", "N", "12.0"),  # the span of both sexes' ranges
    ],
)
def test_haemoglobin_ranges_by_sex_and_age(
    sex: str, age: int, value: str, flag: str, low: str
) -> None:
    [row], errors = _check("HGBPOC", {"718-7": value}, sex=sex, age=age)
    assert not errors
    assert row.flag == flag and row.reference_low == Decimal(low)


def test_haemoglobin_critical_low_uses_the_shared_limits() -> None:
    [row], _ = _check("HGBPOC", {"718-7": "6.4"})
    assert row.flag == "LL"


def test_infant_haemoglobin_has_no_range_but_still_a_critical_flag() -> None:
    [row], _ = _check("HGBPOC", {"718-7": "21"}, age=0)
    assert row.reference_low is None and row.flag == "HH"


def test_a1c_prediabetes_range_is_high() -> None:
    [row], _ = _check("A1CPOC", {"4548-4": "6.1"})
    assert row.flag == "H" and row.reference_text == "4-5.6"


def test_flu_has_two_antigens() -> None:
    checked, errors = _check("FLUAG", {"80382-5": "Positive", "80383-3": "Negative"})
    assert not errors
    assert [(c.analyte.code, c.flag) for c in checked] == [("80382-5", "A"), ("80383-3", "N")]


def test_an_unknown_analyte_code_is_refused() -> None:
    _, errors = _check("COVAG", {"94558-4": "Negative", "1234-5": "x"})
    assert "1234-5" in errors


def test_age_on_birthday() -> None:
    assert poc.age_on(date(2010, 3, 1), date(2020, 2, 29)) == 9
    assert poc.age_on(date(2010, 3, 1), date(2020, 3, 1)) == 10


def test_qc_passes_only_if_every_level_passes() -> None:
    rows, passed, errors = poc.check_qc(
        [
            poc.QcLevel("Level 1 (low)", "36-60", "45"),
            poc.QcLevel("Level 2 (high)", "250-350", "361"),
        ]
    )
    assert not errors and not passed
    assert [r["passed"] for r in rows] == [True, False]


def test_qualitative_qc() -> None:
    _, passed, _ = poc.check_qc(
        [
            poc.QcLevel("Positive control", "Positive", "positive"),
            poc.QcLevel("Negative control", "Negative", "Negative"),
        ]
    )
    assert passed


def test_qc_level_without_observed_result_names_the_level() -> None:
    _, passed, errors = poc.check_qc([poc.QcLevel("Level 1 (low)", "36-60", "")])
    assert not passed
    assert errors == {"levels[0].observed": ["Level 1 (low): the observed result is required"]}
