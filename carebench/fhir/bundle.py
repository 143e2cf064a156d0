"""Search results as a `searchset` Bundle: total, entries, and self/first/previous/next links.

Paging is `_count` (default 20, at most 100; 0 answers the total only) and `_offset` (rows to
skip); `page` (1-based) is accepted too and turned into an offset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import get_script_prefix
from ninja import Field, Schema

DEFAULT_COUNT = 20
MAX_COUNT = 100
Row = TypeVar("Row")


class Paging(Schema):
    count: int = Field(
        DEFAULT_COUNT,
        alias="_count",
        ge=0,
        description=f"results per page (default {DEFAULT_COUNT}, at most {MAX_COUNT})",
    )
    offset: int = Field(0, alias="_offset", ge=0, description="results to skip")
    page: int | None = Field(None, ge=1, description="page number (1-based), instead of _offset")

    @property
    def size(self) -> int:
        return min(self.count, MAX_COUNT)

    @property
    def start(self) -> int:
        if self.page is not None:
            return (self.page - 1) * self.size
        return self.offset


def base_url(request: HttpRequest) -> str:
    """The API's absolute root, e.g. `https://clinic.example/fhir`."""
    return request.build_absolute_uri(get_script_prefix() + "fhir").rstrip("/")


def page_of(queryset: QuerySet[Any], paging: Paging) -> tuple[list[Any], int]:
    """One page of rows and the total (two queries)."""
    total = queryset.count()
    if paging.size == 0 or paging.start >= total:
        return [], total
    return list(queryset[paging.start : paging.start + paging.size]), total


def searchset(
    request: HttpRequest,
    resource_type: str,
    rows: Sequence[Row],
    total: int,
    paging: Paging,
    to_fhir: Callable[[Row], dict[str, Any]],
    params: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """The Bundle; `params` are the search parameters used (they go into the links)."""
    base = base_url(request)
    entries = []
    for row in rows:
        resource = to_fhir(row)
        entries.append(
            {
                "fullUrl": f"{base}/{resource_type}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
        )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": _links(f"{base}/{resource_type}", params, total, paging),
    }
    if entries:
        bundle["entry"] = entries
    return bundle


def _links(
    url: str, params: Sequence[tuple[str, str]], total: int, paging: Paging
) -> list[dict[str, str]]:
    def link(relation: str, offset: int) -> dict[str, Any]:
        query = urlencode([*params, ("_count", paging.size), ("_offset", offset)])
        return {"relation": relation, "url": f"{url}?{query}"}

    start, size = paging.start, paging.size
    links = [link("self", start), link("first", 0)]
    if size and start > 0:
        links.append(link("previous", max(start - size, 0)))
    if size and start + size < total:
        links.append(link("next", start + size))
    return links
