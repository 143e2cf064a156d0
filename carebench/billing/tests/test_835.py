"""The 835 reader (pure): the sample remittance read into claims, lines, adjustments and PLBs;
balancing; the CARC/RARC tables; malformed files. No database."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from carebench.billing.x12 import codes
from carebench.billing.x12.check837 import validate_with_pyx12
from carebench.billing.x12.parse import X12Error
from carebench.billing.x12.remit835 import balance_problems, read_835

SAMPLES = Path(__file__).resolve().parents[1] / "x12" / "samples"
SAMPLE = (SAMPLES / "835-three-claims.x12").read_text()


def _recount(text: str) -> str:
    """SE01 recounted after segments were added or removed (one segment per line)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ST*"))
    end = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    lines[end] = re.sub(r"^SE\*\d+", f"SE*{end - start + 1}", lines[end])
    return "\n".join(lines) + "\n"


def _edit(old: str, new: str) -> str:
    assert old in SAMPLE
    return _recount(SAMPLE.replace(old, new, 1))


def _position(text: str, segment_start: str) -> int:
    """The 1-based position of the first segment starting with `segment_start`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(segment_start))


@pytest.fixture(scope="module")
def remittance():
    [remit] = read_835(SAMPLE)
    return remit


def _claim(remittance, pcn):
    claim = remittance.claim(pcn)
    assert claim is not None
    return claim


def test_sample_passes_pyx12():
    assert validate_with_pyx12(SAMPLE) == []


def test_payment_header(remittance):
    assert remittance.total_paid == Decimal("162.25")
    assert remittance.credit_debit == "C"
    assert remittance.payment_method == "ACH"
    assert remittance.payment_method_text == "electronic funds transfer (ACH)"
    assert remittance.payment_date == date(2026, 11, 20)
    assert remittance.trace_number == "EFT0000123456"
    assert remittance.payer_trace_id == "1512345678"
    assert remittance.production_date == date(2026, 11, 19)


def test_payer_and_payee(remittance):
    assert remittance.payer.name == "ACME HEALTH PLAN"
    assert remittance.payer.phone == "8005550123"
    assert ("2U", "60054") in remittance.payer.references
    assert remittance.payee.name == "MAIN STREET FAMILY CLINIC"
    assert remittance.payee.npi == "1234567893"
    assert remittance.payee.tax_id == "371234567"


def test_claims_in_file_order(remittance):
    assert [c.patient_control_number for c in remittance.claims] == ["CB1001", "CB1002", "CB1003"]


def test_paid_claim_with_contractual_adjustment(remittance):
    claim = _claim(remittance, "CB1001")
    assert claim.status == "processed as primary"
    assert (claim.charge, claim.paid, claim.patient_responsibility) == (175, 102, 0)
    assert claim.payer_claim_control_number == "94060555410001"
    assert claim.patient_name == "RIVERA, ANA"
    assert claim.rendering_provider_id == "1987654328"
    assert claim.received_date == date(2026, 11, 5)
    visit = claim.lines[0]
    assert str(visit.procedure) == "HC:99213"
    assert visit.service_date == date(2026, 11, 1)
    assert visit.control_number == "CB1001-1"
    assert visit.allowed == Decimal("92.4")
    assert [(a.code, a.amount) for a in visit.adjustments] == [("CO-45", Decimal("57.6"))]


def test_deductible_and_coinsurance_are_patient_responsibility(remittance):
    claim = _claim(remittance, "CB1002")
    line = claim.lines[0]
    assert [(a.code, a.amount) for a in line.adjustments] == [
        ("PR-1", Decimal(50)),
        ("PR-2", Decimal(16)),
        ("CO-45", Decimal(80)),
    ]
    assert line.patient_responsibility == Decimal(66)
    assert claim.patient_responsibility == Decimal(71)


def test_payer_changed_modifier_keeps_the_billed_procedure(remittance):
    line = _claim(remittance, "CB1002").lines[0]
    assert str(line.procedure) == "HC:99214"
    assert str(line.submitted_procedure) == "HC:99214:25"
    assert line.submitted_procedure.modifiers == ("25",)
    assert line.procedure_changed


def test_unchanged_line_has_no_original_procedure(remittance):
    line = _claim(remittance, "CB1002").lines[1]
    assert line.original_procedure is None
    assert not line.procedure_changed
    assert line.submitted_procedure == line.procedure


def test_denied_claim_with_remark_codes(remittance):
    claim = _claim(remittance, "CB1003")
    assert claim.is_denied
    assert claim.status == "denied"
    assert claim.remark_codes == ("MA130",)
    line = claim.lines[0]
    assert [a.code for a in line.adjustments] == ["CO-16"]
    assert line.remark_codes == ("N290",)
    assert line.units == 0


def test_reasons_read_as_plain_words(remittance):
    reasons = _claim(remittance, "CB1003").reasons()
    assert reasons[0].startswith("MA130: ")
    assert any(r.startswith("Line 1 (HC:99213): CO-16 $150.00: ") for r in reasons)
    assert any("rendering provider" in r and "N290" in r for r in reasons)


def test_provider_level_adjustments(remittance):
    wo, interest = remittance.provider_adjustments
    assert (wo.reason, wo.reference, wo.amount) == ("WO", "CB0950", Decimal(25))
    assert wo.fiscal_period_end == date(2026, 12, 31)
    assert "overpayment" in wo.reason_meaning
    assert (interest.reason, interest.amount) == ("L6", Decimal("-1.25"))


def test_sample_balances(remittance):
    assert balance_problems(remittance) == []


def test_broken_claim_payment_is_named():
    [remit] = read_835(_edit("CLP*CB1001*1*175*102*", "CLP*CB1001*1*175*112*"))
    problems = balance_problems(remit)
    assert any(
        p.startswith("Claim CB1001 (payer claim 94060555410001): the charge") for p in problems
    )
    assert any("(BPR02)" in p for p in problems)  # the payment total no longer adds up either
    assert not any("CB1002" in p or "CB1003" in p for p in problems)


def test_broken_line_is_named_with_its_line_id():
    [remit] = read_835(_edit("CAS*CO*45*15.4~", "CAS*CO*45*15~"))
    problems = balance_problems(remit)
    assert problems[0] == (
        "Claim CB1001 (payer claim 94060555410001), line 2 (HC:36415, line id CB1001-2): "
        "the charge 25.00 less the payment 9.60 and the adjustments 15.00 leaves 0.40, not 0."
    )


def test_broken_payment_total_is_named():
    [remit] = read_835(_edit("BPR*I*162.25*", "BPR*I*160.25*"))
    assert balance_problems(remit) == [
        "Payment EFT0000123456: the total paid 160.25 (BPR02) is not the claims' payments "
        "186.00 less the provider adjustments 23.75, which is 162.25."
    ]


def test_other_delimiters_read_the_same(remittance):
    text = SAMPLE.replace("*", "|").replace(":", ">").replace("~\n", "~")
    [other] = read_835(text)
    assert other == remittance


def test_non_numeric_charge_names_segment_and_position():
    text = _edit("CLP*CB1002*1*255*", "CLP*CB1002*1*abc*")
    with pytest.raises(X12Error) as caught:
        read_835(text)
    assert caught.value.segment == "CLP"
    assert caught.value.position == _position(text, "CLP*CB1002")
    assert "CLP03" in caught.value.message


def test_bad_date_names_segment():
    text = _edit("DTM*472*20261102~", "DTM*472*20261302~")
    with pytest.raises(X12Error) as caught:
        read_835(text)
    assert (caught.value.segment, caught.value.position) == (
        "DTM",
        _position(text, "DTM*472*2026130"),
    )


def test_unknown_segment_is_refused():
    text = _edit("LX*1~", "LX*1~\nCLM*X*1~")
    with pytest.raises(X12Error, match="does not belong in an 835") as caught:
        read_835(text)
    assert caught.value.position == _position(text, "CLM*")


def test_service_line_outside_a_claim_is_refused():
    text = _edit("LX*1~", "LX*1~\nSVC*HC:99213*10*10~")
    with pytest.raises(X12Error, match="SVC outside a claim"):
        read_835(text)


def test_bad_group_code_is_refused():
    with pytest.raises(X12Error, match="CAS01 'XX'"):
        read_835(_edit("CAS*CO*16*150~", "CAS*XX*16*150~"))


def test_other_transaction_type_is_refused():
    text = (SAMPLES / "271-active.x12").read_text()
    with pytest.raises(X12Error, match="takes an 835") as caught:
        read_835(text)
    assert caught.value.segment == "ST"


def test_truncated_file_raises_the_parsers_error():
    truncated = SAMPLE[: SAMPLE.index("PLB*")]
    with pytest.raises(X12Error, match="truncated"):
        read_835(truncated)


def test_reversal_balances_with_negative_amounts():
    text = _edit(
        "CLP*CB1003*4*150*0**12*94060555410003*11*1~",
        "CLP*CB0950*22*-100*-80*-20*12*94060555400950*11*7~\nCAS*PR*2*-20~\n"
        "CLP*CB1003*4*150*0**12*94060555410003*11*1~",
    )
    text = text.replace("BPR*I*162.25*", "BPR*I*82.25*")
    [remit] = read_835(text)
    reversal = _claim(remit, "CB0950")
    assert reversal.is_reversal
    assert reversal.status == "reversal of an earlier payment"
    assert balance_problems(remit) == []


# --- the code tables ----------------------------------------------------------------------------


def test_carc_meaning():
    assert "deductible" in codes.carc("1")
    assert "fee schedule" in codes.carc("45")


def test_rarc_meaning():
    assert "rendering provider" in codes.rarc("N290")
    assert codes.rarc(" ma130 ").startswith("The claim has missing or invalid information")


def test_group_code_meaning():
    assert codes.group_code("PR").startswith("Patient responsibility")
    assert codes.group_code("co").startswith("Contractual obligation")


def test_unknown_codes_say_so():
    assert codes.carc("999") == "unknown code 999"
    assert codes.rarc("N99999") == "unknown code N99999"
    assert codes.group_code("ZZ") == "unknown code ZZ"
    assert codes.plb_reason("Q9") == "unknown code Q9"


def test_tables_cover_the_common_codes():
    carcs = "1 2 3 4 5 16 18 22 23 24 26 27 29 31 45 50 96 97 109 119 151 167 170 197 204 242 253"
    rarcs = "N4 N30 N115 N290 M15 M51 M76 MA04 MA130"
    assert all(code in codes.table("carc") for code in carcs.split())
    assert all(code in codes.table("rarc") for code in rarcs.split())
    assert len(codes.table("carc")) >= 120
    assert len(codes.table("rarc")) >= 60


def test_tables_name_their_source_and_date():
    for name in ("carc", "rarc", "plb", "service_types", "aaa", "claim_status_category"):
        head = (SAMPLES.parent / "codes" / f"{name}.csv").read_text().split("\ncode,meaning")[0]
        assert "Source:" in head and "2026-" in head, name
