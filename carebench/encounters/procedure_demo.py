"""Demo data for the procedure room: the ten example procedure templates, installed for the demo
organization (once; templates the clinic already has are left as they are)."""

from __future__ import annotations

from carebench.core.actor import Actor
from carebench.core.models import Organization

from . import procedure_services


def build(organization: Organization) -> int:
    """Install the example templates the organization lacks; returns how many were added."""
    added = procedure_services.install_example_templates(actor=Actor.system(organization))
    return len(added)
