"""Test settings: fast hashing, in-memory-friendly, same rules otherwise."""

from .base import *  # noqa: F403
from .base import PASSWORD_HASHERS

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AXES_ENABLED = True
WHITENOISE_AUTOREFRESH = True
# Django's test teardown empties tables with DELETE, which the audit triggers refuse; the
# trigger tests install them themselves (audit/tests/test_chain.py).
CAREBENCH_AUDIT_DB_TRIGGERS = False

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not SQLite's in-memory test default: with an in-memory database every live-server
    # thread shares one connection, which serializes requests and hides races
    # (fhir/tests/test_booking_race.py). Each process gets its own temporary directory (xdist
    # workers also get pytest-django's _gw0, _gw1 suffix), so parallel workers and concurrent
    # runs never share a file; it is removed, WAL files included, when the process exits.
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    _TEST_DB_DIR = tempfile.mkdtemp(prefix="carebench-test-")
    atexit.register(shutil.rmtree, _TEST_DB_DIR, ignore_errors=True)
    DATABASES["default"]["TEST"] = {"NAME": str(Path(_TEST_DB_DIR) / "test.sqlite3")}  # noqa: F405
