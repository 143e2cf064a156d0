"""Acceptable storage temperatures for vaccines, by kind of unit (pure; no Django).

CDC's Vaccine Storage and Handling Toolkit: refrigerators 2-8 °C (36-46 °F), freezers -50 to
-15 °C (-58 to +5 °F). A unit kind with no range here (room-temperature cabinets) has readings
logged but never opens an excursion.
"""

from __future__ import annotations

from decimal import Decimal

RANGES: dict[str, tuple[Decimal, Decimal]] = {
    "refrigerator": (Decimal(2), Decimal(8)),
    "freezer": (Decimal(-50), Decimal(-15)),
}
# Readings outside this are a typing slip or a broken probe, not a temperature.
PLAUSIBLE = (Decimal(-90), Decimal(60))


def range_for(kind: str) -> tuple[Decimal, Decimal] | None:
    return RANGES.get(kind)


def describe(kind: str) -> str:
    band = RANGES.get(kind)
    if band is None:
        return "no range set"
    return f"{band[0]} to {band[1]} °C"


def is_out_of_range(kind: str, value: Decimal | None) -> bool:
    band = RANGES.get(kind)
    return band is not None and value is not None and not band[0] <= value <= band[1]


def out_of_range(
    kind: str, current: Decimal, minimum: Decimal | None = None, maximum: Decimal | None = None
) -> list[str]:
    """Which of the reading's values are outside the range, in words ("max 9.5 °C"), empty
    when the reading is fine."""
    found = []
    for label, value in (("current", current), ("min", minimum), ("max", maximum)):
        if is_out_of_range(kind, value):
            found.append(f"{label} {value} °C")
    return found
