"""Benchmark: recognising a returning visitor (the kiosk's name lookup) among 200,000, and among
a statewide 1,000,000 with realistic name frequencies (issue 17).

Prints:
BENCH match_visitor db=<vendor> visitors=200000 queries=… p50_ms=… p95_ms=… rps=… confirmed=…
BENCH match_visitor db=<vendor> visitors=1000000 queries=… p50_ms=… p95_ms=… rps=… confirmed=…
and `#` comment lines about the 1,000,000 (common names, what a common-name query touches, by
name only, several).

Each times one ``visitors.selectors.visitor_match`` call per query, after warming up as a server
that has been running would be: 200 lookups of other visitors, and on PostgreSQL the tables and
indexes read into the OS's cache (pg_prewarm; this machine reclaims idle page cache within
minutes, and cold index pages come from disk).

200,000: demo names, common surnames 40 times as frequent as 30,000 invented ones, kept in the
``_bench`` database (SQLite: var/bench/match_visitor/).

1,000,000: the population of benchmarks/_population.py (Zipf-like real surnames and first names:
hundreds of "María García", thousands of "Nguyen" + "t"), in a database of its own kept between
runs (``<DATABASE_URL's name>_bench_1m``; SQLite: var/bench/match_visitor_1m/), loaded once with
``import_visitors`` from a generated CSV (~10 minutes on PostgreSQL). Its 500 queries are 400
random visitors and 100 people with the most common full names, each typed as people type (a
letter dropped, first and last swapped, case changed, or as stored), with their phone digits.

On SQLite (no DATABASE_URL) the 1,000,000 is skipped unless BENCH_MILLION=1 asks for it — loading
a million visitors into SQLite and querying them would make ``make bench`` far too long — and a
``# skipped`` line says so.
"""

import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import django_for_bench, percentile

VISITORS = 200_000
MILLION = 1_000_000
QUERIES = 500
COMMON_QUERIES = 100
WARM_QUERIES = 200
# Full names among the most common of the 1,000,000 (normalised first, last).
COMMON_NAMES = [
    ("maria", "garcia"), ("maria", "hernandez"), ("maria", "rodriguez"), ("jose", "garcia"),
    ("jose", "rodriguez"), ("juan", "martinez"), ("maria guadalupe", "lopez"),
    ("thi hoa", "nguyen"), ("thi lan", "nguyen"), ("minh", "nguyen"), ("mohamed", "ahmed"),
    ("muhammad", "ali"), ("mary", "smith"), ("james", "smith"), ("john", "johnson"),
    ("michael", "williams"),
]  # fmt: skip

_SYLLABLE_TEXT = (
    "ba be bi bo da de di do ga go gu ka ke ki ko la le li lo lu ma me mi mo na ne ni no "
    "pa pe ra re ri ro sa se si so ta te ti to va ve vi wa ya yo za zi ch sh th an en in "
    "on er ar or el al il us"
)
SYLLABLES = _SYLLABLE_TEXT.split()


def _population(rng):
    from nicknames import NickNamer

    from visitors.demo import FIRST_NAMES, LAST_NAMES

    namer = NickNamer()
    first_names = sorted(
        {n.title() for n in FIRST_NAMES}
        | {c.title() for n in ("william", "margaret", "robert", "elizabeth", "james", "mary",
                               "john", "patricia", "michael", "linda", "david", "barbara",
                               "richard", "susan", "joseph", "jessica", "thomas", "sarah")
           for c in namer.nicknames_of(n)}
    )  # fmt: skip
    invented = {
        ("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))).title()
        for _ in range(30_000)
    }
    last_names = list(LAST_NAMES) * 40 + sorted(invented)  # common names are common
    return first_names, last_names


def _populate(vendor):
    from visitors.people.models import Visitor, VisitorNameKey

    have = Visitor.objects.count()
    if have >= VISITORS:
        return
    rng = random.Random(2026)
    first_names, last_names = _population(rng)
    started = time.perf_counter()
    now = dt.datetime(2026, 1, 5, 15, 0, tzinfo=dt.UTC)
    batch = []
    for i in range(have, VISITORS):
        first, last = rng.choice(first_names), rng.choice(last_names)
        if rng.random() < 0.1:
            last = f"{last} {rng.choice(last_names)}"
        phone = f"(555) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        batch.append(
            Visitor(
                first_name=first, last_name=last, phone=phone,
                first_seen_at=now, last_seen_at=now,
            )
        )  # fmt: skip
        batch[-1].fill_search_keys()
        if len(batch) == 5000 or i == VISITORS - 1:
            created = Visitor.objects.bulk_create(batch, batch_size=1000)
            VisitorNameKey.rebuild(created)
            batch = []
    if vendor == "postgresql":
        _analyse(vendor)
    print(f"# populated {VISITORS} visitors in {time.perf_counter() - started:.0f} s")


def _analyse(vendor):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if vendor == "postgresql" else "ANALYZE")


def _variant(rng, first, last):
    roll = rng.random()
    if roll < 0.25:  # a typo: one letter dropped
        i = rng.randrange(1, len(last)) if len(last) > 2 else 0
        return first, last[:i] + last[i + 1 :]
    if roll < 0.4:
        return last, first  # swapped
    if roll < 0.55:
        return first.lower(), last.upper()
    return first, last


def _run(people, rng, visitor_match, warm=None):
    """Time one visitor_match per person (a variant of the name, the phone digits given)."""
    for person in warm if warm is not None else people[:20]:  # warm caches and the connection
        visitor_match(first_name=person.first_name, last_name=person.last_name)
    timings, found, several = [], 0, 0
    started = time.perf_counter()
    for person in people:
        first, last = _variant(rng, person.first_name, person.last_name)
        t0 = time.perf_counter()
        result = visitor_match(first_name=first, last_name=last, phone_last4=person.phone_last4)
        timings.append((time.perf_counter() - t0) * 1000)
        found += any(c.visitor.pk == person.pk and c.confirmed for c in result)
        several += sum(c.confirmed for c in result) > 1
    return timings, found, several, time.perf_counter() - started


def _line(vendor, visitors, people, timings, found, elapsed):
    return (
        f"BENCH match_visitor db={vendor} visitors={visitors} "
        f"queries={len(people)} p50_ms={percentile(timings, 50):.2f} "
        f"p95_ms={percentile(timings, 95):.2f} rps={len(people) / elapsed:.0f} "
        f"confirmed={found / len(people):.3f}"
    )


def main():
    url = os.environ.get("DATABASE_URL", "")
    vendor = django_for_bench("match_visitor")
    _populate(vendor)
    from visitors.people.models import Visitor
    from visitors.selectors import visitor_match

    rng = random.Random(7)
    # People of the population only (they all have a phone): not visitors another run left.
    population = Visitor.objects.exclude(phone="")
    ids = list(population.order_by("?").values_list("pk", flat=True)[: QUERIES + WARM_QUERIES])
    people = list(Visitor.objects.filter(pk__in=ids))
    rng.shuffle(people)
    warm, people = people[:WARM_QUERIES], people[WARM_QUERIES:]
    _prewarm(vendor)
    timings, found, _several, elapsed = _run(people, rng, visitor_match, warm)
    print(_line(vendor, Visitor.objects.count(), people, timings, found, elapsed), flush=True)

    if vendor != "postgresql" and os.environ.get("BENCH_MILLION") != "1":
        print(
            "# skipped match_visitor visitors=1000000 on SQLite (set BENCH_MILLION=1 to run it; "
            "loading a million takes long)"
        )
        return
    env = dict(os.environ)
    if url:
        env["DATABASE_URL"] = url
    else:
        env.pop("DATABASE_URL", None)
    env.pop("FRONTDESK_VAR_DIR", None)
    # Another process: Django is set up once per process, on one database.
    done = subprocess.run([sys.executable, __file__, "--million"], env=env, check=False)
    if done.returncode:
        sys.exit(done.returncode)


# --- 1,000,000 -------------------------------------------------------------------------------


def _populate_million(vendor):
    from _population import write_csv
    from django.core.management import call_command

    from visitors.people.models import Visitor

    have = Visitor.objects.count()
    if have >= MILLION:
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "visitors.csv"
        write_csv(path, MILLION - have, seed=2026 + have)
        print(f"# wrote {MILLION - have} visitors to a CSV, importing", flush=True)
        call_command("import_visitors", str(path), verbosity=0)
    _analyse(vendor)
    print(f"# populated {MILLION} visitors in {time.perf_counter() - started:.0f} s", flush=True)


def _sample(rng):
    """QUERIES people: random ones, and COMMON_QUERIES with the most common full names; and
    WARM_QUERIES other random people, to warm the caches first (a kiosk's server runs warm)."""
    from django.db.models import Max, Min

    from visitors.people.models import Visitor

    bounds = Visitor.objects.aggregate(low=Min("pk"), high=Max("pk"))
    wanted = (QUERIES - COMMON_QUERIES + WARM_QUERIES) * 2
    ids = rng.sample(range(bounds["low"], bounds["high"] + 1), wanted)
    randoms = list(Visitor.objects.filter(pk__in=ids).exclude(phone=""))
    rng.shuffle(randoms)
    warm, randoms = randoms[:WARM_QUERIES], randoms[WARM_QUERIES:]
    common = []
    for first_key, last_key in COMMON_NAMES:
        named = list(
            Visitor.objects.filter(first_key=first_key, last_key=last_key).values_list(
                "pk", flat=True
            )
        )
        common += rng.sample(named, min(len(named), COMMON_QUERIES // len(COMMON_NAMES) + 1))
    common = list(Visitor.objects.filter(pk__in=common[:COMMON_QUERIES]))
    return randoms[: QUERIES - len(common)], common, warm


def _key_rows(first, last):
    """(Key rows sharing one of the query's keys — what counting every row of every key would
    read —, the rows of them the capped read takes at most — see selectors._candidates.)"""
    from django.db.models import Count

    from visitors import selectors
    from visitors.people.models import VisitorNameKey
    from visitors.people.recognition import query_keys

    keys = query_keys(first, last)
    per_key = max(
        selectors.KEY_ROWS_MIN, min(selectors.KEY_ROWS, selectors.QUERY_ROWS // len(keys))
    )
    counts = VisitorNameKey.objects.filter(key__in=keys).values("key").annotate(n=Count("id"))
    return sum(c["n"] for c in counts), sum(min(c["n"], per_key) for c in counts)


def _prewarm(vendor):
    """Read the tables and indexes a lookup uses into the OS's cache, as on a server that has
    been running: this machine reclaims idle page cache within minutes, and a cold lookup reads
    its index pages from disk (p95 40+ ms instead of ~16 ms). PostgreSQL only (pg_prewarm)."""
    if vendor != "postgresql":
        return
    from django.db import DatabaseError, connection, transaction

    from visitors.people.models import Visitor, VisitorNameKey

    tables = [Visitor._meta.db_table, VisitorNameKey._meta.db_table]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            cursor.execute(
                "SELECT pg_prewarm(c.oid::regclass, 'read') FROM pg_class c "
                "WHERE c.relname = ANY(%s) OR c.oid IN (SELECT indexrelid FROM pg_index "
                "WHERE indrelid = ANY(%s::regclass[]))",
                [tables, tables],
            )
    except DatabaseError as exc:  # no such extension, or not allowed: run cold
        print(f"# not prewarmed ({exc.__class__.__name__})")


def main_million():
    vendor = django_for_bench("match_visitor_1m", suffix="_bench_1m")
    _populate_million(vendor)
    import visitors.selectors as selectors
    from visitors.people.models import Visitor

    # What each query touches: the visitors it loads and scores (name_likeness is called once
    # per distinct stored name among them).
    loaded, scored = [], []
    candidates, likeness = selectors._candidates, selectors.name_likeness

    def loading(*args, **kwargs):
        found = candidates(*args, **kwargs)
        loaded[-1] = len(found)
        return found

    def scoring(*args, **kwargs):
        scored[-1] += 1
        return likeness(*args, **kwargs)

    def visitor_match(**kwargs):
        loaded.append(0)
        scored.append(0)
        return selectors.visitor_match(**kwargs)

    selectors._candidates, selectors.name_likeness = loading, scoring
    _prewarm(vendor)
    rng = random.Random(7)
    randoms, common, warm = _sample(rng)
    people = randoms + common
    rng.shuffle(people)
    timings, found, several, elapsed = _run(people, rng, visitor_match, warm)
    print(_line(vendor, Visitor.objects.count(), people, timings, found, elapsed), flush=True)

    runs = zip(people, loaded[-len(people) :], scored[-len(people) :], strict=True)
    touched = {p.pk: (n, s) for p, n, s in runs}
    common_ms = [t for p, t in zip(people, timings, strict=True) if p in common]
    rows = [_key_rows(p.first_name, p.last_name) for p in common]

    def median(values):
        return f"{statistics.median(values):.0f}"

    print(
        f"# common names ({len(common)} queries, e.g. María García, Thi Hoa Nguyen, Mary Smith): "
        f"p50_ms={percentile(common_ms, 50):.2f} p95_ms={percentile(common_ms, 95):.2f}; "
        f"key rows sharing a query key median={median(r[0] for r in rows)} "
        f"max={max(r[0] for r in rows)}, of which read median={median(r[1] for r in rows)} "
        f"max={max(r[1] for r in rows)}; visitors loaded and scored "
        f"median={median(touched[p.pk][0] for p in common)} "
        f"max={max(touched[p.pk][0] for p in common)}, distinct names scored "
        f"median={median(touched[p.pk][1] for p in common)}"
    )
    print(
        f"# all {len(people)} queries: visitors loaded and scored median="
        f"{median(n for n, _s in touched.values())} max={max(n for n, _s in touched.values())}, "
        f"distinct names scored median={median(s for _n, s in touched.values())}; several (two "
        f"or more fit the name and the digits, nobody greeted): {several}"
    )
    # By name only, as the desk's search asks: the right person among the top 3?
    by_name, top3 = [], 0
    for person in people[:200]:
        first, last = _variant(rng, person.first_name, person.last_name)
        t0 = time.perf_counter()
        result = visitor_match(first_name=first, last_name=last)
        by_name.append((time.perf_counter() - t0) * 1000)
        top3 += any(c.visitor.pk == person.pk for c in result[:3])
    print(
        f"# by name only ({len(by_name)} queries, no factor): "
        f"p50_ms={percentile(by_name, 50):.2f} p95_ms={percentile(by_name, 95):.2f}; that very "
        f"record in the top 3: {top3 / len(by_name):.3f} (common names have hundreds alike: "
        f"only the second factor tells them apart)"
    )


if __name__ == "__main__":
    if "--million" in sys.argv:
        main_million()
    else:
        main()
