"""`carebench hl7 import`, `outbox` (a folder per message type, or one type) and `listen` (live
over a socket)."""

from __future__ import annotations

import socket
import threading
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from hl7.client import MLLPClient

from carebench import cli
from carebench.labs import hl7_services
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


def _vxu(lab, control_id: str = "V0001", status: str = "queued") -> Hl7Message:
    """A registry VXU^V04 in the outbound table, next to the lab's ORM^O01 orders."""
    return Hl7Message.objects.create(
        organization=lab.org,
        direction="out",
        message_type="VXU^V04",
        control_id=control_id,
        raw=(
            f"MSH|^~\\&|CAREBENCH|clinic|IIS|STATE|20250314||VXU^V04^VXU_V04|{control_id}|P|2.5.1\r"
        ),
        status=status,
        patient=lab.patient,
    )


def _files(folder: Path) -> list[str]:
    return sorted(str(f.relative_to(folder)) for f in folder.rglob("*") if f.is_file())


@pytest.mark.django_db
def test_outbox_dump_writes_every_outbound_message_and_marks_them_sent(lab, tmp_path):
    first = order_for(lab, "CBC")
    second = order_for(lab, "CMP", priority="stat")
    folder = tmp_path / "out"
    out = _run("outbox", "--dump", str(folder), "--organization", str(lab.org.pk))
    assert out.strip() == f"2 message(s) written to {folder}: 2 in {folder / 'ORM'}"
    assert _files(folder) == sorted(f"ORM/{o.number}.hl7" for o in (first, second))
    for order in (first, second):
        text = (folder / "ORM" / f"{order.number}.hl7").read_text()
        assert text.startswith("MSH|^~\\&|CAREBENCH|")
        assert_strictly_valid(text)
    assert set(Hl7Message.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_outbox_dump_without_type_keeps_each_type_in_its_own_folder(lab, tmp_path):
    order = order_for(lab, "CBC")
    vxu = _vxu(lab)
    again = _vxu(lab, "V0002", status="sent")  # written again, as before
    _vxu(lab, "V0003", status="accepted")  # answered: not written
    folder = tmp_path / "out"
    out = _run("outbox", "--dump", str(folder))
    assert out.strip() == (
        f"3 message(s) written to {folder}: 1 in {folder / 'ORM'}, 2 in {folder / 'VXU'}"
    )
    assert _files(folder) == [
        f"ORM/{order.number}.hl7",
        f"VXU/{vxu.control_id}.hl7",
        f"VXU/{again.control_id}.hl7",
    ]
    assert (folder / "VXU" / f"{vxu.control_id}.hl7").read_bytes().decode() == vxu.raw
    assert dict(Hl7Message.objects.values_list("control_id", "status")) == {
        order.number: "sent",
        "V0001": "sent",
        "V0002": "sent",
        "V0003": "accepted",
    }


@pytest.mark.parametrize("kind", ["VXU", "ORM"])
@pytest.mark.django_db
def test_outbox_dump_with_type_writes_that_type_only(lab, tmp_path, kind):
    orm = order_for(lab, "CBC").hl7_messages.get()
    vxu = _vxu(lab)
    mine, theirs = (vxu, orm) if kind == "VXU" else (orm, vxu)
    folder = tmp_path / "out"
    out = _run("outbox", "--dump", str(folder), "--type", kind)
    assert out.strip() == f"1 {kind} message(s) written to {folder}"
    assert _files(folder) == [f"{mine.control_id}.hl7"]
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("sent", "queued")


@pytest.mark.django_db
def test_outbox_dump_refuses_another_type(lab, tmp_path):
    order_for(lab, "CBC")
    with pytest.raises(CommandError, match="invalid choice"):
        _run("outbox", "--dump", str(tmp_path / "out"), "--type", "ADT")
    assert not (tmp_path / "out").exists()
    assert set(Hl7Message.objects.values_list("status", flat=True)) == {"queued"}


@pytest.mark.django_db
def test_outbox_dump_with_nothing_to_write(lab, tmp_path):
    out = _run("outbox", "--dump", str(tmp_path / "out"))
    assert out.strip() == f"0 message(s) written to {tmp_path / 'out'}"
    assert _files(tmp_path / "out") == []


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


@pytest.mark.parametrize("types", ["VXU", [], ["V"]])
@pytest.mark.django_db
def test_outbox_messages_refuses_bad_types_naming_the_field(lab, types):
    with pytest.raises(ValidationError) as caught:
        hl7_services.outbox_messages(actor=lab.mat, message_types=types)
    assert "message_types" in caught.value.message_dict


def test_the_commands_types_are_the_outbound_types():
    from carebench.labs.management.commands import carebench_hl7

    assert set(carebench_hl7.MESSAGE_TYPES) == set(hl7_services.OUTBOUND_TYPES)
