"""`carebench hl7 import`, `outbox` and `listen` (live over a socket)."""

from __future__ import annotations

import socket
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hl7.client import MLLPClient

from carebench import cli
from carebench.labs.hl7 import mllp
from carebench.labs.management.commands.carebench_hl7 import Listener
from carebench.labs.models import Hl7Message, LabResult

from .conftest import order_for
from .hl7_helpers import assert_strictly_valid, for_order


def _run(*args: str) -> str:
    out = StringIO()
    call_command("carebench_hl7", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_import_one_file_with_many_messages(lab, tmp_path):
    cbc = order_for(lab, "CBC")
    cmp_ = order_for(lab, "CMP")
    text = (
        for_order("oru_cbc.hl7", cbc).replace("\r", "\n")
        + "\n"
        + for_order("oru_cmp_critical.hl7", cmp_).replace("\r", "\n")
        + for_order("oru_unknown_placer.hl7", cbc)
        + for_order("malformed_nm_value.hl7", cbc)
    )
    path = tmp_path / "results.hl7"
    path.write_text(text)
    out = _run("import", str(path), "--organization", lab.org.slug)
    lines = out.strip().splitlines()
    assert lines[0] == "results.hl7 #1 Q2025031400001: AA accepted"
    assert lines[1] == "results.hl7 #2 Q2025031400002: AA accepted"
    assert lines[2].startswith("results.hl7 #3 Q2025031400099: AA unmatched (no order with")
    assert lines[3].startswith("results.hl7 #4 Q2025031400100: AE error (OBX-5:")
    assert lines[4] == "4 message(s): AA 3, AE 1"
    assert LabResult.objects.filter(order=cbc).count() == 5
    assert LabResult.objects.filter(order=cmp_).count() == 7


@pytest.mark.django_db
def test_import_defaults_to_the_only_organization(lab, tmp_path):
    order = order_for(lab, "CBC")
    path = tmp_path / "one.hl7"
    path.write_text(for_order("oru_cbc.hl7", order))
    assert "AA accepted" in _run("import", str(path))


@pytest.mark.django_db
def test_unknown_organization_is_an_error(lab, tmp_path):
    with pytest.raises(CommandError):
        _run("import", str(tmp_path / "x.hl7"), "--organization", "nobody")


@pytest.mark.django_db
def test_outbox_dump_writes_every_outbound_message_and_marks_them_sent(lab, tmp_path):
    first = order_for(lab, "CBC")
    second = order_for(lab, "CMP", priority="stat")
    out = _run("outbox", "--dump", str(tmp_path / "out"), "--organization", str(lab.org.pk))
    assert out.strip() == f"2 message(s) written to {tmp_path / 'out'}"
    for order in (first, second):
        text = (tmp_path / "out" / f"{order.number}.hl7").read_text()
        assert text.startswith("MSH|^~\\&|CAREBENCH|")
        assert_strictly_valid(text)
    assert set(Hl7Message.objects.values_list("status", flat=True)) == {"sent"}


def test_cli_routes_hl7():
    assert cli.COMMANDS["hl7"] == "carebench_hl7"


def test_mllp_framing():
    framed = mllp.frame("MSH|^~\\&|A\r")
    assert framed == b"\x0bMSH|^~\\&|A\r\x1c\r"
    assert mllp.unframe(framed) == b"MSH|^~\\&|A\r"
    deframer = mllp.Deframer()
    assert deframer.feed(framed[:5]) == []
    assert deframer.feed(framed[5:] + framed) == [b"MSH|^~\\&|A\r", b"MSH|^~\\&|A\r"]
    with pytest.raises(mllp.FramingError):
        mllp.Deframer().feed(b"garbage\x1c\r")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_listener_over_a_real_socket(transactional_db, lab):
    order = order_for(lab, "CBC")
    listener = Listener(lab.org, "127.0.0.1", _free_port())
    thread = threading.Thread(target=listener.run, kwargs={"install_signals": False}, daemon=True)
    thread.start()
    assert listener.ready.wait(10)
    try:
        # a bad client: bytes without the MLLP start block, then it hangs up
        with socket.create_connection(("127.0.0.1", listener.bound_port)) as bad:
            bad.sendall(b"this is not MLLP\x1c\r")
            bad.settimeout(5)
            assert bad.recv(100) == b""  # dropped
        with MLLPClient("127.0.0.1", listener.bound_port) as client:
            ack = client.send_message(for_order("oru_cbc.hl7", order))
            assert ack.startswith(b"\x0b") and ack.endswith(b"\x1c\r")
            text = mllp.unframe(ack).decode()
            assert "\rMSA|AA|Q2025031400001" in text
            assert_strictly_valid(text)
            bad_ack = mllp.unframe(
                client.send_message(for_order("malformed_nm_value.hl7", order))
            ).decode()
            assert "\rMSA|AE|Q2025031400100" in bad_ack
            assert "ERR||OBX^1^5|102^" in bad_ack
    finally:
        listener.stop()
        thread.join(10)
    assert not thread.is_alive()
    assert LabResult.objects.filter(order=order).count() == 5
    assert Hl7Message.objects.filter(direction="in").count() == 2
