"""Search parameters: which ones an operation takes, and how their FHIR values are read.

Unknown parameters are ignored (FHIR's lenient handling; `Prefer: handling=strict` makes them
400s); modifiers we do not support and malformed values are always 400s.
Supported: date prefixes eq/ne/gt/lt/ge/le on full or partial dates, tokens as `system|code`,
`code` or `|code`, references as `Patient/123` or `123`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q
from django.http import HttpRequest

from .datatypes import row_id
from .outcome import bad_request

# Parameters every search accepts: paging, and format hints we answer the same way anyway.
COMMON_PARAMS = frozenset({"_count", "_offset", "page", "_format", "_pretty"})
_DATE = re.compile(r"^(eq|ne|gt|lt|ge|le)?(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def check_params(request: HttpRequest, allowed: Iterable[str]) -> list[tuple[str, str]]:
    """The search parameters this search will use, as (name, value) pairs.

    Unknown parameters are ignored (and left out of the Bundle's links, which is how FHIR
    says so) unless the client sends `Prefer: handling=strict`, which makes them a 400.
    A modifier we do not support on a parameter we do support is always a 400.
    """
    strict = "handling=strict" in request.headers.get("Prefer", "").replace(" ", "")
    allowed = set(allowed)
    used: list[tuple[str, str]] = []
    for name, values in request.GET.lists():
        if name in allowed:
            used.extend((name, value) for value in values)
        elif name.split(":", 1)[0] in allowed:
            raise bad_request(
                f"search parameter {name}: the modifier is not supported",
                expression=name,
                code="not-supported",
            )
        elif strict and name not in COMMON_PARAMS:
            raise bad_request(
                f"unknown search parameter {name}; this search takes {', '.join(sorted(allowed))}",
                expression=name,
                code="not-supported",
            )
    return used


@dataclass(frozen=True)
class Token:
    system: str | None  # None: any system; "": no system
    code: str


def parse_token(value: str) -> Token:
    if "|" in value:
        system, code = value.split("|", 1)
        return Token(system, code)
    return Token(None, value)


def parse_reference_id(value: str, resource_type: str, name: str) -> int:
    """`Patient/123`, a full URL ending in it, or `123` -> 123 (400 otherwise)."""
    ident = value.rstrip("/")
    if "/" in ident:
        kind, ident = ident.rsplit("/", 1)
        if kind.rsplit("/", 1)[-1] != resource_type:
            raise bad_request(
                f"{name}: '{value}' is not a {resource_type} reference", expression=name
            )
    row = row_id(ident)
    if row is None:
        raise bad_request(f"{name}: '{value}' is not a {resource_type} id", expression=name)
    return row


def date_filter(field: str, value: str, name: str) -> Q:
    """One FHIR date search value as a condition on a date field."""
    match = _DATE.match(value)
    if not match:
        raise bad_request(
            f"{name}: '{value}' is not a date search value "
            "(YYYY, YYYY-MM or YYYY-MM-DD, optionally prefixed eq, ne, gt, lt, "
            "ge or le)",
            expression=name,
        )
    prefix, year, month, day = match.groups()
    try:
        start, end = _date_range(int(year), int(month or 0), int(day or 0))
    except ValueError:
        raise bad_request(f"{name}: '{value}' is not a real date", expression=name) from None
    inside = Q(**{f"{field}__gte": start, f"{field}__lte": end})
    conditions = {
        None: inside,
        "eq": inside,
        "ne": ~inside,
        "gt": Q(**{f"{field}__gt": end}),
        "ge": Q(**{f"{field}__gte": start}),
        "lt": Q(**{f"{field}__lt": start}),
        "le": Q(**{f"{field}__lte": end}),
    }
    return conditions[prefix]


def _date_range(year: int, month: int, day: int) -> tuple[date, date]:
    if day:
        start = date(year, month, day)
        return start, start
    if month:
        start = date(year, month, 1)
        following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return start, following - timedelta(days=1)
    return date(year, 1, 1), date(year, 12, 31)
