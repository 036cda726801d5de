"""Settings come from the environment: embedded defaults, production safety, PostgreSQL, Redis."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.core.exceptions import ImproperlyConfigured

from frontdesk.env import env_bool, env_float, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]
PROD = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "frontdesk.example.org",
    "SMS_BACKEND": "visitors.sms.TwilioBackend",
}

PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "debug": settings.DEBUG,
    "engine": db["ENGINE"],
    "db_name": str(db["NAME"]),
    "db_options": {k: v for k, v in db.get("OPTIONS", {}).items() if k != "pool"},
    "pool": db.get("OPTIONS", {}).get("pool"),
    "broker": settings.CELERY_BROKER_URL,
    "result_backend": settings.CELERY_RESULT_BACKEND,
    "cache": settings.CACHES["default"]["BACKEND"],
    "session_cookie_secure": getattr(settings, "SESSION_COOKIE_SECURE", False),
    "csrf_cookie_secure": getattr(settings, "CSRF_COOKIE_SECURE", False),
    "hsts": getattr(settings, "SECURE_HSTS_SECONDS", 0),
    "ssl_redirect": getattr(settings, "SECURE_SSL_REDIRECT", False),
    "mailer": settings.MAILERS["default"],
    "allowed_hosts": settings.ALLOWED_HOSTS,
}))
"""


def _clean_env(**overrides) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
        and not k.startswith("EMAIL_")
    }
    return env | {"DJANGO_SETTINGS_MODULE": "frontdesk.settings"} | overrides


def probe(**env) -> dict:
    """Load the settings in a fresh interpreter with exactly this environment."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=_clean_env(**env), capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_it_runs_with_no_variables_on_embedded_defaults():
    """No server needed: SQLite in WAL mode under var/, a filesystem broker, a local cache."""
    found = probe()
    assert found["debug"] is True
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["db_name"].endswith("var/frontdesk.sqlite3")
    assert "journal_mode=WAL" in found["db_options"]["init_command"]
    assert found["broker"] == "filesystem://"
    assert found["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert found["mailer"]["BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_it_switches_to_postgresql_with_a_pool_and_to_redis():
    found = probe(
        DATABASE_URL="postgres://frontdesk:pw@db.internal:5432/frontdesk",
        REDIS_URL="redis://cache.internal:6379/2",
    )
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["pool"]["max_size"] == 10
    assert found["broker"] == found["result_backend"] == "redis://cache.internal:6379/2"
    assert found["cache"] == "frontdesk.cache.ResilientRedisCache"


def test_it_refuses_production_without_a_secret_key():
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=_clean_env(DEBUG="0"), capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "SECRET_KEY must be set when DEBUG=0" in done.stderr


def test_it_is_production_safe_with_debug_off():
    found = probe(**PROD, EMAIL_HOST="smtp.example.org", EMAIL_PORT="587", EMAIL_USE_TLS="1")
    assert found["debug"] is False
    assert found["session_cookie_secure"] and found["csrf_cookie_secure"]
    assert found["hsts"] >= 31536000
    assert found["ssl_redirect"] is True
    assert found["allowed_hosts"] == ["frontdesk.example.org"]
    assert found["mailer"]["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert found["mailer"]["OPTIONS"]["host"] == "smtp.example.org"
    assert found["mailer"]["OPTIONS"]["port"] == 587


def test_it_passes_django_s_deployment_checks_with_production_settings():
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=_clean_env(**PROD), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be a boolean"),
        ({"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_PORT": "smtp"},
         "EMAIL_PORT must be an integer"),
        ({"DB_POOL_TIMEOUT": "soon", "DATABASE_URL": "postgres://h/db"},
         "DB_POOL_TIMEOUT must be a number"),
    ],
)  # fmt: skip
def test_it_names_the_variable_that_has_a_bad_value(env, message):
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=_clean_env(**env), capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert message in done.stderr


def test_env_readers_parse_and_default(monkeypatch):
    monkeypatch.setenv("FD_FLAG", " Yes ")
    monkeypatch.setenv("FD_NUMBER", "42")
    monkeypatch.setenv("FD_RATIO", "2.5")
    monkeypatch.setenv("FD_HOSTS", "a.example.org, ,b.example.org,")
    assert env_bool("FD_FLAG") is True
    assert env_bool("FD_MISSING", True) is True
    assert env_int("FD_NUMBER", 0) == 42
    assert env_float("FD_RATIO", 0.0) == 2.5
    assert env_list("FD_HOSTS") == ["a.example.org", "b.example.org"]
    assert env_list("FD_MISSING", ["x"]) == ["x"]
    monkeypatch.setenv("FD_FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="FD_FLAG"):
        env_bool("FD_FLAG")


def test_it_uses_the_cache_the_environment_names():
    """With REDIS_URL the cache really is Redis (a round trip through the server), else local."""
    key = f"settings-test-{os.getpid()}"
    cache.set(key, "seen", timeout=30)
    try:
        assert cache.get(key) == "seen"
        if settings.REDIS_URL:
            import redis

            server = redis.Redis.from_url(settings.REDIS_URL)
            assert server.exists(cache.make_key(key)) == 1
            assert type(caches["default"]).__name__ == "ResilientRedisCache"
        else:
            assert type(caches["default"]).__name__ == "LocMemCache"
    finally:
        cache.delete(key)


def test_the_embedded_broker_keeps_all_its_files_under_var(tmp_path):
    """kombu's filesystem transport writes exchange tables too; none may land in the checkout."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps(settings.CELERY_BROKER_TRANSPORT_OPTIONS))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=_clean_env(FRONTDESK_VAR_DIR=str(tmp_path)),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    options = json.loads(done.stdout)
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        assert options[key].startswith(str(tmp_path)), key
