"""The demo's billing: a set-up that passes the checks, and claims in every useful state, the
ready ones clean enough to send (our checks and pyx12 agree), built once."""

from __future__ import annotations

import pytest

from carebench.accounts.models import User
from carebench.billing import demo as billing_demo
from carebench.billing import services
from carebench.billing.claim_checks import check_claim
from carebench.billing.models import (
    BillingProfile,
    Claim,
    ClaimBatch,
    ClaimEvent,
    ClaimLine,
    Fee,
    FeeSchedule,
    ProcedureCode,
)
from carebench.billing.x12.check837 import validate_with_pyx12
from carebench.core import clock, demo
from carebench.core.actor import Actor
from carebench.labs import demo as labs_demo
from carebench.meds import demo as meds_demo
from carebench.meds import emar_demo
from carebench.meds.models import Administration, StockMovement
from carebench.patients.models import Payer
from carebench.scheduling import demo as schedule_demo
from carebench.testing import load_vaccine_codes

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_org(icd10, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    org = demo.build_demo(patients=40)
    # as `carebench demo` prepares the clinic (core/management/commands/carebench_demo.py)
    schedule_demo.build_schedule(org)
    labs_demo.load_catalog(org)
    labs_demo.ensure_poc_today(org)
    load_vaccine_codes()
    meds_demo.build(org)
    emar_demo.build(org)
    summary = billing_demo.build(org)
    assert summary is not None
    assert summary.skipped == []
    return org


def test_the_billing_set_up_is_complete(demo_org, tmp_path):
    profile = BillingProfile.objects.get(organization=demo_org)
    assert (profile.receiver_id, profile.taxonomy, profile.usage) == (
        "CLAIMSHUB",
        "207Q00000X",
        "T",
    )
    assert len(profile.postal_code) == 9
    assert profile.clearinghouse_outbox == str(tmp_path / "clearinghouse" / "outbox")
    assert (tmp_path / "clearinghouse" / "inbox").is_dir()
    codes = set(ProcedureCode.objects.filter(organization=demo_org).values_list("code", flat=True))
    assert {"99213", "36415", "90471", "90472", "90656", "J3420", "87880", "83036"} <= codes
    standard = FeeSchedule.objects.get(organization=demo_org, payer__isnull=True)
    priced = set(Fee.objects.filter(schedule=standard).values_list("code", flat=True))
    assert codes <= priced
    contracts = FeeSchedule.objects.filter(organization=demo_org, payer__isnull=False)
    if Payer.objects.filter(organization=demo_org, name__in=billing_demo.CONTRACT_PAYERS).exists():
        assert contracts.count() == 1
    for payer in Payer.objects.filter(organization=demo_org):
        expected = billing_demo.PAYER_RULES.get(payer.name, billing_demo.DEFAULT_PAYER_RULE)
        assert (payer.filing_indicator, payer.timely_filing_days) == expected


def test_the_demo_leaves_claims_in_every_useful_state(demo_org):
    claims = Claim.objects.filter(organization=demo_org)
    assert claims.count() == len(billing_demo.VISITS)
    counts = {s: claims.filter(status=s).count() for s in Claim.Status.values}
    assert counts["ready"] >= 5
    assert counts["draft"] == 2
    assert counts["submitted"] == 2
    assert counts["accepted"] == 1
    assert counts["rejected"] == 1
    for draft in claims.filter(status="draft"):
        assert draft.problems, draft.number  # the problem to fix is shown
    batch = ClaimBatch.objects.get(organization=demo_org)
    assert batch.claim_count == 4
    assert (
        ClaimEvent.objects.filter(claim__organization=demo_org, note__contains="(demo)").count()
        == 2
    )
    # the documented work became lines: blood drawn, in-house tests, vaccines and a shot
    lines = set(ClaimLine.objects.filter(organization=demo_org).values_list("code", flat=True))
    assert {"36415", "87880", "83036", "90471", "90472", "90656", "96372", "J3420"} <= lines
    # every dose given took one off a lot (the stock ledger agrees)
    given = Administration.objects.filter(organization=demo_org, encounter__claims__isnull=False)
    assert given.exists()
    for dose in given:
        assert StockMovement.objects.filter(administration=dose, doses=-1).exists()


def test_ready_claims_pass_the_checks_and_make_an_837p_pyx12_accepts(demo_org, tmp_path):
    ready = list(Claim.objects.filter(organization=demo_org, status="ready"))
    assert ready
    today = clock.today("America/Chicago")
    for claim in ready:
        assert check_claim(claim, today=today) == [], claim.number
    biller = User.objects.get(organization=demo_org, username="biller")
    batch = services.export_837p(actor=Actor.system(demo_org, user=biller))
    assert batch is not None and batch.claim_count == len(ready)
    assert validate_with_pyx12(batch.content) == []
    sent = ClaimBatch.objects.filter(organization=demo_org).order_by("created_at").first()
    assert sent is not None
    assert validate_with_pyx12(sent.content) == []
    assert (tmp_path / "clearinghouse" / "outbox" / sent.file_name).read_text() == sent.content


def test_the_billing_demo_builds_once(demo_org):
    claims = Claim.objects.count()
    events = ClaimEvent.objects.count()
    assert billing_demo.build(demo_org) is None
    assert (Claim.objects.count(), ClaimEvent.objects.count()) == (claims, events)
    assert BillingProfile.objects.filter(organization=demo_org).count() == 1
