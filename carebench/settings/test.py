"""Test settings: fast hashing, in-memory-friendly, same rules otherwise."""

from .base import *  # noqa: F403
from .base import PASSWORD_HASHERS

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AXES_ENABLED = True
WHITENOISE_AUTOREFRESH = True
# Django's test teardown empties tables with DELETE, which the audit triggers refuse; the
# trigger tests install them themselves (audit/tests/test_chain.py).
CAREBENCH_AUDIT_DB_TRIGGERS = False
