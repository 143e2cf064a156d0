"""The pure flag rules: the lab's flag, reference ranges and critical limits."""

from decimal import Decimal

from carebench.labs import flags


def test_value_below_reference_range_is_low() -> None:
    assert flags.flag_value(Decimal("3.1"), low=Decimal("3.5"), high=Decimal("5.1")) == "L"


def test_value_inside_range_is_normal() -> None:
    assert flags.flag_value(Decimal("4.0"), low=Decimal("3.5"), high=Decimal("5.1")) == "N"


def test_value_past_critical_limit_is_critical_even_without_lab_flag() -> None:
    limits = flags.CRITICAL_LIMITS["41653-7"]
    assert flags.flag_value(Decimal("38"), low=Decimal("70"), critical=limits) == "LL"
    assert flags.flag_value(Decimal("455"), high=Decimal("99"), critical=limits) == "HH"


def test_lab_critical_flag_always_stands() -> None:
    assert flags.flag_value(Decimal("4.0"), low=Decimal("3.5"), lab_flag="HH") == "HH"


def test_lab_flag_kept_when_sent_and_not_critical_by_our_limits() -> None:
    assert flags.flag_value(Decimal("4.0"), low=Decimal("4.5"), lab_flag="N") == "N"


def test_our_critical_limit_overrides_a_lab_high_flag() -> None:
    limits = flags.CRITICAL_LIMITS["2823-3"]
    assert flags.flag_value(Decimal("6.8"), critical=limits, lab_flag="H") == "HH"


def test_text_result_takes_lab_abnormal_flag() -> None:
    assert flags.flag_value(None, lab_flag="A") == "A"


def test_parse_range_forms() -> None:
    assert flags.parse_range("3.5-5.1") == (Decimal("3.5"), Decimal("5.1"))
    assert flags.parse_range("<200") == (None, Decimal("200"))
    assert flags.parse_range(">=40") == (Decimal("40"), None)
    assert flags.parse_range("-2.0-2.0") == (Decimal("-2.0"), Decimal("2.0"))
    assert flags.parse_range("negative") == (None, None)
