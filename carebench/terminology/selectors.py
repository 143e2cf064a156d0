"""Reads for code sets: look up and search ICD-10-CM, CVX vaccines and MVX manufacturers."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q

from .cdc import normalize_cvx
from .models import Icd10CmCode, Icd10Word, Manufacturer, VaccineCode
from .words import WORD_END, query_words

# Words are ranked by how many codes they match, counted up to this many.
DRIVER_CAP = 5000


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
        # A code prefix: a range, not LIKE, so SQLite uses the primary key's index too.
        code = normalize_icd10(first)
        return list(qs.filter(code__gte=code, code__lt=code + WORD_END).order_by("code")[:limit])
    # Each word of the query must begin a word of the description ("diab mell" finds
    # "Type 2 diabetes mellitus"), looked up by ranges on the word index. The rarest word
    # picks the candidates; the others are checked per candidate.
    terms = query_words(query)
    if not terms:
        return []

    def matching(term: str) -> Any:
        rows = Icd10Word.objects.filter(word__gte=term, word__lt=term + WORD_END)
        return rows.filter(billable=True) if billable_only else rows

    sizes = sorted((matching(t).values("id")[:DRIVER_CAP].count(), t) for t in terms)
    size, driver = sizes[0]
    if size == 0:
        return []
    qs = qs.filter(code__in=matching(driver).values("code_id"))
    for _, term in sizes[1:]:
        qs = qs.filter(
            Exists(
                Icd10Word.objects.filter(
                    code=OuterRef("code"), word__gte=term, word__lt=term + WORD_END
                )
            )
        )
    return list(qs.order_by("code")[:limit])


def get_vaccine(cvx: str) -> VaccineCode | None:
    """By CVX code; '3' finds '03'."""
    return VaccineCode.objects.filter(cvx=normalize_cvx(cvx)).first()


def vaccines_for_cpt(cpt: str) -> list[VaccineCode]:
    """The CVX codes a CPT product code bills (90662 maps to two)."""
    code = cpt.strip()
    if not code:
        return []
    return [v for v in VaccineCode.objects.filter(cpt_codes__contains=code) if code in v.cpt_list]


def search_vaccines(
    query: str = "",
    *,
    group: str = "",
    active_only: bool = False,
    include_nonvaccine: bool = False,
    limit: int = 20,
) -> list[VaccineCode]:
    """Search by CVX code (exact), CPT code (exact) or words (all must match), optionally within
    a vaccine group ('FLU', 'HepB'; a combination vaccine is found in each of its groups)."""
    qs = VaccineCode.objects.all()
    if group:
        qs = qs.filter(groups__icontains=f"|{group.strip()}|")
    if active_only:
        qs = qs.filter(status="Active")
    if not include_nonvaccine:
        qs = qs.filter(nonvaccine=False)
    words = [w for w in query.lower().split() if w]
    if len(words) == 1 and words[0].isdigit():
        code = words[0]
        if len(code) == 5:
            return [v for v in qs.filter(cpt_codes__contains=code) if code in v.cpt_list][:limit]
        return list(qs.filter(cvx=normalize_cvx(code))[:limit])
    cond = Q()
    for word in words:
        cond &= Q(search_text__contains=word)
    return list(qs.filter(cond).order_by("cvx")[:limit])


def vaccine_groups() -> list[str]:
    """The vaccine groups present in the table, sorted."""
    found: set[str] = set()
    for groups in VaccineCode.objects.values_list("groups", flat=True):
        found.update(g for g in groups.split("|") if g)
    return sorted(found, key=str.lower)


def get_manufacturer(mvx: str) -> Manufacturer | None:
    return Manufacturer.objects.filter(mvx=mvx.strip().upper()).first()


def search_manufacturers(query: str = "", *, active_only: bool = True) -> list[Manufacturer]:
    """By MVX code or a word of the name."""
    qs = Manufacturer.objects.all()
    if active_only:
        qs = qs.filter(status="Active")
    text = query.strip()
    if text:
        qs = qs.filter(Q(mvx__iexact=text) | Q(name__icontains=text))
    return list(qs.order_by("name"))
