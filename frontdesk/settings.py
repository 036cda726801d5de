"""Frontdesk settings, read from the environment.

Every variable is listed with its meaning in README.md ("Settings") and in .env.example. With no
variables at all this is a working development setup: SQLite under var/, a broker that needs no
server (kombu's filesystem transport) and a local-memory cache. DEBUG=0 makes it production-safe:
a real SECRET_KEY is required and cookies, HSTS and the SSL redirect are on.
"""

import datetime as dt
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from frontdesk.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FRONTDESK_VAR_DIR", str(BASE_DIR / "var")))
# Local state whatever the setup: beat's schedule, SMS files, and SQLite and the file broker
# when they are used. Made here, so that no process depends on another having made it.
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0")
    SECRET_KEY = "dev-only-insecure-key-frontdesk-do-not-use-in-production-0123456789"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Where visitors reach the site, for links in texts and emails (the status page).
PUBLIC_URL = env_str("PUBLIC_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # For the API docs' own templates and static files (Swagger UI served here, no CDN).
    "ninja",
    # The domain, one app per area, lowest first (docs/architecture.md), then its surfaces.
    "visitors.offices",
    "visitors.people",
    "visitors.visits",
    "visitors.followups",
    "visitors.messaging",
    "visitors.integrations",
    "visitors.booking",
    "visitors",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # No NUL byte in an address or a body no form reads (PostgreSQL refuses them): 400.
    "frontdesk.middleware.refuse_nul_bytes",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions and users: an unchanged console poll is answered from the cache.
    "frontdesk.middleware.unchanged_poll",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "frontdesk.two_factor.require_second_factor",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "frontdesk.middleware.reset_time_zone",
    "frontdesk.middleware.session_activity",
    # A request over a rate limit gets RATELIMIT_VIEW's page (429).
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "frontdesk.urls"
WSGI_APPLICATION = "frontdesk.wsgi.application"
ASGI_APPLICATION = "frontdesk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontdesk.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    default_db = dj_database_url.parse(DATABASE_URL)
    if default_db["ENGINE"] == "django.db.backends.postgresql":
        if env_bool("DB_POOL", True):
            # psycopg 3's pool replaces persistent connections (CONN_MAX_AGE must stay 0).
            default_db["CONN_MAX_AGE"] = 0
            default_db.setdefault("OPTIONS", {})["pool"] = {
                "min_size": env_int("DB_POOL_MIN_SIZE", 2),
                "max_size": env_int("DB_POOL_MAX_SIZE", 10),
                "timeout": env_float("DB_POOL_TIMEOUT", 10.0),
            }
        else:
            default_db["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60)
            default_db["CONN_HEALTH_CHECKS"] = True
else:
    default_db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(VAR_DIR / "frontdesk.sqlite3"),
        "OPTIONS": {
            # WAL lets the kiosk, the consoles and the worker read while one of them writes;
            # IMMEDIATE takes the write lock when a transaction starts, so two writers queue
            # on busy_timeout instead of failing with "database is locked" half-way through.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
        # Reuse a connection per server thread: opening SQLite and setting the pragmas cost
        # more than a whole queue poll.
        "CONN_MAX_AGE": env_int("CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        # A file, not SQLite's shared in-memory database, so that tests of concurrent
        # check-ins and calls lock the way the real file does.
        "TEST": {"NAME": str(VAR_DIR / "test-frontdesk.sqlite3")},
    }
DATABASES = {"default": default_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker, results and cache; or the embedded defaults -------------------------
REDIS_URL = env_str("REDIS_URL")
# Publishing fails fast when Redis is down (one quick retry, no long back-off): the rows a task
# would send wait in the database for beat's sweepers, and a request that queued a task after
# its commit must not hang on the broker (visitors.broker). Down means refusing connections or
# hanging (a stopped server, a network that drops packets): without a read timeout a publish to
# a hung Redis waits until gunicorn kills the worker, and the visitor sees an error for a
# check-in that was saved. 2 s is above the worker's 1 s BRPOP, so an idle worker's poll is
# never cut short.
REDIS_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
    "socket_connect_timeout": 2,
    "socket_timeout": 2,
}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = dict(REDIS_BROKER_TRANSPORT_OPTIONS)
    # The same bound on the results (/healthz waits for a worker's answer there); Celery's
    # default read timeout is 120 s.
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
    CELERY_REDIS_SOCKET_TIMEOUT = 2
    CACHES = {
        "default": {
            # Redis, with a local-memory stand-in while Redis is down (frontdesk/cache.py).
            "BACKEND": "frontdesk.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "frontdesk"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    broker_dir = VAR_DIR / "broker"
    results_dir = VAR_DIR / "celery-results"
    for folder in (
        broker_dir / "queue",
        broker_dir / "processed",
        broker_dir / "control",
        results_dir,
    ):
        folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_RESULT_BACKEND = f"file://{results_dir}"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(broker_dir / "queue"),
        "data_folder_out": str(broker_dir / "queue"),
        "processed_folder": str(broker_dir / "processed"),
        "store_processed": False,
        # Exchange tables (broadcast, remote control): under var/, not the working directory.
        "control_folder": str(broker_dir / "control"),
        "polling_interval": 0.2,
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep a worker's database connection across tasks (Celery's Django fixup otherwise closes it,
# and a pooled one's whole pool, before and after every task); renewed every N tasks.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("CELERY_BROKER_CONNECTION_TIMEOUT", 3.0)

# How long /healthz waits for a Celery worker to answer its ping.
HEALTHZ_WORKER_TIMEOUT = env_float("HEALTHZ_WORKER_TIMEOUT", 3.0)
# The queues /healthz pings a worker on (frontdesk/celery.py routes every task to one of them).
HEALTHZ_QUEUES = env_list("HEALTHZ_QUEUES", ["texts", "webhooks", "housekeeping"])
# A monitor sending "Authorization: Bearer <this>" sees /healthz's errors and timings (staff do).
HEALTHZ_TOKEN = env_str("HEALTHZ_TOKEN", "")

# --- Auth --------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses sign-ins while locked out
    # Django's ModelBackend with the user row cached for a few seconds (frontdesk/auth.py).
    "frontdesk.auth.CachedModelBackend",
]
# Lockout after repeated failed sign-ins, per user name and address (so that nobody can lock a
# colleague out from elsewhere); a success resets the count.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Rate limits (django-ratelimit) count in the default cache: Redis in production. The
# embedded default's local-memory cache counts per process, which is enough for `make run`.
RATELIMIT_VIEW = "frontdesk.views.rate_limited"
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
# Per client address, except kiosk steps: per paired tablet, and requests without a tablet's
# cookie in a bucket of their own (so they can never use up the tablet's). A lobby tablet takes
# a few steps a minute; the status page polls every 5 s and a whole waiting room may share one
# public Wi-Fi address.
RATELIMIT_KIOSK = env_str("RATELIMIT_KIOSK", "60/m")
# Wrong second-factor answers against one visitor's record, over every tablet and flow (a new
# flow buys three more tries; this does not): past it, the kiosk no longer recognises them and
# goes on as for a newcomer, flagged for the desk.
RATELIMIT_KIOSK_FACTOR = env_str("RATELIMIT_KIOSK_FACTOR", "5/h")
# The same per paired tablet, over every record: a name shared by many records can push the one
# guessed at out of the records a miss is counted on.
RATELIMIT_KIOSK_MISSES = env_str("RATELIMIT_KIOSK_MISSES", "30/h")
RATELIMIT_STATUS = env_str("RATELIMIT_STATUS", "600/m")
RATELIMIT_STATUS_POST = env_str("RATELIMIT_STATUS_POST", "30/m")
RATELIMIT_SMS_WEBHOOK = env_str("RATELIMIT_SMS_WEBHOOK", "300/m")
RATELIMIT_LOGIN = env_str("RATELIMIT_LOGIN", "30/m")
# The public office pages (/o/<office>/): reading per address; codes by text per number and
# per address (each text costs money and can annoy a stranger); places and bookings per office.
RATELIMIT_PUBLIC = env_str("RATELIMIT_PUBLIC", "300/m")
RATELIMIT_PUBLIC_POST = env_str("RATELIMIT_PUBLIC_POST", "60/m")
RATELIMIT_VERIFY_NUMBER = env_str("RATELIMIT_VERIFY_NUMBER", "4/h")
RATELIMIT_VERIFY_IP = env_str("RATELIMIT_VERIFY_IP", "20/h")
RATELIMIT_REMOTE_OFFICE = env_str("RATELIMIT_REMOTE_OFFICE", "600/h")
RATELIMIT_LOBBY_CODE = env_str("RATELIMIT_LOBBY_CODE", "10/h")
# A code by text lasts this long; once proved, it is good for one place or booking this long.
VERIFY_CODE_MINUTES = env_int("VERIFY_CODE_MINUTES", 10)
VERIFY_VALID_MINUTES = env_int("VERIFY_VALID_MINUTES", 30)
VERIFY_MAX_ATTEMPTS = 5
# Per API token (/api/v1/): an integration syncing a busy office stays well under it.
RATELIMIT_API = env_str("RATELIMIT_API", "600/m")

OTP_TOTP_ISSUER = "Frontdesk"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "desk:home"  # straight to the console (a choice when several offices)
LOGOUT_REDIRECT_URL = "home"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
# The age above is an inactivity timeout, not a shift limit: frontdesk.middleware renews it on
# every request a person makes, but not on the console's and display's automatic polls.
SESSION_SAVE_EVERY_REQUEST = False
# Sessions are read from the cache (Redis in production) and written through to the database:
# a staff request no longer reads its session row, and a Redis restart loses no session.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Languages and time ----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"  # stored in UTC; each office shows its own zone
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --- Email ---------------------------------------------------------------------------------
# Django 6.1's MAILERS, filled from the classic EMAIL_* variables that deployments already use.
EMAIL_BACKEND_PATH = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
_email_options: dict = {}
if EMAIL_BACKEND_PATH == "django.core.mail.backends.smtp.EmailBackend":
    _email_options = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": env_str("EMAIL_HOST_USER"),
        "password": env_str("EMAIL_HOST_PASSWORD"),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "use_ssl": env_bool("EMAIL_USE_SSL", False),
        "timeout": env_float("EMAIL_TIMEOUT", 10.0),
    }
    if _email_options["use_tls"] and _email_options["use_ssl"]:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are mutually exclusive")
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH, "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Frontdesk <frontdesk@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Text messages ---------------------------------------------------------------------------
# A dotted path to a visitors.sms backend: the console backend logs texts (development); the
# Twilio backend sends them (TWILIO_* below). Tests use the in-memory backend.
SMS_BACKEND = env_str("SMS_BACKEND", "visitors.sms.ConsoleBackend")
# With DEBUG=0 the console and file backends are refused (check --deploy fails and no text is
# marked sent) unless this says the setup is meant to send nothing, e.g. staging.
SMS_ALLOW_TEST_BACKEND = env_bool("SMS_ALLOW_TEST_BACKEND", False)
SMS_FROM = env_str("SMS_FROM")
SMS_FILE_DIR = env_str("SMS_FILE_DIR") or str(VAR_DIR / "sms")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
REMINDER_LEASE_SECONDS = env_int("REMINDER_LEASE_SECONDS", 300)
REMINDER_MAX_ATTEMPTS = env_int("REMINDER_MAX_ATTEMPTS", 5)
# Claimed texts per send task: fewer messages and one read per batch; a batch is sent in order
# by one worker process, so a larger one spreads a short burst over fewer processes.
REMINDER_SEND_BATCH = env_int("REMINDER_SEND_BATCH", 20)
# Run the dispatcher right after a request queued a reminder (beat runs it every minute anyway).
REMINDERS_DISPATCH_ON_COMMIT = env_bool("REMINDERS_DISPATCH_ON_COMMIT", True)
REFERRAL_FOLLOW_UP_DAYS = env_int("REFERRAL_FOLLOW_UP_DAYS", 7)
DAILY_SUMMARY_HOUR = env_int("DAILY_SUMMARY_HOUR", 18)
# Webhooks: how long to wait for a receiver, attempts before a delivery is marked failed, and
# the delay before the first retry (doubled each time, at most 30 minutes).
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 5.0)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6)
WEBHOOK_RETRY_BACKOFF_SECONDS = env_int("WEBHOOK_RETRY_BACKOFF_SECONDS", 30)
# A pending delivery this long past its due time lost its task: the beat sweeper queues it.
WEBHOOK_SWEEP_GRACE_SECONDS = env_int("WEBHOOK_SWEEP_GRACE_SECONDS", 60)
# Hosts a webhook may reach on a private network (development and tests); others must be public.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS")
# The dashboard's range view runs its independent scans on this many connections at once
# (PostgreSQL only; 1 runs them in turn).
DASHBOARD_QUERY_THREADS = env_int("DASHBOARD_QUERY_THREADS", 3)

# --- Security --------------------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# No form here needs more than a few kilobytes: refuse big bodies early (400), whatever the view.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 256 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 500
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Container and load-balancer health probes speak plain HTTP from inside.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging ---------------------------------------------------------------------------------
# Every handler redacts phone numbers and secret paths (frontdesk/logs.py); the Celery worker
# logs through this configuration too (it does not take the root logger over).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"()": "frontdesk.logs.RedactingFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's own handlers for these would print past the redaction (errors, runserver).
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
