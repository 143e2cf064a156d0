"""What the chart-entry resources share: read, search by patient, and the answer to a create.

AllergyIntolerance, Condition, MedicationStatement and Coverage each describe themselves with an
`EntryKind` (FHIR type, model, converter); the views in their modules stay a few lines long.
Rows of another organization are 404, like rows that do not exist. A voided row (or a row of a
voided patient) reads as 410 Gone and never appears in a search.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core.actor import Actor
from carebench.patients import selectors
from carebench.patients.models import Patient

from .bundle import Paging, base_url, page_of, searchset
from .datatypes import patient_reference_id, row_id
from .outcome import from_validation_error, gone, not_found, resource_response, unprocessable
from .search import check_params, parse_reference_id


@dataclass(frozen=True)
class EntryKind:
    resource_type: str  # the FHIR type, e.g. "AllergyIntolerance"
    model: type[Model]
    to_fhir: Callable[[Any], dict[str, Any]]
    field_paths: dict[str, str]  # model field -> FHIR element, for 422s
    related: tuple[str, ...] = field(default=())  # select_related for the converter

    def permission(self, verb: str) -> str:
        return f"patients.{verb}_{self.model._meta.model_name}"

    @property
    def audit_type(self) -> str:
        """The audit trail names rows by model, as the services do (Allergy, Problem...)."""
        return self.model.__name__


def read(request: HttpRequest, actor: Actor, kind: EntryKind, entry_id: str) -> HttpResponse:
    entry = _get(actor, kind, entry_id)
    audit.record_for_actor(
        actor,
        action=Action.VIEW,
        patient_id=entry.patient_id,
        resource_type=kind.audit_type,
        resource_id=entry.pk,
    )
    return resource_response(kind.to_fhir(entry))


def search(
    request: HttpRequest,
    actor: Actor,
    kind: EntryKind,
    paging: Paging,
    *,
    patient: str,
    allowed: dict[str, str],
    condition: Q | None = None,
) -> HttpResponse:
    """One page of a patient's (not voided) entries, narrowed by `condition`."""
    used = check_params(request, allowed)
    patient_id = parse_reference_id(patient, "Patient", "patient")
    ordering = [*(kind.model._meta.ordering or []), "pk"]
    qs: QuerySet[Any] = (
        kind.model.objects.for_org(actor.organization)  # type: ignore[attr-defined]
        .filter(patient_id=patient_id, voided_at__isnull=True, patient__voided_at__isnull=True)
        .select_related(*kind.related)
        .order_by(*ordering)
    )
    if condition is not None:
        qs = qs.filter(condition)
    rows, total = page_of(qs, paging)
    audit.record_for_actor(
        actor,
        action=Action.SEARCH,
        patient_id=patient_id,
        resource_type=kind.audit_type,
        detail={"params": used, "total": total, "ids": [row.pk for row in rows]},
    )
    return resource_response(
        searchset(request, kind.resource_type, rows, total, paging, kind.to_fhir, used)
    )


def created(request: HttpRequest, kind: EntryKind, entry: Any) -> HttpResponse:
    location = f"{base_url(request)}/{kind.resource_type}/{entry.pk}"
    return resource_response(kind.to_fhir(entry), status=201, location=location)


def patient_for(actor: Actor, value: dict[str, Any] | None, element: str) -> Patient:
    """The patient a new entry is for, from its reference (422 when not this org's patient)."""
    patient_id = patient_reference_id(value, element)
    try:
        return selectors.get_patient(actor.organization, patient_id)
    except Patient.DoesNotExist:
        raise unprocessable(
            f"{element}: Patient/{patient_id} is not known", expression=element
        ) from None


@contextmanager
def business_rules(kind: EntryKind) -> Iterator[None]:
    """A service's ValidationError becomes a 422 naming the FHIR elements."""
    try:
        yield
    except ValidationError as exc:
        raise from_validation_error(exc, kind.resource_type, kind.field_paths) from None


def _get(actor: Actor, kind: EntryKind, entry_id: str) -> Any:
    row = row_id(entry_id)
    if row is None:
        raise not_found(kind.resource_type, entry_id)
    entry = (
        kind.model.objects.for_org(actor.organization)  # type: ignore[attr-defined]
        .select_related("patient", *kind.related)
        .filter(pk=row)
        .first()
    )
    if entry is None:
        raise not_found(kind.resource_type, entry_id)
    if entry.voided_at is not None or entry.patient.voided_at is not None:
        raise gone(kind.resource_type, entry_id)
    return entry
