"""Benchmark the staff console under load, on gunicorn with production settings (DEBUG=0).

Prints one line per figure:
  BENCH queue_poll_unchanged db=… p50_ms=… p95_ms=… rps=…   (the 204 answer)
  BENCH queue_poll_changed db=… p50_ms=… p95_ms=… rps=…     (the queue region, 20 waiting)
  BENCH call_next db=… p50_ms=… p95_ms=… rps=…              (16 staff pressing at once)
Load comes from a second process (benchmarks/_load.py) on loopback, bounded in time.
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from _setup import ROOT, django_for_bench

SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
THREADS = int(os.environ.get("BENCH_THREADS", "16"))
WAITING = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _prepare():
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.middleware.csrf import _get_new_csrf_string

    from visitors.lifecycle import ACTIVE_STATUSES
    from visitors.models import Office, StaffMembership, Visit, Visitor
    from visitors.services import visit_check_in

    office, _ = Office.objects.get_or_create(slug="bench", defaults={"name": "Bench Office"})
    user, _ = get_user_model().objects.get_or_create(username="bench-clerk")
    StaffMembership.objects.get_or_create(user=user, office=office, defaults={"role": "front_desk"})
    Visit.objects.filter(office=office, status__in=ACTIVE_STATUSES).update(
        status="left", ended_at=office.local_now()
    )
    people = list(Visitor.objects.order_by("pk")[: WAITING * 200])
    if len(people) < WAITING * 200:
        people += [
            Visitor.objects.create(first_name=f"Bench{i}", last_name="Visitor")
            for i in range(WAITING * 200 - len(people))
        ]
    for person in people[:WAITING]:
        visit_check_in(office=office, visitor=person)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    return office, people, session.session_key, _get_new_csrf_string()


def _refill(office, people):
    from visitors.services import AlreadyWaiting, visit_check_in

    for person in people:
        with contextlib.suppress(AlreadyWaiting):
            visit_check_in(office=office, visitor=person)


def _load(port, path, **kw) -> dict:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "_load.py"), "--port", str(port),
           "--path", path, "--seconds", str(SECONDS), "--threads", str(THREADS)]  # fmt: skip
    for name, value in kw.items():
        if name == "headers":
            for header in value:
                cmd += ["--header", header]
        else:
            cmd += [f"--{name}", str(value)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=SECONDS + 60)
    return json.loads(done.stdout)


def _line(name, vendor, result):
    extra = f" unexpected={result['unexpected']}" if result["unexpected"] else ""
    print(
        f"BENCH {name} db={vendor} p50_ms={result['p50_ms']:.2f} p95_ms={result['p95_ms']:.2f} "
        f"rps={result['rps']:.0f} requests={result['requests']}{extra}",
        flush=True,
    )


BENCH_SECRET = "bench-only-" + "k7Qz" * 13


def main():
    os.environ["SECRET_KEY"] = BENCH_SECRET  # sessions made here must be valid in gunicorn
    vendor = django_for_bench("console")
    office, people, session_key, csrf = _prepare()
    from visitors.selectors import queue_version

    env = os.environ | {
        "DEBUG": "0",
        "SECRET_KEY": BENCH_SECRET,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "FRONTDESK_VAR_DIR": os.environ.get("FRONTDESK_VAR_DIR", str(ROOT / "var")),
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "frontdesk.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        cookies = f"Cookie: sessionid={session_key}; csrftoken={csrf}"
        base = f"/desk/{office.slug}"
        version = queue_version(office_id=office.pk)
        htmx = ["HX-Request: true", cookies]
        _line("queue_poll_unchanged", vendor, _load(
            port, f"{base}/queue/?v={version}", headers=htmx, expect="204"))  # fmt: skip
        _line("queue_poll_changed", vendor, _load(
            port, f"{base}/queue/?v=0", headers=htmx, expect="200"))  # fmt: skip
        _refill(office, people)
        post = [cookies, f"X-CSRFToken: {csrf}", "Content-Type: application/x-www-form-urlencoded"]
        _line("call_next", vendor, _load(
            port, f"{base}/call-next/", method="POST", body="desk=Bench", headers=post,
            expect="302"))  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
