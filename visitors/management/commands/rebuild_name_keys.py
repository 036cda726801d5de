"""Rebuild every visitor's recognition keys, after the key rules in recognition.py change."""

from django.core.management.base import BaseCommand
from django.db import transaction

from visitors.people.models import Visitor, VisitorNameKey


class Command(BaseCommand):
    help = "Rebuild the blocking keys used to recognise returning visitors."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=2000)

    def handle(self, *args, batch, **options):
        total, last_pk = 0, 0
        while True:
            visitors = list(
                Visitor.objects.filter(pk__gt=last_pk, merged_into__isnull=True)
                .order_by("pk")
                .only("pk", "first_name", "last_name", "phone", "birth_date")[:batch]
            )
            if not visitors:
                break
            with transaction.atomic():
                VisitorNameKey.rebuild(visitors)
            total += len(visitors)
            last_pk = visitors[-1].pk
        self.stdout.write(self.style.SUCCESS(f"Rebuilt the name keys of {total} visitor(s)."))
