"""Reads for eligibility: the latest check of a coverage, a patient's checks, the primary
coverage on a date."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from carebench.patients.models import Coverage, Patient

from .models import EligibilityCheck


def latest_check(coverage: Coverage) -> EligibilityCheck | None:
    """The coverage's most recent check (sent or answered), or None."""
    return (
        EligibilityCheck.objects.filter(organization_id=coverage.organization_id, coverage=coverage)
        .order_by("-requested_at", "-pk")
        .first()
    )


def latest_answer(coverage: Coverage) -> EligibilityCheck | None:
    """The coverage's most recently answered check (a 271 came back), or None."""
    return (
        EligibilityCheck.objects.filter(
            organization_id=coverage.organization_id,
            coverage=coverage,
            answered_at__isnull=False,
        )
        .order_by("-answered_at", "-pk")
        .first()
    )


def checks_for_patient(patient: Patient) -> QuerySet[EligibilityCheck]:
    """The patient's checks, newest first, with their coverage and payer."""
    return (
        EligibilityCheck.objects.filter(organization_id=patient.organization_id, patient=patient)
        .select_related("coverage", "coverage__payer")
        .order_by("-requested_at", "-pk")
    )


def primary_coverage(patient: Patient, on: date) -> Coverage | None:
    """The patient's primary coverage on a date (not voided, within its dates), or None."""
    rows = Coverage.objects.filter(
        organization_id=patient.organization_id,
        patient=patient,
        priority=Coverage.Priority.PRIMARY,
        voided_at__isnull=True,
    ).select_related("payer", "patient")
    for coverage in rows:
        if coverage.start_date and coverage.start_date > on:
            continue
        if coverage.end_date and coverage.end_date < on:
            continue
        return coverage
    return None
