"""`record_many` appends several events under one lock of the chain head; the chain verifies."""

from __future__ import annotations

import pytest

from carebench.audit import services
from carebench.audit.chain import event_hash
from carebench.audit.models import AuditChainHead, AuditEvent
from carebench.audit.verify import FIELDS, verify_all, verify_chain
from carebench.testing import actor_for, make_patient

pytestmark = pytest.mark.django_db


def test_record_many_keeps_the_chain_verifiable(mat, other_org, django_assert_max_num_queries):
    make_patient(mat, family_name="Ames")  # an event recorded one at a time first
    actor = actor_for(mat)
    chain = f"org-{mat.organization_id}"
    before = AuditChainHead.objects.get(chain=chain).seq
    with django_assert_max_num_queries(3):  # lock the head, one INSERT, move the head
        events = services.record_many_for_actor(
            actor,
            [
                {"action": "create", "resource_type": "Thing", "resource_id": i, "detail": {"n": i}}
                for i in range(40)
            ],
        )
    assert [e.seq for e in events] == list(range(before + 1, before + 41))
    assert all(e.pk is not None for e in events)
    services.record_for_actor(actor, action="view", resource_type="Thing")  # and one after
    services.record_many(
        [
            {"action": "create", "organization_id": other_org.pk, "channel": "cli"},
            {"action": "create", "organization_id": mat.organization_id, "channel": "cli"},
        ]
    )
    report = verify_chain(chain)
    assert report.problems == []
    assert report.events == before + 42
    assert all(not r.problems for r in verify_all())
    head = AuditChainHead.objects.get(chain=chain)
    last = AuditEvent.objects.filter(chain=chain).order_by("-seq").values(*FIELDS).first()
    assert last is not None
    assert (head.seq, head.hash) == (last["seq"], event_hash(last))


def test_record_many_of_nothing_writes_nothing(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert services.record_many([]) == []
