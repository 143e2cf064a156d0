"""Organizations and facilities, and the abstract bases every clinical model builds on.

Every row of patient data carries the organization it belongs to (`OrganizationScoped`); clinical
rows are never deleted, only voided with who, when and why (`Voidable`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    npi = models.CharField("organization NPI", max_length=10, blank=True)
    tax_id = models.CharField(max_length=20, blank=True)
    # Next medical record number to hand out; incremented under a lock by the MRN service.
    next_mrn = models.PositiveBigIntegerField(default=100001)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Facility(models.Model):
    class Kind(models.TextChoices):
        CLINIC = "clinic", "Outpatient clinic"
        ASSISTED_LIVING = "assisted_living", "Assisted-living home"
        GROUP_HOME = "group_home", "Group home"
        LONG_TERM_CARE = "long_term_care", "Long-term-care (nursing) facility"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="facilities"
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=Kind.choices, default=Kind.CLINIC)
    state = models.CharField("state (USPS code)", max_length=2)
    time_zone = models.CharField(max_length=64, default="America/Chicago")
    address_line = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    npi = models.CharField("facility NPI", max_length=10, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="facility_unique_name"),
        ]
        verbose_name_plural = "facilities"

    def __str__(self) -> str:
        return self.name


class OrganizationScopedQuerySet(models.QuerySet):
    def for_org(self, organization: Organization | int) -> OrganizationScopedQuerySet:
        org_id = organization if isinstance(organization, int) else organization.pk
        return self.filter(organization_id=org_id)


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OrganizationScoped(TimeStamped):
    """A row of patient data: it belongs to one organization, and only its users see it."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects: ClassVar[Any] = OrganizationScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class VoidableQuerySet(OrganizationScopedQuerySet):
    def active(self) -> VoidableQuerySet:
        return self.filter(voided_at__isnull=True)


class Voidable(OrganizationScoped):
    """A clinical row that is never deleted: voiding keeps it with who, when and why."""

    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.CharField(max_length=500, blank=True)
    # The row this one corrects, when a correction replaced an earlier entry.
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )

    objects: ClassVar[Any] = VoidableQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(f"{type(self).__name__} rows are clinical: void them, never delete")
