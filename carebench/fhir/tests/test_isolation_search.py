"""FHIR isolation in searches and bodies: another organization's ids find nothing, change nothing.

The FHIR API's routers are walked, so every search route is tried, and the OpenAPI schema gives
each one's query parameters: each parameter that takes a reference or an id (`patient=`,
`subject=`, `practitioner=`, `actor=`, `location=`, `schedule=`, `request=`, `_id=`, the
appointment type, identifiers...) is given the other organization's value, and the answer must be
an empty Bundle or a 4xx OperationOutcome, never one of its rows. Every other parameter is listed
with why it is no id, so a new parameter must be classified. A control gives the same parameters
with the organization's own values and must find its rows.

Every create and update route is sent a valid body whose references point at the other
organization's patient and practitioner: a 4xx OperationOutcome, and nothing written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from carebench.audit.tests.test_audit_completeness import API_CHANGES, Writes
from carebench.core.tests import worlds
from carebench.core.tests.test_isolation_params import MARK, fingerprint, mark_rows
from carebench.fhir import datatypes as dt
from carebench.fhir.api import api
from carebench.fhir.outcome import FHIR_JSON

from .conftest import FhirClient, token_for

Value = Callable[[SimpleNamespace], str]


def _patient_of(resource: str) -> Callable[[SimpleNamespace], Any]:
    """The patient a world's rows of `resource` belong to."""
    if resource in ("Claim", "ClaimResponse", "ExplanationOfBenefit"):
        return lambda w: w.billing.claim.patient_id
    if resource == "MedicationAdministration":
        return lambda w: w.emar.dose.residency.patient_id
    return lambda w: w.patient.pk


def _own_id(resource: str) -> Value:
    """The logical id of a world's row of `resource` (from the read route's filler)."""
    read = next(
        name
        for name, _ in READ_ROUTES.items()
        if name in worlds.FHIR_ROUTES and _path_of(name).split("/")[2] == resource
    )
    return lambda w: _logical_id(read, w)


def _logical_id(read: str, w: SimpleNamespace) -> str:
    path = reverse(read, kwargs=worlds.FHIR_ROUTES[read](w))
    return path.rstrip("/").rsplit("/", 1)[-1]


# How a parameter that takes a reference or an id gets a world's value, by parameter name; the
# resource the search is on is passed in.
REFERENCES: dict[str, Callable[[str], Value]] = {
    "patient": lambda r: lambda w: f"Patient/{_patient_of(r)(w)}",
    "subject": lambda r: lambda w: f"Patient/{_patient_of(r)(w)}",
    "practitioner": lambda r: lambda w: f"Practitioner/{w.provider.pk}",
    "actor": lambda r: lambda w: f"Practitioner/{w.provider.pk}",
    "schedule.actor": lambda r: lambda w: f"Practitioner/{w.provider.pk}",
    "schedule": lambda r: lambda w: f"Schedule/{w.provider.pk}",
    "location": lambda r: lambda w: f"Location/{w.encounter.facility_id}",
    "partof": lambda r: lambda w: f"Location/{w.encounter.facility_id}",
    "appointment": lambda r: lambda w: f"Appointment/{w.appt.pk}",
    "request": lambda r: lambda w: f"Claim/{w.billing.claim.pk}",
    "service-type": lambda r: lambda w: str(w.appt.appointment_type_id),
    "appointment-type": lambda r: lambda w: str(w.appt.appointment_type_id),
    "_id": _own_id,
    "identifier": lambda r: IDENTIFIERS[r],
}
IDENTIFIERS: dict[str, Value] = {
    "Patient": lambda w: f"{dt.mrn_system(w.user.organization)}|{w.patient.mrn}",
    "Practitioner": lambda w: f"http://hl7.org/fhir/sid/us-npi|{w.provider.npi}",
    "Claim": lambda w: w.billing.claim.number,
}
# Query parameters that are no reference or id, and why.
NOT_REFERENCES: dict[str, str] = {
    "_count": "paging",
    "_offset": "paging",
    "page": "paging",
    "_include": "which related resources to include (a fixed value)",
    "name": "text",
    "family": "text",
    "given": "text",
    "birthdate": "a date",
    "date": "a date",
    "created": "a date",
    "start": "a date",
    "authored": "a date",
    "authoredon": "a date",
    "effective-time": "a date",
    "clinical-status": "a status code",
    "status": "a status code",
    "active": "true or false",
    "category": "a category code",
    "code": "a LOINC, ICD-10 or lab code",
    "vaccine-code": "a CVX code",
    "class": "an encounter class code",
    "type": "a document type code",
    "use": "claim, preauthorization or predetermination",
    "accession": "a specimen's accession, looked up among the organization's own specimens",
}
# Parameters a search needs besides the one tried, from the asking organization's world.
EXTRA: dict[str, dict[str, Value]] = {
    "fhir:search_claims": {"patient": lambda w: f"Patient/{w.billing.claim.patient_id}"},
}


def _path_of(route: str) -> str:
    return ROUTES_BY_NAME[route][0]


@cache
def _operations() -> dict[str, tuple[str, str]]:
    """Every operation of the FHIR API: `fhir:<name>` -> (path, method), from the routers."""
    found = {}
    for _prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                for method in operation.methods:
                    found[f"fhir:{operation.view_func.__name__}"] = ("/fhir" + path, method)
    return found


ROUTES_BY_NAME = _operations()
SEARCHES = sorted(
    name for name, (path, method) in ROUTES_BY_NAME.items() if method == "GET" and "{" not in path
)
READ_ROUTES = {
    name: path for name, (path, method) in ROUTES_BY_NAME.items() if method == "GET" and "{" in path
}
WRITES = sorted(name for name, (_, method) in ROUTES_BY_NAME.items() if method in ("POST", "PUT"))
# Searches that hold no patient rows and take no id of another organization's rows.
PLAIN_SEARCHES = {"fhir:metadata": "the CapabilityStatement: no search"}
# Writes whose body refers to no patient or practitioner.
NO_REFERENCE_BODIES = {
    "fhir:create_patient": "a new Patient refers to no other row",
    "fhir:update_patient": "a Patient refers to no other row (its own id is in the path)",
}


@cache
def _query_params(route: str) -> list[str]:
    path, method = ROUTES_BY_NAME[route]
    schema = api.get_openapi_schema(path_prefix="/fhir")
    operation = schema["paths"][path][method.lower()]
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]


def _resource(route: str) -> str:
    return _path_of(route).split("/")[2]


def _references(route: str) -> list[str]:
    return [p for p in _query_params(route) if p in REFERENCES]


def test_every_search_parameter_is_classified():
    unknown = sorted(
        f"{route}: {param}"
        for route in SEARCHES
        for param in _query_params(route)
        if param not in REFERENCES and param not in NOT_REFERENCES
    )
    assert not unknown, (
        "classify these search parameters: REFERENCES if they take an id or a reference "
        f"(with how to fill it), else NOT_REFERENCES with why: {unknown}"
    )


def test_every_search_takes_an_id_to_try():
    """A search with nothing to try must say why (so a new search is not skipped silently)."""
    untried = sorted(r for r in SEARCHES if not _references(r) and r not in PLAIN_SEARCHES)
    assert not untried, (
        f"these searches take no id parameter; list them in PLAIN_SEARCHES: {untried}"
    )


def test_every_write_is_tried():
    untried = sorted(r for r in WRITES if r not in API_CHANGES)
    assert not untried, f"add a valid body for these writes (audit test's API_CHANGES): {untried}"


# --- the searches ------------------------------------------------------------------------------


@pytest.fixture
def two_full_worlds(org, other_org, icd10):
    mine = worlds.full_world(org, worlds.NPIS[0])
    mine.everyone = worlds.everyone(org)
    theirs = worlds.full_world(other_org, worlds.NPIS[1])
    theirs.everyone = worlds.everyone(other_org)
    return mine, theirs


def _search(client: FhirClient, route: str, params: dict[str, str]) -> Any:
    return client.get(_path_of(route), params)


def _params(
    route: str, param: str, source: SimpleNamespace, asking: SimpleNamespace
) -> dict[str, str]:
    """`param` filled from `source`'s world; what else the search needs from `asking`'s."""
    extra = {key: fill(asking) for key, fill in EXTRA.get(route, {}).items()}
    return {**extra, param: REFERENCES[param](_resource(route))(source)}


def _cases() -> list[tuple[str, str]]:
    return [(route, param) for route in SEARCHES for param in _references(route)]


def _outcome_or_empty(response: Any) -> str:
    """'' if the answer is an empty Bundle or a 4xx OperationOutcome; else what is wrong."""
    if not response["Content-Type"].startswith(FHIR_JSON):
        return f"not FHIR JSON: {response['Content-Type']}"
    body = response.json()
    if 400 <= response.status_code < 500:
        return "" if body.get("resourceType") == "OperationOutcome" else "a 4xx, not an outcome"
    if response.status_code != 200:
        return f"status {response.status_code}"
    if body.get("resourceType") != "Bundle":
        return f"a {body.get('resourceType')}, not a Bundle"
    if body.get("entry") or body.get("total"):
        found = [e["resource"]["resourceType"] + "/" + e["resource"]["id"] for e in body["entry"]]
        return f"found {found}"
    return ""


@pytest.mark.parametrize("route,param", _cases())
def test_a_search_by_the_other_organizations_id_finds_nothing(two_full_worlds, route, param):
    mine, theirs = two_full_worlds
    params = _params(route, param, theirs, mine)
    mark_rows(theirs.user.organization)
    response = _search(FhirClient(token_for(mine.everyone)), route, params)
    problem = _outcome_or_empty(response)
    assert not problem, f"{route}?{param}={params[param]}: {problem}"
    assert MARK not in response.content.decode()


@pytest.mark.parametrize("route,param", _cases())
def test_the_same_search_by_an_own_id_finds_the_row(two_full_worlds, route, param):
    """The control: the empty answer above is the id's doing."""
    mine, _ = two_full_worlds
    params = _params(route, param, mine, mine)
    response = _search(FhirClient(token_for(mine.everyone)), route, params)
    assert response.status_code == 200, (route, params, response.content[:300])
    assert response.json().get("entry"), f"{route}?{params}: found nothing of its own"


# --- the bodies --------------------------------------------------------------------------------


def _swap(body: dict[str, Any], mine: SimpleNamespace, theirs: SimpleNamespace) -> dict[str, Any]:
    """The body with every reference to our patient and provider pointed at theirs."""
    text = json.dumps(body)
    for kind, ours, other in (
        ("Patient", mine.patient.pk, theirs.patient.pk),
        ("Practitioner", mine.provider.pk, theirs.provider.pk),
    ):
        text = text.replace(f'"{kind}/{ours}"', f'"{kind}/{other}"')
    return dict(json.loads(text))


@pytest.mark.parametrize("route", sorted(r for r in WRITES if r not in NO_REFERENCE_BODIES))
def test_a_body_referring_to_the_other_organization_is_refused(two_full_worlds, route):
    mine, theirs = two_full_worlds
    spec = API_CHANGES[route]
    if spec.before is not None:
        spec.before(mine)
    kwargs = worlds.FHIR_ROUTES[route](mine) if route in worlds.FHIR_ROUTES else None
    url = reverse(route, kwargs=kwargs)
    ours = spec.body(mine)
    body = _swap(ours, mine, theirs)
    assert body != ours, f"{route}: the body names no patient or practitioner to swap"
    client = FhirClient(token_for(mine.everyone))
    before = fingerprint(theirs.user.organization)
    writes = Writes()
    with connection.execute_wrapper(writes):
        response = getattr(client, spec.method)(url, body)
    assert 400 <= response.status_code < 500, (route, response.status_code, response.content[:300])
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not writes.tables, f"{route}: wrote {writes.tables}"
    assert fingerprint(theirs.user.organization) == before
