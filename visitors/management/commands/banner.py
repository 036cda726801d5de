"""Print where Frontdesk answers and which demo logins still work, for `make run`."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.urls import reverse

from visitors.demo import DEMO_USERS, OFFICE_SLUG, demo_kiosk_token
from visitors.offices.models import KioskLink, Office


class Command(BaseCommand):
    help = "Print the local URLs and the demo logins that still have their demo password."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port, host, **options):
        base = f"http://{host}:{port}"
        lines = [
            "",
            "Frontdesk is starting (web, Celery worker and beat; Ctrl-C stops all three):",
            f"  Home           {base}/",
            f"  Health check   {base}/healthz",
            f"  Admin          {base}/admin/",
        ]
        for office in Office.objects.filter(slug=OFFICE_SLUG):
            token = demo_kiosk_token(office)
            if KioskLink.find_active(office=office, token=token):
                lines.append(
                    f"  Kiosk          {base}{reverse('kiosk:open', args=[office.slug, token])}"
                )
            display = demo_kiosk_token(office, "display")
            if KioskLink.find_active(office=office, token=display, capability="display"):
                lines.append(
                    f"  Lobby display  {base}{reverse('display:open', args=[office.slug, display])}"
                )
            lines.append(f"  Staff console  {base}{reverse('desk:console', args=[office.slug])}")
        users = get_user_model().objects.in_bulk(
            [demo.username for demo in DEMO_USERS], field_name="username"
        )
        logins = [
            f"  {demo.username:<11} / {demo.password:<16} {demo.role.label}"
            for demo in DEMO_USERS
            if demo.username in users and users[demo.username].check_password(demo.password)
        ]
        if logins:
            lines += ["Demo logins (username / password):", *logins]
        self.stdout.write("\n".join([*lines, ""]))
