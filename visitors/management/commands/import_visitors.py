"""Import visitors from a CSV (e.g. a paper sign-in sheet typed up): all rows or none."""

import csv
import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from visitors.offices.models import Language, Office
from visitors.people.models import PriorityCategory, Visitor, VisitorNameKey
from visitors.people.recognition import phone_digits

REQUIRED = ("first_name", "last_name")
OPTIONAL = ("preferred_name", "phone", "email", "birth_date", "language", "veteran")
TRUE, FALSE = {"1", "yes", "y", "true", "x"}, {"", "0", "no", "n", "false"}


class Command(BaseCommand):
    help = "Import visitors from a CSV; bad rows are reported by line and nothing is imported."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--office", default="", help="Office slug the visitors came to")

    def handle(self, *args, file, office, **opts):
        if office and not Office.objects.filter(slug=office).exists():
            raise CommandError(f"No office with slug {office!r}")
        try:
            with open(file, encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                missing = set(REQUIRED) - set(reader.fieldnames or [])
                if missing:
                    raise CommandError(f"Missing column(s): {', '.join(sorted(missing))}")
                unknown = set(reader.fieldnames) - set(REQUIRED) - set(OPTIONAL)
                if unknown:
                    raise CommandError(f"Unknown column(s): {', '.join(sorted(unknown))}")
                visitors, errors = [], []
                for row in reader:
                    try:
                        visitors.append(_visitor(row))
                    except ValueError as exc:
                        errors.append(f"line {reader.line_num}: {exc}")
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None
        if errors:
            for error in errors:
                self.stderr.write(error)
            raise CommandError(f"{len(errors)} bad row(s); nothing was imported.")
        with transaction.atomic():
            created = Visitor.objects.bulk_create(visitors, batch_size=1000)
            VisitorNameKey.rebuild(created)
        self.stdout.write(self.style.SUCCESS(f"Imported {len(created)} visitor(s)."))


def _visitor(row: dict) -> Visitor:
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
        if not dt.date(1900, 1, 1) <= birth_date <= timezone.localdate():
            raise ValueError(f"birth_date {values['birth_date']} is out of range")
    language = values["language"].lower() or Language.ENGLISH
    if language not in Language.values:
        raise ValueError(f"language {values['language']!r} is not one of en, es")
    veteran = values["veteran"].lower()
    if veteran not in TRUE | FALSE:
        raise ValueError(f"veteran {values['veteran']!r} is not yes or no")
    now = timezone.now()
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
