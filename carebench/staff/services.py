"""Writes for the workforce: credential types, workers' credentials (proof, verification,
voiding), continuing education, expiry notices, and the scope-of-practice rules; plus the one
check every module calls before documenting a clinical task (`require_task`).

Same rules as every service: keyword-only with the `Actor` first, one transaction, one audit
event, a `ValidationError` naming the field and the rule before anything is written, and
`PermissionError` for another organization's rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction

from carebench.accounts.roles import ROLE_LABELS
from carebench.audit import services as audit
from carebench.audit.models import Action, Outcome
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.core.models import Facility, Organization

from . import status as st
from .models import (
    CeEntry,
    CosignRequest,
    Credential,
    CredentialNotice,
    CredentialType,
    ScopeRule,
    Task,
)

if TYPE_CHECKING:
    from carebench.accounts.models import User
    from carebench.encounters.models import Encounter

MAX_PROOF_BYTES = 5 * 1024 * 1024
PROOF_TYPES: dict[bytes, str] = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
MAX_CE_HOURS = Decimal(100)


@dataclass(frozen=True)
class CredentialTypeSpec:
    code: str
    name: str
    issuer: str
    renewal_months: int
    ce_hours: Decimal
    is_state_certificate: bool = False


# The certifications a clinic tracks (DOMAIN.md section 4). Renewal periods and CE hours are the
# issuers' usual requirements; the clinic may change them on its own rows.
CREDENTIAL_TYPES: tuple[CredentialTypeSpec, ...] = (
    CredentialTypeSpec(
        "CMA",
        "Certified Medical Assistant",
        "American Association of Medical Assistants (AAMA)",
        60,
        Decimal(60),
    ),
    CredentialTypeSpec(
        "RMA",
        "Registered Medical Assistant",
        "American Medical Technologists (AMT)",
        36,
        Decimal(30),
    ),
    CredentialTypeSpec(
        "RMT",
        "Registered Medical Technologist",
        "American Medical Technologists (AMT)",
        36,
        Decimal(45),
    ),
    CredentialTypeSpec(
        "CCMA",
        "Certified Clinical Medical Assistant",
        "National Healthcareer Association (NHA)",
        24,
        Decimal(10),
    ),
    CredentialTypeSpec(
        "CPT",
        "Certified Phlebotomy Technician",
        "National Healthcareer Association (NHA)",
        24,
        Decimal(10),
    ),
    CredentialTypeSpec(
        "CET",
        "Certified EKG Technician",
        "National Healthcareer Association (NHA)",
        24,
        Decimal(10),
    ),
    CredentialTypeSpec(
        "NCMA",
        "National Certified Medical Assistant",
        "National Center for Competency Testing (NCCT)",
        12,
        Decimal(14),
    ),
    CredentialTypeSpec(
        "CMLT",
        "Certified Medical Laboratory Technician",
        "American Medical Technologists (AMT)",
        36,
        Decimal(45),
    ),
    CredentialTypeSpec(
        "MLT",
        "Medical Laboratory Technician",
        "ASCP Board of Certification",
        36,
        Decimal(36),
    ),
    CredentialTypeSpec(
        "MED-ADMIN",
        "State medication-administration certificate",
        "State board or health department",
        12,
        Decimal(6),
        is_state_certificate=True,
    ),
    CredentialTypeSpec(
        "BLS", "Basic Life Support (BLS/CPR)", "American Heart Association (AHA)", 24, Decimal(0)
    ),
)


def _user(actor: Actor) -> User:
    assert actor.user is not None, "staff work is credited to a user"
    return actor.user


def _display(user: User) -> str:
    return user.get_full_name() or user.get_username()


def _audit(actor: Actor, action: str, row: Any, detail: dict[str, Any], **extra: Any) -> None:
    audit.record_for_actor(
        actor,
        action=action,
        resource_type=type(row).__name__,
        resource_id=row.pk,
        detail=detail,
        **extra,
    )


# --- credential types ---------------------------------------------------------------------------


def ensure_credential_types(org: Organization) -> list[CredentialType]:
    """Create the shipped credential types the organization does not have yet (idempotent);
    return all of its types."""
    have = set(CredentialType.objects.for_org(org).values_list("code", flat=True))
    missing = [
        CredentialType(
            organization=org,
            code=spec.code,
            name=spec.name,
            issuer=spec.issuer,
            renewal_months=spec.renewal_months,
            ce_hours=spec.ce_hours,
            is_state_certificate=spec.is_state_certificate,
            sort_order=index,
        )
        for index, spec in enumerate(CREDENTIAL_TYPES)
        if spec.code not in have
    ]
    if missing:
        with transaction.atomic():
            CredentialType.objects.bulk_create(missing, ignore_conflicts=True)
            audit.record_for_actor(
                Actor.system(org),
                action=Action.CREATE,
                resource_type="CredentialType",
                detail={"added": [t.code for t in missing]},
            )
    return list(CredentialType.objects.for_org(org))


# --- credentials --------------------------------------------------------------------------------


def proof_kind(data: bytes) -> str | None:
    """The proof's content type by its first bytes (PDF, JPEG or PNG), or None."""
    return next((kind for magic, kind in PROOF_TYPES.items() if data.startswith(magic)), None)


def _check_proof(errors: FieldErrors, data: bytes | None) -> str:
    if data is None:
        return ""
    if not data:
        errors.add("proof", "the file is empty")
        return ""
    kind = proof_kind(data)
    if kind is None:
        errors.add("proof", "the proof must be a PDF, JPEG or PNG file (checked by its content)")
    if len(data) > MAX_PROOF_BYTES:
        errors.add("proof", "the file is over 5 MB: scan it at a lower resolution")
    return kind or ""


def _clean_text(errors: FieldErrors, field: str, value: str, limit: int, need: str) -> str:
    value = " ".join((value or "").split())
    if not value and need:
        errors.add(field, need)
    elif len(value) > limit:
        errors.add(field, f"must be {limit} characters or fewer")
    return value


def add_credential(
    *,
    actor: Actor,
    user: User,
    credential_type: CredentialType,
    number: str,
    issued_on: date,
    expires_on: date,
    proof: bytes | None = None,
    proof_name: str = "",
) -> Credential:
    """Record a worker's credential (unverified until a manager checks it)."""
    actor.check_owns(user, "worker")
    actor.check_owns(credential_type, "credential type")
    errors = FieldErrors()
    number = _clean_text(errors, "number", number, 60, "give the certificate or licence number")
    if not credential_type.is_active:
        errors.add("credential_type", f"{credential_type.code} is no longer tracked")
    today = clock.today()
    if issued_on is None:
        errors.add("issued_on", "give the date it was issued")
    elif issued_on > today:
        errors.add("issued_on", "cannot be in the future")
    if expires_on is None:
        errors.add("expires_on", "give the expiry date")
    elif issued_on is not None and expires_on < issued_on:
        errors.add("expires_on", "is before the issue date")
    kind = _check_proof(errors, proof)
    if (
        number
        and Credential.objects.for_org(actor.organization)
        .filter(user=user, credential_type=credential_type, number=number, voided_at__isnull=True)
        .exists()
    ):
        errors.add("number", f"{credential_type.code} {number} is already on file for this worker")
    errors.raise_if_any()
    with transaction.atomic():
        row = Credential.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            user=user,
            credential_type=credential_type,
            number=number,
            issued_on=issued_on,
            expires_on=expires_on,
            proof=proof or None,
            proof_type=kind,
            proof_name=(proof_name or "")[:200] if proof else "",
        )
        _audit(
            actor,
            Action.CREATE,
            row,
            {
                "worker": user.get_username(),
                "type": credential_type.code,
                "expires_on": expires_on.isoformat(),
                "proof": kind or "none",
            },
        )
    return row


def attach_proof(
    *, actor: Actor, credential: Credential, data: bytes, filename: str = ""
) -> Credential:
    """Replace the proof; a changed proof must be verified again."""
    actor.check_owns(credential, "credential")
    errors = FieldErrors()
    if credential.voided_at is not None:
        errors.add("__all__", "this credential was voided")
    kind = _check_proof(errors, data)
    errors.raise_if_any()
    with transaction.atomic():
        Credential.objects.filter(pk=credential.pk).update(
            proof=data,
            proof_type=kind,
            proof_name=filename[:200],
            verified_at=None,
            verified_by=None,
            updated_at=clock.now(),
        )
        _audit(actor, Action.UPDATE, credential, {"proof": kind, "bytes": len(data)})
    credential.refresh_from_db()
    return credential


def verify_credential(*, actor: Actor, credential: Credential) -> Credential:
    """A manager has checked the proof (or the issuer's registry): the credential counts."""
    actor.check_owns(credential, "credential")
    user = _user(actor)
    errors = FieldErrors()
    if credential.voided_at is not None:
        errors.add("__all__", "this credential was voided")
    elif credential.verified_at is not None:
        errors.add("__all__", "already verified")
    if credential.user_id == user.pk:
        errors.add("__all__", "another manager must verify your own credential")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        Credential.objects.filter(pk=credential.pk).update(
            verified_at=now, verified_by=user, updated_at=now
        )
        _audit(
            actor,
            Action.UPDATE,
            credential,
            {"verified": credential.credential_type.code, "proof": credential.proof_type or "none"},
        )
    credential.refresh_from_db()
    return credential


def void_credential(*, actor: Actor, credential: Credential, reason: str) -> Credential:
    """Void a credential entered in error (or revoked); it stops counting at once."""
    actor.check_owns(credential, "credential")
    errors = FieldErrors()
    reason = _clean_text(errors, "reason", reason, 500, "say why (entered in error, revoked ...)")
    if credential.voided_at is not None:
        errors.add("__all__", "already voided")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        Credential.objects.filter(pk=credential.pk).update(
            voided_at=now, voided_by=actor.user, void_reason=reason, updated_at=now
        )
        _audit(actor, Action.VOID, credential, {"reason": reason})
    credential.refresh_from_db()
    return credential


def add_ce_entry(
    *,
    actor: Actor,
    user: User,
    taken_on: date,
    hours: Decimal,
    title: str,
    provider: str = "",
    credential_type: CredentialType | None = None,
) -> CeEntry:
    actor.check_owns(user, "worker")
    if credential_type is not None:
        actor.check_owns(credential_type, "credential type")
    errors = FieldErrors()
    title = _clean_text(errors, "title", title, 200, "name the course or activity")
    provider = _clean_text(errors, "provider", provider, 200, "")
    if taken_on is None:
        errors.add("taken_on", "give the date")
    elif taken_on > clock.today():
        errors.add("taken_on", "cannot be in the future")
    if hours is None or hours <= 0:
        errors.add("hours", "must be more than zero")
    elif hours > MAX_CE_HOURS:
        errors.add("hours", f"must be {MAX_CE_HOURS} or fewer for one entry")
    errors.raise_if_any()
    with transaction.atomic():
        row = CeEntry.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            user=user,
            taken_on=taken_on,
            hours=hours,
            title=title,
            provider=provider,
            credential_type=credential_type,
        )
        _audit(
            actor,
            Action.CREATE,
            row,
            {"worker": user.get_username(), "hours": str(hours), "title": title},
        )
    return row


# --- expiry notices -----------------------------------------------------------------------------


def _managers(org_id: int) -> list[User]:
    from carebench.accounts.models import User

    return list(
        User.objects.filter(organization_id=org_id, is_active=True, groups__name="manager")
        .exclude(email="")
        .distinct()
    )


def _notice_text(credential: Credential, days_left: int) -> tuple[str, str]:
    kind = credential.credential_type
    worker = _display(credential.user)
    subject = f"{kind.code} for {worker} expires in {days_left} days"
    body = (
        f"{worker}'s {kind.name} ({kind.code}, {kind.issuer}), number {credential.number}, "
        f"expires on {credential.expires_on:%m/%d/%Y}: {days_left} days from today.\n\n"
        f"Renew it before then"
        + (f" ({kind.ce_hours.normalize()} CE hours per period)" if kind.ce_hours else "")
        + " and give the new certificate to the clinic manager. After that date carebench "
        "stops the tasks that need it."
    )
    return subject, body


def send_credential_notices(*, now: datetime | None = None) -> dict[str, int]:
    """Warn the worker and the organization's managers 90, 60 and 30 days before a credential
    expires: one `CredentialNotice` per credential and threshold, never twice. When several
    thresholds fall due together (the worker was down) only the nearest is sent; the others are
    recorded as superseded. A credential renewed by a later one of the same type is skipped."""
    now = now or clock.now()
    today = clock.today()
    horizon = today + timedelta(days=max(st.NOTICE_THRESHOLDS))
    counts = {"sent": 0, "superseded": 0, "failed": 0}
    candidates = (
        Credential.objects.filter(
            voided_at__isnull=True, expires_on__gte=today, expires_on__lte=horizon
        )
        .select_related("user", "credential_type", "organization")
        .prefetch_related("notices")
        .order_by("organization_id", "expires_on", "pk")
    )
    managers: dict[int, list[User]] = {}
    for credential in candidates:
        due = st.crossed_thresholds(credential.expires_on, today)
        done = {n.threshold_days for n in credential.notices.all()}
        todo = [t for t in due if t not in done]
        if not todo:
            continue
        renewed = (
            Credential.objects.filter(
                user_id=credential.user_id,
                credential_type_id=credential.credential_type_id,
                voided_at__isnull=True,
                expires_on__gt=credential.expires_on,
            )
            .exclude(pk=credential.pk)
            .exists()
        )
        if renewed:
            continue
        if credential.organization_id not in managers:
            managers[credential.organization_id] = _managers(credential.organization_id)
        recipients = [credential.user.email] if credential.user.email else []
        recipients += [
            m.email
            for m in managers[credential.organization_id]
            if m.email not in recipients and m.pk != credential.user_id
        ]
        nearest = todo[-1]
        days_left = (credential.expires_on - today).days
        subject, body = _notice_text(credential, days_left)
        outcome = Outcome.SUCCESS
        if recipients:
            try:
                EmailMessage(
                    subject, body, settings.DEFAULT_FROM_EMAIL, recipients[:1], cc=recipients[1:]
                ).send()
            except Exception:  # noqa: BLE001 - a mail failure is retried on the next run
                counts["failed"] += 1
                continue
        try:
            with transaction.atomic():
                for threshold in todo:
                    CredentialNotice.objects.create(
                        organization_id=credential.organization_id,
                        credential=credential,
                        threshold_days=threshold,
                        sent_at=now,
                        recipients=", ".join(recipients) if threshold == nearest else "",
                        superseded=threshold != nearest,
                    )
                audit.record_for_actor(
                    Actor.system(credential.organization),
                    action=Action.NOTIFY,
                    outcome=outcome,
                    resource_type="Credential",
                    resource_id=credential.pk,
                    detail={
                        "threshold_days": nearest,
                        "expires_on": credential.expires_on.isoformat(),
                        "recipients": len(recipients),
                    },
                )
        except IntegrityError:
            continue  # another worker recorded it first
        counts["sent"] += 1
        counts["superseded"] += len(todo) - 1
    return counts


# --- scope of practice --------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeDecision:
    allowed: bool
    requires_cosign: bool = False
    message: str = ""
    # The organization has active rules for this task (the table is in charge of it).
    ruled: bool = False


def work_facility(actor: Actor, encounter: Encounter | None = None) -> Facility | None:
    """Where the work happens: the visit's facility, else the user's, else the organization's
    first."""
    if encounter is not None:
        return encounter.facility
    facility = getattr(actor.user, "default_facility", None)
    return facility or actor.organization.facilities.first()


def _matches(rule: ScopeRule, facility: Facility | None) -> bool:
    if facility is None:
        return not rule.state and not rule.facility_kind
    return rule.state in ("", facility.state) and rule.facility_kind in ("", facility.kind)


def _where(task: str, facility: Facility | None) -> str:
    label = Task(task).label if task in Task.values else task
    if facility is None:
        return label
    if task == Task.ASSIGNMENT:
        return f"Working at {facility.name} ({facility.state}, {facility.get_kind_display()})"
    return f"{label} at {facility.name} ({facility.state})"


ROLE_NAMES = {
    "mat": "MAT",
    "frontdesk": "front-desk worker",
    "provider": "provider",
    "biller": "biller",
    "manager": "manager",
    "medtech": "medication technician",
    "nurse": "nurse",
    "admin": "administrator",
}


def _role_names(roles: Iterable[str]) -> str:
    return st.join_or(ROLE_NAMES.get(r, r) for r in roles)


def _refusal(
    *,
    task: str,
    facility: Facility | None,
    rules: Sequence[ScopeRule],
    held_roles: set[str],
    worker: User,
    own: bool,
    credentials: Sequence[Credential],
    today: date,
) -> str:
    where = _where(task, facility)
    who = "you" if own else _display(worker)
    whose = "your" if own else f"{_display(worker)}'s"
    with_role = [r for r in rules if held_roles & set(r.roles) or not r.roles]
    if not with_role:
        allowed = sorted({role for r in rules for role in r.roles}, key=list(ROLE_LABELS).index)
        held = " and ".join(ROLE_NAMES.get(r, r) for r in sorted(held_roles))
        if not held:
            return f"{where}: only a {_role_names(allowed)} may; {who} hold no role."
        verb = "are" if own else "is"
        article = "an" if held[:1] in "aeiou" else "a"
        return f"{where}: only a {_role_names(allowed)} may; {who} {verb} {article} {held}."
    needed: dict[int, CredentialType] = {}
    for rule in with_role:
        for kind in rule.credential_types.all():
            needed.setdefault(kind.pk, kind)
    kinds = sorted(needed.values(), key=lambda k: (k.sort_order, k.code))
    message = f"{where}: needs a current {st.join_or(k.code for k in kinds)} credential"
    problems = []
    for credential in credentials:
        code = credential.credential_type.code
        if credential.expires_on < today:
            problems.append(f"{whose} {code} expired on {credential.expires_on:%m/%d/%Y}")
        elif credential.verified_at is None:
            problems.append(f"{whose} {code} is not verified yet: a manager must check the proof")
    if problems:
        return f"{message}; {'; '.join(problems)}."
    verb = "hold" if own else "holds"
    return f"{message}; {who} {verb} none on file."


def check_task(
    *, actor: Actor, task: str, facility: Facility | None, worker: User | None = None
) -> ScopeDecision:
    """May `worker` (default: the actor's user) document `task` at `facility`?

    Active rules of the organization for the task that match the facility's state and kind
    (blank = any) decide; with none, the task is allowed. The worker must satisfy one matching
    rule: hold one of its roles and, when it lists credential types, a current (not expired),
    verified, not voided credential of one of them."""
    person = worker if worker is not None else actor.user
    if facility is not None:
        actor.check_owns(facility, "facility")
    if person is None:
        return ScopeDecision(allowed=True)  # a machine's import (the EKG watch folder), no person
    rules = list(
        ScopeRule.objects.for_org(actor.organization)
        .filter(task=task, active=True)
        .prefetch_related("credential_types")
    )
    matching = [rule for rule in rules if _matches(rule, facility)]
    if not matching:
        return ScopeDecision(allowed=True, ruled=bool(rules))
    held_roles = set(person.groups.values_list("name", flat=True))
    today = clock.today(facility.time_zone if facility is not None else None)
    wanted = {kind.pk for rule in matching for kind in rule.credential_types.all()}
    credentials = (
        list(
            Credential.objects.filter(
                user=person, credential_type_id__in=wanted, voided_at__isnull=True
            )
            .select_related("credential_type")
            .order_by("credential_type__sort_order", "-expires_on")
        )
        if wanted
        else []
    )
    current = {
        c.credential_type_id
        for c in credentials
        if st.is_current(expires_on=c.expires_on, verified=c.is_verified, today=today)
    }
    satisfied = [
        rule
        for rule in matching
        if (not rule.roles or held_roles & set(rule.roles))
        and (not (kinds := {k.pk for k in rule.credential_types.all()}) or bool(kinds & current))
    ]
    if satisfied:
        cosign = all(rule.requires_cosign for rule in satisfied)
        notes = "; ".join(rule.note for rule in satisfied if rule.note)
        return ScopeDecision(
            allowed=True,
            requires_cosign=cosign,
            message=f"a provider co-signs this task{f' ({notes})' if notes else ''}"
            if cosign
            else "",
            ruled=True,
        )
    # Name only the newest credential of each type, and only types a role-matched rule wants.
    latest: dict[int, Credential] = {}
    for credential in credentials:
        latest.setdefault(credential.credential_type_id, credential)
    message = _refusal(
        task=task,
        facility=facility,
        rules=matching,
        held_roles=held_roles,
        worker=person,
        own=worker is None or (actor.user is not None and worker.pk == actor.user.pk),
        credentials=[c for c in latest.values() if c.credential_type_id not in current],
        today=today,
    )
    return ScopeDecision(allowed=False, message=message, ruled=True)


def require_task(
    *,
    actor: Actor,
    task: str,
    facility: Facility | None,
    worker: User | None = None,
    patient_id: int | None = None,
) -> ScopeDecision:
    """`check_task`, refusing: a `ValidationError({"scope": [message]})` and an audit event
    (access denied, with the task and facility) when the worker may not do it. When the rule
    that allows it needs a provider's co-signature, a `CosignRequest` goes on the providers'
    queue (in the caller's transaction: gone if the documenting fails)."""
    decision = check_task(actor=actor, task=task, facility=facility, worker=worker)
    if decision.allowed and decision.requires_cosign and facility is not None:
        CosignRequest.objects.create(
            organization=actor.organization,
            task=task,
            worker=worker if worker is not None else _user(actor),
            facility=facility,
            patient_id=patient_id,
            rule_note=decision.message[:300],
            requested_at=clock.now(),
        )
    if not decision.allowed:
        person = worker if worker is not None else _user(actor)
        audit.record_for_actor(
            actor,
            action=Action.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            resource_type="ScopeRule",
            detail={
                "task": task,
                "facility": facility.name if facility is not None else "",
                "facility_id": facility.pk if facility is not None else None,
                "worker": person.get_username(),
                "message": decision.message,
            },
        )
        raise ValidationError({"scope": [decision.message]})
    return decision


def add_scope_rule(
    *,
    actor: Actor,
    task: str,
    roles: Sequence[str],
    credential_types: Sequence[CredentialType] = (),
    state: str = "",
    facility_kind: str = "",
    requires_cosign: bool = False,
    note: str = "",
    is_example: bool = False,
) -> ScopeRule:
    errors = FieldErrors()
    if task not in Task.values:
        errors.add("task", f"unknown task {task!r}")
    roles = list(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in ROLE_LABELS]
    if unknown:
        errors.add("roles", f"unknown role {', '.join(unknown)}")
    if not roles:
        errors.add("roles", "choose at least one role that may do it")
    state = (state or "").strip().upper()
    if state and (len(state) != 2 or not state.isalpha()):
        errors.add("state", "use the two-letter USPS code (TX), or leave blank for any state")
    if facility_kind and facility_kind not in Facility.Kind.values:
        errors.add("facility_kind", f"unknown facility kind {facility_kind!r}")
    for kind in credential_types:
        actor.check_owns(kind, "credential type")
    note = _clean_text(errors, "note", note, 500, "")
    errors.raise_if_any()
    with transaction.atomic():
        rule = ScopeRule.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            task=task,
            roles=roles,
            state=state,
            facility_kind=facility_kind,
            requires_cosign=requires_cosign,
            note=note,
            is_example=is_example,
        )
        rule.credential_types.set(credential_types)
        _audit(actor, Action.CREATE, rule, _rule_detail(rule, credential_types))
    return rule


def _rule_detail(rule: ScopeRule, kinds: Iterable[CredentialType]) -> dict[str, Any]:
    return {
        "task": rule.task,
        "state": rule.state or "any",
        "facility_kind": rule.facility_kind or "any",
        "roles": rule.roles,
        "credentials": [k.code for k in kinds],
        "cosign": rule.requires_cosign,
        "example": rule.is_example,
    }


def retire_scope_rule(*, actor: Actor, rule: ScopeRule) -> ScopeRule:
    actor.check_owns(rule, "rule")
    if not rule.active:
        raise ValidationError({"__all__": ["this rule is already retired"]})
    now = clock.now()
    with transaction.atomic():
        ScopeRule.objects.filter(pk=rule.pk).update(
            active=False, retired_at=now, retired_by=actor.user, updated_at=now
        )
        _audit(actor, Action.UPDATE, rule, {"retired": rule.task})
    rule.refresh_from_db()
    return rule


EXAMPLE_NOTE = "EXAMPLE rule: check it against your state's law before relying on it."
MA_CREDENTIALS = ["CMA", "RMA", "CCMA", "NCMA"]
CLINICAL_ROLES = ["provider", "nurse"]
EXAMPLE_RULES: tuple[dict[str, Any], ...] = (
    *(
        {
            "task": task,
            "roles": ["mat"],
            "codes": MA_CREDENTIALS + extra,
            "note": f"{why} {EXAMPLE_NOTE}",
        }
        for task, extra, why in (
            (Task.VENIPUNCTURE, ["CPT"], "A MAT draws blood with an MA or phlebotomy credential."),
            (Task.INJECTION, [], "A MAT gives injections with a medical-assistant credential."),
            (Task.IMMUNIZATION, [], "A MAT immunizes with a medical-assistant credential."),
            (Task.EKG, ["CET"], "A MAT records EKGs with an MA or EKG-technician credential."),
            (
                Task.POC_TEST,
                ["CMLT", "MLT", "RMT"],
                "A MAT runs waived tests with an MA or laboratory credential.",
            ),
        )
    ),
    *(
        {
            "task": task,
            "roles": CLINICAL_ROLES,
            "codes": [],
            "note": f"Providers and nurses work within their licence. {EXAMPLE_NOTE}",
        }
        for task in (
            Task.VENIPUNCTURE,
            Task.INJECTION,
            Task.IMMUNIZATION,
            Task.EKG,
            Task.POC_TEST,
        )
    ),
    *(
        rule
        for kind in (Facility.Kind.ASSISTED_LIVING, Facility.Kind.GROUP_HOME)
        for rule in (
            {
                "task": Task.MED_PASS,
                "facility_kind": kind,
                "roles": ["medtech"],
                "codes": ["MED-ADMIN"],
                "note": "A medication technician passes medicines with a current state "
                f"medication-administration certificate. {EXAMPLE_NOTE}",
            },
            {
                "task": Task.MED_PASS,
                "facility_kind": kind,
                "roles": ["nurse"],
                "codes": [],
                "note": f"A nurse may pass medicines. {EXAMPLE_NOTE}",
            },
        )
    ),
    {
        "task": Task.ASSIGNMENT,
        "facility_kind": Facility.Kind.LONG_TERM_CARE,
        "roles": ["nurse", "provider", "mat"],
        "codes": [],
        "note": "A medication technician may not work in a long-term-care (nursing) facility: "
        f"medications there are given by licensed nurses. {EXAMPLE_NOTE}",
    },
)


def install_example_rules(*, actor: Actor) -> list[ScopeRule]:
    """Add the example rules the organization does not have active yet (same task, facility
    kind and roles); each is marked as an example to be checked against the state's law."""
    kinds = {k.code: k for k in ensure_credential_types(actor.organization)}
    existing = {
        (r.task, r.facility_kind, tuple(sorted(r.roles)))
        for r in ScopeRule.objects.for_org(actor.organization).filter(active=True, is_example=True)
    }
    todo = [
        spec
        for spec in EXAMPLE_RULES
        if (str(spec["task"]), str(spec.get("facility_kind", "")), tuple(sorted(spec["roles"])))
        not in existing
    ]
    created: list[ScopeRule] = []
    with transaction.atomic():
        for spec in todo:
            rule = ScopeRule.objects.create(
                organization=actor.organization,
                created_by=actor.user,
                task=str(spec["task"]),
                facility_kind=str(spec.get("facility_kind", "")),
                roles=list(spec["roles"]),
                note=spec["note"],
                is_example=True,
            )
            rule.credential_types.set([kinds[code] for code in spec["codes"]])
            created.append(rule)
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            resource_type="ScopeRule",
            detail={"examples_added": len(created)},
        )
    return created


@transaction.atomic
def cosign_task(*, actor: Actor, request: CosignRequest) -> CosignRequest:
    """A provider co-signs a task done under their supervision."""
    actor.check_owns(request, "co-sign request")
    user = _user(actor)
    request = CosignRequest.objects.select_for_update().get(pk=request.pk)
    if request.cosigned_at is not None:
        raise ValidationError({"__all__": ["already co-signed"]})
    if request.worker_id == user.pk:
        raise ValidationError({"__all__": ["a task cannot be co-signed by the worker who did it"]})
    request.cosigned_by = user
    request.cosigned_at = clock.now()
    request.save(update_fields=["cosigned_by", "cosigned_at", "updated_at"])
    audit.record_for_actor(
        actor,
        action=Action.UPDATE,
        patient_id=request.patient_id,
        resource_type="CosignRequest",
        resource_id=request.pk,
        detail={"task": request.task, "worker": request.worker_id, "cosigned": True},
    )
    return request
