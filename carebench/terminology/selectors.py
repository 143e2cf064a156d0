"""Reads for code sets: look up and search ICD-10-CM."""

from __future__ import annotations

from django.db.models import Q

from .models import Icd10CmCode


def normalize_icd10(code: str) -> str:
    """'e119' or 'E11.9' -> 'E11.9' (dot after the third character)."""
    raw = code.strip().upper().replace(".", "")
    return raw if len(raw) <= 3 else f"{raw[:3]}.{raw[3:]}"


def get_icd10(code: str) -> Icd10CmCode | None:
    return Icd10CmCode.objects.filter(code=normalize_icd10(code)).first()


def search_icd10(query: str, *, billable_only: bool = True, limit: int = 20) -> list[Icd10CmCode]:
    words = [w for w in query.lower().split() if w]
    if not words:
        return []
    qs = Icd10CmCode.objects.all()
    if billable_only:
        qs = qs.filter(billable=True)
    first = words[0].replace(".", "")
    if len(words) == 1 and first[:1].isalpha() and first[1:3].isdigit():
        code = normalize_icd10(first)
        return list(qs.filter(code__startswith=code).order_by("code")[:limit])
    cond = Q()
    for word in words:
        cond &= Q(search_text__contains=word)
    return list(qs.filter(cond).order_by("code")[:limit])
