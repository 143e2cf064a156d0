"""Fixtures for the FHIR API tests: bearer tokens and a client that sends them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from carebench.accounts.services import create_api_token
from carebench.labs.tests.conftest import lab  # noqa: F401  (the lab fixtures, for test_lab_*)
from carebench.testing import actor_for

FHIR_JSON = "application/fhir+json"


class FhirClient:
    """A Django test client that sends a bearer token and FHIR JSON bodies."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, params: Any = None, **headers: str) -> Any:
        return self.client.get(path, params or {}, headers={**self.headers, **headers})

    def post(self, path: str, body: Any, content_type: str = FHIR_JSON, **headers: str) -> Any:
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return self.client.post(
            path, data, content_type=content_type, headers={**self.headers, **headers}
        )

    def put(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.put(
            path, json.dumps(body), content_type=FHIR_JSON, headers={**self.headers, **headers}
        )


def token_for(user: Any) -> str:
    return create_api_token(actor=actor_for(user), user=user)


@pytest.fixture
def fhir(mat: Any) -> FhirClient:
    """A client with a medical assistant's token."""
    return FhirClient(token_for(mat))


@pytest.fixture
def other_fhir(other_mat: Any) -> FhirClient:
    """A client with the other organization's medical assistant's token."""
    return FhirClient(token_for(other_mat))


@pytest.fixture
def anonymous() -> FhirClient:
    return FhirClient(None)
