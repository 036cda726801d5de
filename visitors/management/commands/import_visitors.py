"""Import visitors from a CSV (e.g. a paper sign-in sheet typed up): all rows or none.

The file is read once, row by row, inside one transaction: each row is checked and written in
batches (PostgreSQL: COPY, with ids taken from the table's sequence; elsewhere bulk inserts),
its recognition keys with it. After the first bad row nothing more is written, but every row is
still checked so that all bad lines are reported; then the transaction is rolled back. Memory
stays flat whatever the size of the file (a million rows load in minutes on PostgreSQL; see
docs/performance.md).
"""

import csv
import datetime as dt
from functools import lru_cache
from operator import itemgetter

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import connection, models, reset_queries, transaction
from django.utils import timezone

from visitors.offices.models import Language, Office
from visitors.people.models import PriorityCategory, Visitor, VisitorNameKey
from visitors.people.recognition import phone_digits, visitor_keys

REQUIRED = ("first_name", "last_name")
OPTIONAL = ("preferred_name", "phone", "email", "birth_date", "language", "veteran")
TRUE, FALSE = {"1", "yes", "y", "true", "x"}, {"", "0", "no", "n", "false"}
BATCH = 10_000  # visitors written at a time


class _BadRows(Exception):
    """Raised inside the transaction to roll back what was written before the first bad row."""


class Command(BaseCommand):
    help = "Import visitors from a CSV; bad rows are reported by line and nothing is imported."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--office", default="",
            help="Office slug the visitors came to: only that office sees them (until they come "
            "in elsewhere). Without it, the first office to check one in by id makes it theirs.",
        )  # fmt: skip

    def handle(self, *args, file, office, **opts):
        at = Office.objects.filter(slug=office).first() if office else None
        if office and at is None:
            raise CommandError(f"No office with slug {office!r}")
        errors: list[str] = []
        try:
            with open(file, encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                missing = set(REQUIRED) - set(reader.fieldnames or [])
                if missing:
                    raise CommandError(f"Missing column(s): {', '.join(sorted(missing))}")
                unknown = set(reader.fieldnames) - set(REQUIRED) - set(OPTIONAL)
                if unknown:
                    raise CommandError(f"Unknown column(s): {', '.join(sorted(unknown))}")
                with transaction.atomic():
                    imported = _import(reader, errors, office_id=at.pk if at else None)
        except _BadRows:
            for error in errors:
                self.stderr.write(error)
            raise CommandError(f"{len(errors)} bad row(s); nothing was imported.") from None
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"Imported {imported} visitor(s)."))


def _import(reader: csv.DictReader, errors: list[str], *, office_id: int | None = None) -> int:
    """Check and write every row; raise _BadRows (rolling back) if any was bad. With
    ``office_id``, the records are that office's (``Visitor.registered_at``): it alone sees
    them until the people come in elsewhere."""
    now = timezone.now()
    today = timezone.localdate(now)
    writer = _Writer(now)
    batch: list[Visitor] = []
    imported = 0
    for row in reader:
        try:
            visitor = _visitor(row, now, today)
            visitor.registered_at_id = office_id
        except ValueError as exc:
            errors.append(f"line {reader.line_num}: {exc}")
            continue
        if errors:
            continue  # nothing more is written; the rest is only checked
        batch.append(visitor)
        if len(batch) >= BATCH:
            writer.write(batch)
            imported += len(batch)
            batch = []
    if errors:
        raise _BadRows
    if batch:
        writer.write(batch)
        imported += len(batch)
    return imported


def _sorted_keys(first_name: str, last_name: str) -> tuple[str, ...]:
    return tuple(sorted(visitor_keys(first_name, last_name)))


class _Writer:
    """Writes batches of visitors and their key rows: COPY on PostgreSQL, else bulk inserts."""

    def __init__(self, now: dt.datetime):
        self.now = now
        # Names repeat (a few hundred thousand distinct among a million visitors, the common
        # ones thousands of times): their keys are worked out once.
        self.keys_of = lru_cache(maxsize=20_000)(_sorted_keys)
        self.copy = connection.vendor == "postgresql"
        if self.copy:
            # Foreign keys checked after each COPY rather than all at COMMIT: PostgreSQL would
            # otherwise keep one pending check per key row (millions) in memory until then.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            self.fields = Visitor._meta.concrete_fields
            self.prepared: dict = {}

    def write(self, visitors: list[Visitor]) -> None:
        reset_queries()  # with DEBUG on, Django would keep every statement sent (and its values)
        if not self.copy:
            # Modest statements: SQLite keeps each distinct one compiled (a statement of
            # thousands of values is megabytes), and the last of every batch is a new size.
            created = Visitor.objects.bulk_create(visitors, batch_size=250)
            VisitorNameKey.objects.bulk_create(
                (
                    row
                    for v in created
                    for row in VisitorNameKey.rows_for(v, self.keys_of(v.first_name, v.last_name))
                ),
                batch_size=1000,
            )
            return
        quote = connection.ops.quote_name
        table, key_table = Visitor._meta.db_table, VisitorNameKey._meta.db_table
        names = ", ".join(quote(f.column) for f in self.fields)
        with connection.cursor() as cursor:
            # Ids from the table's sequence, so that visitors made meanwhile never collide.
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, len(visitors)],
            )
            for visitor, (pk,) in zip(visitors, cursor.fetchall(), strict=True):
                visitor.pk = pk
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            with raw.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for visitor in visitors:
                    copy.write_row([self._value(f, visitor) for f in self.fields])
            rows = [
                (visitor.pk, *values)
                for visitor in visitors
                for values in VisitorNameKey.values_for(
                    visitor, self.keys_of(visitor.first_name, visitor.last_name)
                )
            ]
            rows.sort(key=itemgetter(1))  # in key order: the (key, …) indexes fill in order
            columns = "visitor_id, key, phone_last4, birth_month_day"
            with raw.copy(f"COPY {quote(key_table)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def _value(self, field, visitor):
        """The field's value as the database takes it (as bulk_create would prepare it)."""
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = self.now  # created_at, updated_at: one time for the whole import
        else:
            value = getattr(visitor, field.attname)
        if field.primary_key or (
            isinstance(value, str) and isinstance(field, models.CharField | models.TextField)
        ):
            return value
        # Most values repeat (times, flags, languages, birth dates): prepared once each.
        try:
            return self.prepared[field, value]
        except KeyError:
            if len(self.prepared) > 100_000:  # a field whose values seldom repeat
                self.prepared.clear()
            prepared = self.prepared[field, value] = field.get_db_prep_save(value, connection)
            return prepared
        except TypeError:  # not hashable
            return field.get_db_prep_save(value, connection)


def _visitor(row: dict, now: dt.datetime, today: dt.date) -> Visitor:
    values = {k: (row.get(k) or "").strip() for k in REQUIRED + OPTIONAL}
    for name in REQUIRED:
        if not values[name]:
            raise ValueError(f"{name} is empty")
    for name in ("first_name", "last_name", "preferred_name"):
        if len(values[name]) > 100:
            raise ValueError(f"{name} is longer than 100 characters")
    phone = values["phone"]
    if phone and not 10 <= len(phone_digits(phone)) <= 15:
        raise ValueError(f"phone {phone!r} is not a full phone number")
    if values["email"]:
        try:
            validate_email(values["email"])
        except ValidationError:
            raise ValueError(f"email {values['email']!r} is not valid") from None
    birth_date = None
    if values["birth_date"]:
        try:
            birth_date = dt.date.fromisoformat(values["birth_date"])
        except ValueError:
            raise ValueError(f"birth_date {values['birth_date']!r} is not YYYY-MM-DD") from None
        if not dt.date(1900, 1, 1) <= birth_date <= today:
            raise ValueError(f"birth_date {values['birth_date']} is out of range")
    language = values["language"].lower() or Language.ENGLISH
    if language not in Language.values:
        raise ValueError(f"language {values['language']!r} is not one of en, es")
    veteran = values["veteran"].lower()
    if veteran not in TRUE | FALSE:
        raise ValueError(f"veteran {values['veteran']!r} is not yes or no")
    visitor = Visitor(
        first_name=values["first_name"],
        last_name=values["last_name"],
        preferred_name=values["preferred_name"],
        phone=phone,
        email=values["email"],
        birth_date=birth_date,
        preferred_language=language,
        priority_category=PriorityCategory.COVERED_VETERAN
        if veteran in TRUE
        else PriorityCategory.NONE,
        first_seen_at=now,
        last_seen_at=now,
    )
    visitor.fill_search_keys()
    return visitor
