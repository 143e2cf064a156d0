"""National Provider Identifier check (pure): ten digits, Luhn check digit over 80840 + nine."""

from __future__ import annotations


def npi_check_digit(first_nine: str) -> int:
    digits = [int(c) for c in "80840" + first_nine]
    total = 0
    # Luhn: double every second digit from the right of the payload (the check digit's left).
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def validate_npi(value: str) -> str:
    """Return the NPI, or raise ValueError naming the rule it breaks."""
    value = value.strip()
    if len(value) != 10 or not value.isdigit():
        raise ValueError("an NPI is exactly 10 digits")
    if value[0] not in "12":
        raise ValueError("an NPI starts with 1 or 2")
    if npi_check_digit(value[:9]) != int(value[9]):
        raise ValueError("the NPI's check digit does not match (mistyped?)")
    return value
