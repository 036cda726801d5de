"""Generate a realistic history of visits for measuring the dashboard and the export.

    python manage.py generate_history --offices 50 --visitors 200000 --visits 2000000

Offices across the US time zones, visitors, and finished visits over the last ``--days`` days
(arrivals peak mid-morning, waits and service times vary by office and reason, some walk away,
some are no-shows; outcomes, services with reporting codes, referrals, ratings). Rows go in
with PostgreSQL's COPY (or batched inserts on SQLite) with ids assigned here, so two million
visits take minutes, not hours. Runs are additive; ``--seed`` makes them repeatable. Name keys
for recognition are not built (``rebuild_name_keys`` does that).
"""

import datetime as dt
import random
import secrets
import time
import zoneinfo

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.utils import timezone

from visitors.offices.models import (
    Office,
    ReasonForVisit,
    ReferralPartner,
    Service,
    forget_reasons,
)
from visitors.people.models import PriorityCategory, Visitor
from visitors.people.recognition import normalise_name, phone_digits
from visitors.visits.lifecycle import Outcome, Status
from visitors.visits.models import Referral, ServiceGiven, Visit

ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
         "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu"]  # fmt: skip
FIRST = ["Maria", "José", "James", "Mary", "Robert", "Patricia", "Juan", "Linda", "Michael",
         "Ana", "Wei", "Fatima", "Nguyen", "Olga", "Kwame", "Aisha", "David", "Rosa", "Luis",
         "Jennifer", "Carlos", "Elizabeth", "Ahmed", "Sofia", "Daniel", "Guadalupe"]  # fmt: skip
LAST = ["García", "Smith", "Johnson", "Rodríguez", "Williams", "Hernández", "Brown", "López",
        "Jones", "Martínez", "Nguyen", "Kim", "Patel", "Okafor", "Ivanova", "Davis", "Chen",
        "Wilson", "Gonzalez", "Anderson", "Thomas", "Moore", "Jackson", "Lee"]  # fmt: skip
REASONS = ["Job search help", "Unemployment claim", "Résumé review", "Training programs",
           "Computer and printer"]  # fmt: skip
# Arrivals by local hour, 8:00–16:59: the doors open at 9 and the morning is busiest.
HOUR_WEIGHTS = {8: 4, 9: 14, 10: 16, 11: 13, 12: 9, 13: 11, 14: 12, 15: 9, 16: 5}
BATCH = 20_000


class Command(BaseCommand):
    help = "Generate offices, visitors and visits in bulk (for benchmarks and demos)."

    def add_arguments(self, parser):
        parser.add_argument("--offices", type=int, default=50)
        parser.add_argument("--visitors", type=int, default=200_000)
        parser.add_argument("--visits", type=int, default=2_000_000)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, offices, visitors, visits, days, seed, **opts):
        if min(offices, visitors, days) < 1 or visits < 0:
            raise CommandError("--offices, --visitors and --days must be at least 1")
        rng = random.Random(seed)
        started = time.monotonic()
        with transaction.atomic():
            office_rows = self._offices(offices, rng)
            catalogue = self._catalogue(office_rows)
            first_visitor = self._visitors(visitors, rng)
            made = self._visits(visits, days, rng, office_rows, catalogue, first_visitor, visitors)
        self._reset_sequences()
        self.stdout.write(
            f"generated {len(office_rows)} offices, {visitors} visitors, {made['visits']} visits "
            f"({made['services']} services, {made['referrals']} referrals) "
            f"in {time.monotonic() - started:.1f} s"
        )

    # -- offices and catalogues --------------------------------------------------------------

    def _offices(self, n: int, rng: random.Random) -> list[Office]:
        rows = []
        for i in range(1, n + 1):
            office, _ = Office.objects.get_or_create(
                slug=f"history-{i:02d}",
                defaults={"name": f"History Job Center {i:02d}", "time_zone": ZONES[i % len(ZONES)],
                          "ticket_prefix": "H", "wait_target_minutes": rng.choice([15, 20, 30])},
            )  # fmt: skip
            rows.append(office)
        return rows

    def _catalogue(self, offices: list[Office]) -> dict:
        reasons = {}
        for office in offices:
            existing = list(office.reasons.order_by("position"))
            if not existing:
                existing = ReasonForVisit.objects.bulk_create(
                    [
                        ReasonForVisit(office=office, label_en=label, position=i)
                        for i, label in enumerate(REASONS)
                    ]  # fmt: skip
                )
                forget_reasons([office.pk])  # bulk_create sends no post_save
            reasons[office.pk] = [r.pk for r in existing]
        services = [
            Service.objects.get_or_create(
                reporting_code=f"HIST-{i}",
                defaults={"name": f"Service {i}", "staff_assisted": i % 2 == 0},
            )[0].pk
            for i in range(1, 9)
        ]  # fmt: skip
        partners = [
            ReferralPartner.objects.get_or_create(
                name=f"History partner {i}", defaults={"helps_with": "Help"}
            )[0].pk
            for i in range(1, 7)
        ]  # fmt: skip
        return {"reasons": reasons, "services": services, "partners": partners}

    # -- bulk writing ------------------------------------------------------------------------

    def _columns(self, model) -> list[models.Field]:
        return [f for f in model._meta.concrete_fields]

    def _write(self, model, rows):
        """Write tuples in the order of the model's concrete fields (COPY on PostgreSQL)."""
        fields = self._columns(model)
        table = model._meta.db_table
        names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        if connection.vendor == "postgresql":
            from psycopg.types.json import Jsonb

            json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
            with connection.cursor() as cursor:
                raw = cursor.cursor  # psycopg's own cursor, for COPY
                with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        if json_at:
                            row = list(row)
                            for i in json_at:
                                row[i] = Jsonb(row[i])
                        copy.write_row(row)
            return
        prepare = [f.get_db_prep_save for f in fields]
        rows = (
            tuple(p(v, connection) if v is not None else None for p, v in zip(prepare, row,
                                                                             strict=True))
            for row in rows
        )  # fmt: skip
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        batch = []
        with connection.cursor() as cursor:
            for row in rows:
                batch.append(row)
                if len(batch) >= BATCH:
                    cursor.executemany(sql, batch)
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)

    def _next_id(self, model) -> int:
        return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1

    def _reset_sequences(self) -> None:
        if connection.vendor != "postgresql":
            return
        from django.core.management.color import no_style

        models_ = [Visitor, Visit, ServiceGiven, Referral, Visit.reasons.through]
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models_):
                cursor.execute(sql)

    # -- visitors ----------------------------------------------------------------------------

    def _visitors(self, n: int, rng: random.Random) -> int:
        first_id = self._next_id(Visitor)
        fields = [f.attname for f in self._columns(Visitor)]
        now = timezone.now()
        long_ago = now - dt.timedelta(days=800)

        def rows():
            for i in range(n):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                phone = f"(555) {rng.randrange(200, 999)}-{rng.randrange(0, 9999):04d}"
                values = {
                    "id": first_id + i, "first_name": first, "last_name": last,
                    "preferred_name": "", "first_key": normalise_name(first),
                    "last_key": normalise_name(last), "phone": phone,
                    "phone_last4": phone_digits(phone)[-4:], "email": "", "birth_date": None,
                    "preferred_language": "es" if rng.random() < 0.3 else "en",
                    "consent_sms": rng.random() < 0.6, "consent_email": False,
                    "consent_updated_at": None,
                    "priority_category": PriorityCategory.COVERED_VETERAN
                    if rng.random() < 0.06 else PriorityCategory.NONE,
                    "first_seen_at": long_ago, "last_seen_at": now, "merged_into_id": None,
                    "created_at": long_ago, "updated_at": now, "anonymised_at": None,
                    "registered_at_id": None,
                }  # fmt: skip
                yield tuple(values[f] for f in fields)

        self._write(Visitor, rows())
        return first_id

    # -- visits ------------------------------------------------------------------------------

    def _visits(self, n, days, rng, offices, catalogue, first_visitor, n_visitors) -> dict:
        fields = [f.attname for f in self._columns(Visit)]
        today = timezone.now().date()
        first_day = today - dt.timedelta(days=days)
        visit_id = self._next_id(Visit)
        service_id, referral_id = self._next_id(ServiceGiven), self._next_id(Referral)
        reason_through = Visit.reasons.through
        link_id = self._next_id(reason_through)
        # Spread visits over office-days, weekdays only, busier offices getting more.
        weights = [rng.uniform(0.3, 1.7) for _ in offices]
        workdays = [first_day + dt.timedelta(days=d) for d in range(days)]
        workdays = [d for d in workdays if d.weekday() < 5] or workdays
        hours = list(HOUR_WEIGHTS)
        hour_weights = list(HOUR_WEIGHTS.values())
        counts = {"visits": 0, "services": 0, "referrals": 0}
        links, given, referred = [], [], []

        def plan():
            """(office, day, how many) for every office-day, summing to exactly n."""
            expected = [
                (office, day, max(0.0, rng.gauss(w, 0.2 * w)))
                for day in workdays
                for office, w in zip(offices, weights, strict=True)
            ]
            scale = n / (sum(e for _o, _d, e in expected) or 1)
            running, assigned = 0.0, 0
            for office, day, e in expected:
                running += e * scale
                k = round(running) - assigned
                assigned += k
                if k:
                    yield office, day, k

        zones = {o.pk: zoneinfo.ZoneInfo(o.time_zone) for o in offices}

        def rows():
            nonlocal visit_id, service_id, referral_id, link_id
            for office, day, k in plan():
                zone = zones[office.pk]
                slowness = 0.6 + (office.pk % 7) / 5
                arrivals = sorted(
                    dt.datetime.combine(day, dt.time(rng.choices(hours, hour_weights)[0],
                                                     rng.randrange(60), rng.randrange(60)),
                                        tzinfo=zone)
                    for _ in range(k)
                )  # fmt: skip
                for number, arrived in enumerate(arrivals, start=1):
                    reason = rng.choice(catalogue["reasons"][office.pk])
                    roll = rng.random()
                    wait = dt.timedelta(minutes=rng.expovariate(1 / (12 * slowness)))
                    values = dict.fromkeys(fields)
                    values.update({
                        "id": visit_id, "office_id": office.pk,
                        "visitor_id": first_visitor + rng.randrange(n_visitors),
                        "service_date": day, "ticket_number": number,
                        "ticket_code": f"{office.ticket_prefix}-{number:03d}", "priority": 0,
                        "source": "kiosk" if roll < 0.8 else "desk", "reason_other": "",
                        "visitor_words": "", "checkin_token": None,
                        "status_token": secrets.token_urlsafe(32), "identity_flag": "",
                        "notify_when_called": False, "notify_when_ahead": None,
                        "on_the_way": False, "arrived_by": "",
                        "served_ahead": False, "barriers": [], "job_leads": "",
                        "checked_in_at": arrived, "desk": "", "outcome": "", "notes": "",
                        "note_for_next_time": "",
                        "quoted_wait_min": max(0, int(wait.total_seconds() // 60) - 5),
                        "quoted_wait_max": int(wait.total_seconds() // 60) + rng.randrange(2, 15),
                    })  # fmt: skip
                    if roll < 0.07:
                        values["status"] = Status.LEFT
                    elif roll < 0.11:
                        values.update(status=Status.NO_SHOW, called_at=arrived + wait)
                    else:
                        called = arrived + wait
                        begin = called + dt.timedelta(minutes=rng.uniform(0.5, 3))
                        end = begin + dt.timedelta(minutes=rng.lognormvariate(2.9, 0.5))
                        values.update({
                            "status": Status.DONE, "called_at": called,
                            "service_started_at": begin, "greeted_at": begin,
                            "determined_at": begin, "responded_at": begin,
                            "concluded_at": end, "future_reference_at": end, "ended_at": end,
                            "outcome": rng.choices(Outcome.values, [60, 15, 20, 5])[0],
                            "rating": rng.choice([None, None, None, 3, 4, 5, 5]),
                        })  # fmt: skip
                        if rng.random() < 0.5:
                            given.append((service_id, visit_id, rng.choice(catalogue["services"]),
                                          None, end, ""))  # fmt: skip
                            service_id += 1
                        if values["outcome"] == Outcome.REFERRED:
                            partner = rng.choice(catalogue["partners"])
                            referred.append((referral_id, visit_id, partner, "", None, end))
                            referral_id += 1
                    links.append((link_id, visit_id, reason))
                    link_id += 1
                    counts["visits"] += 1
                    visit_id += 1
                    yield tuple(values[f] for f in fields)

        self._write(Visit, rows())
        self._write(reason_through, iter(links))
        self._write(ServiceGiven, self._ordered(ServiceGiven, given,
                                                ["id", "visit_id", "service_id", "given_by_id",
                                                 "given_at", "note"]))  # fmt: skip
        self._write(Referral, self._ordered(Referral, referred,
                                            ["id", "visit_id", "partner_id", "note",
                                             "referred_by_id", "created_at"]))  # fmt: skip
        counts["services"], counts["referrals"] = len(given), len(referred)
        return counts

    def _ordered(self, model, rows, names):
        order = [f.attname for f in self._columns(model)]
        index = [names.index(name) for name in order]
        return (tuple(row[i] for i in index) for row in rows)
