"""Reading scanned GS1 codes and NDCs (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from carebench.meds import scan

# A real-format GTIN-14 for NDC 49281-0421-50 (5-4-2) = 49281-421-50 (5-3-2).
GTIN = "00349281421501"


def test_the_check_digit_of_a_gtin_is_verified() -> None:
    assert scan.gtin_check_digit_ok(GTIN)
    assert not scan.gtin_check_digit_ok(GTIN[:-1] + "4")


def test_a_gs1_string_gives_gtin_expiry_and_lot() -> None:
    code = scan.parse_gs1(f"01{GTIN}1727063010U1234AB")
    assert code == scan.Gs1(gtin=GTIN, expires_on=date(2027, 6, 30), lot="U1234AB")


def test_the_ndc_comes_out_of_a_us_gtin() -> None:
    assert scan.parse_gs1(f"01{GTIN}10X1").ndc10 == "4928142150"


def test_the_human_readable_form_with_parentheses_is_read() -> None:
    code = scan.parse_gs1(f"(01){GTIN}(17)270630(10)U1234AB(21)SER9")
    assert (code.lot, code.serial) == ("U1234AB", "SER9")


def test_a_group_separator_ends_the_lot_before_a_serial() -> None:
    code = scan.parse_gs1(f"]d201{GTIN}10LOT7\x1d21S0001")
    assert (code.lot, code.serial) == ("LOT7", "S0001")


def test_day_zero_means_the_end_of_the_month() -> None:
    assert scan.parse_gs1(f"01{GTIN}17270200").expires_on == date(2027, 2, 28)


def test_a_bad_check_digit_names_the_gtin() -> None:
    with pytest.raises(ValueError, match=r"GTIN \(01\)"):
        scan.parse_gs1(f"01{GTIN[:-1]}910X")


def test_an_impossible_expiry_is_refused() -> None:
    with pytest.raises(ValueError, match=r"expiry \(17\)"):
        scan.parse_gs1(f"01{GTIN}17271345")


def test_the_same_ndc_written_in_ten_and_eleven_digits_matches() -> None:
    assert scan.same_ndc("49281-0421-50", "49281-421-50")
    assert scan.same_ndc("49281-0421-50", "4928142150")
    assert not scan.same_ndc("49281-0421-50", "49281-0422-50")


@pytest.mark.parametrize(
    ("ndc", "ok"),
    [
        ("49281-421-50", True),
        ("0006-4045-41", True),
        ("49281-0421-50", True),
        ("4928142150", False),
    ],
)
def test_an_ndc_is_written_with_its_dashes(ndc: str, ok: bool) -> None:
    assert scan.valid_ndc(ndc) is ok


def test_a_upc_a_barcode_carries_the_ndc() -> None:
    assert scan.ndc_from_scan("349281421507") == "4928142150"
