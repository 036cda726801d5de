"""Where a hot request's time goes, in this process: CPU per request and statements, by step.

Not a benchmark (``make bench`` does not run it): a developer's tool for the figures in
docs/performance.md. It sets up the same office as bench_http.py in a database of its own
(``<name>_bench_prof``), then plays through Django's test client, DEBUG off:

- ``livez``: the floor, a minimal view through the same middleware;
- ``console_page``: the whole staff page, 20 waiting;
- ``call_next``: call next and put the visit back, over the waiting line;
- ``kiosk``: one whole kiosk check-in per round (a new visitor: welcome, identify, finish),
  each request timed;
- ``kiosk_returning``: the same for returning visitors found by name and phone digits, as
  the benchmark's kiosk plays them (identify then finish);
- ``api_check_in``: ``POST /api/v1/offices/<slug>/check-ins`` with an API key, a new visitor
  each round;
- ``api_floor``: the same request refused by the API's schema (422): the token, the throttle,
  ninja and the middleware, without the check-in.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fd REDIS_URL=redis://127.0.0.1:6379/9 \\
      .venv/bin/python benchmarks/profile_hot.py [names…] [--rounds N] [--profile FILE]

``PROFILE_SHOW_QUERIES=1`` lists each operation's statements (of its last request).
``--profile FILE`` writes a cProfile of the named operations' requests (read it with
``python -m pstats FILE`` or snakeviz); with ``PROFILE_CPU=1`` it counts CPU time, so time
spent waiting for PostgreSQL or Redis is left out.
"""

import argparse
import cProfile
import os
import re
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.update(
    DEBUG="0", ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="0", LOG_LEVEL="WARNING",
    SECRET_KEY="profile-only-" + "x7Pq" * 12, RATELIMIT_KIOSK="1000000/m",
    RATELIMIT_API="1000000/m",
)  # fmt: skip

from _setup import django_for_bench  # noqa: E402

STATE = re.compile(r'name="state" value="([^"]*)"')
REASON = re.compile(r'name="reasons" value="(\d+)"')


class Timer:
    def __init__(self, profiler):
        self.profiler = profiler
        self.cpu: dict[str, list[float]] = {}
        self.queries: dict[str, int] = {}
        self.sql: dict[str, list[str]] = {}

    def __call__(self, name, call):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            if self.profiler:
                self.profiler.enable()
            started = time.process_time()
            response = call()
            spent = time.process_time() - started
            if self.profiler:
                self.profiler.disable()
        self.cpu.setdefault(name, []).append(spent * 1000)
        self.queries[name] = len(captured)
        self.sql[name] = [q["sql"] for q in captured.captured_queries]
        return response

    def report(self):
        for name, values in self.cpu.items():
            values = sorted(values)
            median = values[len(values) // 2]
            print(f"{name:28} cpu_ms_median={median:7.2f} cpu_ms_min={values[0]:7.2f} "
                  f"statements={self.queries[name]:3d} n={len(values)}")  # fmt: skip
            if os.environ.get("PROFILE_SHOW_QUERIES"):
                for sql in self.sql[name]:
                    print("    ", sql[:150])


def main():
    parser = argparse.ArgumentParser()
    everything = ["livez", "console_page", "call_next", "kiosk", "kiosk_returning", "api_check_in",
                  "api_floor"]  # fmt: skip
    parser.add_argument("names", nargs="*", default=everything)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--profile")
    args = parser.parse_args()
    django_for_bench("prof", suffix="_bench_prof")
    import bench_http
    from django.conf import settings
    from django.test import Client

    from visitors.views.kiosk import KIOSK_COOKIE

    office, people, session_key, csrf, kiosk_token, returning = bench_http._prepare()
    profiler = None
    if args.profile:  # PROFILE_CPU=1: the process's CPU time, not the wall clock's
        clock = time.process_time if os.environ.get("PROFILE_CPU") else time.perf_counter
        profiler = cProfile.Profile(clock)
    timer = Timer(profiler)
    staff = Client(HTTP_X_CSRFTOKEN=csrf)
    staff.cookies[settings.SESSION_COOKIE_NAME] = session_key
    staff.cookies[settings.CSRF_COOKIE_NAME] = csrf
    base = f"/desk/{office.slug}"
    if "livez" in args.names:  # the floor: a minimal view through the same middleware
        bare = Client()
        for _ in range(args.rounds):
            timer("livez", lambda: bare.get("/livez"))
    if "console_page" in args.names:
        staff.get(f"{base}/")
        for _ in range(args.rounds):
            timer("console_page", lambda: staff.get(f"{base}/"))
    if "call_next" in args.names:
        bench_http._refill(office, people)
        for _ in range(args.rounds):
            timer("call_next", lambda: staff.post(f"{base}/call-next/", {"desk": "Bench"}))
    if "kiosk" in args.names:
        bench_http._close_all(office)
        kiosk = Client(HTTP_X_CSRFTOKEN=csrf, HTTP_HX_REQUEST="true")
        kiosk.cookies[KIOSK_COOKIE] = kiosk_token
        kiosk.cookies[settings.CSRF_COOKIE_NAME] = csrf
        url = f"/kiosk/{office.slug}/step/"

        def step(name, fields, page):
            state = STATE.search(page)
            data = {"state": state.group(1) if state else ""} | fields
            response = timer(f"kiosk_{name}", lambda: kiosk.post(url, data))
            assert response.status_code == 200, (name, response.status_code)
            return response.content.decode()

        for n in range(args.rounds):
            page = timer("kiosk_home", lambda: kiosk.get(f"/kiosk/{office.slug}/")).content.decode()
            page = step("identify", {"step": "identify", "lang": "en", "first_name": f"Prof{n}",
                                     "last_name": secrets.token_hex(4),
                                     "action": "first_visit"}, page)  # fmt: skip
            page = step("finish", {"step": "finish", "reasons": REASON.findall(page)[:1],
                                   "priority_category": "none"}, page)  # fmt: skip
            assert 'class="ticket"' in page
    if "kiosk_returning" in args.names:  # as the bench's kiosk: visitors found by name and phone
        bench_http._close_all(office)
        kiosk = Client(HTTP_X_CSRFTOKEN=csrf, HTTP_HX_REQUEST="true")
        kiosk.cookies[KIOSK_COOKIE] = kiosk_token
        kiosk.cookies[settings.CSRF_COOKIE_NAME] = csrf
        url = f"/kiosk/{office.slug}/step/"
        for first, last, last4 in returning[: args.rounds]:
            page = timer("kiosk_r_home", lambda: kiosk.get(f"/kiosk/{office.slug}/"))
            data = {"state": STATE.search(page.content.decode()).group(1), "step": "identify",
                    "lang": "en", "first_name": first, "last_name": last, "action": "find",
                    "phone_last4": last4}  # fmt: skip
            page = timer("kiosk_r_identify", lambda data=data: kiosk.post(url, data))
            page = page.content.decode()
            if 'class="ticket"' in page or "reasons" not in page:
                continue  # already in line, or not found by those digits
            data = {"state": STATE.search(page).group(1), "step": "finish",
                    "reasons": REASON.findall(page)[:1], "priority_category": "none"}  # fmt: skip
            page = timer("kiosk_r_finish", lambda data=data: kiosk.post(url, data))
            assert 'class="ticket"' in page.content.decode()
    if "api_check_in" in args.names:
        bench_http._close_all(office)
        key = _api_key(office)
        api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        reason = office.reasons.filter(is_active=True).values_list("pk", flat=True).first()
        for n in range(args.rounds):
            body = {"first_name": f"Api{n}", "last_name": secrets.token_hex(4),
                    "reason_ids": [reason]}  # fmt: skip
            response = timer(
                "api_check_in",
                lambda body=body: api.post(
                    f"/api/v1/offices/{office.slug}/check-ins",
                    body,
                    content_type="application/json",
                ),  # fmt: skip
            )
            assert response.status_code == 201, (response.status_code, response.content[:300])
    if "api_floor" in args.names:  # the API's own floor: a check-in refused by its schema
        api = Client(HTTP_AUTHORIZATION=f"Bearer {_api_key(office)}")
        url = f"/api/v1/offices/{office.slug}/check-ins"
        for _ in range(args.rounds):
            response = timer(
                "api_floor",
                lambda: api.post(url, {"reason_ids": "x"}, content_type="application/json"),
            )
            assert response.status_code == 422, response.status_code
    timer.report()
    if profiler:
        profiler.dump_stats(args.profile)
        print(f"profile written to {args.profile}")


def _api_key(office):
    from django.contrib.auth import get_user_model

    from visitors.integrations.models import ApiToken

    clerk = get_user_model().objects.get(username="bench-clerk")
    _token, secret = ApiToken.issue(name="profile", offices=[office], scope="write",
                                    created_by=clerk)  # fmt: skip
    return secret


if __name__ == "__main__":
    main()
