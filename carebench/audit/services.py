"""Writing audit events: `record` appends one event to its organization's chain, `record_many`
appends several at once (one lock of the chain head, one INSERT)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction

from carebench.core import clock
from carebench.core.bulk import bulk_insert

from .chain import GENESIS_HASH, event_hash
from .models import Action, AuditChainHead, AuditEvent, Outcome

if TYPE_CHECKING:
    from django.http import HttpRequest

    from carebench.core.actor import Actor

SYSTEM_CHAIN = "system"


def chain_for(organization_id: int | None) -> str:
    return f"org-{organization_id}" if organization_id else SYSTEM_CHAIN


def _locked_head(chain: str) -> AuditChainHead:
    try:
        return AuditChainHead.objects.select_for_update().get(chain=chain)
    except AuditChainHead.DoesNotExist:
        try:
            with transaction.atomic():
                AuditChainHead.objects.create(chain=chain, seq=0, hash=GENESIS_HASH)
        except IntegrityError:
            pass  # another writer created it first
        return AuditChainHead.objects.select_for_update().get(chain=chain)


def record(
    *,
    action: str,
    organization_id: int | None,
    user_id: int | None = None,
    username: str = "",
    patient_id: int | None = None,
    resource_type: str = "",
    resource_id: str | int = "",
    outcome: str = Outcome.SUCCESS,
    client_address: str = "",
    channel: str = "web",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the organization's chain, in the caller's transaction if any."""
    return record_many(
        [
            {
                "action": action,
                "organization_id": organization_id,
                "user_id": user_id,
                "username": username,
                "patient_id": patient_id,
                "resource_type": resource_type,
                "resource_id": resource_id,
                "outcome": outcome,
                "client_address": client_address,
                "channel": channel,
                "detail": detail,
            }
        ]
    )[0]


def record_many(events: Sequence[Mapping[str, Any]]) -> list[AuditEvent]:
    """Append events (each a dict of `record`'s keywords) to their chains, in the given order,
    in the caller's transaction if any: each chain's head is locked once, the sequence numbers
    and hashes are computed here (the same `event_hash` as one event), the events are inserted
    with one bulk INSERT and the head moved once. Chains are locked in a fixed order."""
    if not events:
        return []
    chains = [chain_for(event["organization_id"]) for event in events]
    with _read_commit(events):
        return _append(events, chains)


# Reads (a chart opened, a search) are recorded in a transaction of their own that need not wait
# for the disk: see docs/adr/0008-read-audit-commits.md. Changes are always durable.
READ_ACTIONS = frozenset({Action.VIEW, Action.SEARCH})


@contextmanager
def _read_commit(events: Sequence[Mapping[str, Any]]) -> Iterator[None]:
    connection = transaction.get_connection()
    relaxed = (
        not settings.CAREBENCH_DURABLE_READ_AUDIT
        and not connection.in_atomic_block
        and all(str(event["action"]) in READ_ACTIONS for event in events)
    )
    if not relaxed:
        yield
        return
    if connection.vendor == "postgresql":
        with transaction.atomic(savepoint=False):
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            yield
        return
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=NORMAL")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=FULL")
        return
    yield


def _append(events: Sequence[Mapping[str, Any]], chains: list[str]) -> list[AuditEvent]:
    # No savepoint: an audit event that cannot be written fails the change it records.
    with transaction.atomic(savepoint=False):
        heads = {chain: _locked_head(chain) for chain in sorted(set(chains))}
        now = clock.now()
        rows = [_fields(event, chain, now) for event, chain in zip(events, chains, strict=True)]
        tips = {chain: (head.seq, head.hash) for chain, head in heads.items()}
        for fields in rows:
            seq, prev_hash = tips[fields["chain"]]
            fields["seq"] = seq + 1
            fields["prev_hash"] = prev_hash
            fields["hash"] = event_hash(fields)
            tips[fields["chain"]] = (fields["seq"], fields["hash"])
        created = bulk_insert([AuditEvent(**fields) for fields in rows])
        for chain, (seq, hash_) in tips.items():
            AuditChainHead.objects.filter(chain=chain).update(seq=seq, hash=hash_)
    return created


def _fields(event: Mapping[str, Any], chain: str, now: datetime) -> dict[str, Any]:
    resource_id = event.get("resource_id", "")
    detail = event.get("detail")
    return {
        "chain": chain,
        "occurred_at": now,
        "organization_id": event["organization_id"],
        "user_id": event.get("user_id"),
        "username": event.get("username", ""),
        "patient_id": event.get("patient_id"),
        "action": str(event["action"]),
        "resource_type": event.get("resource_type", ""),
        "resource_id": str(resource_id) if resource_id != "" else "",
        "outcome": str(event.get("outcome", Outcome.SUCCESS)),
        "client_address": event.get("client_address", ""),
        "channel": event.get("channel", "web"),
        "detail": json.dumps(detail, sort_keys=True, default=str) if detail else "",
    }


def _actor_fields(actor: Actor) -> dict[str, Any]:
    user = actor.user
    return {
        "organization_id": actor.organization.pk,
        "user_id": user.pk if user is not None else None,
        "username": user.get_username() if user is not None else actor.channel,
        "client_address": actor.client_address,
        "channel": actor.channel,
    }


def record_many_for_actor(actor: Actor, events: Sequence[Mapping[str, Any]]) -> list[AuditEvent]:
    """Record several things an `Actor` did (each a dict of `record_for_actor`'s keywords:
    action, patient_id, resource_type, resource_id, outcome, detail), in order, in one append."""
    who = _actor_fields(actor)
    return record_many([{**event, **who} for event in events])


def record_for_actor(
    actor: Actor,
    *,
    action: str,
    patient_id: int | None = None,
    resource_type: str = "",
    resource_id: str | int = "",
    outcome: str = Outcome.SUCCESS,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record what an `Actor` did (the usual call from services)."""
    return record(
        action=action,
        patient_id=patient_id,
        resource_type=resource_type,
        resource_id=resource_id,
        outcome=outcome,
        detail=detail,
        **_actor_fields(actor),
    )


def record_read(
    request: HttpRequest,
    *,
    patient_id: int | None,
    resource_type: str,
    resource_id: str | int = "",
    action: str = Action.VIEW,
    channel: str = "web",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record that the signed-in user viewed (or searched, or exported) patient data."""
    from carebench.core.actor import Actor

    return record_for_actor(
        Actor.from_request(request, channel=channel),
        action=action,
        patient_id=patient_id,
        resource_type=resource_type,
        resource_id=resource_id,
        detail=detail,
    )
