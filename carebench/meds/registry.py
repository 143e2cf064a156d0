"""Reporting doses to the state immunization registry (IIS): the VXU^V04 of a dose (add,
update or delete) queued in the HL7 message log, inside the caller's transaction.

The messages go out with the lab interface's tools: `carebench hl7 outbox --dump DIR --type VXU`
writes them as files, `carebench hl7 send --type VXU --host H --port P` sends them over MLLP and
reads each ACK, and the registry's
answer (accepted, or the errors it names) shows on the dose and on the interface page.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.labs import hl7_services
from carebench.labs.hl7.build import Endpoint, ProviderInfo
from carebench.labs.models import Hl7Message

from . import vxu
from .models import REACTION_CODES, ROUTES, SITES, Administration, RegistryMessage, StockLot

VXU = "VXU^V04"
APPLICATION = "CAREBENCH"
REGISTRY_APPLICATION = "IIS"
FUNDING_SOURCE: dict[str, str] = {
    StockLot.Funding.PRIVATE: "PHC70",
    StockLot.Funding.VFC: "VXC51",  # public VFC
    StockLot.Funding.STATE: "VXC52",  # public non-VFC (state, 317)
}


def _provider(provider: object | None) -> ProviderInfo | None:
    if provider is None:
        return None
    return ProviderInfo(
        getattr(provider, "npi", ""),
        getattr(provider, "family_name", ""),
        getattr(provider, "given_name", ""),
    )


def vaccination_message(
    administration: Administration, action: str, control_id: str
) -> vxu.VaccinationMessage:
    """The plain data of one dose's VXU."""
    patient = administration.patient
    organization = administration.organization
    facility = administration.facility or organization.facilities.first()
    zone = ZoneInfo(
        facility.time_zone if facility is not None else settings.CAREBENCH_DEFAULT_TIME_ZONE
    )
    # The registry assigns each clinic an id; until one is configured we send the facility NPI.
    facility_id = (facility.npi if facility and facility.npi else organization.slug)[:20]
    code = administration.vaccine_code
    assert code is not None, "only vaccine doses go to the registry"
    manufacturer = administration.manufacturer
    completion = "RE" if administration.kind == Administration.Kind.REFUSED else "CP"
    giver = administration.given_by
    reactions = list(administration.reactions.order_by("onset_at")) if action != "D" else []
    dose = vxu.Dose(
        action=action,
        completion=completion,
        historical=administration.kind == Administration.Kind.HISTORICAL,
        source_code=administration.source,
        administered_at=administration.occurred_at.astimezone(zone),
        cvx_code=code.cvx,
        cvx_name=code.short_name,
        ndc=administration.ndc,
        amount=administration.dose_amount,
        unit=administration.dose_unit,
        lot_number=administration.lot_number,
        expires_on=administration.expires_on,
        mvx_code=manufacturer.mvx if manufacturer else "",
        mvx_name=manufacturer.name if manufacturer else "",
        route_code=administration.route,
        route_name=ROUTES.get(administration.route, ""),
        site_code=administration.site,
        site_name=SITES.get(administration.site, ""),
        ordering_provider=_provider(administration.ordering_provider),
        # staff without an NPI are sent by name only
        administering_provider=(
            ProviderInfo("", giver.last_name, giver.first_name) if giver is not None else None
        ),
        filler_number=str(administration.pk),
        refusal_reason=administration.refusal_reason,
        eligibility=administration.eligibility,
        funding_source=FUNDING_SOURCE.get(administration.funding, "")
        if administration.funding
        else "",
        vis_edition_date=administration.vis_edition_date,
        vis_given_on=administration.vis_given_on,
        reactions=tuple(
            vxu.Reaction(
                code=reaction.code,
                text=REACTION_CODES[reaction.code][0] if reaction.code else reaction.description,
                system=REACTION_CODES[reaction.code][1] if reaction.code else "",
                observed_on=reaction.onset_at.astimezone(zone).date(),
            )
            for reaction in reactions
        ),
    )
    return vxu.VaccinationMessage(
        sender=Endpoint(APPLICATION, facility_id),
        receiver=Endpoint(REGISTRY_APPLICATION, (facility.state if facility else "")),
        control_id=control_id,
        sent_at=clock.now().astimezone(zone),
        processing_id="P",
        patient=hl7_services.patient_info(patient),
        doses=(dose,),
        facility_id=facility_id,
    )


def queue_for(actor: Actor, administration: Administration, action: str) -> Hl7Message:
    """Queue the VXU for a dose (A add, U update, D delete), in the caller's transaction."""
    # Lock the dose so two writes for it at once cannot take the same control id.
    Administration.objects.select_for_update().filter(pk=administration.pk).first()
    count = RegistryMessage.objects.filter(administration=administration).count()
    control_id = f"V{administration.pk:07d}-{count + 1}"
    raw = vxu.build_vxu(vaccination_message(administration, action, control_id))
    message = Hl7Message.objects.create(
        organization=administration.organization,
        created_by=actor.user,
        direction=Hl7Message.Direction.OUTBOUND,
        message_type=VXU,
        control_id=control_id,
        raw=raw,
        status=Hl7Message.Status.QUEUED,
        patient_id=administration.patient_id,
    )
    RegistryMessage.objects.create(
        organization=administration.organization,
        created_by=actor.user,
        administration=administration,
        message=message,
        action=action,
    )
    audit.record_for_actor(
        actor,
        action=Action.CREATE,
        patient_id=administration.patient_id,
        resource_type="Hl7Message",
        resource_id=message.pk,
        detail={"type": VXU, "action": action, "control_id": control_id},
    )
    return message
