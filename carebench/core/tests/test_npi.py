import pytest
from hypothesis import given
from hypothesis import strategies as st

from carebench.core.npi import npi_check_digit, validate_npi


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_valid_npis(npi):
    assert validate_npi(npi) == npi


@pytest.mark.parametrize(
    "npi,rule",
    [
        ("1234567890", "check digit"),
        ("123456789", "10 digits"),
        ("3234567893", "starts with 1 or 2"),
        ("12345678a3", "10 digits"),
    ],
)
def test_invalid_npis_name_the_rule(npi, rule):
    with pytest.raises(ValueError, match=rule):
        validate_npi(npi)


@given(
    st.text(alphabet="0123456789", min_size=8, max_size=8), st.sampled_from("12"), st.integers(0, 9)
)
def test_exactly_one_check_digit_is_valid(body, first, wrong):
    nine = first + body
    right = npi_check_digit(nine)
    assert validate_npi(nine + str(right))
    if wrong != right:
        with pytest.raises(ValueError):
            validate_npi(nine + str(wrong))
