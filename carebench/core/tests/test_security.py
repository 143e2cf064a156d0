import subprocess
import sys
from pathlib import Path

from django.test import Client

PROJECT = Path(__file__).resolve().parents[3]


def test_healthz_answers_with_database(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_pages_are_not_cached(mat_client):
    response = mat_client.get("/")
    assert "no-store" in response["Cache-Control"]


def test_content_security_policy_is_set(mat_client):
    response = mat_client.get("/")
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_body_over_one_megabyte_is_refused(mat_client):
    response = mat_client.post(
        "/patients/new/", data=b"x" * (1024 * 1024 + 1), content_type="application/octet-stream"
    )
    assert response.status_code == 413


def test_a_file_upload_may_be_larger_than_a_form_but_not_without_limit(mat_client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.CAREBENCH_MAX_UPLOAD_BYTES = 3 * 1024 * 1024
    two_mb = SimpleUploadedFile("scan.pdf", b"%PDF-" + b"x" * (2 * 1024 * 1024))
    response = mat_client.post("/billing/files/", {"file": two_mb})
    assert response.status_code != 413
    four_mb = SimpleUploadedFile("scan.pdf", b"%PDF-" + b"x" * (4 * 1024 * 1024))
    assert mat_client.post("/billing/files/", {"file": four_mb}).status_code == 413


def test_fhir_body_over_one_megabyte_is_an_operation_outcome(db):
    response = Client().post(
        "/fhir/Patient",
        data=b"{" + b" " * (1024 * 1024) + b"}",
        content_type="application/fhir+json",
    )
    assert response.status_code == 413
    assert response.json()["resourceType"] == "OperationOutcome"


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "carebench.settings.production",
        "CAREBENCH_SECRET_KEY": "k" * 20 + "Q7x!pZ#r2Lm9vTb4Wc8Yh1Ns6Dg3Jf5Ke0Ra" + "u" * 10,
        "CAREBENCH_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/check.sqlite3",
    }
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "manage.py"),
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
