"""Shared set-up for benchmarks: a database of their own, never the development one.

SQLite: var/bench/<name>.sqlite3. PostgreSQL (when DATABASE_URL names one): a database named
after it with a ``_bench`` suffix, created when missing. Populations are kept between runs.
"""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def django_for_bench(name: str, *, suffix: str = "_bench", fresh: bool = False) -> str:
    """Point Django at the benchmark database, set it up and migrate; return the vendor.

    PostgreSQL: the database named in DATABASE_URL plus ``suffix`` (a benchmark with a large
    population of its own passes a suffix of its own, so it does not change the others').
    ``fresh``: start from an empty database (dropped and made again; SQLite: its file removed).
    """
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        bench_db = f"{parts.path.lstrip('/') or 'frontdesk'}{suffix}"
        _create_pg_database(parts, bench_db, fresh=fresh)
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{bench_db}"))
    else:
        os.environ.pop("DATABASE_URL", None)
        bench_dir = ROOT / "var" / "bench"
        bench_dir.mkdir(parents=True, exist_ok=True)
        os.environ["FRONTDESK_VAR_DIR"] = str(bench_dir / name)
        if fresh:
            for path in (bench_dir / name).glob("frontdesk.sqlite3*"):
                path.unlink()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    return connection.vendor


def _create_pg_database(parts, name: str, *, fresh: bool = False) -> None:
    import psycopg

    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def drop_pg_database(url: str, name: str) -> None:
    """Drop a benchmark's PostgreSQL database (its connections closed by force)."""
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]
