"""Writes for eligibility: send 270 requests through the clearinghouse and record the 271
answers in plain words (see docs/subsystems/eligibility.md).

* `request_eligibility`: one coverage, one 270 interchange, one `EligibilityCheck` (sent).
* `batch_eligibility`: the day's booked visits whose primary coverage was not checked lately,
  in one 270 interchange (one transaction set per coverage), one check each.
* `record_271`: the answers matched to their checks by the trace number the 271 echoes
  (TRN02; for a dependant, the answer in the dependent loop 2000D); a trace number of no
  check of this organization is listed, not an error.
* `poll_clearinghouse`: take the 271s waiting in the inbox and record them; other kinds (835,
  999, 277) are left in the inbox for their importers unless a handler is passed for them.

Every function is keyword-only with the `Actor` first and runs in one transaction; bad input
raises a `ValidationError` naming the field and the rule (nothing is written); a row of another
organization raises `PermissionError`. The interchange control number (ISA13) comes from the
billing profile's counter, taken under `select_for_update`, shared with the 837P batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.patients.models import Coverage, Patient
from carebench.scheduling.models import ACTIVE_STATUSES, Appointment

from .clearinghouse import Clearinghouse, ClearinghouseError, Incoming, clearinghouse_for
from .elig_selectors import primary_coverage
from .models import BillingProfile, EligibilityCheck
from .x12.elig import (
    Dependent,
    EligibilityRequest,
    EligibilityResult,
    read_271,
    to_json,
    write_270,
)
from .x12.parse import X12Error, read_interchange

log = logging.getLogger(__name__)

HEALTH_BENEFIT_PLAN = "30"  # EQ01: health benefit plan coverage (the plan in general)
DEFAULT_RECHECK_DAYS = 7
MAX_CONTROL = 999_999_999
# What EligibilityRequest.problems() names, as the field on our side.
_REQUEST_FIELDS = {
    "interchange_control": "next_interchange_control",
    "group_control": "next_interchange_control",
    "sender_id": "submitter_id",
    "receiver_id": "receiver_id",
    "usage": "usage",
    "payer_name": "payer",
    "payer_id": "payer_code",
    "provider_npi": "npi",
    "provider_name": "organization",
    "subscriber name": "patient",
    "member_id": "member_id",
    "sex": "sex",
    "birth_date": "birth_date",
    "service_types": "service_types",
    "originator_id": "tax_id",
    "trace_number": "trace_number",
}
# For a dependant's request the subscriber is the coverage's, and the patient the dependant.
_DEPENDENT_FIELDS = {
    **_REQUEST_FIELDS,
    "subscriber name": "subscriber_name",
    "birth_date": "subscriber_birth_date",
    "sex": "subscriber_sex",
    "dependent name": "patient",
    "dependent relationship": "relationship",
    "dependent sex": "sex",
    "dependent birth_date": "birth_date",
}
# Coverage.relationship -> 2100D INS02 (005010X279A1: 01 spouse, 19 child, 34 other adult).
RELATIONSHIP_CODES: dict[str, str] = {
    Coverage.Relationship.SPOUSE: "01",
    Coverage.Relationship.CHILD: "19",
    Coverage.Relationship.OTHER: "34",
}
_STATUS = {
    "active": EligibilityCheck.Status.ACTIVE,
    "inactive": EligibilityCheck.Status.INACTIVE,
    "rejected": EligibilityCheck.Status.REJECTED,
    "unknown": EligibilityCheck.Status.ERROR,
}


# --- building the request -----------------------------------------------------------------------


def _zone(actor: Actor) -> str:
    facility = getattr(actor.user, "default_facility", None) or (
        actor.organization.facilities.first()
    )
    return facility.time_zone if facility is not None else settings.CAREBENCH_DEFAULT_TIME_ZONE


def _profile(actor: Actor, *, lock: bool = False) -> BillingProfile | None:
    rows = BillingProfile.objects.filter(organization=actor.organization)
    if lock:
        rows = rows.select_for_update()
    return rows.first()


def _profile_errors(profile: BillingProfile | None, errors: FieldErrors) -> None:
    if profile is None:
        errors.add("billing_profile", "set up the organization's billing profile first")
        return
    if not profile.submitter_id.strip():
        errors.add("submitter_id", "the billing profile needs our id at the clearinghouse")
    if not profile.receiver_id.strip():
        errors.add("receiver_id", "the billing profile needs the clearinghouse's id")


def _originator(actor: Actor) -> str:
    """TRN03: "1" and our EIN when the organization has one (else the writer's default)."""
    digits = "".join(ch for ch in actor.organization.tax_id if ch.isdigit())
    return "1" + digits if len(digits) == 9 else ""


def _sex(patient: Patient) -> str:
    return {"female": "F", "male": "M"}.get(patient.sex, "")


def _is_dependent(coverage: Coverage) -> bool:
    return coverage.relationship != Coverage.Relationship.SELF


def _subscriber_names(full: str) -> tuple[str, str]:
    """'Rivera, Ana' or 'Ana Rivera' -> ('Rivera', 'Ana'); a single word is a last name."""
    full = " ".join(full.split())
    if "," in full:
        last, first = full.split(",", 1)
        return last.strip(), first.strip()
    words = full.split(" ")
    return words[-1], " ".join(words[:-1])


def _coverage_errors(
    actor: Actor, coverage: Coverage, service_date: date, errors: FieldErrors
) -> None:
    if coverage.voided_at is not None:
        errors.add("coverage", "this coverage was voided")
    if not coverage.member_id.strip():
        errors.add("member_id", "the coverage has no member ID")
    if _is_dependent(coverage):
        last, first = _subscriber_names(coverage.subscriber_name)
        if not last:
            errors.add(
                "subscriber_name",
                f"the patient is the subscriber's {coverage.get_relationship_display().lower()}: "
                "the coverage needs the subscriber's name to ask the payer",
            )
        elif not first:
            errors.add(
                "subscriber_name",
                'the subscriber\'s first and last names are needed ("Last, First")',
            )
    if not coverage.payer.payer_code.strip():
        errors.add(
            "payer_code", f"the payer {coverage.payer.name} has no payer ID (set it on the payer)"
        )
    if not actor.organization.npi.strip():
        errors.add("npi", "the organization has no NPI")
    if coverage.patient.birth_date > service_date:
        errors.add("service_date", "the date of service is before the patient's birth date")


def _request(
    actor: Actor,
    profile: BillingProfile,
    coverage: Coverage,
    *,
    control: int,
    created_at: datetime,
    service_date: date,
    trace: str,
    service_types: tuple[str, ...],
) -> EligibilityRequest:
    """The 270 question for one coverage.

    The patient who is the subscriber (relationship self) goes in the subscriber loop
    (2100C) with the coverage's member ID. For a dependant (spouse, child, other) the
    subscriber loop has the coverage's subscriber (name, birth date) and member ID, and the
    patient goes in the dependent loop (2000D/2100D) with their relationship.
    """
    patient = coverage.patient
    dependent: Dependent | None = None
    last, first, middle = patient.family_name, patient.given_name, patient.middle_name
    birth_date: date | None = patient.birth_date
    sex = _sex(patient)
    if _is_dependent(coverage):
        dependent = Dependent(
            last_name=last,
            first_name=first,
            middle_name=middle,
            relationship=RELATIONSHIP_CODES.get(coverage.relationship, "34"),
            birth_date=birth_date,
            sex=sex,
        )
        (last, first), middle = _subscriber_names(coverage.subscriber_name), ""
        birth_date, sex = coverage.subscriber_birth_date, ""
    return EligibilityRequest(
        sender_id=profile.submitter_id.strip(),
        receiver_id=profile.receiver_id.strip(),
        interchange_control=control,
        created_at=created_at,
        payer_name=coverage.payer.name,
        payer_id=coverage.payer.payer_code.strip(),
        provider_npi=actor.organization.npi.strip(),
        provider_name=actor.organization.name,
        member_id=coverage.member_id.strip(),
        service_date=service_date,
        service_types=service_types,
        trace_number=trace,
        originator_id=_originator(actor),
        usage=profile.usage if profile.usage in ("P", "T") else "T",
        subscriber_last_name=last,
        subscriber_first_name=first,
        subscriber_middle_name=middle,
        birth_date=birth_date,
        sex=sex,
        dependent=dependent,
    )


def _request_problems(request: EligibilityRequest, errors: FieldErrors) -> None:
    fields = _REQUEST_FIELDS if request.dependent is None else _DEPENDENT_FIELDS
    for problem in request.problems():
        name, _, message = problem.partition(": ")
        errors.add(fields.get(name, "__all__"), message or problem)


def _take_control(profile: BillingProfile) -> int:
    """The next interchange control number (the profile row is locked by the caller)."""
    control = profile.next_interchange_control
    if not 0 < control <= MAX_CONTROL:
        raise ValidationError(
            {"next_interchange_control": "the interchange control number must be 1-999999999"}
        )
    profile.next_interchange_control = 1 if control == MAX_CONTROL else control + 1
    profile.save(update_fields=["next_interchange_control", "updated_at"])
    return control


def _trace(control: int, n: int) -> str:
    """TRN02: the interchange control and the request's number in it (unique per org)."""
    return f"{control:09d}-{n}"


def _file_name(control: int) -> str:
    return f"270-{control:09d}.x12"


def _clearinghouse(profile: BillingProfile | None, given: Clearinghouse | None) -> Clearinghouse:
    return given if given is not None else clearinghouse_for(profile)


def _send(house: Clearinghouse, name: str, text: str) -> str:
    try:
        return house.send("270", name, text)
    except ClearinghouseError as exc:
        raise ValidationError({"clearinghouse": str(exc)}) from exc


# --- one request --------------------------------------------------------------------------------


def request_eligibility(
    *,
    actor: Actor,
    coverage: Coverage,
    service_date: date | None = None,
    appointment: Appointment | None = None,
    clearinghouse: Clearinghouse | None = None,
    service_types: Iterable[str] = (HEALTH_BENEFIT_PLAN,),
) -> EligibilityCheck:
    """Ask the payer whether `coverage` is active on `service_date` (default: the
    appointment's day, else today): write the 270, save the check (status sent) and send it.

    Nothing is saved when the file cannot be sent.
    """
    actor.check_owns(coverage, "coverage")
    if appointment is not None:
        actor.check_owns(appointment, "appointment")
    zone = _zone(actor)
    errors = FieldErrors()
    if appointment is not None:
        if appointment.patient_id != coverage.patient_id:
            errors.add("appointment", "is another patient's appointment")
        if service_date is None:
            where = ZoneInfo(appointment.facility.time_zone)
            service_date = appointment.start.astimezone(where).date()
    day = service_date or clock.today(zone)
    types = tuple(code.strip().upper() for code in service_types)
    _coverage_errors(actor, coverage, day, errors)
    _profile_errors(_profile(actor), errors)
    errors.raise_if_any()
    with transaction.atomic():
        profile = _profile(actor, lock=True)
        assert profile is not None
        house = _clearinghouse(profile, clearinghouse)
        control = _take_control(profile)
        created = clock.now().astimezone(ZoneInfo(zone))
        trace = _trace(control, 1)
        request = _request(
            actor, profile, coverage, control=control, created_at=created, service_date=day,
            trace=trace, service_types=types,
        )  # fmt: skip
        _request_problems(request, errors)
        errors.raise_if_any()
        text = write_270(request)
        check = EligibilityCheck.objects.create(
            organization=actor.organization,
            patient=coverage.patient,
            coverage=coverage,
            appointment=appointment,
            service_date=day,
            trace_number=trace,
            status=EligibilityCheck.Status.SENT,
            requested_at=clock.now(),
            requested_by=actor.user,
            request_270=text,
        )
        name = _file_name(control)
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            patient_id=coverage.patient_id,
            resource_type="EligibilityCheck",
            resource_id=check.pk,
            detail={
                "trace": trace,
                "interchange": control,
                "file": name,
                "payer": request.payer_id,
            },
        )
        _send(house, name, text)
    return check


# --- the day's visits ---------------------------------------------------------------------------


@dataclass
class BatchSummary:
    """What `batch_eligibility` did for one day."""

    day: date
    appointments: int = 0  # booked visits that day (not cancelled or no-show)
    sent: int = 0  # checks written (one per coverage)
    already_checked: int = 0  # answered lately, or still waiting for an answer
    no_coverage: int = 0  # no active primary coverage (self-pay)
    refused: list[str] = field(default_factory=list)  # "MRN 100001: member_id: ..."
    interchange_control: int | None = None
    file: str = ""
    checks: list[EligibilityCheck] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "appointments": self.appointments,
            "sent": self.sent,
            "already_checked": self.already_checked,
            "no_coverage": self.no_coverage,
            "refused": list(self.refused),
            "interchange_control": self.interchange_control,
            "file": self.file,
        }


def _own_part(text: str, n: int, control: int) -> str:
    """One request of a batch file as an interchange of its own: the file's envelope around
    its transaction set `n` (ST02 as sent), so a check does not keep everyone's requests."""
    lines = text.splitlines()
    st = f"ST*270*{n:04d}*"
    start = next(i for i, line in enumerate(lines) if line.startswith(st))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("SE*"))
    group = lines[1].split("*")[6]
    part = lines[:2] + lines[start : end + 1] + [f"GE*1*{group}~", f"IEA*1*{control:09d}~"]
    return "\n".join(part) + "\n"


def _day_appointments(actor: Actor, day: date) -> list[Appointment]:
    """The organization's visits on `day`, each in its facility's time zone."""
    early = datetime.combine(day - timedelta(days=1), time(0), tzinfo=ZoneInfo("UTC"))
    late = datetime.combine(day + timedelta(days=2), time(0), tzinfo=ZoneInfo("UTC"))
    rows = (
        Appointment.objects.filter(
            organization=actor.organization,
            start__gte=early,
            start__lt=late,
            status__in=ACTIVE_STATUSES,
        )
        .select_related("patient", "facility")
        .order_by("start", "pk")
    )
    return [a for a in rows if a.start.astimezone(ZoneInfo(a.facility.time_zone)).date() == day]


def _recently_checked(coverage_ids: Collection[int], within_days: int) -> set[int]:
    now = clock.now()
    answered = EligibilityCheck.objects.filter(
        coverage_id__in=coverage_ids, answered_at__gte=now - timedelta(days=within_days)
    ).values_list("coverage_id", flat=True)
    waiting = EligibilityCheck.objects.filter(
        coverage_id__in=coverage_ids,
        status=EligibilityCheck.Status.SENT,
        requested_at__gte=now - timedelta(days=1),
    ).values_list("coverage_id", flat=True)
    return set(answered) | set(waiting)


def batch_eligibility(
    *,
    actor: Actor,
    day: date,
    within_days: int = DEFAULT_RECHECK_DAYS,
    clearinghouse: Clearinghouse | None = None,
) -> BatchSummary:
    """Check the coverage of everyone booked on `day`: one 270 interchange for all of them.

    Skipped: cancelled and no-show visits, patients without an active primary coverage, and
    coverages answered in the last `within_days` days (or sent in the last day and still
    waiting). A coverage whose request cannot be written (no member ID, no payer ID) is listed
    in `refused` and the others still go. Nothing is saved when the file cannot be sent.
    """
    if within_days < 0:
        raise ValidationError({"within_days": "must be 0 or more"})
    errors = FieldErrors()
    _profile_errors(_profile(actor), errors)
    if not actor.organization.npi.strip():
        errors.add("npi", "the organization has no NPI")
    errors.raise_if_any()
    summary = BatchSummary(day=day)
    appointments = _day_appointments(actor, day)
    summary.appointments = len(appointments)
    wanted: dict[int, tuple[Coverage, Appointment]] = {}
    for appointment in appointments:
        coverage = primary_coverage(appointment.patient, day)
        if coverage is None:
            summary.no_coverage += 1
        elif coverage.pk not in wanted:
            wanted[coverage.pk] = (coverage, appointment)
    recent = _recently_checked(list(wanted), within_days)
    summary.already_checked = len(recent)
    todo = [pair for pk, pair in wanted.items() if pk not in recent]
    if not todo:
        return summary
    zone = _zone(actor)
    created = clock.now().astimezone(ZoneInfo(zone))
    profile = _profile(actor)
    assert profile is not None
    drafts: list[tuple[EligibilityRequest, Coverage, Appointment]] = []
    for coverage, appointment in todo:
        problems = FieldErrors()
        _coverage_errors(actor, coverage, day, problems)
        draft = _request(
            actor, profile, coverage, control=1, created_at=created, service_date=day,
            trace="1", service_types=(HEALTH_BENEFIT_PLAN,),
        )  # fmt: skip
        if not problems.errors:
            _request_problems(draft, problems)
        if problems.errors:
            said = "; ".join(f"{k}: {'; '.join(v)}" for k, v in problems.errors.items())
            summary.refused.append(f"MRN {coverage.patient.mrn}: {said}")
            continue
        drafts.append((draft, coverage, appointment))
    if not drafts:
        return summary
    with transaction.atomic():
        profile = _profile(actor, lock=True)
        assert profile is not None
        house = _clearinghouse(profile, clearinghouse)
        control = _take_control(profile)
        requests = [
            (replace(draft, interchange_control=control, trace_number=_trace(control, n)),
             coverage, appointment)
            for n, (draft, coverage, appointment) in enumerate(drafts, start=1)
        ]  # fmt: skip
        text = write_270([r for r, _, _ in requests])
        now = clock.now()
        checks = EligibilityCheck.objects.bulk_create(
            [
                EligibilityCheck(
                    organization=actor.organization,
                    patient=coverage.patient,
                    coverage=coverage,
                    appointment=appointment,
                    service_date=day,
                    trace_number=request.trace,
                    status=EligibilityCheck.Status.SENT,
                    requested_at=now,
                    requested_by=actor.user,
                    request_270=_own_part(text, n, control),
                )
                for n, (request, coverage, appointment) in enumerate(requests, start=1)
            ]
        )
        name = _file_name(control)
        audit.record_many_for_actor(
            actor,
            [
                {
                    "action": Action.CREATE,
                    "patient_id": check.patient_id,
                    "resource_type": "EligibilityCheck",
                    "resource_id": check.pk if check.pk is not None else check.trace_number,
                    "detail": {
                        "trace": check.trace_number,
                        "interchange": control,
                        "file": name,
                        "batch_day": day.isoformat(),
                    },
                }  # fmt: skip
                for check in checks
            ],
        )
        summary.file = _send(house, name, text)
        summary.interchange_control = control
        summary.sent = len(checks)
        summary.checks = list(checks)
    return summary


# --- the answers --------------------------------------------------------------------------------


class Recorded(list[EligibilityCheck]):
    """The checks a 271 answered (a list) and, in `unknown`, the trace numbers it holds that
    match no check of this organization."""

    def __init__(
        self, checks: Iterable[EligibilityCheck] = (), unknown: Iterable[str] = ()
    ) -> None:
        super().__init__(checks)
        self.unknown: list[str] = list(unknown)


def _references(text: str) -> dict[str, str]:
    """BHT03 of each 271 transaction set, by its ST02: the trace number for an answer that
    has no patient loop to carry a TRN (a payer-level rejection). We write BHT03 = TRN02."""
    out = {}
    for t in read_interchange(text).transactions:
        bht = next((s for s in t.body if s.id == "BHT"), None)
        if bht is not None:
            out[t.control_number] = bht.element(3)
    return out


def _trace_of(result: EligibilityResult, references: Mapping[str, str]) -> str:
    return result.trace_number or references.get(result.control_number, "")


def _answer_for(answers: list[EligibilityResult], dependent: bool) -> EligibilityResult:
    """The answer about the check's patient among those echoing its trace number: the
    dependent's (2000D) for a dependant's check, the subscriber's for the subscriber's; else
    the first."""
    return next((a for a in answers if a.is_dependent == dependent), answers[0])


@transaction.atomic
def record_271(*, actor: Actor, text: str, file_name: str = "") -> Recorded:
    """Record a 271: each answer to the check whose trace number it echoes, with its status
    (active, inactive, rejected; error when the payer did not say), the 271, the result as
    JSON and the summary sentences. Trace numbers of no check of this organization are listed
    in `unknown`. A 271 that cannot be read is refused naming the segment and its position,
    and nothing is written."""
    try:
        results = read_271(text)
        references = _references(text)
    except X12Error as exc:
        where = f" {file_name}" if file_name else ""
        raise ValidationError(
            {"text": f"the 271{where} cannot be read: segment {exc.position} "
                     f"({exc.segment or 'empty id'}): {exc.message}"}
        ) from exc  # fmt: skip
    by_trace: dict[str, list[EligibilityResult]] = {}
    unknown: list[str] = []
    for result in results:
        trace = _trace_of(result, references)
        if not trace:
            unknown.append(f"(no trace number, answer at segment {result.position})")
        else:
            by_trace.setdefault(trace, []).append(result)
    checks = {
        check.trace_number: check
        for check in EligibilityCheck.objects.select_for_update().filter(
            organization=actor.organization, trace_number__in=list(by_trace)
        )
    }
    dependants = set(
        Coverage.objects.filter(pk__in=[c.coverage_id for c in checks.values()])
        .exclude(relationship=Coverage.Relationship.SELF)
        .values_list("pk", flat=True)
    )
    now = clock.now()
    recorded = Recorded()
    events = []
    for trace, answers in by_trace.items():
        check = checks.get(trace)
        if check is None:
            unknown.append(trace)
            continue
        result = _answer_for(answers, check.coverage_id in dependants)
        check.status = _STATUS[result.status]
        check.response_271 = text
        check.answered_at = now
        check.result = to_json(result)
        check.summary = result.summary()
        check.save(
            update_fields=["status", "response_271", "answered_at", "result", "summary",
                           "updated_at"]
        )  # fmt: skip
        recorded.append(check)
        events.append(
            {
                "action": Action.UPDATE,
                "patient_id": check.patient_id,
                "resource_type": "EligibilityCheck",
                "resource_id": check.pk,
                "detail": {"trace": trace, "status": check.status, "file": file_name},
            }
        )
    if events:
        audit.record_many_for_actor(actor, events)
    recorded.unknown = unknown
    return recorded


# --- the inbox ----------------------------------------------------------------------------------


Handler = Callable[[Incoming], Any]


@dataclass
class PollSummary:
    """What `poll_clearinghouse` found in the inbox."""

    files: list[str] = field(default_factory=list)  # taken and recorded
    checks: list[EligibilityCheck] = field(default_factory=list)  # 271 answers recorded
    unknown: list[str] = field(default_factory=list)  # "file: trace" matching no check
    left: list[tuple[str, str]] = field(default_factory=list)  # (file, kind) left in the inbox
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, why) set aside
    handled: dict[str, Any] = field(default_factory=dict)  # other handlers' answers by file


def poll_clearinghouse(
    *,
    actor: Actor,
    clearinghouse: Clearinghouse | None = None,
    handlers: Mapping[str, Handler] | None = None,
) -> PollSummary:
    """Take the 271 files waiting in the clearinghouse inbox and record them (`record_271`).

    Files of other kinds (835, 999, 277...) stay in the inbox for their importers and are
    listed in `left`, unless `handlers` maps their kind ("835") to a function taking the
    `Incoming`. A file whose handler refuses it (`ValidationError`) is set aside with the
    reason; each file is recorded in its own transaction, so one bad file stops no other.
    """
    house = _clearinghouse(_profile(actor), clearinghouse)
    extra = dict(handlers or {})
    kinds = {"271", *extra}
    summary = PollSummary()
    try:
        incoming = house.receive(kinds)
    except ClearinghouseError as exc:
        raise ValidationError({"clearinghouse": str(exc)}) from exc
    for item in incoming:
        if item.error:
            summary.failed.append((item.name, item.error))
            continue
        if not item.taken:
            summary.left.append((item.name, item.kind))
            continue
        try:
            if item.kind == "271" and "271" not in extra:
                recorded = record_271(actor=actor, text=item.text, file_name=item.name)
                summary.checks += recorded
                summary.unknown += [f"{item.name}: {trace}" for trace in recorded.unknown]
            else:
                summary.handled[item.name] = extra[item.kind](item)
        except ValidationError as exc:
            reason = "; ".join(m for ms in exc.message_dict.values() for m in ms) if hasattr(
                exc, "error_dict") else "; ".join(exc.messages)  # fmt: skip
            house.set_aside(item, reason)
            summary.failed.append((item.name, reason))
            log.warning("clearinghouse file %s set aside: %s", item.name, reason)
            continue
        summary.files.append(item.name)
    return summary
