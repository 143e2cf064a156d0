"""Helpers shared by the `carebench ...` commands: which organization a command acts for, and
the actor it acts as."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from carebench.core.actor import Actor


def organization_from(value: str | None, *, flag: str = "--organization") -> Any:
    """The organization named by slug or id; without a value, the only organization."""
    from carebench.core.models import Organization

    if value:
        query = Organization.objects.filter(slug=value)
        if value.isdigit():
            query = Organization.objects.filter(pk=int(value)) | query
        found = query.first()
        if found is None:
            raise CommandError(f"no organization {value!r} (give its slug or id)")
        return found
    organizations = list(Organization.objects.all()[:2])
    if len(organizations) != 1:
        raise CommandError(f"say which organization with {flag} SLUG")
    return organizations[0]


def cli_actor(organization: Any, username: str | None = None) -> Actor:
    """The command's actor: the named user of the organization, else the system."""
    from carebench.accounts.models import User

    user = None
    if username:
        user = User.objects.filter(organization=organization, username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r} in {organization}")
    return Actor(user=user, organization=organization, client_address="", channel="cli")
