from datetime import date

from carebench.patients.selectors import parse_query, search_patients
from carebench.testing import make_patient


def _names(results):
    return [(p.family_name, p.given_name) for p in results]


def test_parse_last_comma_first():
    q = parse_query("Smith, Jo")
    assert (q.family, q.given) == ("smith", "jo")


def test_parse_date_and_digits():
    q = parse_query("05/17/1980 555-0100")
    assert q.birth_date == date(1980, 5, 17) and q.digits == "5550100"


def test_finds_by_last_name_prefix_case_insensitive(mat):
    make_patient(mat, family_name="Smith", given_name="John")
    make_patient(mat, family_name="Smythe", given_name="Jane")
    assert _names(search_patients(mat.organization, "SMI")) == [("Smith", "John")]


def test_finds_last_comma_first_and_first_last(mat):
    make_patient(mat, family_name="Smith", given_name="John")
    make_patient(mat, family_name="Smith", given_name="Amy")
    assert _names(search_patients(mat.organization, "smith, jo")) == [("Smith", "John")]
    assert _names(search_patients(mat.organization, "john smi")) == [("Smith", "John")]
    assert _names(search_patients(mat.organization, "smith john")) == [("Smith", "John")]


def test_accent_insensitive_both_ways(mat):
    make_patient(mat, family_name="Núñez", given_name="José")
    assert _names(search_patients(mat.organization, "nunez")) == [("Núñez", "José")]
    assert _names(search_patients(mat.organization, "jose NÚÑ")) == [("Núñez", "José")]


def test_finds_by_birth_date_mrn_and_phone(mat):
    patient = make_patient(
        mat, family_name="Park", birth_date=date(1975, 3, 9), phone_mobile="(512) 555-0142"
    )
    org = mat.organization
    assert search_patients(org, "1975-03-09")[0].pk == patient.pk
    assert search_patients(org, "03/09/1975")[0].pk == patient.pk
    assert search_patients(org, patient.mrn)[0].pk == patient.pk
    assert search_patients(org, "512-555-0142")[0].pk == patient.pk
    assert search_patients(org, "5125550")[0].pk == patient.pk


def test_never_returns_another_organizations_patients(mat, other_mat):
    make_patient(other_mat, family_name="Hidden", given_name="Person")
    assert search_patients(mat.organization, "hidden") == []


def test_voided_patients_are_not_found(mat):
    from carebench.core import clock

    patient = make_patient(mat, family_name="Gone")
    type(patient).objects.filter(pk=patient.pk).update(voided_at=clock.now())
    assert search_patients(mat.organization, "gone") == []


def test_search_is_a_few_indexed_queries(mat, django_assert_max_num_queries):
    make_patient(mat, family_name="Smith")
    with django_assert_max_num_queries(3):
        search_patients(mat.organization, "smith")
