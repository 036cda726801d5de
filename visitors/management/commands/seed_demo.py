"""Create the demo office, staff, catalogues, visit history and a live queue (idempotent)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from visitors.demo import DEMO_USERS, OFFICE_SLUG, demo_seed
from visitors.offices.models import Office


class Command(BaseCommand):
    help = "Create demo data: an office, one user per role, catalogues, history, a live queue."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when any office exists (what `make run` uses).",
        )
        parser.add_argument("--visitors", type=int, default=200, help="Visitors with history.")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed for the history.")
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DEBUG=0 (the demo users have published passwords).",
        )

    def handle(self, *args, if_empty, visitors, seed, allow_production, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "Refusing to seed demo users with published passwords while DEBUG=0; "
                "pass --allow-production for a throwaway staging site."
            )
        if visitors < 0:
            raise CommandError("--visitors must be zero or more.")
        if if_empty and Office.objects.exists():
            self.stdout.write("Demo data: an office already exists, nothing to do.")
            return
        report = demo_seed(visitors=visitors, seed=seed)
        verb = "Created" if report.created_office else "Updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} office '{OFFICE_SLUG}': {report.visitors} visitors, "
                f"{report.visits} past visits added, {report.waiting} waiting now."
            )
        )
        if not report.open_now:
            self.stdout.write(
                "The office is closed now (its opening hours, Django admin → Offices), so no "
                "live queue was seeded; run seed_demo again during opening hours for one."
            )
        self.stdout.write("Demo logins (username / password):")
        for demo in DEMO_USERS:
            self.stdout.write(f"  {demo.username:<11} / {demo.password:<16} {demo.role.label}")
