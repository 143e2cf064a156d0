"""Property tests for the pure validators."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carebench.patients import validation as v

US_NUMBER = st.tuples(st.integers(200, 999), st.integers(200, 999), st.integers(0, 9999)).map(
    lambda t: f"{t[0]}{t[1]}{t[2]:04d}"
)


@given(
    US_NUMBER,
    st.sampled_from(
        ["{a}{b}{c}", "({a}) {b}-{c}", "{a}-{b}-{c}", "+1 {a} {b} {c}", "1.{a}.{b}.{c}"]
    ),
)
def test_any_written_form_of_a_us_number_normalizes_to_its_digits(number, pattern):
    written = pattern.format(a=number[:3], b=number[3:6], c=number[6:])
    assert v.normalize_phone(written) == number


@given(st.text(alphabet="0123456789", min_size=1, max_size=9))
def test_too_short_numbers_are_refused(digits):
    with pytest.raises(ValueError, match="10 digits"):
        v.normalize_phone(digits)


@given(
    st.text(alphabet=st.characters(blacklist_categories=["Nd"]), min_size=1).filter(
        lambda s: s.strip() and any(c not in "+ ().-" for c in s)
    )
)
def test_phone_with_letters_or_symbols_is_refused(text):
    with pytest.raises(ValueError):
        v.normalize_phone(text)


@given(st.text())
def test_search_key_is_lowercase_ascii_letters(text):
    key = v.search_key(text)
    assert all("a" <= c <= "z" for c in key)


@pytest.mark.parametrize(
    "name,key",
    [
        ("Núñez", "nunez"),
        ("O’Brien", "obrien"),
        ("Zoë", "zoe"),
        ("de la Cruz", "delacruz"),
        ("BJÖRK-Smith", "bjorksmith"),
    ],
)
def test_search_key_folds_accents_case_and_punctuation(name, key):
    assert v.search_key(name) == key


@given(st.dates(min_value=date(1880, 1, 1), max_value=date(2026, 1, 1)))
def test_past_birth_dates_are_kept(day):
    assert v.check_birth_date(day, today=date(2026, 1, 1)) == day


@given(st.integers(1, 10000))
def test_future_birth_dates_are_refused(days):
    today = date(2026, 1, 1)
    with pytest.raises(ValueError, match="future"):
        v.check_birth_date(today + timedelta(days=days), today=today)


@given(
    st.text(alphabet=st.characters(whitelist_categories=["Nd", "P", "S"]), min_size=1).filter(
        lambda s: s.strip()
    )
)
def test_names_without_letters_are_refused(text):
    with pytest.raises(ValueError):
        v.clean_name(text)


@pytest.mark.parametrize("zip_code", ["1234", "123456", "12345-67", "ABCDE"])
def test_bad_zip_codes_are_refused(zip_code):
    with pytest.raises(ValueError, match="5 digits"):
        v.clean_zip(zip_code)
