"""The `carebench` command line: serve, token, and the routing in carebench/cli.py."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from carebench import cli
from carebench.accounts.models import ApiToken
from carebench.accounts.services import user_for_token
from carebench.audit.models import AuditEvent


@pytest.fixture
def keep_connections(monkeypatch):
    """`cli.main` closes connections when a command ends; inside a test transaction it must not."""
    monkeypatch.setattr("django.db.connections.close_all", lambda: None)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        cli.main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_serve_runs_gunicorn_on_localhost_with_threads(db, capsys, monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    call_command("carebench_serve", "--print-command")
    out = capsys.readouterr().out
    assert "-m gunicorn carebench.wsgi:application" in out
    assert "--bind 127.0.0.1:8000" in out
    assert "--worker-class gthread" in out
    assert "--workers 2" in out and "--threads 4" in out


def test_serve_port_from_environment_and_option(db, capsys, monkeypatch):
    monkeypatch.setenv("PORT", "8555")
    call_command("carebench_serve", "--print-command")
    assert "--bind 127.0.0.1:8555" in capsys.readouterr().out
    call_command("carebench_serve", "--print-command", "--port", "9001", "--workers", "3")
    out = capsys.readouterr().out
    assert "--bind 127.0.0.1:9001" in out and "--workers 3" in out


def test_token_create_prints_a_token_that_resolves_to_the_user(mat, capsys):
    call_command("carebench_token", "create", "--user", mat.username, "--days", "30")
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("cbk_")
    assert user_for_token(raw) == mat
    token = ApiToken.objects.get(user=mat)
    assert token.expires_at is not None
    assert AuditEvent.objects.filter(
        action="token_created", organization_id=mat.organization_id, resource_id=str(token.pk)
    ).exists()


def test_token_days_zero_never_expires(mat, capsys):
    call_command("carebench_token", "create", "--user", mat.username, "--days", "0")
    assert user_for_token(capsys.readouterr().out.strip()) == mat
    assert ApiToken.objects.get(user=mat).expires_at is None


def test_token_for_unknown_user_is_an_error(db):
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("carebench_token", "create", "--user", "nobody")
    assert not ApiToken.objects.exists()


def test_token_through_the_cli_exits_1_for_unknown_user(db, capsys, keep_connections):
    code, out, err = run_cli(capsys, "token", "create", "--user", "nobody")
    assert code == 1
    assert "no user named 'nobody'" in err
    assert "cbk_" not in out


def test_token_through_the_cli_prints_token(mat, capsys, keep_connections):
    code, out, _ = run_cli(capsys, "token", "create", "--user", mat.username)
    assert code == 0
    assert user_for_token(out.strip()) == mat


def test_cli_unknown_command_exits_2(capsys):
    code, _, err = run_cli(capsys, "frobnicate")
    assert code == 2
    assert "unknown command" in err


def test_cli_help_lists_commands(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for name in ("serve", "demo", "token", "audit", "backup", "restore"):
        assert name in out


def test_serve_collects_static_files_for_the_production_storage(settings, tmp_path):
    from carebench.core.management.commands.carebench_serve import collect_static_if_needed

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    assert collect_static_if_needed() is True
    assert (tmp_path / "staticfiles.json").exists()
    assert collect_static_if_needed() is False  # the manifest is up to date


def test_serve_collects_nothing_in_development(settings):
    from carebench.core.management.commands.carebench_serve import collect_static_if_needed

    assert collect_static_if_needed() is False
