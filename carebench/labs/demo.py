"""Demo data for the lab corner: the shipped test catalog, loaded once per organization."""

from __future__ import annotations

from carebench.core.actor import Actor
from carebench.core.models import Organization

from . import services
from .models import LabTest


def load_catalog(org: Organization) -> int:
    """Load the shipped catalog into `org` unless it already has tests (idempotent, fast)."""
    if LabTest.objects.for_org(org).exists():
        return 0
    loaded = services.load_shipped_catalog(actor=Actor.system(org))
    return loaded.created
