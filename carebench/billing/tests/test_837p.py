"""The 837P writer: what it writes, loop by loop, and that pyx12 accepts every file it makes."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from carebench.billing.x12 import synthetic
from carebench.billing.x12.check837 import validate_with_pyx12
from carebench.billing.x12.parse import Segment, read_interchange
from carebench.billing.x12.write837 import (
    ServiceLine,
    SubscriberGroup,
    amount,
    ndc11,
    text,
    write_837p,
)

SAMPLES = Path(__file__).resolve().parents[1] / "x12" / "samples"


def segs(written: str, sid: str) -> list[Segment]:
    return [s for s in read_interchange(written).segments if s.id == sid]


def one(written: str, sid: str) -> Segment:
    (found,) = segs(written, sid)
    return found


# --- pyx12 accepts what we write ----------------------------------------------------------------


def test_one_claim_for_a_self_subscriber_passes_pyx12():
    assert validate_with_pyx12(write_837p(synthetic.batch())) == []


def test_a_dependent_patient_passes_pyx12():
    group = SubscriberGroup(
        synthetic.subscriber(relationship="19"), (synthetic.office_visit(),), synthetic.dependent()
    )
    assert validate_with_pyx12(write_837p(synthetic.batch([group]))) == []


def test_several_claims_and_subscribers_pass_pyx12():
    assert validate_with_pyx12(write_837p(synthetic.mixed_batch())) == []


def test_modifiers_and_units_pass_pyx12():
    line = ServiceLine(
        code="97110",
        charge=Decimal("90.25"),
        units=Decimal("2.5"),
        service_date=synthetic.SERVICE_DATE,
        pointers=(1,),
        modifiers=("GP", "59", "KX", "XS"),
    )
    claim = synthetic.office_visit(lines=(line,))
    batch = synthetic.batch([SubscriberGroup(synthetic.subscriber(), (claim,))])
    assert validate_with_pyx12(write_837p(batch)) == []


def test_an_ndc_line_passes_pyx12():
    batch = synthetic.batch(
        [SubscriberGroup(synthetic.subscriber(), (synthetic.injection_visit(),))]
    )
    assert validate_with_pyx12(write_837p(batch)) == []


def test_twelve_diagnoses_pass_pyx12():
    claim = synthetic.office_visit(diagnoses=synthetic.TWELVE_DIAGNOSES)
    batch = synthetic.batch([SubscriberGroup(synthetic.subscriber(), (claim,))])
    assert validate_with_pyx12(write_837p(batch)) == []


def test_a_batch_split_into_transaction_sets_passes_pyx12():
    written = write_837p(synthetic.mixed_batch(), max_claims_per_transaction=2)
    assert validate_with_pyx12(written) == []


def test_the_sample_files_pass_pyx12():
    for name in synthetic.SAMPLES:
        assert validate_with_pyx12((SAMPLES / name).read_text()) == [], name


def test_the_sample_files_are_what_synthetic_writes():
    for name, make in synthetic.SAMPLES.items():
        assert (SAMPLES / name).read_text() == make(), name


# --- envelopes ----------------------------------------------------------------------------------


def test_isa_is_fixed_width_with_our_delimiters():
    written = write_837p(synthetic.batch())
    isa = written.split("~", 1)[0] + "~"
    assert len(isa) == 106
    assert isa[3] == "*" and isa[82] == "^" and isa[104] == ":"
    assert isa[90:99] == "000000001"


def test_control_numbers_come_from_the_batch():
    written = write_837p(synthetic.batch(interchange_control=123, group_control=77))
    interchange = read_interchange(written)
    assert interchange.control_number == "000000123"
    assert interchange.groups[0].control_number == "77"
    assert one(written, "IEA").element(2) == "000000123"
    assert one(written, "GE").element(2) == "77"


def test_usage_goes_in_isa15():
    written = write_837p(replace(synthetic.batch(), usage="P"))
    assert read_interchange(written).usage == "P"


def test_transaction_sets_hold_at_most_the_claim_limit():
    interchange = read_interchange(
        write_837p(synthetic.mixed_batch(), max_claims_per_transaction=2)
    )
    transactions = interchange.groups[0].transactions
    assert [t.control_number for t in transactions] == ["0001", "0002"]
    assert [sum(s.id == "CLM" for s in t.segments) for t in transactions] == [2, 2]


def test_can_write_without_line_breaks():
    written = write_837p(synthetic.batch(), line_breaks=False)
    assert "\n" not in written
    assert written.endswith("IEA*1*000000001~")


# --- loops --------------------------------------------------------------------------------------


def test_header_loops_name_submitter_receiver_and_billing_provider():
    written = write_837p(synthetic.batch())
    names = {s.element(1): s for s in segs(written, "NM1")}
    assert names["41"].element(9) == "CB0001"
    assert names["40"].element(9) == "DEMOCH"
    assert (names["85"].element(8), names["85"].element(9)) == ("XX", synthetic.BILLING_NPI)
    assert [s.elements for s in segs(written, "REF") if s.element(1) == "EI"] == [
        ("EI", "123456789")
    ]
    assert segs(written, "PRV")[0].elements == ("BI", "PXC", "207Q00000X")


def test_billing_provider_zip_is_nine_digits():
    written = write_837p(synthetic.batch())
    assert segs(written, "N4")[0].element(3) == "627011234"


def test_self_subscriber_is_relationship_18_without_a_patient_level():
    written = write_837p(synthetic.batch())
    assert one(written, "SBR").elements[:3] == ("P", "18", "GRP100")
    assert [s.element(3) for s in segs(written, "HL")] == ["20", "22"]
    assert segs(written, "PAT") == []


def test_dependent_gets_a_patient_level_with_pat():
    group = SubscriberGroup(
        synthetic.subscriber(relationship="19"), (synthetic.office_visit(),), synthetic.dependent()
    )
    written = write_837p(synthetic.batch([group]))
    hls = [s.elements for s in segs(written, "HL")]
    assert hls == [("1", "", "20", "1"), ("2", "1", "22", "1"), ("3", "2", "23", "0")]
    assert one(written, "SBR").element(2) == ""
    assert one(written, "PAT").element(1) == "19"
    assert [s.element(1) for s in segs(written, "NM1")][-2:] == ["QC", "82"]


def test_claim_filing_indicator_and_payer():
    batch = synthetic.batch(
        [
            SubscriberGroup(
                synthetic.subscriber(claim_filing_indicator="MB"), (synthetic.office_visit(),)
            )
        ]
    )
    written = write_837p(batch)
    assert one(written, "SBR").element(9) == "MB"
    payer = next(s for s in segs(written, "NM1") if s.element(1) == "PR")
    assert (payer.element(3), payer.element(8), payer.element(9)) == (
        "Acme Health Plan",
        "PI",
        "ACME1",
    )


def test_clm_carries_total_place_of_service_and_indicators():
    clm = one(write_837p(synthetic.batch()), "CLM")
    assert clm.elements == ("CB0000001", "160.5", "", "", "11:B:1", "Y", "A", "Y", "Y")


def test_total_charge_defaults_to_the_sum_of_the_lines():
    claim = synthetic.office_visit(total_charge=None)
    written = write_837p(synthetic.batch([SubscriberGroup(synthetic.subscriber(), (claim,))]))
    assert one(written, "CLM").element(2) == "160.5"


def test_icd10_codes_are_written_without_the_dot_principal_first():
    claim = synthetic.office_visit(diagnoses=("J02.9", "r50.9", "E11.65"))
    written = write_837p(synthetic.batch([SubscriberGroup(synthetic.subscriber(), (claim,))]))
    assert one(written, "HI").elements == ("ABK:J029", "ABF:R509", "ABF:E1165")


def test_claim_references_amount_paid_and_referring_provider():
    batch = synthetic.batch(
        [SubscriberGroup(synthetic.subscriber(), (synthetic.injection_visit(),))]
    )
    written = write_837p(batch)
    assert ("G1", "PA778899") in [s.elements for s in segs(written, "REF")]
    assert one(written, "AMT").elements == ("F5", "20")
    referring = next(s for s in segs(written, "NM1") if s.element(1) == "DN")
    assert referring.element(9) == synthetic.REFERRING_NPI


def test_rendering_provider_with_taxonomy():
    written = write_837p(synthetic.batch())
    rendering = next(s for s in segs(written, "NM1") if s.element(1) == "82")
    assert rendering.elements == ("82", "1", "Rivera", "Ana", "", "", "", "XX", "1245319599")
    assert segs(written, "PRV")[-1].elements == ("PE", "PXC", "207Q00000X")


def test_service_lines_are_numbered_with_procedure_charge_units_and_pointers():
    written = write_837p(synthetic.batch())
    assert [s.element(1) for s in segs(written, "LX")] == ["1", "2"]
    assert [s.elements for s in segs(written, "SV1")] == [
        ("HC:99213:25", "125", "UN", "1", "", "", "1:2"),
        ("HC:87880", "35.5", "UN", "1", "", "", "1"),
    ]


def test_each_line_has_its_date_of_service_and_line_id():
    written = write_837p(synthetic.batch())
    assert [s.elements for s in segs(written, "DTP")] == [("472", "D8", "20261120")] * 2
    assert [s.element(2) for s in segs(written, "REF") if s.element(1) == "6R"] == [
        "CB0000001-1",
        "CB0000001-2",
    ]


def test_a_date_range_is_written_as_rd8():
    line = replace(
        synthetic.office_visit().lines[0],
        service_end_date=synthetic.SERVICE_DATE.replace(day=21),
    )
    claim = synthetic.office_visit(lines=(line,))
    written = write_837p(synthetic.batch([SubscriberGroup(synthetic.subscriber(), (claim,))]))
    assert one(written, "DTP").elements == ("472", "RD8", "20261120-20261121")


def test_four_modifiers_and_fractional_units():
    line = replace(
        synthetic.office_visit().lines[0],
        modifiers=("gp", "59", "KX", "XS"),
        units=Decimal("2.50"),
        unit="MJ",
    )
    claim = synthetic.office_visit(lines=(line,))
    written = write_837p(synthetic.batch([SubscriberGroup(synthetic.subscriber(), (claim,))]))
    sv1 = one(written, "SV1")
    assert sv1.components(1) == ("HC", "99213", "GP", "59", "KX", "XS")
    assert (sv1.element(3), sv1.element(4)) == ("MJ", "2.5")


def test_an_ndc_line_gets_lin_and_ctp():
    batch = synthetic.batch(
        [SubscriberGroup(synthetic.subscriber(), (synthetic.injection_visit(),))]
    )
    written = write_837p(batch)
    assert one(written, "LIN").elements == ("", "N4", "00409379501")
    assert one(written, "CTP").elements == ("", "", "", "1", "ML")


# --- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (Decimal("100.00"), "100"),
        (Decimal("12.50"), "12.5"),
        (Decimal("0.99"), "0.99"),
        (Decimal("1.005"), "1.01"),
        (Decimal("0"), "0"),
        (Decimal("1E+2"), "100"),
    ],
)
def test_amounts_are_x12_r_values(value, written):
    assert amount(value) == written


def test_text_loses_delimiters_and_is_cut_to_length():
    assert text("O'Brien*Smith:Jr~\nx", 60) == "O'Brien Smith Jr x"
    assert text("A" * 70, 60) == "A" * 60


@pytest.mark.parametrize(
    ("ndc", "eleven"),
    [
        ("0409-3795-01", "00409379501"),
        ("49281-400-10", "49281040010"),
        ("58160-0820-1", "58160082001"),
        ("00006404341", "00006404341"),
    ],
)
def test_ndcs_are_padded_to_eleven_digits(ndc, eleven):
    assert ndc11(ndc) == eleven


# --- what cannot be written ---------------------------------------------------------------------


def test_refuses_an_empty_batch():
    with pytest.raises(ValueError, match="at least one claim"):
        write_837p(replace(synthetic.batch(), subscribers=()))


def test_refuses_more_than_twelve_diagnoses():
    claim = synthetic.office_visit(diagnoses=(*synthetic.TWELVE_DIAGNOSES, "Z00.00"))
    with pytest.raises(ValueError, match="more than 12 diagnoses"):
        write_837p(synthetic.batch([SubscriberGroup(synthetic.subscriber(), (claim,))]))


def test_refuses_more_than_four_modifiers():
    line = replace(synthetic.office_visit().lines[0], modifiers=("25", "59", "GP", "KX", "XS"))
    claim = synthetic.office_visit(lines=(line,))
    with pytest.raises(ValueError, match="more than 4 modifiers"):
        write_837p(synthetic.batch([SubscriberGroup(synthetic.subscriber(), (claim,))]))


def test_refuses_a_five_digit_billing_provider_zip():
    batch = replace(
        synthetic.batch(), billing_provider=replace(synthetic.BILLING, postal_code="62701")
    )
    with pytest.raises(ValueError, match="ZIP"):
        write_837p(batch)


def test_refuses_a_dependent_relationship_without_the_patient():
    group = SubscriberGroup(synthetic.subscriber(relationship="19"), (synthetic.office_visit(),))
    with pytest.raises(ValueError, match="needs the patient"):
        write_837p(synthetic.batch([group]))


def test_refuses_an_unknown_claim_filing_indicator():
    group = SubscriberGroup(
        synthetic.subscriber(claim_filing_indicator="XX"), (synthetic.office_visit(),)
    )
    with pytest.raises(ValueError, match="claim filing indicator"):
        write_837p(synthetic.batch([group]))


def test_refuses_a_malformed_ndc():
    with pytest.raises(ValueError, match="NDC"):
        ndc11("12345")


def test_accented_names_are_written_without_their_accents_and_pyx12_accepts_them() -> None:
    from carebench.billing.x12.write837 import SubscriberGroup, write_837p

    batch = synthetic.batch(
        [
            SubscriberGroup(
                synthetic.subscriber(last_name="Núñez", first_name="José"),
                [synthetic.office_visit()],
            )
        ]
    )
    text = write_837p(batch)
    assert "NM1*IL*1*Nunez*Jose" in text
    assert validate_with_pyx12(text) == []
