"""Print the stored visitors a name matches, best first, as the kiosk would rank them."""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from visitors.offices.models import Office
from visitors.selectors import visitor_match


class Command(BaseCommand):
    help = "Rank visitors matching a name; --phone-last4 / --birth-date confirm a candidate."

    def add_arguments(self, parser):
        parser.add_argument("--first", required=True)
        parser.add_argument("--last", required=True)
        parser.add_argument("--phone-last4", default="")
        parser.add_argument("--birth-date", default="", help="YYYY-MM-DD (month and day count)")
        parser.add_argument("--office", default="", help="Office slug: its second factor only")
        parser.add_argument("--limit", type=int, default=10)
        parser.add_argument("--json", action="store_true", help="Print JSON (the stable format)")

    def handle(self, *args, **opts):
        phone_last4 = opts["phone_last4"].strip()
        if phone_last4 and not (len(phone_last4) == 4 and phone_last4.isdigit()):
            raise CommandError("--phone-last4 must be exactly 4 digits")
        birth_date = None
        if opts["birth_date"]:
            try:
                birth_date = dt.date.fromisoformat(opts["birth_date"])
            except ValueError:
                raise CommandError("--birth-date must be YYYY-MM-DD") from None
        if opts["office"]:
            office = Office.objects.filter(slug=opts["office"]).first()
            if office is None:
                raise CommandError(f"No office with slug {opts['office']!r}")
            # Only the office's own second factor counts, as on its kiosk.
            if office.second_factor == Office.SecondFactor.PHONE_LAST4:
                birth_date = None
            else:
                phone_last4 = ""
        if not opts["first"].strip() or not opts["last"].strip():
            raise CommandError("--first and --last must not be empty")
        candidates = visitor_match(
            first_name=opts["first"],
            last_name=opts["last"],
            phone_last4=phone_last4,
            birth_date=birth_date,
            limit=max(1, opts["limit"]),
        )
        rows = [
            {
                "id": c.visitor.pk,
                "first_name": c.visitor.first_name,
                "last_name": c.visitor.last_name,
                "score": c.score,
                "confirmed": c.confirmed,
            }
            for c in candidates
        ]
        if opts["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        for row in rows:
            name = f"{row['first_name']} {row['last_name']}"
            mark = "confirmed" if row["confirmed"] else ""
            self.stdout.write(f"{row['id']:>8}  {row['score']:.3f}  {name}  {mark}")
