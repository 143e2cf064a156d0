"""The demo's vaccines: stock to give, the lots that must be refused, and a standing order that
is valid on whatever day the demo starts."""

from __future__ import annotations

import pytest

from carebench.core import clock, demo
from carebench.meds import demo as meds_demo
from carebench.meds import selectors
from carebench.meds.models import Product, StockLot
from carebench.scheduling import demo as schedule_demo
from carebench.testing import load_vaccine_codes

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_org(icd10):
    org = demo.build_demo(patients=6)
    schedule_demo.build_schedule(org)
    load_vaccine_codes()
    meds_demo.build(org)
    return org


def test_the_demo_stocks_vaccines_and_injectables(demo_org):
    kinds = set(Product.objects.for_org(demo_org).values_list("kind", flat=True))
    assert kinds == {"vaccine", "injectable"}
    assert StockLot.objects.for_org(demo_org).filter(funding="vfc").exists()


def test_the_demo_keeps_an_expired_and_a_quarantined_lot_to_refuse(demo_org):
    today = clock.today()
    lots = StockLot.objects.for_org(demo_org)
    assert lots.filter(expires_on__lt=today, doses_on_hand__gt=0).exists()
    assert lots.filter(status="quarantined").exists()


def test_the_flu_standing_order_is_valid_today(demo_org):
    assert [p.vaccine_group for p in selectors.standing_orders(demo_org, clock.today())] == ["FLU"]


def test_the_demo_builds_once(demo_org):
    assert meds_demo.build(demo_org) == 0
