"""Writes for accounts: users, role changes (audited as privilege changes), API tokens, roles."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.models import Facility, Organization

from .models import ApiToken, User, hash_token
from .roles import ALL_ROLES, ROLE_PERMISSIONS

TOKEN_PREFIX = "cbk_"


class UnknownRoleError(ValueError):
    pass


def sync_roles() -> None:
    """Create the role groups and give each exactly the permissions in `roles.py`."""
    perms = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type")
    }
    for role in ALL_ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [perms[name] for name in ROLE_PERMISSIONS[role] if name in perms]
        group.permissions.set(wanted)


def create_user(
    *,
    actor: Actor | None,
    organization: Organization,
    username: str,
    password: str | None,
    roles: list[str],
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    title: str = "",
    default_facility: Facility | None = None,
) -> User:
    unknown = sorted(set(roles) - set(ALL_ROLES))
    if unknown:
        raise UnknownRoleError(f"roles: unknown role(s) {', '.join(unknown)}")
    with transaction.atomic():
        user = User(
            username=username,
            organization=organization,
            first_name=first_name,
            last_name=last_name,
            email=email,
            title=title,
            default_facility=default_facility,
        )
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        user.groups.set(Group.objects.filter(name__in=roles))
        who = actor or Actor.system(organization)
        audit.record_for_actor(
            who,
            action=Action.PRIVILEGE_CHANGE,
            resource_type="User",
            resource_id=user.pk,
            detail={"user": username, "roles_added": sorted(roles), "created": True},
        )
    return user


def set_roles(*, actor: Actor, user: User, roles: list[str]) -> User:
    unknown = sorted(set(roles) - set(ALL_ROLES))
    if unknown:
        raise UnknownRoleError(f"roles: unknown role(s) {', '.join(unknown)}")
    with transaction.atomic():
        before = set(user.groups.values_list("name", flat=True))
        user.groups.set(Group.objects.filter(name__in=roles))
        user.__dict__.pop("role_names", None)
        audit.record_for_actor(
            actor,
            action=Action.PRIVILEGE_CHANGE,
            resource_type="User",
            resource_id=user.pk,
            detail={
                "user": user.username,
                "roles_added": sorted(set(roles) - before),
                "roles_removed": sorted(before - set(roles)),
            },
        )
    return user


def create_api_token(
    *, actor: Actor, user: User, name: str = "", valid_days: int | None = 365
) -> str:
    """Create a bearer token for `user` and return it; only its hash is stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            token_hash=hash_token(raw),
            prefix=raw[:12],
            expires_at=clock.now() + timedelta(days=valid_days) if valid_days else None,
        )
        audit.record_for_actor(
            actor,
            action=Action.TOKEN_CREATED,
            resource_type="ApiToken",
            resource_id=token.pk,
            detail={"user": user.username, "prefix": token.prefix},
        )
    return raw


def user_for_token(raw: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user", "user__organization")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    now = clock.now()
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if not token.user.is_active or token.user.organization_id is None:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
