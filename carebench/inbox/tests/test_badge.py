"""The inbox badge in the navigation."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from carebench.conftest import signed_in
from carebench.inbox.tests.factories import make_item

pytestmark = pytest.mark.django_db


def test_the_navigation_shows_my_open_items(mat: Any, frontdesk: Any) -> None:
    make_item(frontdesk, to_user=mat)
    page = signed_in(mat).get(reverse("inbox:home")).content.decode()
    assert 'title="1 open, 0 overdue">1</span>' in page
