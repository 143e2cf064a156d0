"""`carebench token create --user NAME [--days N]`: a bearer token for the FHIR API.

The token is printed once; only its SHA-256 is stored. Creating it is audited.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carebench.accounts.models import User
from carebench.accounts.services import create_api_token
from carebench.core.actor import Actor


class Command(BaseCommand):
    help = "Create an API bearer token for a user (printed once)."
    # An operations tool: it must work even when a page or URL module is broken.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create"], help="create: make a new token")
        parser.add_argument("--user", required=True, help="username the token acts as")
        parser.add_argument(
            "--days", type=int, default=365, help="days until it expires (default 365; 0 = never)"
        )
        parser.add_argument("--name", default="", help="a label, for example the system using it")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["user"]
        user = User.objects.select_related("organization").filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if not user.is_active:
            raise CommandError(f"user {username!r} is deactivated")
        if user.organization is None:
            raise CommandError(f"user {username!r} belongs to no organization")
        if options["days"] < 0:
            raise CommandError("--days must be 0 (never expires) or more")
        raw = create_api_token(
            actor=Actor.system(user.organization),
            user=user,
            name=options["name"] or "created with carebench token",
            valid_days=options["days"] or None,
        )
        self.stdout.write(raw)
