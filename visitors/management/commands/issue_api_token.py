"""Make an integration token for a user at some offices and print it (CI, scripts, setup).

Office admins normally make tokens at /desk/<office>/integrations/; this does the same from a
shell, with the same rule: the user must be an office admin at each office named.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from visitors.integrations.models import ApiScope, ApiToken
from visitors.offices.models import Office, StaffMembership, StaffRole


class Command(BaseCommand):
    help = "Make an API token for USER at the offices given; print the token (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--office", action="append", required=True, help="Office slug.")
        parser.add_argument("--scope", choices=ApiScope.values, default=ApiScope.READ)
        parser.add_argument("--name", default="Command line")

    def handle(self, *args, username, office, scope, name, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        offices = list(Office.objects.filter(slug__in=office))
        if len(offices) != len(set(office)):
            raise CommandError("unknown office slug")
        for o in offices:
            if not StaffMembership.objects.filter(
                user=user, office=o, role=StaffRole.ADMIN, is_active=True
            ).exists():
                raise CommandError(f"{username} is not an office admin at {o.slug}")
        _token, raw = ApiToken.issue(name=name, offices=offices, scope=scope, created_by=user)
        self.stdout.write(raw)
