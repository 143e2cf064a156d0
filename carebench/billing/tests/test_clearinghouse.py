"""The file-drop clearinghouse: atomic writes to the outbox, the inbox read and moved."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from carebench.billing.clearinghouse import (
    ClearinghouseError,
    FileDrop,
    clearinghouse_for,
    kind_of,
)
from carebench.billing.models import BillingProfile

SAMPLES = Path(__file__).resolve().parents[1] / "x12" / "samples"


@pytest.fixture
def drop(tmp_path: Path) -> FileDrop:
    (tmp_path / "out").mkdir()
    (tmp_path / "in").mkdir()
    return FileDrop(tmp_path / "out", tmp_path / "in")


def test_send_writes_the_file_and_says_where(drop: FileDrop) -> None:
    where = drop.send("270", "270-000000001.x12", "ISA*...~")
    assert where == str(drop.outbox / "270-000000001.x12")
    assert Path(where).read_text() == "ISA*...~"
    assert [p.name for p in drop.outbox.iterdir()] == ["270-000000001.x12"]


def test_send_never_overwrites(drop: FileDrop) -> None:
    drop.send("270", "a.x12", "first")
    where = drop.send("270", "a.x12", "second")
    assert Path(where).name == "a-2.x12"
    assert (drop.outbox / "a.x12").read_text() == "first"


def test_send_is_atomic_a_failed_write_leaves_nothing(drop: FileDrop) -> None:
    with mock.patch("os.fsync", side_effect=OSError(28, "No space left on device")):
        with pytest.raises(ClearinghouseError, match="No space left"):
            drop.send("270", "a.x12", "text")
    assert list(drop.outbox.iterdir()) == []


def test_send_refuses_a_missing_outbox(tmp_path: Path) -> None:
    with pytest.raises(ClearinghouseError, match="not a folder"):
        FileDrop(tmp_path / "nowhere", tmp_path).send("270", "a.x12", "text")


def test_send_refuses_a_path_as_name(drop: FileDrop) -> None:
    with pytest.raises(ClearinghouseError, match="plain file name"):
        drop.send("270", "../escape.x12", "text")


def test_receive_reads_the_kind_and_moves_to_processed(drop: FileDrop) -> None:
    (drop.inbox / "answer.x12").write_text((SAMPLES / "271-active.x12").read_text())
    (drop.inbox / "ack.x12").write_text((SAMPLES / "999-accepted.x12").read_text())
    got = drop.receive()
    assert [(i.name, i.kind) for i in got] == [("ack.x12", "999"), ("answer.x12", "271")]
    assert sorted(p.name for p in (drop.inbox / "processed").iterdir()) == [
        "ack.x12",
        "answer.x12",
    ]
    assert not (drop.inbox / "answer.x12").exists()
    assert got[1].text.startswith("ISA*00*")


def test_receive_leaves_kinds_not_asked_for(drop: FileDrop) -> None:
    (drop.inbox / "answer.x12").write_text((SAMPLES / "271-active.x12").read_text())
    (drop.inbox / "remit.x12").write_text((SAMPLES / "835-three-claims.x12").read_text())
    got = drop.receive({"271"})
    assert [(i.name, i.kind, i.taken) for i in got] == [
        ("answer.x12", "271", True),
        ("remit.x12", "835", False),
    ]
    assert (drop.inbox / "remit.x12").exists()


def test_receive_sets_aside_a_file_that_is_not_x12(drop: FileDrop) -> None:
    (drop.inbox / "note.txt").write_text("MSH|^~\\&|LAB")
    [item] = drop.receive()
    assert (item.kind, item.taken) == ("", False)
    assert item.error.startswith("not a readable X12 interchange")
    failed = drop.inbox / "failed"
    assert (failed / "note.txt").exists()
    reason = (failed / "note.txt.error.txt").read_text()
    assert "not a readable X12 interchange: segment 1 (ISA)" in reason


def test_receive_skips_hidden_and_partial_files(drop: FileDrop) -> None:
    (drop.inbox / ".270.tmp").write_text("half")
    (drop.inbox / "upload.part").write_text("half")
    assert drop.receive() == []
    assert (drop.inbox / "upload.part").exists()


def test_set_aside_moves_a_received_file_with_its_reason(drop: FileDrop) -> None:
    (drop.inbox / "answer.x12").write_text((SAMPLES / "271-active.x12").read_text())
    [item] = drop.receive()
    drop.set_aside(item, "ST01 is wrong")
    assert (drop.inbox / "failed" / "answer.x12").exists()
    assert (drop.inbox / "failed" / "answer.x12.error.txt").read_text() == "ST01 is wrong\n"


def test_kind_of_reads_the_st() -> None:
    assert kind_of((SAMPLES / "277ca-accepted.x12").read_text()) == "277"


def test_clearinghouse_for_names_the_missing_folder(biller: Any) -> None:
    from carebench.testing import make_billing_clinic

    clinic = make_billing_clinic(biller)
    with pytest.raises(ValidationError) as caught:
        clearinghouse_for(clinic.profile)
    assert set(caught.value.message_dict) == {"clearinghouse_outbox", "clearinghouse_inbox"}
    with pytest.raises(ValidationError, match="billing profile"):
        clearinghouse_for(None)


def test_clearinghouse_for_builds_a_file_drop(tmp_path: Path) -> None:
    profile = BillingProfile(clearinghouse_outbox=str(tmp_path / "o"), clearinghouse_inbox="/in")
    house = clearinghouse_for(profile)
    assert isinstance(house, FileDrop)
    assert house.outbox == tmp_path / "o"
