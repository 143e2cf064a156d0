"""schemathesis over the FHIR API, in process, with two identities.

The OpenAPI schema is loaded from /fhir/openapi.json through the WSGI application (no server).
Two organizations are seeded with a full world each (patients with charts, visits, labs, EKGs,
vaccines, a home, claims, documents, procedures), and each has a user with every role and a
bearer token. For every operation of the schema and each identity, schemathesis generates a few
requests (positive data, derandomized, so a run is repeatable), and two more are sent with the
identity's own ids and with the other organization's ids in the path or the `patient=` search.

The run is done once for the module (inside one transaction rolled back at the end); the tests
then look at what came back:
- no answer is a server error (5xx);
- every answer conforms to the schema: a documented status code, the documented content type,
  a body that validates;
- no answer to one identity holds a row of the other organization (its resource ids and
  references are collected from the seeded world and from the other identity's own answers).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from carebench.core.tests import worlds
from carebench.testing import FacilityFactory, OrganizationFactory, load_sample_icd10

from .conftest import token_for

# (pytest-django sets the test database up only for a module whose tests ask for it)
pytestmark = pytest.mark.django_db

# Requests generated per operation and identity (on top of the own-id and other-id requests).
EXAMPLES = 3
CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
# The resource types whose ids belong to one organization (those the API reads by id).
OWNED_TYPES = {
    "Patient",
    "AllergyIntolerance",
    "Condition",
    "MedicationStatement",
    "Coverage",
    "Practitioner",
    "Location",
    "Schedule",
    "Slot",
    "Appointment",
    "Encounter",
    "Observation",
    "DiagnosticReport",
    "ServiceRequest",
    "Specimen",
    "Immunization",
    "MedicationAdministration",
    "MedicationRequest",
    "Claim",
    "ClaimResponse",
    "ExplanationOfBenefit",
    "DocumentReference",
    "Binary",
    "Procedure",
    "Consent",
}


@dataclass
class Answer:
    identity: str
    label: str  # "GET /fhir/Patient/{patient_id}"
    method: str
    path: str
    status: int
    content_type: str
    body: str
    failures: dict[str, str] = field(default_factory=dict)  # check name -> message


@dataclass
class Run:
    answers: list[Answer]
    owned: dict[str, set[tuple[str, str]]]  # identity -> (resourceType, id) of its rows


def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]


@contextmanager
def _connection_kept_open() -> Iterator[None]:
    """Django closes the connection at the end of a request; in one test transaction it must
    not (the test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _resources(body: Any) -> Iterator[dict[str, Any]]:
    """Every resource in an answer: the resource itself, a Bundle's entries, contained ones."""
    if isinstance(body, dict):
        if "resourceType" in body and "id" in body:
            yield body
        for value in body.values():
            yield from _resources(value)
    elif isinstance(body, list):
        for item in body:
            yield from _resources(item)


def _references(body: Any) -> Iterator[str]:
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(body, list):
        for item in body:
            yield from _references(item)


def owned_ids(text: str) -> set[tuple[str, str]]:
    """(resourceType, id) of every owned resource an answer holds or refers to."""
    try:
        body = json.loads(text)
    except ValueError:
        return set()
    found = {
        (r["resourceType"], str(r["id"]))
        for r in _resources(body)
        if r["resourceType"] in OWNED_TYPES
    }
    for reference in _references(body):
        parts = reference.rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] in OWNED_TYPES:
            found.add((parts[-2], parts[-1]))
    found.discard(("Bundle", ""))
    return found


def _world_ids(w: Any) -> set[tuple[str, str]]:
    """(resourceType, id) of the world's rows, from the FHIR read routes' fillers."""
    ids = set()
    for route, fill in worlds.FHIR_ROUTES.items():
        path = reverse(route, kwargs=fill(w))
        kind, ident = path.rstrip("/").split("/")[-2:]
        ids.add((kind, ident))
    return ids


def _path_ids(w: Any) -> dict[str, dict[str, str]]:
    """Path parameters by operation path, filled from a world (for own and other-id requests)."""
    by_path = {}
    for route, fill in worlds.FHIR_ROUTES.items():
        kwargs = {key: str(value) for key, value in fill(w).items()}
        by_path[reverse(route, kwargs=kwargs)] = kwargs
    return by_path


def _answer(identity: str, case: Any, response: Any) -> Answer:
    failures = {}
    for check in _checks():
        try:
            case.validate_response(response, checks=[check])
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis's failures come as a group
            failures[check.__name__] = str(exc)[:600]
    return Answer(
        identity=identity,
        label=f"{case.operation.method.upper()} {case.operation.path}",
        method=case.method,
        path=case.formatted_path,
        status=response.status_code,
        content_type=(response.headers.get("content-type") or [""])[0],
        body=response.content.decode(errors="replace") if response.content else "",
        failures=failures,
    )


def _send(identity: str, token: str, case: Any, answers: list[Answer]) -> None:
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    answers.append(_answer(identity, case, response))


def _fuzz(schema: Any, identity: str, token: str, answers: list[Answer]) -> None:
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def fuzz(case: Any) -> None:
            _send(identity, token, case, answers)

        try:
            fuzz()
        except Unsatisfiable:
            pass


def _pointed(schema: Any, identity: str, token: str, w: Any, answers: list[Answer]) -> None:
    """One request per read operation with the world's ids in the path, and one per search
    with the world's patient: with own ids the answers hold rows; with the other's, none."""
    by_path = _path_ids(w)
    patient = f"Patient/{w.patient.pk}"
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "GET":
            continue
        template = operation.path
        if "{" in template:
            for filled, kwargs in by_path.items():
                if _matches(template, filled, kwargs):
                    case = operation.Case(path_parameters=kwargs)
                    _send(identity, token, case, answers)
        elif "patient" in operation.query:
            case = operation.Case(query={"patient": patient})
            _send(identity, token, case, answers)


def _matches(template: str, path: str, kwargs: dict[str, str]) -> bool:
    """Whether `path` is `template` filled with `kwargs` (`/Observation/lab-{result_id}`...)."""
    try:
        return template.format(**kwargs) == path
    except KeyError:
        return False


@pytest.fixture(scope="module")
def run(django_db_setup: Any, django_db_blocker: Any) -> Run:
    import schemathesis
    from django.core.wsgi import get_wsgi_application

    answers: list[Answer] = []
    with django_db_blocker.unblock(), transaction.atomic(), _connection_kept_open():
        load_sample_icd10()
        seeded = {}
        for name, npi in zip(("A", "B"), worlds.NPIS, strict=True):
            org = OrganizationFactory(name=f"Organization {name}")
            FacilityFactory(organization=org)
            w = worlds.full_world(org, npi)
            w.everyone = worlds.everyone(org)
            seeded[name] = (w, token_for(w.everyone))
        schema = schemathesis.openapi.from_wsgi("/fhir/openapi.json", get_wsgi_application())
        for identity, (w, token) in seeded.items():
            _fuzz(schema, identity, token, answers)
            _pointed(schema, identity, token, w, answers)
            other = seeded["B" if identity == "A" else "A"][0]
            _pointed(schema, identity, token, other, answers)
        owned = {name: _world_ids(w) for name, (w, _) in seeded.items()}
        transaction.set_rollback(True)
    for answer in answers:  # what each identity's own successful answers show is its own
        if answer.status < 300:
            owned[answer.identity] |= owned_ids(answer.body)
    return Run(answers=answers, owned=owned)


def _report(answers: list[Answer], check: str) -> str:
    lines = [
        f"{a.identity} {a.method} {a.path} -> {a.status}: {a.failures[check]}"
        for a in answers
        if check in a.failures
    ]
    return "\n".join(lines[:15])


def test_the_run_covers_every_operation_for_both_identities(run):
    from carebench.fhir.api import api

    schema = api.get_openapi_schema(path_prefix="/fhir")
    labels = {f"{method.upper()} {path}" for path, ops in schema["paths"].items() for method in ops}
    for identity in ("A", "B"):
        seen = {a.label for a in run.answers if a.identity == identity}
        assert labels <= seen, f"{identity}: never requested {sorted(labels - seen)}"


def test_no_answer_is_a_server_error(run):
    errors = [a for a in run.answers if a.status >= 500]
    assert not errors, _report(errors, "not_a_server_error") or [a.path for a in errors]


@pytest.mark.parametrize(
    "check", ["status_code_conformance", "content_type_conformance", "response_schema_conformance"]
)
def test_every_answer_conforms_to_the_schema(run, check):
    failing = [a for a in run.answers if check in a.failures]
    assert not failing, f"{len(failing)} answer(s) break {check}:\n{_report(failing, check)}"


@pytest.mark.parametrize("identity,other", [("A", "B"), ("B", "A")])
def test_no_answer_shows_the_other_organizations_rows(run, identity, other):
    leaks = []
    for answer in run.answers:
        if answer.identity == identity:
            shown = owned_ids(answer.body) & run.owned[other]
            if shown:
                leaks.append(f"{answer.method} {answer.path} -> {answer.status}: {sorted(shown)}")
    assert not leaks, "\n".join(leaks[:15])


def test_the_scan_would_see_a_row_of_the_other_organization(run):
    """The leak check above can fail: the other identity's own answers do hold its rows."""
    own_rows = set().union(*(owned_ids(a.body) for a in run.answers if a.identity == "B"))
    assert own_rows & run.owned["B"]
