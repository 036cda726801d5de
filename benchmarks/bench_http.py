"""Benchmark the HTTP surfaces under load: gunicorn with production settings, the load from a
second process on loopback, each figure bounded in time (BENCH_SECONDS, default 15 s).

Two load generators, each for what it does well: ``wrk`` (Debian package; compiled, so it
saturates the server without taking its cores) for the back-to-back figures, the 500 consoles
each polling every 2 s (paced by wrk_report.lua) and the kiosks each checking a visitor in once a
second through every request a tablet makes (wrk_kiosk.lua: one thread, one connection, one
kiosk); locust headless (benchmarks/locustfile.py) for the phones joining from the public page,
which read their codes from the texts' files.

Prints one line per figure, each with its ratio to the ceiling's throughput:

  BENCH ceiling db=… load=saturate users=32 p50_ms=… p95_ms=… rps=… ratio=1.00
  BENCH queue_poll_unchanged db=… load=saturate users=32 … ratio=…   (the 204, back to back)
  BENCH queue_poll_unchanged db=… load=consoles consoles=500 interval_s=2 …   (open consoles)
  BENCH queue_poll_changed db=… load=saturate …                       (the queue region, 20 waiting)
  BENCH console_page db=… load=saturate …                             (the whole staff page)
  BENCH call_next db=… load=saturate …                                (over 4,000 waiting)
  BENCH kiosk_checkin db=… load=rate target_per_s=50 … checkins_per_s=…  (every kiosk request)
  BENCH remote_join db=… load=rate target_per_s=50 … joins_per_s=…  (public page + join's requests)
  BENCH api_check_in db=… load=saturate users=32 …    (POST …/check-ins, a new visitor each)
  BENCH api_floor db=… load=saturate users=32 …       (the same POST refused by the schema: 422)

``ceiling`` is GET /livez: a minimal Django view on the same server, settings and middleware.
The server is started like the Dockerfile's (``gunicorn frontdesk.wsgi --workers
$WEB_CONCURRENCY``, sync workers), with DEBUG=0; BENCH_WORKERS overrides the worker count. Every
figure goes through nginx (Debian's; deploy/nginx.conf, as docker-compose.yml runs it) in front
of gunicorn, as a deployment would: the load generators keep their connections to nginx.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from importlib import import_module
from pathlib import Path

from _setup import ROOT, django_for_bench

SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
USERS = int(os.environ.get("BENCH_USERS", "32"))
CONSOLES = int(os.environ.get("BENCH_CONSOLES", "500"))
KIOSK_RATE = int(os.environ.get("BENCH_KIOSK_RATE", "50"))
JOIN_RATE = int(os.environ.get("BENCH_JOIN_RATE", "50"))
WORKERS = os.environ.get("BENCH_WORKERS") or os.environ.get("WEB_CONCURRENCY") or "3"
THREADS = os.environ.get("BENCH_WEB_THREADS", "1")  # > 1: gunicorn's gthread workers
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
WAITING = 20
BENCH_SECRET = "bench-only-" + "k7Qz" * 13


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _prepare():
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.middleware.csrf import _get_new_csrf_string

    from visitors.offices.models import KioskLink, Office, ReasonForVisit, StaffMembership
    from visitors.people.models import Visitor
    from visitors.services import visit_check_in
    from visitors.visits.lifecycle import ACTIVE_STATUSES
    from visitors.visits.models import Visit

    office, _ = Office.objects.get_or_create(slug="bench", defaults={"name": "Bench Office"})
    # Open round the clock and taking places from phones, whenever the benchmark runs.
    office.opening_hours = {day: [["00:00", "24:00"]] for day in
                            ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}  # fmt: skip
    office.remote_join, office.remote_daily_cap = True, 30_000
    office.save()
    if not ReasonForVisit.objects.filter(office=office).exists():
        ReasonForVisit.objects.create(office=office, label_en="Looking for work", label_es="Busco")
    user, _ = get_user_model().objects.get_or_create(username="bench-clerk")
    StaffMembership.objects.get_or_create(user=user, office=office, defaults={"role": "front_desk"})
    # Every run starts from the same day: the visits earlier runs left at the bench office go
    # (tens of thousands "left" today would make every figure a figure of that pile).
    Visit.objects.filter(office=office).delete()
    _returning_population()
    people = list(Visitor.objects.filter(anonymised_at=None).order_by("pk")[: WAITING * 200])
    if len(people) < WAITING * 200:
        people += [
            Visitor.objects.create(first_name=f"Bench{i}", last_name="Visitor")
            for i in range(WAITING * 200 - len(people))
        ]
    for person in people[:WAITING]:
        visit_check_in(office=office, visitor=person)
    _analyse()
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store["_auth_user_backend"] = "frontdesk.auth.CachedModelBackend"
    store["_auth_user_hash"] = user.get_session_auth_hash()
    store.create()
    _link, kiosk_token = KioskLink.issue(office=office, label="Bench kiosk")
    returning = list(
        Visitor.objects.filter(anonymised_at=None)
        .exclude(phone_last4="")
        .exclude(visits__status__in=ACTIVE_STATUSES)
        .order_by("-pk")
        .values_list("first_name", "last_name", "phone_last4")[:5000]
    )
    return office, people, store.session_key, _get_new_csrf_string(), kiosk_token, returning


def _analyse() -> None:
    """Dead rows cleared and fresh planner statistics, as production's autovacuum keeps them
    (a server may run with it off, as this machine's does): plans are then those production
    would choose, not plans over the dead rows of every earlier run's deletes."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def _api_token(office) -> tuple[str, int]:
    """A read-and-write API token of the bench clerk's for the office, and a reason's id."""
    from django.contrib.auth import get_user_model

    from visitors.integrations.models import ApiToken

    clerk = get_user_model().objects.get(username="bench-clerk")
    _token, secret = ApiToken.issue(name="Bench integration", offices=[office],
                                    scope=ApiToken.Scope.WRITE, created_by=clerk)  # fmt: skip
    return secret, office.reasons.filter(is_active=True).values_list("pk", flat=True).first()


def _returning_population(n: int = 20_000) -> None:
    """Visitors with phones, for the kiosk's returning half to be recognised among."""
    import random

    from django.utils import timezone

    from visitors.people.models import Visitor, VisitorNameKey

    have = Visitor.objects.exclude(phone="").count()
    if have >= n:
        return
    rng = random.Random(11)
    firsts = ["Maria", "James", "Aaliyah", "Jose", "Keisha", "Wei", "Olga", "Tom", "Fatima", "Luis"]
    syllables = ["ga", "ro", "mi", "ken", "sa", "lo", "dar", "ve", "tu", "ni", "bel", "os"]
    now = timezone.now()
    batch = []
    for i in range(have, n):
        phone = f"(555) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        last = "".join(rng.choice(syllables) for _ in range(3)).capitalize()
        person = Visitor(first_name=rng.choice(firsts), last_name=last,
                         phone=phone, first_seen_at=now, last_seen_at=now)  # fmt: skip
        person.fill_search_keys()
        batch.append(person)
        if len(batch) == 5000 or i == n - 1:
            VisitorNameKey.rebuild(Visitor.objects.bulk_create(batch, batch_size=1000))
            batch = []


def _close_all(office):
    from visitors.visits.lifecycle import ACTIVE_STATUSES
    from visitors.visits.models import Visit

    Visit.objects.filter(office=office, status__in=ACTIVE_STATUSES).update(
        status="left", ended_at=office.local_now()
    )


def _refill(office, people):
    import contextlib

    from visitors.services import AlreadyWaiting, visit_check_in

    for person in people:
        with contextlib.suppress(AlreadyWaiting):
            visit_check_in(office=office, visitor=person)


def _locust(port, user_class, *, users, env, seconds=SECONDS) -> dict:
    """Run one locust scenario headless; return exact figures from the requests it timed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        spawn_rate = max(users / 5, 1)  # everyone started within ~5 s; timing starts after
        cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py"),
               "--headless", "--users", str(users), "--spawn-rate", str(spawn_rate),
               "--run-time", f"{int(seconds + users / spawn_rate + 2)}s", "--stop-timeout", "5",
               "--host", f"http://127.0.0.1:{port}", "--only-summary", "--loglevel", "WARNING",
               user_class]  # fmt: skip
        run_env = os.environ | env | {"BENCH_OUT": str(out)}
        done = subprocess.run(
            cmd, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=seconds + 180
        )
        if not out.exists():
            sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
            raise SystemExit(f"locust {user_class} wrote no figures (exit {done.returncode})")
        return json.loads(out.read_text())


def _wait_until_serving(port) -> None:
    """Until /livez answers 200; then a short warm-up, so every worker has loaded the app."""
    import urllib.request

    for _ in range(200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1) as answer:
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        raise SystemExit("the server did not start")
    _wrk(port, "/livez", seconds=2)


def _server_times(access_log: Path, path: str) -> tuple[int, int]:
    """p50 and p95 of gunicorn's own request times (whole ms) for ``path`` in its access log."""
    times = sorted(
        int(line.split()[0])
        for line in access_log.read_text().splitlines()
        if line.endswith(" " + path)
    )
    if not times:
        return (0, 0)
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.95))]


def _wrk(port, path, *, headers=(), method="GET", body="", users=USERS, seconds=SECONDS, pace_ms=0):
    """Saturate one URL with ``users`` keep-alive connections (or, with ``pace_ms``, have each
    send one request every that many milliseconds); exact figures from wrk."""
    cmd = ["wrk", "-t", "2", "-c", str(users), "-d", f"{int(seconds)}s", "--timeout", "10s",
           "-s", str(ROOT / "benchmarks" / "wrk_report.lua")]  # fmt: skip
    for header in headers:
        cmd += ["-H", header]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    env = os.environ | {"BENCH_METHOD": method, "BENCH_BODY": body, "BENCH_DELAY_MS": str(pace_ms)}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["rps"] = report["requests"] / report["seconds"]
    report["failures"] = report["bad_status"] + report["socket_errors"]
    return report


def _status(port, path, *, headers=(), method="GET", body="") -> int:
    """The status one request gets (through nginx, as wrk's will)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body.encode() or None, method=method
    )
    for header in headers:
        name, value = header.split(": ", 1)
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def _wrk_kiosk(port, *, office, kiosks, returning, headers, seconds=SECONDS) -> dict:
    """``kiosks`` paired kiosks, each one wrk thread on one connection checking a visitor in
    every second (returning visitors first, by name and digits, then new ones); wrk's figures."""
    from urllib.parse import quote_plus

    pacing_ms = 1000  # one visitor a second at each kiosk

    with tempfile.TemporaryDirectory() as tmp:
        people = Path(tmp) / "returning.tsv"
        people.write_text(
            "".join("\t".join(quote_plus(part) for part in person) + "\n" for person in returning),
            encoding="utf-8",
        )
        cmd = ["wrk", "-t", str(kiosks), "-c", str(kiosks), "-d", f"{int(seconds)}s",
               "--timeout", "10s", "-s", str(ROOT / "benchmarks" / "wrk_kiosk.lua")]  # fmt: skip
        for header in headers:
            cmd += ["-H", header]
        cmd.append(f"http://127.0.0.1:{port}/")
        env = os.environ | {
            "BENCH_OFFICE": office,
            "BENCH_PACING_MS": str(pacing_ms),
            "BENCH_KIOSKS": str(kiosks),
            "BENCH_SECONDS_RUN": str(int(seconds)),
            "BENCH_RETURNING_TSV": str(people),
        }
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode or not done.stdout.strip():
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"wrk_kiosk.lua wrote no figures (exit {done.returncode})")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["rps"] = report["requests"] / report["seconds"]
    # Check-ins a second in the steady part: those begun from the end of the first second (every
    # kiosk started) to a second before the end (every one had time to finish); see the script.
    report["flows_per_s"] = report["steady_flows"] / (int(seconds) - 2 * pacing_ms / 1000)
    # A 422 is an expected answer (digits that found nobody: on as new), so wrk's count of
    # statuses over 399 is not the failures; the script counts the unexpected ones itself.
    report["failures"] = report["flow_failures"] + report["socket_errors"]
    return report


def _line(name, vendor, result, ceiling_rps, **fields):
    if result.get("failure_kinds"):
        sys.stderr.write(f"{name} failures: {json.dumps(result['failure_kinds'], indent=1)}\n")
    extra = "".join(f" {k}={v}" for k, v in fields.items())
    failures = f" failures={result['failures']}" if result["failures"] else ""
    ratio = result["rps"] / ceiling_rps if ceiling_rps else 1.0
    print(
        f"BENCH {name} db={vendor}{extra} p50_ms={result['p50_ms']:.2f} "
        f"p95_ms={result['p95_ms']:.2f} rps={result['rps']:.1f} ratio={ratio:.2f} "
        f"requests={result['requests']}{failures}",
        flush=True,
    )


def _start_proxy(upstream_port: int) -> tuple[subprocess.Popen, int, Path]:
    """nginx in front of gunicorn with deploy/nginx.conf, as in production; (process, port)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("bench_http needs nginx in front of gunicorn: apt-get install nginx-light")
    port = _free_port()
    run_dir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    for key, value in {"{pid}": str(run_dir / "nginx.pid"),
                       "{error_log}": str(run_dir / "error.log"), "{daemon}": "off",
                       "{temp}": str(run_dir), "{upstream}": f"127.0.0.1:{upstream_port}",
                       "{listen}": f"127.0.0.1:{port}"}.items():  # fmt: skip
        config = config.replace(key, value)
    (run_dir / "nginx.conf").write_text(config)
    proxy = subprocess.Popen([nginx, "-c", str(run_dir / "nginx.conf")])
    return proxy, port, run_dir


def _wanted(name):
    return not ONLY or name in ONLY


def main():
    if shutil.which("wrk") is None:
        raise SystemExit("bench_http needs wrk, the HTTP load generator: apt-get install wrk")
    os.environ["SECRET_KEY"] = BENCH_SECRET  # sessions made here must be valid in gunicorn
    vendor = django_for_bench("http", suffix="_bench_http")
    office, people, session_key, csrf, kiosk_token, returning = _prepare()
    api_token, reason_id = _api_token(office)
    from visitors.selectors import queue_version
    from visitors.views.kiosk import KIOSK_COOKIE

    sms_dir = tempfile.mkdtemp(prefix="bench-sms-")
    server_env = os.environ | {
        "DEBUG": "0",
        "SECRET_KEY": BENCH_SECRET,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        # One address plays every kiosk of many offices: its limit must not be what is measured
        # (the limit is still checked on every step).
        "RATELIMIT_KIOSK": "1000000/m",
        # The same for the phones joining from the public page: one address plays them all.
        "RATELIMIT_PUBLIC": "1000000/m",
        "RATELIMIT_PUBLIC_POST": "1000000/m",
        "RATELIMIT_VERIFY_IP": "1000000/m",
        "RATELIMIT_REMOTE_OFFICE": "1000000/m",
        # One integration token plays them all.
        "RATELIMIT_API": "1000000/m",
        # Codes by text go to files, where the phones (locust) read them.
        "SMS_BACKEND": "visitors.sms.FileBackend",
        "SMS_ALLOW_TEST_BACKEND": "1",
        "SMS_FILE_DIR": sms_dir,
        "FRONTDESK_VAR_DIR": os.environ.get("FRONTDESK_VAR_DIR", str(ROOT / "var")),
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT, env=server_env, check=True,
    )  # fmt: skip
    port = _free_port()
    access_log = Path(tempfile.mkstemp(suffix=".log")[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "frontdesk.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", WORKERS, "--threads", THREADS, "--backlog", "2048",
         "--keep-alive", os.environ.get("BENCH_KEEPALIVE", "2"), "--log-level", "warning",
         # The server's own time per request (ms), to tell it from the client's wait.
         "--access-logfile", str(access_log), "--access-logformat", "%(M)s %(U)s"],
        cwd=ROOT, env=server_env,
    )  # fmt: skip
    proxy, proxy_port, proxy_dir = _start_proxy(port)
    app_port, port = port, proxy_port  # every figure through the proxy, as in production
    try:
        _wait_until_serving(app_port)
        _wait_until_serving(port)
        console = {
            "BENCH_OFFICE": office.slug,
            "BENCH_COOKIE": f"sessionid={session_key}; csrftoken={csrf}",
            "BENCH_CSRF": csrf,
            "BENCH_VERSION": str(queue_version(office_id=office.pk)),
        }
        cookie = f"Cookie: sessionid={session_key}; csrftoken={csrf}"
        htmx = ["HX-Request: true", cookie]
        base_path = f"/desk/{office.slug}"
        ceiling = _wrk(port, "/livez")
        _line("ceiling", vendor, ceiling, ceiling["rps"], load="saturate", users=USERS)
        base = ceiling["rps"]
        if _wanted("queue_poll_unchanged"):
            path = f"{base_path}/queue/?v={console['BENCH_VERSION']}"
            _wrk(port, path, headers=htmx, users=2, seconds=2)  # the permit, the cached version
            result = _wrk(port, path, headers=htmx)
            _line("queue_poll_unchanged", vendor, result, base, load="saturate", users=USERS)
            # wrk, each of its connections paced to one poll per 2 s by the Lua script's delay()
            # (a compiled load generator, not Python on the same cores), kept alive to nginx,
            # which holds them and hands gunicorn's sync workers one whole request at a time.
            access_log.write_text("")
            result = _wrk(port, path, headers=htmx, users=CONSOLES, pace_ms=2000,
                          seconds=max(SECONDS, 20))  # fmt: skip
            served = _server_times(access_log, f"{base_path}/queue/")
            _line("queue_poll_unchanged", vendor, result, base, load="consoles",
                  consoles=CONSOLES, interval_s=2, server_p50_ms=served[0],
                  server_p95_ms=served[1])  # fmt: skip
        if _wanted("console_page"):
            result = _wrk(port, f"{base_path}/", headers=[cookie])
            _line("console_page", vendor, result, base, load="saturate", users=USERS,
                  waiting=WAITING)  # fmt: skip
        if _wanted("queue_poll_changed"):
            result = _wrk(port, f"{base_path}/queue/?v=0", headers=htmx)
            _line("queue_poll_changed", vendor, result, base, load="saturate", users=USERS,
                  waiting=WAITING)  # fmt: skip
        if _wanted("call_next"):
            _refill(office, people)
            _analyse()  # 4,000 waiting now: the line's statistics as they would be
            post = [cookie, f"X-CSRFToken: {csrf}",
                    "Content-Type: application/x-www-form-urlencoded"]  # fmt: skip
            result = _wrk(port, f"{base_path}/call-next/", headers=post, method="POST",
                          body="desk=Bench")  # fmt: skip
            _line("call_next", vendor, result, base, load="saturate", users=USERS,
                  waiting=len(people))  # fmt: skip
        if _wanted("kiosk_checkin"):
            _close_all(office)
            _analyse()  # as autovacuum would after the phases before
            access_log.write_text("")
            tablet = [f"Cookie: {KIOSK_COOKIE}={kiosk_token}; csrftoken={csrf}",
                      f"X-CSRFToken: {csrf}", "HX-Request: true"]  # fmt: skip
            result = _wrk_kiosk(port, office=office.slug, kiosks=KIOSK_RATE, returning=returning,
                                headers=tablet)  # fmt: skip
            per_s = f"{result['flows_per_s']:.1f}"
            served = _server_times(access_log, f"/kiosk/{office.slug}/step/")
            _line("kiosk_checkin", vendor, result, base, load="rate",
                  target_per_s=KIOSK_RATE, checkins_per_s=per_s,
                  server_p50_ms=served[0], server_p95_ms=served[1])  # fmt: skip
        if _wanted("remote_join"):
            _close_all(office)
            phones = {
                "BENCH_OFFICE": office.slug,
                "BENCH_COOKIE": f"csrftoken={csrf}",
                "BENCH_CSRF": csrf,
                "BENCH_PACING": "1",
                "BENCH_SMS_DIR": sms_dir,
            }
            result = _locust(port, "RemoteJoin", users=JOIN_RATE, env=phones)
            per_s = f"{result['flows_per_s']:.1f}"
            _line("remote_join", vendor, result, base, load="rate",
                  target_per_s=JOIN_RATE, joins_per_s=per_s)  # fmt: skip
        if _wanted("api_check_in"):
            _close_all(office)
            _analyse()
            # An integration checking new visitors in through the API, back to back: a new
            # name each time (wrk_report.lua fills in "{n}"), one reason.
            api = [f"Authorization: Bearer {api_token}", "Content-Type: application/json"]
            body = json.dumps({"first_name": "Api", "last_name": "Bench {n}",
                               "reason_ids": [reason_id]})  # fmt: skip
            result = _wrk(port, f"/api/v1/offices/{office.slug}/check-ins", headers=api,
                          method="POST", body=body)  # fmt: skip
            _line("api_check_in", vendor, result, base, load="saturate", users=USERS)
        if _wanted("api_floor"):
            # The API's own floor: the same request, refused by its schema (422) once the token
            # and the throttle have passed, before any check-in work. No API write can be
            # faster than this through this stack.
            api = [f"Authorization: Bearer {api_token}", "Content-Type: application/json"]
            url = f"/api/v1/offices/{office.slug}/check-ins"
            body = json.dumps({"reason_ids": "not a list"})
            status = _status(port, url, headers=api, method="POST", body=body)
            if status != 422:
                raise SystemExit(f"api_floor: the refused check-in answered {status}, not 422")
            result = _wrk(port, url, headers=api, method="POST", body=body)
            result["failures"] = result["socket_errors"]  # every 422 is the answer asked for
            _line("api_floor", vendor, result, base, load="saturate", users=USERS)
        _close_all(office)
    finally:
        proxy.terminate()
        proxy.wait(timeout=20)
        shutil.rmtree(proxy_dir, ignore_errors=True)
        server.terminate()
        server.wait(timeout=20)
        access_log.unlink()
        shutil.rmtree(sms_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
