"""Reads for EKGs, always within one organization; the stored file is loaded only on request."""

from __future__ import annotations

from typing import Any

from carebench.core.models import Organization

from . import files
from .models import EkgRecording
from .recording import Recording

_RELATED = ("patient", "encounter", "uploaded_by", "signed_by", "voided_by")


def _base(organization: Organization | int) -> Any:
    return EkgRecording.objects.for_org(organization).defer("data")


def get_recording(organization: Organization | int, pk: int) -> EkgRecording:
    """One EKG (voided ones too: the page says so) without its file bytes."""
    return _base(organization).select_related(*_RELATED).get(pk=pk)


def get_with_file(organization: Organization | int, pk: int) -> EkgRecording:
    return (
        EkgRecording.objects.for_org(organization).select_related("patient", "signed_by").get(pk=pk)
    )


def patient_recordings(organization: Organization | int, patient_id: int) -> list[EkgRecording]:
    """A patient's EKGs, newest first, voided ones last."""
    rows = list(
        _base(organization)
        .filter(patient_id=patient_id)
        .select_related("uploaded_by", "signed_by", "encounter")
        .order_by("voided_at", "-acquired_at", "-pk")
    )
    return rows


def encounter_recordings(organization: Organization | int, encounter_id: int) -> list[EkgRecording]:
    return list(
        _base(organization)
        .filter(encounter_id=encounter_id, voided_at__isnull=True)
        .order_by("acquired_at", "pk")
    )


def review_queue(organization: Organization | int) -> list[EkgRecording]:
    """Unsigned EKGs of the organization, oldest first (the provider's reading list)."""
    return list(
        _base(organization)
        .filter(voided_at__isnull=True, patient__voided_at__isnull=True)
        .exclude(status=EkgRecording.Status.SIGNED)
        .select_related("patient", "uploaded_by", "encounter")
        .order_by("acquired_at", "pk")
    )


def signal_of(row: EkgRecording) -> Recording:
    """The stored file read again (the bytes must have been loaded: `get_with_file`)."""
    return files.load_bytes(row.original_filename, bytes(row.data))
