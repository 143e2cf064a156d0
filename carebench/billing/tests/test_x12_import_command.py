"""`carebench x12 import-835 | import-999 | import-277ca FILE [--org SLUG] [--user USERNAME]`."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from carebench.billing.models import ClaimEvent, Remittance
from carebench.billing.tests.test_remit_services import Clp, write_835
from carebench.testing import make_billing_clinic, make_claim, make_sent_batch

SAMPLES = Path(__file__).resolve().parents[1] / "x12" / "samples"


def _run(*args: str) -> str:
    out = StringIO()
    call_command("carebench_x12", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def clinic(biller: Any) -> Any:
    return make_billing_clinic(biller)


@pytest.mark.django_db
def test_import_835_posts_and_prints_a_summary(clinic: Any, biller: Any, tmp_path: Path) -> None:
    paid = make_claim(clinic, lines=[("99213", "110.00")])
    denied = make_claim(clinic, lines=[("99213", "110.00")])
    era = tmp_path / "era.835"
    era.write_text(
        write_835(
            [
                Clp(paid.number, "110", "90", cas=[("CO", "45", "20")]),
                Clp(denied.number, "110", "0", status="4", cas=[("CO", "16", "110")]),
                Clp("XX0001", "40", "40"),
            ],
            trace="CHK1001",
        )
    )
    out = _run("import-835", str(era), "--org", clinic.org.slug, "--user", biller.username)
    assert "CHK1001: 2 claim(s) posted, $130.00 paid, 1 denied, 1 unmatched" in out
    assert "unmatched: XX0001" in out
    paid.refresh_from_db()
    assert (paid.status, paid.paid_amount) == ("paid", Decimal("90.00"))
    event = ClaimEvent.objects.get(claim=paid)
    assert (event.by, event.source) == (biller, "era.835")


@pytest.mark.django_db
def test_import_835_refuses_a_bad_file_naming_the_segment(clinic: Any, tmp_path: Path) -> None:
    era = tmp_path / "broken.835"
    text = write_835([Clp("CB1", "110", "110")])
    era.write_text(text[: text.index("SE*")])
    with pytest.raises(CommandError, match=r"broken.835: The file cannot be read: segment \d+"):
        _run("import-835", str(era), "--org", clinic.org.slug)
    assert not Remittance.objects.exists()


@pytest.mark.django_db
def test_import_835_refuses_the_same_payment_twice(clinic: Any, tmp_path: Path) -> None:
    era = tmp_path / "era.835"
    era.write_text(write_835([Clp("CB1", "110", "110")], trace="EFT42"))
    _run("import-835", str(era))  # the only organization
    with pytest.raises(CommandError, match="EFT42.*already posted"):
        _run("import-835", str(era))


@pytest.mark.django_db
def test_import_999_prints_the_batch(clinic: Any) -> None:
    make_sent_batch(clinic, 302, ["CB1003"])
    out = _run("import-999", str(SAMPLES / "999-rejected.x12"), "--org", clinic.org.slug)
    assert "999: 0 claim(s) accepted, 1 rejected" in out
    assert "837P 000000302: Rejected (999)" in out


@pytest.mark.django_db
def test_import_277ca_lists_claims_that_are_not_ours(clinic: Any) -> None:
    make_claim(clinic, number="CB1001")
    out = _run("import-277ca", str(SAMPLES / "277ca-accepted.x12"))
    assert "277CA: 1 claim(s) accepted, 0 rejected" in out
    assert "not ours (not found): CB1002" in out


@pytest.mark.django_db
def test_an_unknown_organization_is_refused(clinic: Any) -> None:
    with pytest.raises(CommandError, match="no organization 'nowhere'"):
        _run("import-277ca", str(SAMPLES / "277ca-accepted.x12"), "--org", "nowhere")
