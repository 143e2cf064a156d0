"""Reads for patients: the fast search and the chart, always within one organization."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import cast

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Collate

from carebench.core.models import Organization

from .models import Allergy, Coverage, HistoryEntry, MedicationStatement, Patient, Problem
from .validation import search_key

SEARCH_LIMIT = 25
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")


NAME_KEYS = ("family_key", "given_key", "preferred_key")


def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def patients_for(organization: Organization | int) -> QuerySet[Patient]:
    qs = Patient.objects.for_org(organization).filter(voided_at__isnull=True)
    if _on_postgresql():
        # the name keys in byte order, as the "C"-collated indexes hold them (migration 0005)
        qs = qs.alias(**{f"{key}_c": Collate(key, "C") for key in NAME_KEYS})
    return qs


def _key(field_name: str) -> str:
    """The name to filter and sort a search key by on this database."""
    return f"{field_name}_c" if field_name in NAME_KEYS and _on_postgresql() else field_name


def _prefix(field_name: str, prefix: str) -> Q:
    """`field LIKE 'prefix%'`, written so that each database answers it from an index, in
    index order.

    The keys are lower-case ASCII, so a prefix is a range: [prefix, prefix + U+FFFF). SQLite
    compares bytes; on PostgreSQL the name keys are compared in the "C" collation, which the
    name indexes are built with, so the range and the ORDER BY both come from the index. Phone
    keys use LIKE against their text_pattern_ops indexes there.
    """
    if _on_postgresql() and field_name not in NAME_KEYS:
        return Q(**{f"{field_name}__startswith": prefix})
    key = _key(field_name)
    return Q(**{f"{key}__gte": prefix, f"{key}__lt": prefix + "\uffff"})


def _parse_date(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


@dataclass
class SearchQuery:
    """What the user typed, understood: name parts, date of birth, MRN or phone digits."""

    family: str = ""
    given: str = ""
    either: list[str] = field(default_factory=list)
    birth_date: date | None = None
    digits: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.family or self.given or self.either or self.birth_date or self.digits)


def parse_query(text: str) -> SearchQuery:
    """'smith, jo' -> family smith, given jo; 'jo smith' -> either order; a date -> birth date;
    digits -> MRN or phone."""
    query = SearchQuery()
    text = text.strip()
    if not text:
        return query
    words: list[str] = []
    for token in re.split(r"\s+", text.replace(",", " , ")):
        if not token:
            continue
        parsed = _parse_date(token)
        if parsed:
            query.birth_date = parsed
        elif re.fullmatch(r"[\d()+\-.]{3,}", token) and sum(c.isdigit() for c in token) >= 3:
            query.digits += re.sub(r"\D", "", token)
        else:
            words.append(token)
    if "," in words:
        at = words.index(",")
        query.family = search_key("".join(words[:at]))
        query.given = search_key("".join(w for w in words[at + 1 :] if w != ","))
    else:
        keys = [k for k in (search_key(w) for w in words) if k]
        if len(keys) == 1:
            query.either = keys
        elif len(keys) >= 2:
            query.given = keys[0]
            query.family = "".join(keys[1:])
            query.either = keys  # also try "last first"
    return query


SEARCH_FIELDS = (
    "id",
    "mrn",
    "family_name",
    "given_name",
    "preferred_name",
    "middle_name",
    "birth_date",
    "sex",
    "phone_mobile",
    "phone_home",
    "organization_id",
)


def _name_alternatives(query: SearchQuery) -> list[tuple[Q, tuple[str, ...]]]:
    """Each way the typed name can match, with the index order that serves it.

    Each alternative runs as its own query so that it is one index range scan; an OR across
    different keys would make the database scan the organization's whole index.
    """
    if query.family or query.given:
        alternatives: list[tuple[Q, tuple[str, ...]]] = []
        family = _prefix("family_key", query.family) if query.family else Q()
        if query.given:
            alternatives.append(
                (family & _prefix("given_key", query.given), ("family_key", "given_key"))
            )
            alternatives.append(
                (family & _prefix("preferred_key", query.given), ("family_key", "given_key"))
            )
        else:
            alternatives.append((family, ("family_key", "given_key")))
        if len(query.either) >= 2:  # typed "last first" rather than "first last"
            alternatives.append(
                (
                    _prefix("family_key", query.either[0])
                    & _prefix("given_key", "".join(query.either[1:])),
                    ("family_key", "given_key"),
                )
            )
        return alternatives
    if query.either:
        key = query.either[0]
        return [
            (_prefix("family_key", key), ("family_key", "given_key")),
            (_prefix("given_key", key), ("given_key", "family_key")),
            (_prefix("preferred_key", key), ("preferred_key", "family_key")),
        ]
    return []


def _digit_alternatives(query: SearchQuery) -> list[Q]:
    if not query.digits:
        return []
    alternatives = [Q(mrn=query.digits)]
    if len(query.digits) >= 4:
        digits = query.digits
        if len(digits) == 11 and digits[0] == "1":
            digits = digits[1:]
        alternatives += [_prefix("mobile_key", digits), _prefix("home_key", digits)]
    return alternatives


def search_patients(
    organization: Organization | int, text: str, *, limit: int = SEARCH_LIMIT
) -> list[Patient]:
    """Find patients by name prefix, date of birth, MRN or phone.

    Last-name matches come first (in name order), then first- and preferred-name matches.
    Each way of matching is one indexed query with its own limit; the results are merged.
    """
    query = parse_query(text)
    if query.is_empty:
        return []
    base = patients_for(organization).only(*SEARCH_FIELDS)
    if query.birth_date:
        base = base.filter(birth_date=query.birth_date)
    names = _name_alternatives(query) or [(Q(), ("family_key", "given_key"))]
    digits = _digit_alternatives(query) or [Q()]
    found: dict[int, Patient] = {}
    for name_cond, order in names:
        for digit_cond in digits:
            ordering = [_key(name) for name in order]
            rows = base.filter(name_cond & digit_cond).order_by(*ordering, "birth_date")[:limit]
            for patient in rows:
                found.setdefault(patient.pk, patient)
            if len(found) >= limit:
                return list(found.values())[:limit]
    return list(found.values())


def patients_by_name(
    organization: Organization | int, *, family: str = "", given: str = "", name: str = ""
) -> QuerySet[Patient]:
    """Patients whose last name, first (or preferred) name, or any name part (each word of
    `name`) starts with the text given: the normalized, accent- and case-insensitive prefix
    search of `search_patients`, as a queryset the caller can narrow, order and page.
    Text with no letters in it matches nobody (its key is the never-matching '\\uffff')."""
    qs = patients_for(organization)
    if family:
        qs = qs.filter(_prefix("family_key", search_key(family) or "\uffff"))
    if given:
        key = search_key(given) or "\uffff"
        qs = qs.filter(_prefix("given_key", key) | _prefix("preferred_key", key))
    for word in name.split():
        key = search_key(word) or "\uffff"
        qs = qs.filter(
            _prefix("family_key", key) | _prefix("given_key", key) | _prefix("preferred_key", key)
        )
    return qs


def get_patient(organization: Organization | int, patient_id: int) -> Patient:
    """One patient of this organization (raises Patient.DoesNotExist otherwise)."""
    return patients_for(organization).get(pk=patient_id)


def active_allergies(patient: Patient) -> list[Allergy]:
    """The unvoided allergies `get_chart` prefetched onto the patient (a `to_attr` list)."""
    return cast("list[Allergy]", vars(patient)["active_allergies"])


def get_chart(organization: Organization | int, patient_id: int) -> Patient:
    """The patient with every chart list, in one query per list (no N+1)."""
    return (
        patients_for(organization)
        .prefetch_related(
            Prefetch(
                "allergies",
                queryset=Allergy.objects.filter(voided_at__isnull=True).order_by(
                    "kind", "-created_at"
                ),
                to_attr="active_allergies",
            ),
            Prefetch(
                "medications",
                queryset=MedicationStatement.objects.filter(voided_at__isnull=True).select_related(
                    "reconciled_by"
                ),
                to_attr="active_medications",
            ),
            Prefetch(
                "problems",
                queryset=Problem.objects.filter(voided_at__isnull=True),
                to_attr="active_problems",
            ),
            Prefetch(
                "history",
                queryset=HistoryEntry.objects.filter(voided_at__isnull=True),
                to_attr="active_history",
            ),
            Prefetch(
                "coverages",
                queryset=Coverage.objects.filter(voided_at__isnull=True).select_related("payer"),
                to_attr="active_coverages",
            ),
        )
        .get(pk=patient_id)
    )


@dataclass(frozen=True)
class AllergySummary:
    """What the banner says about allergies: a list, 'NKA', or 'not recorded'."""

    state: str  # "listed", "none_known", "not_recorded"
    items: list[Allergy]

    @property
    def label(self) -> str:
        if self.state == "none_known":
            return "No known allergies"
        if self.state == "not_recorded":
            return "Allergies not recorded"
        return ", ".join(a.substance for a in self.items)


def allergy_summary(allergies: list[Allergy]) -> AllergySummary:
    active = [a for a in allergies if a.voided_at is None]
    listed = [
        a for a in active if a.kind != Allergy.Kind.NO_KNOWN and a.status == Allergy.Status.ACTIVE
    ]
    if listed:
        return AllergySummary("listed", listed)
    if any(a.kind == Allergy.Kind.NO_KNOWN for a in active):
        return AllergySummary("none_known", [])
    return AllergySummary("not_recorded", [])


def voided_entries(organization: Organization | int, patient_id: int) -> dict[str, list]:
    """Voided and corrected entries, for the chart's 'show history of changes' view."""
    lists: dict[str, list] = {}
    for name, model in (
        ("allergies", Allergy),
        ("medications", MedicationStatement),
        ("problems", Problem),
        ("history", HistoryEntry),
        ("coverages", Coverage),
    ):
        lists[name] = list(
            model.objects.for_org(organization)  # type: ignore[attr-defined]
            .filter(patient_id=patient_id, voided_at__isnull=False)
            .select_related("voided_by")
            .order_by("-voided_at")
        )
    return lists
