"""Print where Frontdesk answers and which demo logins still work, for `make run`."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from visitors.demo import DEMO_USERS


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
