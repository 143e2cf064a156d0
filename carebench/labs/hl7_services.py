"""Writes for the HL7 v2.5.1 lab interface: queue the ORM^O01 of an order, mark outbound
messages sent, send the queue of one message type over MLLP (ORM^O01 to the reference lab,
VXU^V04 to the immunization registry: each type has its own receiver) and record the ACKs that
come back (or arrive as files), put an errored message back in the queue, ingest an ORU^R01
(parse, match, store, ACK), and resolve the unmatched queue.

Conventions as in `services`: keyword-only, the `Actor` first, one transaction, one audit event
(a stored result's event is `store_results`'s own), `ValidationError` naming the field,
`PermissionError` for another organization's row.

Matching an ORU to an order: the placer number (ORC-2, else OBR-2) is our order number; failing
that, the filler number (ORC-3, else OBR-3) the lab gave in an earlier result. The order's
patient must carry the MRN of PID-3. A message that matches no order, or another patient, is
held as `unmatched` (ACK AA: accepted, held for a person) until someone picks its order.
A message we cannot read gets AE (content) or AR (not a message we take), naming the segment
and field; only its `error`/`rejected` log row is written, no results.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet

from carebench.audit import services as audit
from carebench.audit.models import Action, Outcome
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.bulk import bulk_insert
from carebench.core.errors import FieldErrors
from carebench.core.models import Facility, Organization
from carebench.patients.models import Patient

from . import flags
from .hl7 import build
from .hl7.ack import (
    ACCEPT,
    ERROR,
    AckInfo,
    AckReadError,
    ErrorLocation,
    ReceivedAck,
    build_ack,
    read_ack,
)
from .hl7.mllp import Deframer, FramingError, frame
from .hl7.parse import (
    Header,
    Observation,
    ParseError,
    ResultMessage,
    normalize,
    parse_oru,
    split_messages,
)
from .hl7.parse import read_header as _read_header
from .models import Container, Hl7Message, LabOrder, LabOrderItem, LabResult, Specimen, is_in_house
from .result_services import Report, ResultValue, check_report, store_results_many

APPLICATION = "CAREBENCH"
LAB_APPLICATION = "LAB"
ORM = "ORM^O01"
ORU = "ORU^R01"
DEFAULT_ZONE = "America/Chicago"

_STATUS = {
    "final": LabResult.Status.FINAL,
    "preliminary": LabResult.Status.PRELIMINARY,
    "corrected": LabResult.Status.CORRECTED,
}


def _facility(organization: Organization, order: LabOrder | None = None) -> Facility | None:
    if order is not None and order.encounter_id is not None:
        return order.encounter.facility  # type: ignore[union-attr]
    return organization.facilities.order_by("pk").first()


def zone_for(organization: Organization) -> str:
    """The time zone for HL7 timestamps that carry no UTC offset: the first facility's."""
    facility = _facility(organization)
    return facility.time_zone if facility is not None else DEFAULT_ZONE


# --- outbound: ORM^O01 ---------------------------------------------------------------------------


def patient_info(patient: Patient) -> build.PatientInfo:
    """The PID data of a patient (MRN with the organization as assigning authority)."""
    return build.PatientInfo(
        mrn=patient.mrn,
        family_name=patient.family_name,
        given_name=patient.given_name,
        middle_name=patient.middle_name,
        suffix=patient.suffix,
        birth_date=patient.birth_date,
        sex=patient.sex,
        assigning_authority=patient.organization.slug,
        address_line1=patient.address_line1,
        address_line2=patient.address_line2,
        city=patient.city,
        state=patient.state,
        postal_code=patient.postal_code,
        phone=patient.phone_mobile or patient.phone_home,
    )


def order_message(order: LabOrder, items: list[LabOrderItem]) -> build.OrderMessage:
    """The plain data of an order's ORM (the items sent to the reference lab)."""
    from carebench.terminology.models import Icd10CmCode

    patient = order.patient
    organization = order.organization
    facility = _facility(organization, order)
    zone = ZoneInfo(facility.time_zone if facility is not None else DEFAULT_ZONE)
    descriptions = dict(
        Icd10CmCode.objects.filter(code__in=order.diagnosis_codes).values_list(
            "code", "description"
        )
    )
    provider = order.ordering_provider
    labs = sorted({item.performed for item in items if item.performed})
    return build.OrderMessage(
        control_id=order.number,
        sent_at=clock.now().astimezone(zone),
        sender=build.Endpoint(APPLICATION, organization.slug),
        receiver=build.Endpoint(LAB_APPLICATION, labs[0] if len(labs) == 1 else ""),
        patient=patient_info(patient),
        placer_number=order.number,
        ordered_at=order.ordered_at.astimezone(zone),
        provider=build.ProviderInfo(provider.npi, provider.family_name, provider.given_name),
        tests=[
            build.TestInfo(
                code=item.code,
                name=item.name,
                loinc=item.loinc,
                specimen_type=item.test.specimen_type,
                container=Container(item.container).label,
            )
            for item in items
        ],
        diagnoses=[build.Diagnosis(c, descriptions.get(c, "")) for c in order.diagnosis_codes],
        stat=order.priority == LabOrder.Priority.STAT,
        location=facility.name if facility is not None else "",
        note=order.note,
    )


def create_order_message(*, actor: Actor, order: LabOrder) -> Hl7Message | None:
    """The queued ORM of an order's reference-lab tests, inside the caller's transaction and
    audit event (`place_order` calls it); None when every test is done in-house (POC)."""
    actor.check_owns(order, "order")
    items = [
        item
        for item in order.items.select_related("test").order_by("pk")
        if not is_in_house(item.performed)
    ]
    if not items:
        return None
    raw = build.build_orm(order_message(order, items))
    return Hl7Message.objects.create(
        organization=actor.organization,
        created_by=actor.user,
        direction=Hl7Message.Direction.OUTBOUND,
        message_type=ORM,
        control_id=order.number,
        raw=raw,
        status=Hl7Message.Status.QUEUED,
        order=order,
        patient_id=order.patient_id,
        placer_number=order.number,
    )


def queue_order_message(*, actor: Actor, order: LabOrder) -> Hl7Message | None:
    """Queue the outbound ORM^O01 for an order (none when all its tests are point-of-care, and
    none again when it is already queued or sent)."""
    actor.check_owns(order, "order")
    with transaction.atomic():
        existing = Hl7Message.objects.filter(
            organization=actor.organization,
            direction=Hl7Message.Direction.OUTBOUND,
            control_id=order.number,
        ).first()
        if existing is not None:
            return existing
        message = create_order_message(actor=actor, order=order)
        if message is not None:
            audit.record_for_actor(
                actor,
                action=Action.CREATE,
                patient_id=order.patient_id,
                resource_type="Hl7Message",
                resource_id=message.pk,
                detail={"type": ORM, "order": order.number, "control_id": message.control_id},
            )
    return message


# --- outbound: which messages go to which receiver ----------------------------------------------

# The outbound message types (MSH-9.1), each for its own receiver: ORM^O01 lab orders for the
# reference lab, VXU^V04 immunizations for the state registry. A run of `send_queued` or an
# outbox dump picks its messages by type, so one receiver never gets another's patient data.
OUTBOUND_TYPES = ("ORM", "VXU")
# A message type as given to pick messages: the code (`VXU`), or code^event (`VXU^V04`).
_TYPE_FORMAT = re.compile(r"[A-Z0-9]{3}(\^[A-Z0-9]{3})?")


def _checked_types(message_types: Sequence[str], errors: FieldErrors) -> tuple[str, ...]:
    """The message types asked for, upper case; each must be a code (`VXU`) or code^event
    (`VXU^V04`), and there must be at least one (a bare string is refused too: "VXU" is not
    the list ["VXU"])."""
    if isinstance(message_types, str):
        errors.add("message_types", "give a list of message types, e.g. ['VXU']")
        return ()
    types = tuple(dict.fromkeys(t.strip().upper() for t in message_types))
    if not types:
        errors.add("message_types", "say which message types to send, e.g. VXU or ORM")
    for value in types:
        if not _TYPE_FORMAT.fullmatch(value):
            errors.add(
                "message_types",
                f"{value or '(empty)'} is not a message type (a code such as VXU or ORM,"
                " or code^event such as VXU^V04)",
            )
    return types


def _of_types(query: QuerySet[Hl7Message], types: Sequence[str]) -> QuerySet[Hl7Message]:
    """The messages whose type starts with one of `types` (checked by `_checked_types`)."""
    wanted = Q()
    for value in types:
        wanted |= Q(message_type__startswith=value)
    return query.filter(wanted)


def type_folder(message_type: str) -> str:
    """The outbox subfolder of a message: its type code (`VXU` for VXU^V04), safe as a name."""
    code = message_type.split("^", 1)[0].strip().upper()
    return "".join(ch if ch.isalnum() else "_" for ch in code) or "_"


def outbox_messages(
    *, actor: Actor, message_types: Sequence[str] | None = None
) -> list[Hl7Message]:
    """The outbound messages to write out as files (`carebench hl7 outbox`): the
    organization's queued or sent ones, oldest first; with `message_types`, only those whose
    type starts with one of them (`ValidationError` naming `message_types` for a bad one),
    else every type (the caller keeps each type apart: `type_folder`)."""
    query: QuerySet[Hl7Message] = Hl7Message.objects.for_org(actor.organization).filter(
        direction=Hl7Message.Direction.OUTBOUND,
        status__in=[Hl7Message.Status.QUEUED, Hl7Message.Status.SENT],
    )
    if message_types is not None:
        errors = FieldErrors()
        types = _checked_types(message_types, errors)
        errors.raise_if_any()
        query = _of_types(query, types)
    return list(query.order_by("created_at", "pk"))


def mark_sent(*, actor: Actor, messages: Iterable[Hl7Message]) -> int:
    """Outbound messages handed to their receiver (written to the outbox folder or sent over
    MLLP): the queued ones become `sent`; one audit event."""
    rows = list(messages)
    for row in rows:
        actor.check_owns(row, "message")
    ids = [
        row.pk
        for row in rows
        if row.direction == Hl7Message.Direction.OUTBOUND
        and row.status in {Hl7Message.Status.QUEUED, Hl7Message.Status.SENT}
    ]
    if not ids:
        return 0
    now = clock.now()
    with transaction.atomic():
        count: int = Hl7Message.objects.filter(
            organization=actor.organization, pk__in=ids, status=Hl7Message.Status.QUEUED
        ).update(status=Hl7Message.Status.SENT, processed_at=now, updated_at=now)
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            resource_type="Hl7Message",
            detail={"sent": count, "control_ids": [r.control_id for r in rows if r.pk in ids]},
        )
    return count


# --- outbound: sending over MLLP, ACKs back, resend ----------------------------------------------

# MSA-1 of the ACK -> the outbound message's status (original and enhanced/commit mode alike).
ACK_STATUS = {
    "AA": Hl7Message.Status.ACCEPTED,
    "CA": Hl7Message.Status.ACCEPTED,
    "AE": Hl7Message.Status.ERROR,
    "CE": Hl7Message.Status.ERROR,
    "AR": Hl7Message.Status.REJECTED,
    "CR": Hl7Message.Status.REJECTED,
}
RESENDABLE = (Hl7Message.Status.ERROR, Hl7Message.Status.REJECTED, Hl7Message.Status.SENT)
# CDC's ACK guidance for immunization registries: an AE whose every ERR is a warning (W) or
# information (I) means the record was taken, with remarks. It is accepted; `error` keeps them.
WARNING_SEVERITIES = frozenset({"W", "I"})
ACCEPTED_WITH_WARNINGS = "accepted with warnings: "
# send_queued's outcome of a message that got no ACK: "not sent" (left queued), "no ACK" (sent,
# waiting for its ACK); a message that got an ACK has its MSA-1 (AA, AE, AR, ...) as outcome.
NOT_SENT = "not sent"
NO_ACK = "no ACK"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_limit() -> int:
    return int(Hl7Message._meta.get_field("error").max_length or 500)


def _parse_ack(ack_text: str | bytes) -> ReceivedAck:
    try:
        return read_ack(ack_text)
    except AckReadError as exc:
        raise ValidationError({exc.field: [exc.reason]}) from None


def _warnings_only(ack: ReceivedAck) -> bool:
    """An AE whose ERR segments are all warnings or information (the message was processed and
    the record taken). An AE with no ERR, or with any ERR of severity E, F or none, is not."""
    return (
        ack.code == ERROR
        and bool(ack.errors)
        and all(e.severity in WARNING_SEVERITIES for e in ack.errors)
    )


def _apply_ack(actor: Actor, message: Hl7Message, ack: ReceivedAck) -> Hl7Message:
    """Store what an ACK says on its outbound message, with one audit event (in a transaction
    of its own, or the caller's)."""
    errors = FieldErrors()
    if message.direction != Hl7Message.Direction.OUTBOUND:
        errors.add("message", "an ACK is recorded on an outbound message only")
    if ack.acknowledged_id != message.control_id:
        errors.add(
            "MSA-2",
            f"the ACK is for {ack.acknowledged_id or '(empty)'}, not {message.control_id}",
        )
    errors.raise_if_any()
    status = ACK_STATUS[ack.code]
    text = ack.describe()
    warnings_only = _warnings_only(ack)
    if warnings_only:
        status = Hl7Message.Status.ACCEPTED
        text = ACCEPTED_WITH_WARNINGS + text
    text = _cut(text, _error_limit())
    with transaction.atomic():
        current = Hl7Message.objects.select_for_update().get(pk=message.pk)
        previous = current.status
        current.status = status
        current.ack_code = ack.code
        current.error = text
        current.processed_at = clock.now()
        current.save(update_fields=["status", "ack_code", "error", "processed_at", "updated_at"])
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            patient_id=current.patient_id,
            resource_type="Hl7Message",
            resource_id=current.pk,
            detail={
                "control_id": current.control_id,
                "type": current.message_type,
                "ack": ack.code,
                "ack_control_id": ack.control_id,
                "status": status,
                "previous": previous,
                "errors": len(ack.errors),
                "warnings_only": warnings_only,
            },
        )
    return current


def record_ack(*, actor: Actor, message: Hl7Message, ack_text: str | bytes) -> Hl7Message:
    """The receiver's ACK of an outbound message: MSA-1 AA/CA -> accepted, AE/CE -> error,
    AR/CR -> rejected; `ack_code` is MSA-1, `error` the ERR segments in words (errors before
    warnings, `; ` between, cut to 500), else MSA-3; `processed_at` now; one audit event.

    An AE whose ERR segments all have severity W (warning) or I (information) is accepted (CDC's
    ACK guidance for registries: processed, the record taken), `error` then "accepted with
    warnings: " and the ERRs; an AE with no ERR, or any ERR of severity E, F or none, is an
    error.

    `ValidationError` naming the field when the ACK cannot be read (`MSH`, `MSA`, `MSA-1`) or
    is for another message (`MSA-2` is not the message's control id); nothing is written then.
    """
    actor.check_owns(message, "message")
    return _apply_ack(actor, message, _parse_ack(ack_text))


def import_acks(*, actor: Actor, text: str) -> list[Hl7Message]:
    """ACKs a receiver returned as a file (one message, several, or a batch with FHS/BHS
    lines): each is matched by MSA-2 to an outbound message of the organization and recorded
    as `record_ack` would, all in one transaction. Every ACK is read and matched before
    anything is written: an unreadable one, or an MSA-2 we never sent, is a `ValidationError`
    naming the field (`MSA-2`) and the ACK's number in the file."""
    chunks = split_messages(text)
    errors = FieldErrors()
    if not chunks:
        errors.add("file", "no HL7 message in the file")
    acks: list[ReceivedAck] = []
    for number, chunk in enumerate(chunks, start=1):
        try:
            acks.append(read_ack(chunk))
        except AckReadError as exc:
            errors.add(exc.field, f"ACK {number}: {exc.reason}")
    errors.raise_if_any()
    wanted = {ack.acknowledged_id for ack in acks}
    found = {
        row.control_id: row
        for row in Hl7Message.objects.for_org(actor.organization).filter(
            direction=Hl7Message.Direction.OUTBOUND, control_id__in=wanted
        )
    }
    for number, ack in enumerate(acks, start=1):
        if ack.acknowledged_id not in found:
            errors.add(
                "MSA-2",
                f"ACK {number}: no outbound message {ack.acknowledged_id or '(empty)'}",
            )
    errors.raise_if_any()
    with transaction.atomic():
        return [_apply_ack(actor, found[ack.acknowledged_id], ack) for ack in acks]


def requeue(*, actor: Actor, message: Hl7Message) -> Hl7Message:
    """Send an outbound message again: one that got AE or AR, or was sent and got no ACK goes
    back to the queue (its ACK code and error cleared; the audit event keeps them). The text is
    sent as it is, under the same control id."""
    actor.check_owns(message, "message")
    if message.direction != Hl7Message.Direction.OUTBOUND:
        raise ValidationError({"message": ["only an outbound message is sent again"]})
    with transaction.atomic():
        current = Hl7Message.objects.select_for_update().get(pk=message.pk)
        if current.status not in RESENDABLE:
            raise ValidationError(
                {
                    "status": [
                        f"{current.control_id} is {current.get_status_display().lower()}: only"
                        " a message with an error, rejected, or sent without an ACK is sent"
                        " again"
                    ]
                }
            )
        previous = {
            "status": current.status,
            "ack": current.ack_code,
            "error": current.error,
        }
        current.status = Hl7Message.Status.QUEUED
        current.ack_code = ""
        current.error = ""
        current.processed_at = None
        current.save(update_fields=["status", "ack_code", "error", "processed_at", "updated_at"])
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            patient_id=current.patient_id,
            resource_type="Hl7Message",
            resource_id=current.pk,
            detail={
                "control_id": current.control_id,
                "type": current.message_type,
                "requeued": True,
                "previous": previous,
            },
        )
    return current


def _stamp(actor: Actor) -> str:
    zone = ZoneInfo(zone_for(actor.organization))
    return clock.now().astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _connect_failure(exc: OSError, timeout: float) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return f"no connection within {timeout:g} s"
    if isinstance(exc, socket.gaierror):
        return f"host not found ({exc.strerror or exc})"
    return f"cannot connect ({exc.strerror or exc or type(exc).__name__})"


def _leave_queued(
    actor: Actor, rows: list[Hl7Message], reason: str
) -> list[tuple[Hl7Message, str]]:
    """Messages not sent: they stay queued, each with the reason in `error`; one audit event."""
    if not rows:
        return []
    text = _cut(reason, _error_limit())
    ids = [row.pk for row in rows]
    with transaction.atomic():
        Hl7Message.objects.filter(
            organization=actor.organization, pk__in=ids, status=Hl7Message.Status.QUEUED
        ).update(error=text, updated_at=clock.now())
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            outcome=Outcome.FAILURE,
            resource_type="Hl7Message",
            detail={"not_sent": [row.control_id for row in rows], "reason": text},
        )
    fresh = Hl7Message.objects.in_bulk(ids)
    return [(fresh[pk], NOT_SENT) for pk in ids]


def _sent_without_ack(actor: Actor, row: Hl7Message, reason: str) -> tuple[Hl7Message, str]:
    """A message that went out but whose ACK did not come back (or was not its ACK): sent,
    waiting for its ACK, the reason in `error`; one audit event."""
    text = _cut(reason, _error_limit())
    with transaction.atomic():
        current = Hl7Message.objects.select_for_update().get(pk=row.pk)
        if current.status == Hl7Message.Status.QUEUED:
            current.status = Hl7Message.Status.SENT
            current.ack_code = ""
            current.error = text
            current.processed_at = clock.now()
            current.save(
                update_fields=["status", "ack_code", "error", "processed_at", "updated_at"]
            )
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            outcome=Outcome.FAILURE,
            patient_id=current.patient_id,
            resource_type="Hl7Message",
            resource_id=current.pk,
            detail={
                "control_id": current.control_id,
                "type": current.message_type,
                "status": current.status,
                "reason": text,
            },
        )
    return current, NO_ACK


def _read_frame(
    conn: socket.socket, deframer: Deframer, pending: list[bytes], timeout: float
) -> bytes:
    """The next MLLP frame from the connection within `timeout` seconds (TimeoutError), or
    ConnectionError when the receiver hangs up first."""
    deadline = time.monotonic() + timeout
    while not pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        conn.settimeout(remaining)
        data = conn.recv(65536)
        if not data:
            raise ConnectionError("the receiver closed the connection")
        pending.extend(deframer.feed(data))
    return pending.pop(0)


def send_queued(
    *,
    actor: Actor,
    host: str,
    port: int,
    message_types: Sequence[str],
    timeout: float = 10.0,
    limit: int | None = None,
) -> list[tuple[Hl7Message, str]]:
    """Send the organization's queued outbound messages of `message_types` (those whose type
    starts with one of them: `["VXU"]` for the registry, `["ORM"]` for the lab; required, as
    each type has its own receiver, and never the other types), oldest first, over one MLLP
    connection, each after the ACK of the one before; per message (the row as it is now, the
    outcome): the ACK's MSA-1 (recorded by `record_ack`), `NO_ACK` or `NOT_SENT`.
    `ValidationError` naming `message_types`, `timeout`, `limit` or `port`.

    - an ACK came back: accepted, error (AE) or rejected (AR), as `record_ack` says; the run
      goes on;
    - no connection (refused, unknown host, no answer within `timeout`) or the connection lost
      while sending: the message in hand and the rest stay queued, each with `error`
      "not sent: <why> to host:port at <time>";
    - sent, but no ACK within `timeout` seconds, the receiver hung up, or the reply is not
      this message's ACK: the message is `sent` (waiting for its ACK: it may have been taken,
      so it is not sent again by itself) with the reason in `error`, and the run stops (the
      connection can no longer be trusted to pair ACKs with messages); the rest stay queued
      with the reason.

    Nothing is held open in the database while waiting on the network: each outcome is its
    own transaction with its audit event. Run one sender per organization at a time.
    """
    errors = FieldErrors()
    if not timeout > 0:
        errors.add("timeout", "the timeout must be more than 0 seconds")
    if limit is not None and limit < 1:
        errors.add("limit", "the limit must be 1 or more")
    if not 0 < port < 65536:
        errors.add("port", "the port must be 1 to 65535")
    types = _checked_types(message_types, errors)
    errors.raise_if_any()
    query = _of_types(
        Hl7Message.objects.for_org(actor.organization).filter(
            direction=Hl7Message.Direction.OUTBOUND, status=Hl7Message.Status.QUEUED
        ),
        types,
    ).order_by("created_at", "pk")
    rows = list(query[:limit] if limit is not None else query)
    if not rows:
        return []
    where = f"{host}:{port}"
    try:
        conn = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        why = _connect_failure(exc, timeout)
        return _leave_queued(actor, rows, f"not sent: {why} to {where} at {_stamp(actor)}")
    outcomes: list[tuple[Hl7Message, str]] = []
    with conn:
        deframer = Deframer()
        pending: list[bytes] = []
        for index, row in enumerate(rows):
            rest = rows[index + 1 :]
            try:
                conn.settimeout(timeout)
                conn.sendall(frame(row.raw))
            except OSError as exc:
                lost = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
                outcomes += _leave_queued(
                    actor,
                    rows[index:],
                    f"not sent: connection to {where} lost while sending ({lost})"
                    f" at {_stamp(actor)}",
                )
                break
            try:
                reply = _read_frame(conn, deframer, pending, timeout)
            except TimeoutError:
                problem = f"no ACK within {timeout:g} s from {where}"
            except (OSError, FramingError) as exc:
                problem = f"no ACK from {where}: {exc}"
            else:
                try:
                    updated = _apply_ack(actor, row, _parse_ack(reply))
                except ValidationError as exc:
                    problem = f"the reply from {where} is not its ACK: " + "; ".join(
                        f"{key}: {' '.join(msgs)}" for key, msgs in exc.message_dict.items()
                    )
                else:
                    outcomes.append((updated, updated.ack_code))
                    continue
            stamp = _stamp(actor)
            outcomes.append(_sent_without_ack(actor, row, f"sent, {problem} at {stamp}"))
            outcomes += _leave_queued(
                actor, rest, f"not sent: stopped after {row.control_id} ({problem}) at {stamp}"
            )
            break
    return outcomes


# --- inbound: ORU^R01 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    order: LabOrder | None
    reason: str = ""  # why it is unmatched
    patient: Patient | None = None


def _ack(header: Header, organization: Organization, code: str, error: ErrorLocation | None) -> str:
    return build_ack(
        AckInfo(
            code=code,
            acknowledged_id=header.control_id,
            sender=build.Endpoint(
                header.receiver.application or APPLICATION,
                header.receiver.facility or organization.slug,
            ),
            receiver=header.sender,
            sent_at=clock.now(),
            trigger=header.trigger or "R01",
            processing_id=header.processing_id,
            error=error,
        )
    )


def _aware(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _error_row(
    actor: Actor, text: str, header: Header, location: ErrorLocation, code: str, now: datetime
) -> Hl7Message:
    """The (unsaved) log row of a message we did not take: status error (AE) or rejected."""
    status = Hl7Message.Status.ERROR if code == ERROR else Hl7Message.Status.REJECTED
    # An error row keeps the control id visible but unique, so the corrected message (sent
    # again under the same MSH-10) is not taken for a duplicate.
    control_id = f"{header.control_id[:27]}!{uuid.uuid4().hex[:12]}"
    return Hl7Message(
        organization=actor.organization,
        created_by=actor.user,
        direction=Hl7Message.Direction.INBOUND,
        message_type=(header.type_name or "?")[:20],
        control_id=control_id,
        raw=text[:1_000_000],
        status=status,
        ack_code=code,
        error=location.describe()[:500].replace("\x00", "\ufffd"),
        processed_at=now,
    )


@dataclass
class _Candidates:
    """The orders a batch's messages may be for: by placer number and by filler number."""

    by_number: dict[str, LabOrder]
    by_filler: dict[str, LabOrder]

    @property
    def orders(self) -> dict[int, LabOrder]:
        return {o.pk: o for o in [*self.by_number.values(), *self.by_filler.values()]}


def _candidates(organization: Organization, results: list[ResultMessage]) -> _Candidates:
    """Two queries at most for a whole batch: the orders by placer number, then by the filler
    number of the groups whose placer number we do not have."""
    placers = {g.placer_number for r in results for g in r.orders if g.placer_number}
    # Only the patient is joined (the provider and visit are read for a critical alert only);
    # no ORDER BY: the default orderings join other tables and cost more to compile than to run.
    orders = LabOrder.objects.select_related("patient").filter(organization=organization).order_by()
    by_number = {o.number: o for o in orders.filter(number__in=placers)} if placers else {}
    fillers = {
        g.filler_number
        for r in results
        for g in r.orders
        if g.filler_number and g.placer_number not in by_number
    }
    by_filler: dict[str, LabOrder] = {}
    if fillers:
        same = {o.pk: o for o in by_number.values()}
        for o in orders.filter(filler_number__in=fillers):
            by_filler[o.filler_number] = same.get(o.pk, o)  # one object per order
    return _Candidates(by_number, by_filler)


def _match(result: ResultMessage, found: _Candidates) -> Match:
    order: LabOrder | None = None
    pks: set[int] = set()
    for group in result.orders:
        hit = found.by_number.get(group.placer_number) or found.by_filler.get(group.filler_number)
        if hit is None:
            numbers = " / ".join(
                n
                for n in (
                    f"placer {group.placer_number}" if group.placer_number else "",
                    f"filler {group.filler_number}" if group.filler_number else "",
                )
                if n
            )
            return Match(None, f"no order with {numbers}")
        pks.add(hit.pk)
        order = hit
    if len(pks) > 1:
        return Match(None, "results for more than one order in one message")
    assert order is not None
    if order.voided_at is not None or order.status == LabOrder.Status.CANCELLED:
        return Match(None, f"order {order.number} is cancelled or voided")
    mrns = {pid.value for pid in result.patient_ids}
    if order.patient.mrn not in mrns:
        return Match(
            None,
            f"PID-3 {result.mrn} is not the MRN of order {order.number}'s patient",
        )
    return Match(order, patient=order.patient)


def _item_for(items: list[LabOrderItem], service_code: str) -> LabOrderItem | None:
    wanted = service_code.strip().upper()
    for item in items:
        if wanted and wanted in {item.loinc.upper(), item.code.upper()}:
            return item
    return None


def _values(
    result: ResultMessage, items: list[LabOrderItem], zone: ZoneInfo
) -> list[tuple[str, ResultValue, Observation]]:
    """(specimen id, value, observation) for each OBX, tied to its ordered test."""
    out: list[tuple[str, ResultValue, Observation]] = []
    by_loinc = {item.loinc: item for item in items if item.loinc}
    for group in result.orders:
        group_item = _item_for(items, group.service_code)
        for obs in group.observations:
            low, high = flags.parse_range(obs.reference_range)
            note = " ".join([*obs.notes, *group.notes])
            out.append(
                (
                    group.specimen_id,
                    ResultValue(
                        code=obs.code[:20],
                        name=obs.name[:200],
                        value=obs.value,
                        text=obs.text[:500],
                        comparator=obs.comparator,
                        unit=obs.unit[:30],
                        reference_low=low,
                        reference_high=high,
                        reference_text=obs.reference_range[:60],
                        lab_flag=obs.flag or None,
                        status=_STATUS[obs.status],
                        code_system=obs.code_system[:10],
                        observed_at=_aware(obs.observed_at, zone),
                        note=note[:500],
                        order_item=group_item or by_loinc.get(obs.code),
                    ),
                    obs,
                )
            )
    return out


def _location_of(exc: ValidationError, observations: list[Observation]) -> ErrorLocation:
    """Where in the message a `store_results` refusal points (results[i].value -> OBX-5)."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for key, messages in errors.items():
        text = "; ".join(messages)
        if key.startswith("results[") and "]" in key:
            index = int(key[8 : key.index("]")])
            part = key[key.index("]") + 2 :]
            field = {"value": 5, "text": 5, "comparator": 5, "code": 3, "name": 3}.get(part, 5)
            obs = observations[index] if index < len(observations) else None
            return ErrorLocation("OBX", obs.sequence if obs else 1, field, code="102", reason=text)
        if key == "order":
            return ErrorLocation("ORC", 1, 2, code="207", reason=text)
    return ErrorLocation("MSH", 1, 0, code="207", reason="; ".join(exc.messages))


def _reports(
    actor: Actor,
    message: Hl7Message,
    result: ResultMessage,
    order: LabOrder,
    items: list[LabOrderItem],
    specimens: dict[str, Specimen],
    zone: ZoneInfo,
    lab_name: str,
) -> tuple[list[Report], str]:
    """A matched message's results as `store_results` reports (one per specimen), checked, and
    a note for the log; `specimens` are the order's specimens by accession."""
    rows = _values(result, items, zone)
    accessions = {spec for spec, _, _ in rows if spec}
    missing = sorted(accessions - set(specimens))
    groups: dict[str, list[ResultValue]] = {}
    for spec, value, _ in rows:
        groups.setdefault(spec if spec in specimens else "", []).append(value)
    performing_lab = next(
        (obs.performing_lab for _, _, obs in rows if obs.performing_lab), lab_name
    )
    reports = [
        Report(
            patient=order.patient,
            values=values,
            source=LabResult.Source.INTERFACE,
            order=order,
            specimen=specimens.get(spec),
            message=message,
            performing_lab=performing_lab,
        )
        for spec, values in groups.items()
    ]
    for report in reports:
        check_report(actor=actor, report=report)
    if missing:
        return reports, f"SPM-2 specimen {', '.join(missing)} is not a specimen of {order.number}"
    return reports, ""


@dataclass
class _Incoming:
    """One message of a batch on its way: what was read, and what becomes of it."""

    text: str
    header: Header
    result: ResultMessage | None = None
    code: str = ACCEPT
    location: ErrorLocation | None = None
    row: Hl7Message | None = None
    first: _Incoming | None = None  # the earlier copy in the batch, for a resend
    resent: bool = False  # a control id we already have: its row is the first one's
    reports: list[Report] = field(default_factory=list)


def ingest(*, actor: Actor, raw: str | bytes, zone: str | None = None) -> tuple[str, Hl7Message]:
    """Take one inbound message: its ACK text and its log row.

    A readable ORU^R01 matched to an order stores its results (AA); unmatched, it is held
    (AA, status unmatched); a control id already taken is a resend (AA, nothing stored twice);
    a message we cannot read or store gets AE/AR naming the segment and field, and only its
    log row is written. `zone` is the time zone for timestamps without an offset.
    """
    return ingest_many(actor=actor, raws=[raw], zone=zone)[0]


def ingest_many(
    *, actor: Actor, raws: Sequence[str | bytes], zone: str | None = None
) -> list[tuple[str, Hl7Message]]:
    """Take a batch of inbound messages in one transaction: for each, in order, its ACK text and
    its log row, exactly as `ingest` would give them one by one (a later copy of a control id in
    the batch is a resend; a later message may match by the filler number an earlier one set).

    A fixed number of statements for the whole batch: the duplicates, the orders (by placer,
    then filler number), their tests and specimens, the patients of unmatched messages, then
    bulk writes (log rows, results, alerts, audit events). A message that fails a check gets
    its error row and AE; the others go on. If the INSERT still meets a control id another
    writer took meanwhile, the batch is taken again one message per transaction.
    """
    organization = actor.organization
    zone = zone or zone_for(organization)
    texts = [normalize(raw) for raw in raws]
    try:
        with transaction.atomic():
            batch = _ingest_batch(actor, texts, ZoneInfo(zone))
    except IntegrityError:
        if len(texts) > 1:
            return [ingest_many(actor=actor, raws=[text], zone=zone)[0] for text in texts]
        # A duplicate another writer stored meanwhile: the lab sent this control id before (it
        # missed our ACK, or resent on reconnect). Acknowledge it again; stored once.
        header = _read_header(texts[0])
        existing = Hl7Message.objects.filter(
            organization=organization,
            direction=Hl7Message.Direction.INBOUND,
            control_id=header.control_id[:40],
        ).first()
        if existing is None:
            raise
        return [(_ack(header, organization, ACCEPT, None), existing)]
    out = []
    for m in batch:
        row = m.first.row if m.first is not None else m.row
        assert row is not None
        out.append((_ack(m.header, organization, m.code, m.location), row))
    return out


def _ingest_batch(actor: Actor, texts: list[str], zone: ZoneInfo) -> list[_Incoming]:
    organization = actor.organization
    now = clock.now()
    batch: list[_Incoming] = []
    for text in texts:
        try:
            parsed = parse_oru(text)
        except ParseError as exc:
            text = text.replace("\x00", "\ufffd")  # kept in the log; PostgreSQL holds no NUL
            m = _Incoming(text, _read_header(text), code=exc.ack_code, location=exc.location)
            m.row = _error_row(actor, text, m.header, exc.location, exc.ack_code, now)
        else:
            m = _Incoming(text, parsed.header, parsed)
        batch.append(m)
    readable = [m for m in batch if m.result is not None]
    # A resend of a control id we already have is acknowledged again; nothing is stored twice.
    ids = {m.header.control_id[:40] for m in readable}
    existing: dict[str, Hl7Message] = {}
    if ids:
        existing = {
            row.control_id: row
            for row in Hl7Message.objects.filter(
                organization=organization,
                direction=Hl7Message.Direction.INBOUND,
                control_id__in=ids,
            ).order_by()
        }
    fresh = [m for m in readable if m.header.control_id[:40] not in existing]
    found = _candidates(organization, [m.result for m in fresh if m.result is not None])
    orders = found.orders
    items: dict[int, list[LabOrderItem]] = {pk: [] for pk in orders}
    specimens: dict[int, dict[str, Specimen]] = {pk: {} for pk in orders}
    if orders:
        for item in LabOrderItem.objects.filter(order_id__in=list(orders)).order_by("pk"):
            items[item.order_id].append(item)
        accessions = {
            g.specimen_id
            for m in fresh
            if m.result is not None
            for g in m.result.orders
            if g.specimen_id
        }
        if accessions:
            for specimen in Specimen.objects.filter(
                organization=organization, order_id__in=list(orders), accession__in=accessions
            ).order_by():
                specimens[specimen.order_id][specimen.accession] = specimen
    taken: dict[str, _Incoming] = {}
    fillers: dict[int, LabOrder] = {}
    for m in fresh:
        result = m.result
        assert result is not None
        control_id = m.header.control_id[:40]
        if control_id in taken:
            m.first = taken[control_id]  # the same message twice in one batch: a resend
            continue
        match = _match(result, found)
        order = match.order
        row = Hl7Message(
            organization=organization,
            created_by=actor.user,
            direction=Hl7Message.Direction.INBOUND,
            message_type=ORU,
            control_id=control_id,
            raw=m.text,
            status=Hl7Message.Status.ACCEPTED if order is not None else Hl7Message.Status.UNMATCHED,
            order=order,
            patient=match.patient,
            ack_code=ACCEPT,
            error=match.reason[:500],
            placer_number=result.placer_number[:40],
            filler_number=result.filler_number[:40],
            processed_at=now,
        )
        if order is not None:
            lab_name = m.header.sender.facility or m.header.sender.application
            try:
                m.reports, note = _reports(
                    actor, row, result, order, items[order.pk], specimens[order.pk], zone, lab_name
                )
            except ValidationError as exc:
                m.code, m.location = ERROR, _location_of(exc, result.observations)
                m.row = _error_row(actor, m.text, m.header, m.location, ERROR, now)
                continue
            row.error = note[:500]
            filler = result.filler_number[:40]
            if filler and not order.filler_number:
                order.filler_number = filler
                fillers[order.pk] = order
                found.by_filler.setdefault(filler, order)  # a later message may match by it
        m.row = row
        taken[control_id] = m
    for m in readable:
        if m.header.control_id[:40] in existing:
            m.row, m.resent = existing[m.header.control_id[:40]], True
    _link_patients(organization, list(taken.values()))
    new_rows: list[Hl7Message] = []
    for m in batch:
        if m.first is None and not m.resent and m.row is not None:
            new_rows.append(m.row)
    bulk_insert(new_rows)
    audit.record_many_for_actor(actor, [e for m in batch if (e := _event(m)) is not None])
    reports = [report for m in batch for report in m.reports]
    if reports:
        store_results_many(
            actor=actor,
            reports=reports,
            item_ids={pk: {item.pk for item in rows} for pk, rows in items.items()},
        )
    _record_fillers(list(fillers.values()))
    return batch


def _record_fillers(orders: list[LabOrder]) -> None:
    """The filler numbers the batch gave its orders: one UPDATE ... CASE per 300 orders (the
    ORM's `bulk_update` builds the same statement at ten times the cost)."""
    quote = connection.ops.quote_name
    table = quote(LabOrder._meta.db_table)
    pk = quote(str(LabOrder._meta.pk.column))
    column = quote(str(LabOrder._meta.get_field("filler_number").column))
    for first in range(0, len(orders), 300):
        chunk = orders[first : first + 300]
        whens = " ".join(["WHEN %s THEN %s"] * len(chunk))
        marks = ", ".join(["%s"] * len(chunk))
        params: list[Any] = [v for o in chunk for v in (o.pk, o.filler_number)]
        params += [o.pk for o in chunk]
        with connection.cursor() as cursor:
            # Only quoted names from the model's metadata and placeholders go into the text.
            cursor.execute(
                f"UPDATE {table} SET {column} = CASE {pk} {whens} END "  # noqa: S608
                f"WHERE {pk} IN ({marks})",
                params,
            )


def _event(m: _Incoming) -> dict[str, Any] | None:
    """The audit event of a message's own row: a refused or an unmatched message (a stored
    result's event is `store_results`'s own)."""
    row = m.row
    if m.first is not None or m.resent or row is None or m.reports or row.status not in _LOGGED:
        return None
    if row.status == Hl7Message.Status.UNMATCHED:
        return {
            "action": Action.CREATE,
            "patient_id": row.patient_id,
            "resource_type": "Hl7Message",
            "resource_id": row.pk,
            "detail": {
                "control_id": m.header.control_id,
                "unmatched": row.error,
                "placer": row.placer_number,
                "filler": row.filler_number,
            },
        }
    return {
        "action": Action.CREATE,
        "resource_type": "Hl7Message",
        "resource_id": row.pk,
        "outcome": Outcome.FAILURE,
        "detail": {"control_id": m.header.control_id, "ack": m.code, "error": row.error},
    }


_LOGGED = {Hl7Message.Status.UNMATCHED, Hl7Message.Status.ERROR, Hl7Message.Status.REJECTED}


def _link_patients(organization: Organization, messages: list[_Incoming]) -> None:
    """An unmatched message is linked to the patient whose MRN it gives, when we have one."""
    wanted: dict[str, list[Hl7Message]] = {}
    for m in messages:
        if m.row is not None and m.row.status == Hl7Message.Status.UNMATCHED:
            mrn = m.result.mrn if m.result is not None else ""
            if mrn:
                wanted.setdefault(mrn, []).append(m.row)
    if not wanted:
        return
    for patient in Patient.objects.filter(organization=organization, mrn__in=list(wanted)):
        for row in wanted[patient.mrn]:
            row.patient = patient


def _store(
    actor: Actor,
    message: Hl7Message,
    result: ResultMessage,
    order: LabOrder,
    zone: ZoneInfo,
    lab_name: str,
) -> str:
    """Store a matched message's results (in the caller's transaction); a note for the log."""
    items = list(order.items.order_by("pk"))
    accessions = {g.specimen_id for g in result.orders if g.specimen_id}
    specimens: dict[str, Specimen] = {}
    if accessions:
        specimens = {
            s.accession: s
            for s in Specimen.objects.filter(
                organization=actor.organization, order=order, accession__in=accessions
            ).order_by()
        }
    reports, note = _reports(actor, message, result, order, items, specimens, zone, lab_name)
    store_results_many(
        actor=actor, reports=reports, item_ids={order.pk: {item.pk for item in items}}
    )
    filler = result.filler_number
    if filler and not order.filler_number:
        LabOrder.objects.filter(pk=order.pk).update(filler_number=filler[:40])
        order.filler_number = filler[:40]
    return note


def resolve_unmatched(*, actor: Actor, message: Hl7Message, order: LabOrder) -> Hl7Message:
    """A person matched a held message to its order: store its results now.

    The order's patient must be the message's patient: the same MRN, or (when the lab sent
    another identifier) the same last name and date of birth.
    """
    actor.check_owns(message, "message")
    actor.check_owns(order, "order")
    errors = FieldErrors()
    try:
        result = parse_oru(message.raw)
    except ParseError as exc:
        errors.add("__all__", f"the message cannot be read: {exc}")
        errors.raise_if_any()
        raise
    patient = order.patient
    same_mrn = patient.mrn in {pid.value for pid in result.patient_ids}
    same_person = (
        result.family_name.strip().lower() == patient.family_name.strip().lower()
        and result.birth_date == patient.birth_date
    )
    if not (same_mrn or same_person):
        errors.add(
            "order",
            f"the message is for {result.family_name}, {result.given_name} (MRN {result.mrn}"
            f", born {result.birth_date or '?'}): order {order.number} is for another patient",
        )
    if order.voided_at is not None or order.status == LabOrder.Status.CANCELLED:
        errors.add("order", f"order {order.number} is cancelled")
    errors.raise_if_any()
    zone = ZoneInfo(zone_for(actor.organization))
    header = result.header
    with transaction.atomic():
        current = Hl7Message.objects.select_for_update().get(pk=message.pk)
        if current.status != Hl7Message.Status.UNMATCHED:
            raise ValidationError({"__all__": ["this message is no longer waiting to be matched"]})
        note = _store(
            actor,
            current,
            result,
            order,
            zone,
            header.sender.facility or header.sender.application,
        )
        now = clock.now()
        Hl7Message.objects.filter(pk=current.pk).update(
            status=Hl7Message.Status.ACCEPTED,
            order=order,
            patient=patient,
            resolved_by=actor.user,
            error=(note or f"matched by hand to {order.number}")[:500],
            updated_at=now,
        )
    current.refresh_from_db()
    return current
