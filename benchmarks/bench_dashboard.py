"""Benchmark: the manager's dashboard and the visits export over a generated history.

Prints:
  BENCH dashboard_day db=<vendor> visits=… n=… p50_ms=… p95_ms=…        (one office, one day)
  BENCH dashboard_month_all db=<vendor> offices=… visits=… n=… p50_ms=… p95_ms=…
  BENCH csv_export db=<vendor> rows=… seconds=… rows_per_s=… peak_rss_growth_mb=…

The history comes from `manage.py generate_history` (50 offices, 200,000 visitors, 2,000,000
visits by default on PostgreSQL, a tenth of that on SQLite; made once and kept in a database of
its own). Requests go through Django's
test client in this process with DEBUG off, so the figures are the view's own time: queries,
rendering and middleware, without a network hop. Goals (PostgreSQL, 2 cores): day p95 < 300 ms,
month across all offices p95 < 2 s, export growth < 200 MB for 1,000,000 rows.

    python benchmarks/bench_dashboard.py [--visits 2000000] [--export-rows 1000000]
"""

import argparse
import datetime as dt
import os
import resource
import sys
import time

os.environ.setdefault("DEBUG", "0")  # DEBUG keeps every query in memory: not what production does
os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from _setup import django_for_bench, percentile  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(client, url, params, n):
    times = []
    for i in range(n + 2):
        started = time.perf_counter()
        response = client.get(url, params, secure=True)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            sys.exit(f"{url} answered {response.status_code}")
        if i >= 2:  # two warm-up requests
            times.append(elapsed)
    return percentile(times, 50), percentile(times, 95)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offices", type=int, default=50)
    parser.add_argument("--visitors", type=int)
    parser.add_argument("--visits", type=int)
    parser.add_argument("--export-rows", type=int)
    parser.add_argument("--n", type=int, default=40)
    args = parser.parse_args()
    vendor = django_for_bench("dashboard", suffix="_bench_history")
    # The goals are PostgreSQL's; the embedded SQLite gets a tenth of the history by default
    # (for a small office), so `make bench` stays short.
    scale = 1 if vendor == "postgresql" else 10
    args.visitors = args.visitors or 200_000 // scale
    args.visits = args.visits or 2_000_000 // scale
    args.export_rows = args.export_rows or 1_000_000 // scale

    from django.core.management import call_command
    from django.db.models import Count, Max
    from django.test import Client

    from tests.factories import MembershipFactory, UserFactory
    from visitors.offices.models import Office, StaffRole
    from visitors.visits.models import Visit

    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG=0 serves the manifest
    history = Visit.objects.filter(office__slug__startswith="history-")
    have = history.count()
    if have < args.visits * 0.95:
        started = time.perf_counter()
        call_command("generate_history", offices=args.offices, visitors=args.visitors,
                     visits=args.visits - have, days=365, seed=have + 1)  # fmt: skip
        print(f"# generated history in {time.perf_counter() - started:.0f} s", flush=True)
        call_command("migrate", verbosity=0)  # nothing to do; keeps the planner's stats fresh
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        have = history.count()
    offices = list(Office.objects.filter(slug__startswith="history-").order_by("slug"))
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username="bench-manager").first() or UserFactory(
        username="bench-manager"
    )
    for office in offices:
        if not office.memberships.filter(user=user).exists():
            MembershipFactory(user=user, office=office, role=StaffRole.MANAGER)
    client = Client()
    client.force_login(user)

    last_day = history.aggregate(d=Max("service_date"))["d"]
    busiest = (
        history.filter(service_date=last_day).values("office__slug").annotate(n=Count("pk"))
        .order_by("-n").first()
    )  # fmt: skip
    p50, p95 = timed(client, "/dashboard/", {"office": busiest["office__slug"],
                                             "date": last_day.isoformat()}, args.n)  # fmt: skip
    print(f"BENCH dashboard_day db={vendor} visits={have} day_visits={busiest['n']} "
          f"n={args.n} p50_ms={p50:.1f} p95_ms={p95:.1f}", flush=True)  # fmt: skip

    month = last_day.replace(day=1) - dt.timedelta(days=1)  # the last whole month
    month_visits = history.filter(service_date__year=month.year,
                                  service_date__month=month.month).count()  # fmt: skip
    n_month = max(10, args.n // 4)
    p50, p95 = timed(client, "/dashboard/range/", {"office": "all", "period": "month",
                                                   "date": month.isoformat()}, n_month)  # fmt: skip
    print(f"BENCH dashboard_month_all db={vendor} offices={len(offices)} "
          f"month_visits={month_visits} n={n_month} p50_ms={p50:.1f} p95_ms={p95:.1f}",
          flush=True)  # fmt: skip

    # The export: enough days back from the last one to cover --export-rows visits.
    per_day = dict(history.values_list("service_date").annotate(n=Count("pk")).order_by())
    first_day, start, rows = min(per_day), last_day, 0
    while rows < args.export_rows and start > first_day:
        rows += per_day.get(start, 0)
        start -= dt.timedelta(days=1)
    export = {"office": "all", "start": start.isoformat(), "end": last_day.isoformat()}
    before = rss_mb()
    peak = before
    started = time.perf_counter()
    response = client.get("/dashboard/export.csv", export, secure=True)
    lines = 0
    for i, chunk in enumerate(response.streaming_content):
        lines += chunk.count(b"\n")
        if i % 20_000 == 0:
            peak = max(peak, rss_mb())
    seconds = time.perf_counter() - started
    peak = max(peak, rss_mb())
    print(f"BENCH csv_export db={vendor} rows={lines - 1} seconds={seconds:.1f} "
          f"rows_per_s={(lines - 1) / seconds:.0f} peak_rss_growth_mb={peak - before:.1f}",
          flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
