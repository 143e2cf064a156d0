"""Writing audit events: `record` appends one event to its organization's chain."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from carebench.core import clock

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
    chain = chain_for(organization_id)
    # No savepoint: an audit event that cannot be written fails the change it records.
    with transaction.atomic(savepoint=False):
        head = _locked_head(chain)
        fields: dict[str, Any] = {
            "chain": chain,
            "seq": head.seq + 1,
            "occurred_at": clock.now(),
            "organization_id": organization_id,
            "user_id": user_id,
            "username": username,
            "patient_id": patient_id,
            "action": str(action),
            "resource_type": resource_type,
            "resource_id": str(resource_id) if resource_id != "" else "",
            "outcome": str(outcome),
            "client_address": client_address,
            "channel": channel,
            "detail": json.dumps(detail, sort_keys=True, default=str) if detail else "",
            "prev_hash": head.hash,
        }
        fields["hash"] = event_hash(fields)
        event = AuditEvent.objects.create(**fields)
        AuditChainHead.objects.filter(chain=chain).update(seq=fields["seq"], hash=fields["hash"])
        return event


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
    user = actor.user
    return record(
        action=action,
        organization_id=actor.organization.pk,
        user_id=user.pk if user is not None else None,
        username=user.get_username() if user is not None else actor.channel,
        patient_id=patient_id,
        resource_type=resource_type,
        resource_id=resource_id,
        outcome=outcome,
        client_address=actor.client_address,
        channel=actor.channel,
        detail=detail,
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
