"""Prior authorization: rules, requests and decisions, units used from claim lines, and the
warnings for a visit that has no authorization."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from carebench.billing import auth_selectors as sel
from carebench.billing import auth_services as svc
from carebench.billing.models import PriorAuth
from carebench.core import clock
from carebench.patients import services as patient_services
from carebench.scheduling.models import Appointment, AppointmentType
from carebench.testing import make_billing_clinic, make_claim

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=ZoneInfo("America/Chicago"))
DAY = date(2026, 12, 1)


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def clinic(biller: Any) -> Any:
    clinic = make_billing_clinic(biller)
    clinic.other_payer = patient_services.get_or_create_payer(
        actor=clinic.actor, name="Bluebird", payer_code="BB001"
    )
    return clinic


def approved(clinic: Any, codes: list[str], **decision: Any) -> PriorAuth:
    auth = svc.request_prior_auth(
        actor=clinic.actor, coverage=clinic.coverage, codes=codes, diagnosis_codes=["M54.50"]
    )
    values = {"number": "PA-7781", "start_date": date(2026, 11, 1), "end_date": date(2027, 1, 31)}
    values.update(decision)
    return svc.record_decision(actor=clinic.actor, auth=auth, status="approved", **values)


# --- rules --------------------------------------------------------------------------------------


def test_a_payer_rule_applies_to_that_payer_only(clinic: Any) -> None:
    rule = svc.add_rule(actor=clinic.actor, code_from="72148", payer=clinic.payer)
    assert sel.rules_needing_auth(clinic.org, clinic.payer, ["72148", "99213"]) == {"72148": rule}
    assert sel.rules_needing_auth(clinic.org, clinic.other_payer, ["72148"]) == {}


def test_an_every_payer_rule_applies_to_all_payers(clinic: Any) -> None:
    rule = svc.add_rule(actor=clinic.actor, code_from="J1030", note="steroid injections")
    assert sel.rules_needing_auth(clinic.org, clinic.other_payer, ["j1030"]) == {"J1030": rule}
    assert sel.rules_needing_auth(clinic.org, None, ["J1030"]) == {"J1030": rule}


def test_a_range_matches_the_codes_inside_it_of_its_kind(clinic: Any) -> None:
    svc.add_rule(actor=clinic.actor, code_from="70010", code_to="76499", payer=clinic.payer)
    hcpcs = svc.add_rule(actor=clinic.actor, code_from="J0120", code_to="J9999")
    found = sel.rules_needing_auth(
        clinic.org, clinic.payer, ["70010", "72148", "76499", "76500", "99213", "J1030", "K0001"]
    )
    assert sorted(found) == ["70010", "72148", "76499", "J1030"]
    assert found["J1030"] == hcpcs


def test_the_payers_own_rule_comes_before_the_every_payer_rule(clinic: Any) -> None:
    svc.add_rule(actor=clinic.actor, code_from="72148")
    own = svc.add_rule(actor=clinic.actor, code_from="72148", payer=clinic.payer, note="Acme")
    assert sel.rules_needing_auth(clinic.org, clinic.payer, ["72148"])["72148"] == own


def test_a_retired_rule_no_longer_applies(clinic: Any) -> None:
    rule = svc.add_rule(actor=clinic.actor, code_from="72148")
    svc.retire_rule(actor=clinic.actor, rule=rule)
    assert sel.rules_needing_auth(clinic.org, clinic.payer, ["72148"]) == {}


@pytest.mark.parametrize(
    ("code_from", "code_to", "field", "words"),
    [
        ("9921", "", "code_from", "not a procedure code"),
        ("99213", "J1030", "code_to", "not the same kind of code"),
        ("J0120", "K0001", "code_to", "not the same kind of code"),
        ("99215", "99202", "code_to", "ends (99202) before it starts (99215)"),
        ("0001U", "0002T", "code_to", "not the same kind of code"),
    ],
)
def test_rule_codes_are_checked(
    clinic: Any, code_from: str, code_to: str, field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        svc.add_rule(actor=clinic.actor, code_from=code_from, code_to=code_to)
    assert words in " ".join(caught.value.message_dict[field])


def test_cpt_with_a_letter_and_hcpcs_codes_are_taken(clinic: Any) -> None:
    rule = svc.add_rule(actor=clinic.actor, code_from="0001u", code_to="0100U")
    assert (rule.code_from, rule.code_to) == ("0001U", "0100U")
    assert sel.code_kind("0042T") == "cpt-T" and sel.code_kind("G0008") == "hcpcs-G"


# --- requests and decisions ---------------------------------------------------------------------


def test_request_is_submitted_with_clean_codes(clinic: Any) -> None:
    auth = svc.request_prior_auth(
        actor=clinic.actor, coverage=clinic.coverage, codes=[" 72148", "72148"],
        diagnosis_codes=["m54.50"],
    )  # fmt: skip
    assert (auth.status, auth.codes, auth.diagnosis_codes) == ("submitted", ["72148"], ["M5450"])
    assert auth.patient == clinic.patient


def test_approval_needs_the_number_and_start_date(clinic: Any) -> None:
    auth = svc.request_prior_auth(
        actor=clinic.actor, coverage=clinic.coverage, codes=["72148"], diagnosis_codes=["M5450"]
    )
    with pytest.raises(ValidationError) as caught:
        svc.record_decision(actor=clinic.actor, auth=auth, status="approved")
    assert set(caught.value.message_dict) == {"number", "start_date"}
    auth.refresh_from_db()
    assert auth.status == "submitted"


def test_approval_end_date_not_before_start_and_units_positive(clinic: Any) -> None:
    auth = svc.request_prior_auth(
        actor=clinic.actor, coverage=clinic.coverage, codes=["72148"], diagnosis_codes=["M5450"]
    )
    with pytest.raises(ValidationError) as caught:
        svc.record_decision(
            actor=clinic.actor, auth=auth, status="approved", number="A1",
            start_date=date(2026, 12, 1), end_date=date(2026, 11, 1), units_approved=0,
        )  # fmt: skip
    assert set(caught.value.message_dict) == {"end_date", "units_approved"}


def test_a_denied_request_can_be_appealed_but_not_approved_directly(clinic: Any) -> None:
    auth = svc.request_prior_auth(
        actor=clinic.actor, coverage=clinic.coverage, codes=["72148"], diagnosis_codes=["M5450"]
    )
    svc.record_decision(actor=clinic.actor, auth=auth, status="denied", reference="CALL-1")
    with pytest.raises(ValidationError) as caught:
        svc.record_decision(
            actor=clinic.actor, auth=auth, status="approved", number="A1", start_date=DAY
        )
    assert caught.value.message_dict["status"] == [
        "a request that is denied cannot become approved (it can become: appealed)"
    ]
    appealed = svc.record_decision(actor=clinic.actor, auth=auth, status="appealed")
    assert appealed.status == "appealed" and appealed.reference == "CALL-1"


def test_a_cancelled_request_cannot_change(clinic: Any) -> None:
    auth = svc.request_prior_auth(
        actor=clinic.actor, coverage=clinic.coverage, codes=["72148"], diagnosis_codes=["M5450"]
    )
    svc.record_decision(actor=clinic.actor, auth=auth, status="cancelled")
    with pytest.raises(ValidationError, match="it can become: nothing"):
        svc.record_decision(actor=clinic.actor, auth=auth, status="pending")


# --- units --------------------------------------------------------------------------------------


def test_units_used_and_left_count_claim_lines_in_the_dates(clinic: Any) -> None:
    auth = approved(clinic, ["97110"], units_approved=12)
    make_claim(clinic, lines=[("97110", "40.00")], service_date=date(2026, 11, 10))
    claim = make_claim(clinic, lines=[("97110", "40.00")], service_date=date(2026, 11, 17))
    claim.lines.update(units=Decimal(3))
    make_claim(clinic, lines=[("97110", "40.00")], service_date=date(2026, 11, 18), status="void")
    make_claim(clinic, lines=[("97110", "40.00")], service_date=date(2026, 10, 30))  # before
    make_claim(clinic, lines=[("99213", "110.00")], service_date=date(2026, 11, 10))  # other code
    assert sel.units_used(auth) == Decimal(4)
    assert sel.units_left(auth) == Decimal(8)


def test_units_left_is_none_without_a_limit(clinic: Any) -> None:
    assert sel.units_left(approved(clinic, ["97110"])) is None


# --- warnings -----------------------------------------------------------------------------------


def test_missing_auth_warning_when_none_approved(clinic: Any) -> None:
    svc.add_rule(actor=clinic.actor, code_from="99214", payer=clinic.payer)
    warnings = sel.missing_auth_warnings(
        org=clinic.org, patient=clinic.patient, codes=["99214", "99213"], on_date=DAY
    )
    assert warnings == [
        "99214 needs a prior authorization from Acme Health (rule: 99214 for Acme Health); "
        "none approved covers 2026-12-01"
    ]


def test_no_warning_when_an_approved_auth_covers_the_day(clinic: Any) -> None:
    svc.add_rule(actor=clinic.actor, code_from="99214", payer=clinic.payer)
    approved(clinic, ["99214"], units_approved=2)
    assert (
        sel.missing_auth_warnings(
            org=clinic.org, patient=clinic.patient, codes=["99214"], on_date=DAY
        )
        == []
    )


def test_an_expired_auth_warns(clinic: Any) -> None:
    svc.add_rule(actor=clinic.actor, code_from="99214")
    auth = approved(clinic, ["99214"], start_date=date(2026, 10, 1), end_date=date(2026, 11, 20))
    assert sel.is_expired(auth)
    [warning] = sel.missing_auth_warnings(
        org=clinic.org, patient=clinic.patient, codes=["99214"], on_date=clock.today()
    )
    assert warning.endswith(
        "authorization PA-7781 expired on 2026-11-20, none approved covers 2026-11-23"
    )
    assert "(rule: 99214 for every payer)" in warning


def test_an_auth_with_no_units_left_warns(clinic: Any) -> None:
    svc.add_rule(actor=clinic.actor, code_from="97110")
    approved(clinic, ["97110"], units_approved=1)
    make_claim(clinic, lines=[("97110", "40.00")], service_date=date(2026, 11, 10))
    [warning] = sel.missing_auth_warnings(
        org=clinic.org, patient=clinic.patient, codes=["97110"], on_date=DAY
    )
    assert warning.endswith("authorization PA-7781 has no units left (1 of 1 used)")


def test_appointment_warnings_use_the_visit_types_codes(clinic: Any) -> None:
    svc.add_rule(actor=clinic.actor, code_from="72148", payer=clinic.payer)
    kind = AppointmentType.objects.create(
        organization=clinic.org, name="MRI review", duration_minutes=30,
        procedure_codes="99213 72148",
    )  # fmt: skip
    start = datetime(2026, 12, 1, 9, tzinfo=ZoneInfo("America/Chicago"))
    visit = Appointment.objects.create(
        organization=clinic.org, patient=clinic.patient, provider=clinic.provider,
        facility=clinic.facility, appointment_type=kind, start=start,
        end=start + timedelta(minutes=30), status_changed_at=clock.now(),
    )  # fmt: skip
    [warning] = sel.appointment_auth_warnings(visit)
    assert warning.startswith("72148 needs a prior authorization from Acme Health")
    assert warning.endswith("none approved covers 2026-12-01")
