"""The pure vital-signs rules: conversions, impossible values, flags by age."""

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carebench.encounters import vitals as v
from carebench.encounters.vitals import Flag, VitalsEntry, VitalsError, assess

ADULT = 40 * 12


def test_fahrenheit_pounds_and_feet_inches_convert_to_canonical_units():
    result = assess(
        VitalsEntry(
            temperature=D("98.6"),
            temperature_unit="F",
            weight=D(180),
            weight_unit="lb",
            height_unit="ft_in",
            height_feet=D(5),
            height_inches=D(10),
        ),
        age_months=ADULT,
    )
    assert result.readings["temperature"].value == D("37.00")
    assert result.readings["weight"].value == D("81.647")
    assert result.readings["height"].value == D("177.80")
    assert result.readings["bmi"].value == D("25.8")
    assert result.bmi_category == "overweight"


@pytest.mark.parametrize(
    "entry,field",
    [
        (VitalsEntry(systolic=D(80), diastolic=D(120)), "systolic"),
        (VitalsEntry(temperature=D(10)), "temperature"),
        (VitalsEntry(weight=D(2000), weight_unit="lb"), "weight"),
        (VitalsEntry(spo2=D(101)), "spo2"),
        (VitalsEntry(heart_rate=D(400)), "heart_rate"),
        (VitalsEntry(pain=11), "pain"),
        (VitalsEntry(systolic=D(120)), "diastolic"),
    ],
)
def test_impossible_values_are_refused_naming_the_field(entry, field):
    with pytest.raises(VitalsError) as err:
        assess(entry, age_months=ADULT)
    assert field in err.value.errors


def test_swapped_height_and_weight_units_are_caught_by_bmi():
    # 70 kg typed as height in cm: BMI would be absurd
    with pytest.raises(VitalsError) as err:
        assess(VitalsEntry(height=D(70), weight=D(170)), age_months=ADULT)
    assert "height" in err.value.errors


@pytest.mark.parametrize(
    "sys_,dia,category",
    [
        (118, 78, "normal"),
        (125, 78, "elevated"),
        (132, 78, "stage1"),
        (118, 85, "stage1"),
        (142, 80, "stage2"),
        (130, 92, "stage2"),
        (185, 100, "severe"),
        (160, 125, "severe"),
    ],
)
def test_adult_blood_pressure_categories(sys_, dia, category):
    result = assess(VitalsEntry(systolic=D(sys_), diastolic=D(dia)), age_months=ADULT)
    assert result.bp_category == category


def test_severe_bp_is_accepted_flagged_and_prompts_recheck_and_alert():
    result = assess(VitalsEntry(systolic=D(190), diastolic=D(110)), age_months=ADULT)
    assert result.readings["systolic"].flag is Flag.CRITICAL_HIGH
    assert result.recheck_bp_in_minutes == 5
    assert result.critical and "provider" in result.alerts[0]


def test_child_heart_rate_uses_age_band():
    toddler = assess(VitalsEntry(heart_rate=D(130)), age_months=18)
    adult = assess(VitalsEntry(heart_rate=D(130)), age_months=ADULT)
    assert toddler.readings["heart_rate"].flag is Flag.NORMAL
    assert adult.readings["heart_rate"].flag is Flag.HIGH


def test_infant_breathing_rate_band():
    assert (
        assess(VitalsEntry(respiratory_rate=D(40)), age_months=6).readings["respiratory_rate"].flag
        is Flag.NORMAL
    )
    assert (
        assess(VitalsEntry(respiratory_rate=D(40)), age_months=ADULT)
        .readings["respiratory_rate"]
        .flag
        is Flag.CRITICAL_HIGH
    )


def test_fever_and_low_spo2_are_flagged():
    result = assess(VitalsEntry(temperature=D("38.4"), spo2=D(90)), age_months=ADULT)
    assert result.readings["temperature"].flag is Flag.HIGH
    assert result.readings["spo2"].flag is Flag.LOW


def test_head_circumference_only_under_three():
    assert assess(VitalsEntry(head_circumference=D(45)), age_months=12).readings[
        "head_circumference"
    ].value == D(45)
    with pytest.raises(VitalsError):
        assess(VitalsEntry(head_circumference=D(45)), age_months=48)


def test_child_hypotension_by_pals_formula():
    result = assess(VitalsEntry(systolic=D(70), diastolic=D(40)), age_months=5 * 12)
    assert result.readings["systolic"].flag is Flag.LOW  # limit is 80 at age 5


def test_every_vital_has_its_loinc_code():
    assert v.KINDS["systolic"].loinc == "8480-6"
    assert v.KINDS["heart_rate"].loinc == "8867-4"
    assert v.KINDS["spo2"].loinc == "59408-5"
    assert v.KINDS["bmi"].loinc == "39156-5"
    assert v.BP_PANEL_LOINC == "85354-9"


@given(st.decimals(min_value=D("80"), max_value=D("110"), places=1))
def test_fahrenheit_round_trip(f):
    c = v.fahrenheit_to_celsius(f)
    assert abs(v.celsius_to_fahrenheit(c) - f) <= D("0.1")


@given(st.integers(41, 299), st.integers(16, 199))
def test_bp_is_refused_exactly_when_systolic_not_above_diastolic(sys_, dia):
    entry = VitalsEntry(systolic=D(sys_), diastolic=D(dia))
    if sys_ <= dia:
        with pytest.raises(VitalsError):
            assess(entry, age_months=ADULT)
    else:
        assess(entry, age_months=ADULT)
