"""Who is acting, for whom, and from where: passed to every service that writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .request_info import client_address

if TYPE_CHECKING:
    from django.http import HttpRequest

    from carebench.accounts.models import User
    from carebench.core.models import Organization


@dataclass(frozen=True)
class Actor:
    """The user behind a change, their organization, and the channel it came through."""

    user: User | None
    organization: Organization
    client_address: str = ""
    channel: str = "web"  # web, api, cli, system

    @classmethod
    def from_request(cls, request: HttpRequest, *, channel: str = "web") -> Actor:
        user: Any = request.user
        return cls(
            user=user,
            organization=user.organization,
            client_address=client_address(request),
            channel=channel,
        )

    @classmethod
    def system(cls, organization: Organization, *, user: User | None = None) -> Actor:
        return cls(user=user, organization=organization, client_address="", channel="system")

    def check_owns(self, row: Any, what: str) -> None:
        """Refuse a row of another organization (`PermissionError` naming what it is)."""
        if row.organization_id != self.organization.pk:
            raise PermissionError(f"{what} belongs to another organization")
