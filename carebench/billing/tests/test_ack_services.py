"""Posting 999 and 277CA acknowledgments onto batches and claims (remit_services.post_999,
post_277ca), on the sample files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from carebench.billing import remit_services
from carebench.billing.models import ClaimEvent
from carebench.testing import make_billing_clinic, make_claim, make_sent_batch

SAMPLES = Path(__file__).resolve().parents[1] / "x12" / "samples"


def _sample(name: str) -> str:
    return (SAMPLES / name).read_text()


@pytest.fixture
def clinic(biller: Any) -> Any:
    return make_billing_clinic(biller)


@pytest.mark.django_db
def test_an_accepted_999_accepts_the_batch_and_leaves_the_claims_submitted(clinic: Any) -> None:
    batch, claims = make_sent_batch(clinic, 301, ["CB1001", "CB1002"])
    result = remit_services.post_999(
        actor=clinic.actor, text=_sample("999-accepted.x12"), file_name="999-accepted.x12"
    )
    assert (result.accepted, result.rejected, result.unmatched) == (2, 0, [])
    batch.refresh_from_db()
    assert batch.status == "accepted"
    for claim in claims:
        claim.refresh_from_db()
        assert claim.status == "submitted"
        event = ClaimEvent.objects.get(claim=claim)
        assert event.note.startswith("999 accepted") and event.to_status == ""


@pytest.mark.django_db
def test_a_rejected_999_rejects_the_claims_with_the_errors_in_words(clinic: Any) -> None:
    batch, claims = make_sent_batch(clinic, 302, ["CB1003"])
    result = remit_services.post_999(actor=clinic.actor, text=_sample("999-rejected.x12"))
    assert (result.accepted, result.rejected) == (0, 1)
    batch.refresh_from_db()
    assert batch.status == "rejected"
    claims[0].refresh_from_db()
    assert claims[0].status == "rejected"
    event = ClaimEvent.objects.get(claim=claims[0])
    assert event.from_status == "submitted" and event.to_status == "rejected"
    assert "NM1 at segment 18 (loop 2010, claim CB1003)" in event.note
    assert "invalid date" in event.note


@pytest.mark.django_db
def test_a_999_for_a_group_we_never_sent_is_listed_not_refused(clinic: Any) -> None:
    result = remit_services.post_999(actor=clinic.actor, text=_sample("999-accepted.x12"))
    assert result.unmatched == ["group 301"]


@pytest.mark.django_db
def test_a_999_that_cannot_be_read_is_refused(clinic: Any) -> None:
    text = _sample("999-accepted.x12")
    with pytest.raises(ValidationError, match=r"segment \d+"):
        remit_services.post_999(actor=clinic.actor, text=text[: text.index("GE*")])


@pytest.mark.django_db
def test_an_accepted_277ca_accepts_the_claims_with_the_payer_claim_number(clinic: Any) -> None:
    claims = [make_claim(clinic, number=n) for n in ("CB1001", "CB1002")]
    result = remit_services.post_277ca(actor=clinic.actor, text=_sample("277ca-accepted.x12"))
    assert (result.accepted, result.rejected, result.unmatched) == (2, 0, [])
    claims[0].refresh_from_db()
    assert claims[0].status == "accepted"
    assert claims[0].payer_claim_number == "94060555410001"
    event = ClaimEvent.objects.get(claim=claims[0])
    assert "94060555410001" in event.note and "A2:20:PR" in event.note


@pytest.mark.django_db
def test_a_rejected_277ca_rejects_the_claim_with_the_status_meanings(clinic: Any) -> None:
    claim = make_claim(clinic, number="CB1003")
    result = remit_services.post_277ca(actor=clinic.actor, text=_sample("277ca-rejected.x12"))
    assert (result.accepted, result.rejected) == (0, 1)
    claim.refresh_from_db()
    assert claim.status == "rejected"
    note = ClaimEvent.objects.get(claim=claim).note
    assert note.startswith("277CA rejected")
    assert "National Provider Identifier" in note


@pytest.mark.django_db
def test_a_277ca_for_unknown_claims_lists_them(clinic: Any) -> None:
    make_claim(clinic, number="CB1001")
    result = remit_services.post_277ca(actor=clinic.actor, text=_sample("277ca-accepted.x12"))
    assert result.accepted == 1
    assert result.unmatched == ["CB1002"]


@pytest.mark.django_db
def test_a_277ca_never_moves_a_paid_claim(clinic: Any) -> None:
    claim = make_claim(clinic, number="CB1003", status="paid")
    remit_services.post_277ca(actor=clinic.actor, text=_sample("277ca-rejected.x12"))
    claim.refresh_from_db()
    assert claim.status == "paid"
    assert ClaimEvent.objects.get(claim=claim).to_status == ""
