"""Users belong to one organization; roles are Django groups; API tokens are stored hashed."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.functional import cached_property

from carebench.core.models import Facility, Organization


class User(AbstractUser):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    default_facility = models.ForeignKey(
        Facility, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(max_length=60, blank=True, help_text="For example CMA, RN, MD")

    @cached_property
    def role_names(self) -> list[str]:
        return sorted(group.name for group in self.groups.all())

    def has_role(self, role: str) -> bool:
        return role in self.role_names

    @property
    def mfa_required(self) -> bool:
        required = set(getattr(settings, "CAREBENCH_MFA_REQUIRED_ROLES", []))
        return bool(required & set(self.role_names))

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.get_username()


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the FHIR API. Only its SHA-256 is kept; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
