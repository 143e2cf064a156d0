"""Eligibility with the database: 270s sent through a file drop, 271s read back into checks,
the day's batch, and the selectors."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from carebench.audit.models import AuditEvent
from carebench.billing import elig_selectors, elig_services
from carebench.billing.clearinghouse import FileDrop
from carebench.billing.models import BillingProfile, EligibilityCheck
from carebench.billing.x12.elig import read_271
from carebench.billing.x12.parse import read_interchange
from carebench.billing.x12.pyx12_check import validate_x12_with_pyx12
from carebench.core import clock
from carebench.patients import services as patient_services
from carebench.patients.models import Coverage
from carebench.scheduling.models import Appointment, Status
from carebench.testing import make_billing_clinic, make_patient, make_schedule

SAMPLES = Path(__file__).resolve().parents[1] / "x12" / "samples"
ACTIVE = (SAMPLES / "271-active.x12").read_text()
REJECTED = (SAMPLES / "271-rejected-72.x12").read_text()
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=ZoneInfo("America/Chicago"))
TOMORROW = date(2026, 11, 24)


@pytest.fixture
def clinic(biller: Any, tmp_path: Path) -> Any:
    with clock.frozen(NOW):
        schedule = make_schedule(biller)
        clinic = make_billing_clinic(biller)
    (tmp_path / "outbox").mkdir()
    (tmp_path / "inbox").mkdir()
    BillingProfile.objects.filter(pk=clinic.profile.pk).update(
        clearinghouse_outbox=str(tmp_path / "outbox"),
        clearinghouse_inbox=str(tmp_path / "inbox"),
        next_interchange_control=41,
    )
    clinic.schedule = schedule
    clinic.drop = FileDrop(tmp_path / "outbox", tmp_path / "inbox")
    return clinic


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with clock.frozen(NOW):
        yield


def answer(template: str, check: EligibilityCheck, *, last: str = "RIVERA") -> str:
    """The sample 271 turned into the payer's answer to `check`: its trace number echoed, the
    patient's name and member id."""
    old_trace = re.search(r"TRN\*2\*([^*]+)\*", template)
    assert old_trace is not None
    text = template.replace(old_trace.group(1), check.trace_number)
    text = re.sub(r"NM1\*IL\*1\*[A-Z]+\*[A-Z]+\*\*\*\*MI\*[A-Z0-9]+",
                  f"NM1*IL*1*{last}*MARIA****MI*{check.coverage.member_id}", text)  # fmt: skip
    return text


def drop_answer(clinic: Any, name: str, text: str) -> None:
    (clinic.drop.inbox / name).write_text(text)


def appointment(clinic: Any, patient: Any, day: date, hour: int, **extra: Any) -> Appointment:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo("America/Chicago"))
    return Appointment.objects.create(
        organization=clinic.org,
        patient=patient,
        provider=clinic.provider,
        facility=clinic.facility,
        appointment_type=clinic.schedule.visit,
        start=start,
        end=start + timedelta(minutes=30),
        status_changed_at=clock.now(),
        **extra,
    )


def insured(clinic: Any, family: str, member_id: str) -> Any:
    patient = make_patient(clinic.org, family_name=family, given_name="Sam")
    patient_services.add_coverage(
        actor=clinic.actor, patient=patient, payer=clinic.payer, member_id=member_id
    )
    return patient


def child(clinic: Any, subscriber_name: str = "Rivera, Maria") -> Any:
    """Maria Rivera's daughter, on her mother's plan (the same member ID)."""
    patient = make_patient(
        clinic.org, family_name="Rivera", given_name="Lucia", birth_date=date(2015, 6, 6),
        sex="female",
    )  # fmt: skip
    return patient_services.add_coverage(
        actor=clinic.actor, patient=patient, payer=clinic.payer, member_id="ACM123456789",
        relationship=Coverage.Relationship.CHILD, subscriber_name=subscriber_name,
        subscriber_birth_date=date(1975, 3, 9),
    )  # fmt: skip


def segments_after(text: str, level: str) -> list[str]:
    """The segments of the HL loop with level code `level` (22 subscriber, 23 dependent)."""
    [transaction] = read_interchange(text).transactions
    out: list[str] = []
    inside = False
    for segment in transaction.body:
        if segment.id == "HL":
            inside = segment.element(3) == level
        if inside:
            out.append(str(segment))
    return out


def dependent_answer(template: str, check: EligibilityCheck) -> str:
    """The sample 271 as the payer's answer about a dependant: the subscriber's loop names
    her (no trace, no benefits) and the dependent's loop (2000D) echoes the trace number
    and has the benefits."""
    lines = template.splitlines()
    sub_hl = lines.index("HL*3*2*22*0~")
    first_eb = next(i for i, line in enumerate(lines) if line.startswith("EB*"))
    end = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    subscriber = [
        line for line in lines[sub_hl + 1 : first_eb]
        if not line.startswith(("TRN*", "DMG*", "DTP*"))
    ]  # fmt: skip
    body = [
        "HL*3*2*22*1~",
        *subscriber,
        "HL*4*3*23*0~",
        f"TRN*2*{check.trace_number}*1741234567~",
        "NM1*03*1*RIVERA*LUCIA~",
        "DMG*D8*20150606*F~",
        "INS*N*19~",
        *lines[first_eb:end],
    ]
    st = next(i for i, line in enumerate(lines) if line.startswith("ST*"))
    count = len(lines[st:sub_hl]) + len(body) + 1
    return "\n".join([*lines[:sub_hl], *body, f"SE*{count}*0001~", *lines[end + 1 :]]) + "\n"


# --- one request ---------------------------------------------------------------------------------


def test_request_270_passes_pyx12(clinic: Any) -> None:
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    assert validate_x12_with_pyx12(check.request_270) == []


def test_childs_check_sends_the_parent_as_subscriber(clinic: Any) -> None:
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=child(clinic))
    assert segments_after(check.request_270, "22") == [
        "HL*3*2*22*1",
        "NM1*IL*1*RIVERA*MARIA****MI*ACM123456789",
        "DMG*D8*19750309",
    ]


def test_childs_check_asks_about_the_child_in_the_dependent_loop(clinic: Any) -> None:
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=child(clinic))
    assert segments_after(check.request_270, "23") == [
        "HL*4*3*23*0",
        f"TRN*1*{check.trace_number}*1741234567",
        "NM1*03*1*RIVERA*LUCIA",
        "DMG*D8*20150606*F",
        "INS*N*19",
        "DTP*291*D8*20261123",
        "EQ*30",
    ]
    assert check.patient.given_name == "Lucia"


def test_childs_270_passes_pyx12(clinic: Any) -> None:
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=child(clinic))
    assert validate_x12_with_pyx12(check.request_270) == []


def test_subscriber_name_written_first_last_is_split(clinic: Any) -> None:
    coverage = child(clinic, subscriber_name="Maria  Rivera")
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=coverage)
    assert "NM1*IL*1*RIVERA*MARIA****MI*ACM123456789~" in check.request_270


def test_spouse_relationship_code(clinic: Any) -> None:
    coverage = child(clinic)
    Coverage.objects.filter(pk=coverage.pk).update(relationship=Coverage.Relationship.SPOUSE)
    coverage.refresh_from_db()
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=coverage)
    assert "INS*N*01~" in check.request_270


def test_dependants_check_without_subscriber_name_is_refused_naming_the_field(
    clinic: Any,
) -> None:
    coverage = child(clinic)
    Coverage.objects.filter(pk=coverage.pk).update(subscriber_name="")
    coverage.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        elig_services.request_eligibility(actor=clinic.actor, coverage=coverage)
    [message] = caught.value.message_dict["subscriber_name"]
    assert "the subscriber's name" in message
    assert not EligibilityCheck.objects.exists()


def test_subscriber_name_of_one_word_is_refused(clinic: Any) -> None:
    coverage = child(clinic)
    Coverage.objects.filter(pk=coverage.pk).update(subscriber_name="Rivera")
    coverage.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        elig_services.request_eligibility(actor=clinic.actor, coverage=coverage)
    assert "first and last names" in caught.value.message_dict["subscriber_name"][0]


def test_request_writes_a_270_our_reader_takes_with_member_id_and_trace(clinic: Any) -> None:
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    interchange = read_interchange(check.request_270)
    [transaction] = interchange.transactions
    assert transaction.type == "270"
    segments = [str(s) for s in transaction.segments]
    assert "NM1*IL*1*RIVERA*MARIA****MI*ACM123456789" in segments
    assert f"TRN*1*{check.trace_number}*1741234567" in segments
    assert "NM1*PR*2*ACME HEALTH*****PI*60054" in segments
    assert "NM1*1P*2*" + clinic.org.name.upper() + "*****XX*1245319599" in segments
    assert "EQ*30" in segments
    assert interchange.control_number == "000000041"
    assert check.status == EligibilityCheck.Status.SENT
    assert check.service_date == date(2026, 11, 23)


def test_request_drops_the_file_in_the_outbox_and_counts_the_control(clinic: Any) -> None:
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    sent = clinic.drop.outbox / "270-000000041.x12"
    assert sent.read_text() == check.request_270
    clinic.profile.refresh_from_db()
    assert clinic.profile.next_interchange_control == 42
    assert AuditEvent.objects.filter(
        resource_type="EligibilityCheck", resource_id=str(check.pk), action="create"
    ).exists()


def test_each_request_has_its_own_trace_number(clinic: Any) -> None:
    first = elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    second = elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    assert first.trace_number != second.trace_number


def test_request_uses_the_appointment_day(clinic: Any) -> None:
    visit = appointment(clinic, clinic.patient, date(2026, 12, 1), 9)
    check = elig_services.request_eligibility(
        actor=clinic.actor, coverage=clinic.coverage, appointment=visit
    )
    assert check.service_date == date(2026, 12, 1)
    assert "DTP*291*D8*20261201~" in check.request_270
    assert check.appointment == visit


def test_request_names_the_missing_payer_id(clinic: Any) -> None:
    clinic.payer.payer_code = ""
    clinic.payer.save()
    with pytest.raises(ValidationError) as caught:
        elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    assert "payer_code" in caught.value.message_dict
    assert not EligibilityCheck.objects.exists()


def test_request_without_billing_profile_is_refused(clinic: Any) -> None:
    BillingProfile.objects.all().delete()
    with pytest.raises(ValidationError) as caught:
        elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    assert "billing_profile" in caught.value.message_dict


def test_request_without_outbox_folder_writes_nothing(clinic: Any) -> None:
    BillingProfile.objects.update(clearinghouse_outbox="")
    with pytest.raises(ValidationError) as caught:
        elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    assert "clearinghouse_outbox" in caught.value.message_dict
    assert not EligibilityCheck.objects.exists()
    clinic.profile.refresh_from_db()
    assert clinic.profile.next_interchange_control == 41


def test_request_for_another_orgs_coverage_is_refused(clinic: Any, other_org: Any) -> None:
    from carebench.core.actor import Actor

    with pytest.raises(PermissionError, match="coverage"):
        elig_services.request_eligibility(actor=Actor.system(other_org), coverage=clinic.coverage)


# --- the 271 -------------------------------------------------------------------------------------


def test_active_271_polled_from_the_inbox_gives_plain_summary(clinic: Any) -> None:
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    drop_answer(clinic, "271-a.x12", answer(ACTIVE, check))
    polled = elig_services.poll_clearinghouse(actor=clinic.actor)
    assert polled.files == ["271-a.x12"]
    check.refresh_from_db()
    assert check.status == EligibilityCheck.Status.ACTIVE
    assert check.answered_at == clock.now()
    assert check.summary[0] == "Active: ACME CHOICE POS II."
    assert "Office visit copay $25 in network." in check.summary
    assert "Deductible $1,500 per calendar year, $320 remaining, in network." in check.summary
    assert any(s.startswith("Out-of-pocket maximum $5,000") for s in check.summary)
    assert check.result["subscriber"]["member_id"] == "ACM123456789"
    assert (clinic.drop.inbox / "processed" / "271-a.x12").exists()


def test_rejected_271_explains_the_aaa_code(clinic: Any) -> None:
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    [recorded] = elig_services.record_271(actor=clinic.actor, text=answer(REJECTED, check))
    assert recorded.status == EligibilityCheck.Status.REJECTED
    reason = read_271(REJECTED)[0].rejections[0].reason
    assert recorded.summary[0].startswith(f"Rejected (code 72): {reason}")
    assert recorded.summary[0].endswith("Correct the request and send it again.")


def test_malformed_271_is_refused_naming_the_segment_and_nothing_is_written(
    clinic: Any,
) -> None:
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    broken = answer(ACTIVE, check).replace("SE*38*0001", "SE*37*0001")
    with pytest.raises(ValidationError) as caught:
        elig_services.record_271(actor=clinic.actor, text=broken)
    [message] = caught.value.message_dict["text"]
    assert "segment 40 (SE): SE01 says 37 segments" in message
    check.refresh_from_db()
    assert check.status == EligibilityCheck.Status.SENT
    assert check.response_271 == ""


def test_a_271_the_reader_refuses_is_set_aside_from_the_inbox(clinic: Any) -> None:
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    drop_answer(clinic, "bad.x12", answer(ACTIVE, check).replace("EB*L**30~", "ZZ*1~"))
    polled = elig_services.poll_clearinghouse(actor=clinic.actor)
    assert polled.files == []
    [(name, reason)] = polled.failed
    assert name == "bad.x12" and "segment 36 (ZZ): ZZ does not belong in a 271" in reason
    assert (clinic.drop.inbox / "failed" / "bad.x12.error.txt").exists()
    check.refresh_from_db()
    assert check.status == EligibilityCheck.Status.SENT


def test_a_file_that_is_not_x12_is_reported_by_the_poll(clinic: Any) -> None:
    drop_answer(clinic, "junk.x12", "hello")
    polled = elig_services.poll_clearinghouse(actor=clinic.actor)
    assert [name for name, _ in polled.failed] == ["junk.x12"]


def test_271_for_a_dependant_is_recorded_on_the_childs_check(clinic: Any) -> None:
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=child(clinic))
    [recorded] = elig_services.record_271(
        actor=clinic.actor, text=dependent_answer(answer(ACTIVE, check), check)
    )
    assert recorded == check
    assert recorded.status == EligibilityCheck.Status.ACTIVE
    assert recorded.result["patient"] == {
        "name": "RIVERA, LUCIA", "is_dependent": True, "birth_date": "2015-06-06", "sex": "F",
    }  # fmt: skip
    assert recorded.result["subscriber"]["member_id"] == "ACM123456789"
    assert recorded.result["trace_number"] == check.trace_number
    assert "Office visit copay $25 in network." in recorded.summary


def test_dependants_check_takes_the_dependents_answer_over_the_subscribers(
    clinic: Any,
) -> None:
    check = elig_services.request_eligibility(actor=clinic.actor, coverage=child(clinic))
    lines = answer(ACTIVE, check).replace("HL*3*2*22*0~", "HL*3*2*22*1~").splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    dependent = [
        "HL*4*3*23*0~",
        f"TRN*2*{check.trace_number}*1741234567~",
        "NM1*03*1*RIVERA*LUCIA~",
        "EB*6*IND*30~",
    ]
    text = "\n".join(
        [*lines[:end], *dependent, f"SE*{int(lines[end].split('*')[1]) + 4}*0001~",
         *lines[end + 1 :]]
    ) + "\n"  # fmt: skip
    [recorded] = elig_services.record_271(actor=clinic.actor, text=text)
    assert recorded.status == EligibilityCheck.Status.INACTIVE
    assert recorded.result["patient"]["name"] == "RIVERA, LUCIA"


def test_unknown_trace_numbers_are_listed_not_an_error(clinic: Any) -> None:
    recorded = elig_services.record_271(actor=clinic.actor, text=ACTIVE)
    assert list(recorded) == []
    assert recorded.unknown == ["ELIG-4101"]


def test_another_orgs_check_is_never_matched(clinic: Any, other_org: Any) -> None:
    from carebench.core.actor import Actor

    check = elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    recorded = elig_services.record_271(actor=Actor.system(other_org), text=answer(ACTIVE, check))
    assert recorded.unknown == [check.trace_number]
    check.refresh_from_db()
    assert check.status == EligibilityCheck.Status.SENT


def test_poll_leaves_other_kinds_in_the_inbox(clinic: Any) -> None:
    drop_answer(clinic, "remit.x12", (SAMPLES / "835-three-claims.x12").read_text())
    polled = elig_services.poll_clearinghouse(actor=clinic.actor)
    assert polled.left == [("remit.x12", "835")]
    assert (clinic.drop.inbox / "remit.x12").exists()


def test_poll_hands_other_kinds_to_a_handler(clinic: Any) -> None:
    drop_answer(clinic, "ack.x12", (SAMPLES / "999-accepted.x12").read_text())
    polled = elig_services.poll_clearinghouse(
        actor=clinic.actor, handlers={"999": lambda item: item.kind}
    )
    assert polled.handled == {"ack.x12": "999"}
    assert (clinic.drop.inbox / "processed" / "ack.x12").exists()


# --- the day's batch ----------------------------------------------------------------------------


def test_batch_for_tomorrow_skips_cancelled_and_recently_checked(clinic: Any) -> None:
    appointment(clinic, clinic.patient, TOMORROW, 9)
    due = insured(clinic, "Due", "ACM000000002")
    appointment(clinic, due, TOMORROW, 10)
    appointment(clinic, due, TOMORROW, 14)  # the same coverage twice: one request
    cancelled = insured(clinic, "Cancelled", "ACM000000003")
    appointment(clinic, cancelled, TOMORROW, 11, status=Status.CANCELLED)
    checked = insured(clinic, "Checked", "ACM000000004")
    appointment(clinic, checked, TOMORROW, 12)
    earlier = elig_services.request_eligibility(
        actor=clinic.actor, coverage=checked.coverages.get()
    )
    elig_services.record_271(actor=clinic.actor, text=answer(ACTIVE, earlier, last="CHECKED"))
    self_pay = make_patient(clinic.org, family_name="Selfpay")
    appointment(clinic, self_pay, TOMORROW, 13)
    appointment(clinic, insured(clinic, "Later", "ACM000000005"), TOMORROW + timedelta(1), 9)

    summary = elig_services.batch_eligibility(actor=clinic.actor, day=TOMORROW)

    assert (summary.appointments, summary.sent, summary.already_checked, summary.no_coverage) == (
        5,
        2,
        1,
        1,
    )
    assert {c.patient for c in summary.checks} == {clinic.patient, due}
    sent = Path(summary.file).read_text()
    [transaction_a, transaction_b] = read_interchange(sent).transactions
    assert "MI*ACM123456789" in "~".join(str(s) for s in transaction_a.segments)
    assert "MI*ACM000000002" in "~".join(str(s) for s in transaction_b.segments)
    assert Path(summary.file).name == f"270-{summary.interchange_control:09d}.x12"
    assert all(c.service_date == TOMORROW for c in summary.checks)


def test_each_batch_check_keeps_its_own_request(clinic: Any) -> None:
    appointment(clinic, clinic.patient, TOMORROW, 9)
    appointment(clinic, insured(clinic, "Due", "ACM000000002"), TOMORROW, 10)
    summary = elig_services.batch_eligibility(actor=clinic.actor, day=TOMORROW)
    second = summary.checks[1]
    [transaction] = read_interchange(second.request_270).transactions
    assert transaction.control_number == "0002"
    assert f"TRN*1*{second.trace_number}*1741234567~" in second.request_270
    assert "ACM123456789" not in second.request_270


def test_batch_with_a_dependant_passes_pyx12(clinic: Any) -> None:
    appointment(clinic, clinic.patient, TOMORROW, 9)
    coverage = child(clinic)
    appointment(clinic, coverage.patient, TOMORROW, 10)
    summary = elig_services.batch_eligibility(actor=clinic.actor, day=TOMORROW)
    assert summary.sent == 2
    sent = Path(summary.file).read_text()
    assert validate_x12_with_pyx12(sent) == []
    dependant = next(c for c in summary.checks if c.coverage_id == coverage.pk)
    assert validate_x12_with_pyx12(dependant.request_270) == []
    assert "NM1*03*1*RIVERA*LUCIA~" in dependant.request_270


def test_batch_lists_a_dependant_without_subscriber_name(clinic: Any) -> None:
    appointment(clinic, clinic.patient, TOMORROW, 9)
    coverage = child(clinic)
    Coverage.objects.filter(pk=coverage.pk).update(subscriber_name="")
    appointment(clinic, coverage.patient, TOMORROW, 10)
    summary = elig_services.batch_eligibility(actor=clinic.actor, day=TOMORROW)
    assert summary.sent == 1
    [refused] = summary.refused
    assert refused.startswith(f"MRN {coverage.patient.mrn}: subscriber_name: ")


def test_batch_rechecks_after_the_window(clinic: Any) -> None:
    appointment(clinic, clinic.patient, TOMORROW, 9)
    earlier = elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    elig_services.record_271(actor=clinic.actor, text=answer(ACTIVE, earlier))
    EligibilityCheck.objects.update(answered_at=clock.now() - timedelta(days=8))
    summary = elig_services.batch_eligibility(actor=clinic.actor, day=TOMORROW)
    assert summary.sent == 1
    assert elig_services.batch_eligibility(actor=clinic.actor, day=TOMORROW).sent == 0


def test_batch_answers_match_each_check(clinic: Any) -> None:
    appointment(clinic, clinic.patient, TOMORROW, 9)
    appointment(clinic, insured(clinic, "Due", "ACM000000002"), TOMORROW, 10)
    summary = elig_services.batch_eligibility(actor=clinic.actor, day=TOMORROW)
    for n, check in enumerate(summary.checks):
        drop_answer(clinic, f"271-{n}.x12", answer(ACTIVE, check))
    polled = elig_services.poll_clearinghouse(actor=clinic.actor)
    assert len(polled.checks) == 2
    statuses = set(EligibilityCheck.objects.values_list("status", flat=True))
    assert statuses == {EligibilityCheck.Status.ACTIVE}


def test_batch_lists_a_coverage_it_cannot_ask_about_and_sends_the_rest(clinic: Any) -> None:
    appointment(clinic, clinic.patient, TOMORROW, 9)
    no_npi_payer = patient_services.get_or_create_payer(actor=clinic.actor, name="Nameless")
    odd = make_patient(clinic.org, family_name="Odd")
    patient_services.add_coverage(
        actor=clinic.actor, patient=odd, payer=no_npi_payer, member_id="X1"
    )
    appointment(clinic, odd, TOMORROW, 10)
    summary = elig_services.batch_eligibility(actor=clinic.actor, day=TOMORROW)
    assert summary.sent == 1
    assert summary.refused == [f"MRN {odd.mrn}: payer_code: the payer Nameless has no payer ID "
                               "(set it on the payer)"]  # fmt: skip


# --- selectors ----------------------------------------------------------------------------------


def test_latest_check_and_checks_for_patient(clinic: Any) -> None:
    assert elig_selectors.latest_check(clinic.coverage) is None
    first = elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    with clock.frozen(NOW + timedelta(hours=1)):
        second = elig_services.request_eligibility(actor=clinic.actor, coverage=clinic.coverage)
    assert elig_selectors.latest_check(clinic.coverage) == second
    assert list(elig_selectors.checks_for_patient(clinic.patient)) == [second, first]


# --- the command --------------------------------------------------------------------------------


def test_command_check_then_poll_prints_the_answer(clinic: Any, biller: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "carebench_eligibility", "check", "--patient", clinic.patient.mrn,
        "--org", clinic.org.slug, "--user", biller.username, stdout=out,
    )  # fmt: skip
    assert "sent 270 for Rivera, Maria" in out.getvalue()
    check = EligibilityCheck.objects.get()
    assert check.requested_by == biller
    drop_answer(clinic, "271.x12", answer(ACTIVE, check))
    out = StringIO()
    call_command("carebench_eligibility", "poll", "--org", clinic.org.slug, stdout=out)
    assert "  Office visit copay $25 in network." in out.getvalue()
    assert "1 file(s) recorded, 1 answers" in out.getvalue()


def test_command_batch_takes_tomorrow(clinic: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    appointment(clinic, clinic.patient, TOMORROW, 9)
    out = StringIO()
    call_command("carebench_eligibility", "batch", "--date", "tomorrow", "--org", clinic.org.slug,
                 stdout=out)  # fmt: skip
    assert out.getvalue().startswith("2026-11-24: 1 visits, 1 sent")


def test_command_refusal_names_the_field(clinic: Any) -> None:
    from django.core.management import CommandError, call_command

    BillingProfile.objects.update(clearinghouse_inbox="")
    with pytest.raises(CommandError, match="clearinghouse_inbox: set the clearinghouse inbox"):
        call_command("carebench_eligibility", "poll", "--org", clinic.org.slug)
