"""Reads for the workforce: a worker's credentials and CE hours, the organization's credential
board (the ones needing action first), the scope rules. Each takes the organization first and
loads related rows up front."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dateutil.relativedelta import relativedelta

from . import status as st
from .models import CeEntry, Credential, CredentialType, ScopeRule

if TYPE_CHECKING:
    from carebench.accounts.models import User
    from carebench.core.models import Organization

STATUS_CLASS = {
    st.CURRENT: "status-received",
    st.EXPIRING: "status-pending",
    st.EXPIRED: "status-rejected",
    st.UNVERIFIED: "status-cosign",
    st.VOIDED: "",
}


@dataclass(frozen=True)
class CredentialRow:
    credential: Credential
    status: str
    days_left: int

    @property
    def label(self) -> str:
        return st.LABELS[self.status]

    @property
    def css(self) -> str:
        return STATUS_CLASS[self.status]


@dataclass(frozen=True)
class CeSummary:
    credential_type: CredentialType
    since: date
    hours: Decimal
    required: Decimal

    @property
    def short(self) -> Decimal:
        return max(self.required - self.hours, Decimal(0))


def _row(credential: Credential, today: date) -> CredentialRow:
    return CredentialRow(
        credential=credential,
        status=st.credential_status(
            expires_on=credential.expires_on,
            verified=credential.is_verified,
            today=today,
            voided=credential.voided_at is not None,
        ),
        days_left=(credential.expires_on - today).days,
    )


def _credentials(organization: Organization):  # type: ignore[no-untyped-def]
    return (
        Credential.objects.for_org(organization)
        .select_related("user", "credential_type", "verified_by", "voided_by")
        .defer("proof")
    )


def credential_types(organization: Organization) -> list[CredentialType]:
    return list(CredentialType.objects.for_org(organization).filter(is_active=True))


def worker_credentials(
    organization: Organization, user: User, today: date, *, include_voided: bool = True
) -> list[CredentialRow]:
    """One worker's credentials, the ones needing action first."""
    rows = _credentials(organization).filter(user=user)
    if not include_voided:
        rows = rows.filter(voided_at__isnull=True)
    return sorted(
        (_row(c, today) for c in rows),
        key=lambda r: (st.URGENCY[r.status], r.credential.expires_on),
    )


def credential_board(organization: Organization, today: date) -> list[CredentialRow]:
    """Every worker's credentials that count (not voided): expired, unverified and expiring
    first, each group by expiry date."""
    return sorted(
        (_row(c, today) for c in _credentials(organization).filter(voided_at__isnull=True)),
        key=lambda r: (st.URGENCY[r.status], r.credential.expires_on, r.credential.user_id),
    )


def status_counts(rows: list[CredentialRow]) -> dict[str, int]:
    counts = dict.fromkeys((st.EXPIRED, st.UNVERIFIED, st.EXPIRING, st.CURRENT), 0)
    for row in rows:
        if row.status in counts:
            counts[row.status] += 1
    return counts


def ce_entries(organization: Organization, user: User) -> list[CeEntry]:
    return list(
        CeEntry.objects.for_org(organization)
        .filter(user=user, voided_at__isnull=True)
        .select_related("credential_type")
    )


def ce_summary(rows: list[CredentialRow], entries: list[CeEntry], today: date) -> list[CeSummary]:
    """CE hours per credential type the worker holds, counted over the current renewal period
    (from the credential's issue date, or one period back from today if longer ago)."""
    out = []
    seen: set[int] = set()
    for row in rows:
        credential = row.credential
        kind = credential.credential_type
        if row.status == st.VOIDED or kind.pk in seen or not kind.ce_hours:
            continue
        seen.add(kind.pk)
        since = max(credential.issued_on, today - relativedelta(months=kind.renewal_months))
        hours = sum(
            (
                e.hours
                for e in entries
                if e.taken_on >= since and (e.credential_type_id in (None, kind.pk))
            ),
            Decimal(0),
        )
        out.append(CeSummary(kind, since, hours, kind.ce_hours))
    return out


def get_credential(organization: Organization, pk: int) -> Credential:
    return _credentials(organization).get(pk=pk)


def get_credential_with_proof(organization: Organization, pk: int) -> Credential:
    return Credential.objects.for_org(organization).get(pk=pk)


def get_worker(organization: Organization, pk: int) -> User:
    from carebench.accounts.models import User

    return User.objects.prefetch_related("groups").get(organization=organization, pk=pk)


def workers(organization: Organization) -> list[User]:
    from carebench.accounts.models import User

    return list(
        User.objects.filter(organization=organization, is_active=True).order_by(
            "last_name", "first_name", "username"
        )
    )


def scope_rules(organization: Organization) -> list[ScopeRule]:
    """Active rules first, then retired ones."""
    return list(
        ScopeRule.objects.for_org(organization)
        .prefetch_related("credential_types")
        .select_related("retired_by")
        .order_by("-active", "task", "state", "facility_kind", "pk")
    )


def get_rule(organization: Organization, pk: int) -> ScopeRule:
    return ScopeRule.objects.for_org(organization).get(pk=pk)


def open_cosign_requests(organization: Organization) -> list[Any]:
    """Tasks waiting for a provider's co-signature, oldest first, with the patient's name."""
    from carebench.patients.models import Patient

    from .models import CosignRequest

    rows = list(
        CosignRequest.objects.for_org(organization)
        .filter(cosigned_at__isnull=True)
        .select_related("worker", "facility")
        .order_by("requested_at", "pk")
    )
    names = dict(
        Patient.objects.for_org(organization)
        .filter(pk__in=[r.patient_id for r in rows if r.patient_id])
        .values_list("pk", "family_name")
    )
    for row in rows:
        row.patient_name = names.get(row.patient_id, "")
    return rows
