"""Base settings, driven by environment variables.

DATABASE_URL picks the database (default: SQLite under ./var/). CAREBENCH_* variables tune the
security timeouts. See README.md, "Configuration".
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("CAREBENCH_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


SECRET_KEY = os.environ.get("CAREBENCH_SECRET_KEY", "")
if not SECRET_KEY:
    # Development and demo only: a per-install key kept under var/ so sessions survive restarts.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

DEBUG = env_bool("CAREBENCH_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("CAREBENCH_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "carebench.core",
    "carebench.accounts",
    "carebench.audit",
    "carebench.terminology",
    "carebench.patients",
    "carebench.scheduling",
    "carebench.encounters",
    "carebench.labs",
    "carebench.meds",
    "carebench.billing",
    "carebench.ekg",
    "carebench.staff",
    "carebench.compliance",
    "carebench.inbox",
    "carebench.dashboard",
    "carebench.fhir",
]

MIDDLEWARE = [
    "carebench.core.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "carebench.accounts.middleware.SessionTimeoutMiddleware",
    "carebench.accounts.middleware.LoginRequiredMiddleware",
    "carebench.accounts.middleware.MFARequiredMiddleware",
    "carebench.core.middleware.TenantMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "carebench.core.middleware.NoStoreMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "carebench.urls"
WSGI_APPLICATION = "carebench.wsgi.application"
ASGI_APPLICATION = "carebench.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "carebench.core.context_processors.workstation",
                "carebench.inbox.context_processors.inbox_badge",
            ],
        },
    }
]

# --- Databases -----------------------------------------------------------------------------
DEFAULT_SQLITE_URL = f"sqlite:///{VAR_DIR / 'carebench.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", DEFAULT_SQLITE_URL), conn_max_age=0, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE: every transaction takes the write lock at BEGIN, so two writers never
        # interleave a read-then-write (SQLite has no SELECT ... FOR UPDATE).
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
            "PRAGMA busy_timeout=20000; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;"
        ),
    }
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Keep connections between requests: a new PostgreSQL connection costs milliseconds.
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts and security -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "carebench.accounts.backends.OrganizationModelBackend",
]

# Lock-out: 5 failures for one username lock it for 15 minutes, whether the user exists or not.
AXES_FAILURE_LIMIT = env_int("CAREBENCH_LOCKOUT_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("CAREBENCH_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "carebench.accounts.views.locked_out"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_IPWARE_PROXY_COUNT = env_int("CAREBENCH_PROXY_COUNT", 0) or None

# Read audit events (views, searches) commit without waiting for the disk unless this is set;
# changes always do. docs/adr/0008-read-audit-commits.md
CAREBENCH_DURABLE_READ_AUDIT = env_bool("CAREBENCH_DURABLE_READ_AUDIT", False)

# Idle time-out (sliding) and absolute time-out since login.
CAREBENCH_IDLE_TIMEOUT_MINUTES = env_int("CAREBENCH_IDLE_TIMEOUT_MINUTES", 15)
CAREBENCH_ABSOLUTE_TIMEOUT_HOURS = env_int("CAREBENCH_ABSOLUTE_TIMEOUT_HOURS", 12)
SESSION_COOKIE_AGE = CAREBENCH_IDLE_TIMEOUT_MINUTES * 60
# The session is saved when it changes; SessionTimeoutMiddleware touches it at most once a
# minute, which slides the idle time-out without a database write on every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# Roles that must use a second factor (TOTP); other users may opt in.
CAREBENCH_MFA_REQUIRED_ROLES = ["admin", "manager"]
OTP_TOTP_ISSUER = "carebench"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Largest request body accepted, pages and API alike (the issue's 1 MB).
CAREBENCH_MAX_BODY_BYTES = env_int("CAREBENCH_MAX_BODY_BYTES", 1024 * 1024)
# A page's file upload (multipart form: scanned documents, X12 and logger files, photos) may be
# larger; each service checks its own limit for its kind of file. Files over 1 MB are streamed
# to a temporary file, not held in memory.
CAREBENCH_MAX_UPLOAD_BYTES = env_int("CAREBENCH_MAX_UPLOAD_BYTES", 60 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = CAREBENCH_MAX_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = CAREBENCH_MAX_BODY_BYTES

# --- Internationalization -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # storage; each facility shows its own zone
USE_I18N = True
USE_TZ = True
CAREBENCH_DEFAULT_TIME_ZONE = os.environ.get("CAREBENCH_TIME_ZONE", "America/Chicago")

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CAREBENCH_LOG_LEVEL", "WARNING")},
    "loggers": {"axes": {"level": "ERROR"}},
}
LOGIN_URL_PATH = "/account/login/"

# We lock out by username on purpose: a clinic's staff share one NAT address, so locking by
# address would lock the whole clinic out after five typos (see docs/adr/0003).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# --- Background tasks and reminders -------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Hours before a visit that a reminder goes out; "48,2" sends one two days and one two hours ahead.
CAREBENCH_REMINDER_LEAD_HOURS = [
    int(h) for h in os.environ.get("CAREBENCH_REMINDER_LEAD_HOURS", "48,2").split(",") if h.strip()
]
CAREBENCH_SMS_BACKEND = os.environ.get(
    "CAREBENCH_SMS_BACKEND", "carebench.scheduling.reminders.ConsoleSmsBackend"
)
EMAIL_BACKEND = os.environ.get(
    "CAREBENCH_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("CAREBENCH_FROM_EMAIL", "reminders@carebench.invalid")
