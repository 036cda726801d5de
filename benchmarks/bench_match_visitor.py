"""Benchmark: recognising a returning visitor among 200,000 (the kiosk's name lookup).

Prints: BENCH match_visitor db=<vendor> visitors=200000 queries=… p50_ms=… p95_ms=… rps=…
Run with `make bench` (SQLite), or with DATABASE_URL set for PostgreSQL.
"""

import datetime as dt
import random
import time

from _setup import django_for_bench, percentile

VISITORS = 200_000
QUERIES = 500

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
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"# populated {VISITORS} visitors in {time.perf_counter() - started:.0f} s")


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


def main():
    vendor = django_for_bench("match_visitor")
    _populate(vendor)
    from visitors.people.models import Visitor
    from visitors.selectors import visitor_match

    rng = random.Random(7)
    # People of the population only (they all have a phone): not visitors another run left.
    population = Visitor.objects.exclude(phone="")
    ids = population.order_by("?").values_list("pk", flat=True)[:QUERIES]
    people = list(Visitor.objects.filter(pk__in=list(ids)))
    for person in people[:20]:  # warm caches and the connection
        visitor_match(first_name=person.first_name, last_name=person.last_name)
    timings, found = [], 0
    started = time.perf_counter()
    for person in people:
        first, last = _variant(rng, person.first_name, person.last_name)
        t0 = time.perf_counter()
        result = visitor_match(first_name=first, last_name=last, phone_last4=person.phone_last4)
        timings.append((time.perf_counter() - t0) * 1000)
        found += any(c.visitor.pk == person.pk and c.confirmed for c in result)
    elapsed = time.perf_counter() - started
    print(
        f"BENCH match_visitor db={vendor} visitors={Visitor.objects.count()} "
        f"queries={len(people)} p50_ms={percentile(timings, 50):.2f} "
        f"p95_ms={percentile(timings, 95):.2f} rps={len(people) / elapsed:.0f} "
        f"confirmed={found / len(people):.3f}"
    )


if __name__ == "__main__":
    main()
