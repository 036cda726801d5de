"""Print the stored visitors a name matches, best first, as the kiosk would rank them.

``confirmed`` marks the one the kiosk would greet: exactly one record fits the name and every
factor given. When two or more fit, nobody is confirmed; the command says so on stderr, with the
factor that would tell them apart (as the kiosk then asks it), and the plain listing marks them
``fits``. The JSON rows keep their fields: id, first_name, last_name, score, confirmed.
"""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from visitors.identify import Answer, identify
from visitors.offices.models import Office


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
        office, other = None, None
        if opts["office"]:
            office = Office.objects.filter(slug=opts["office"]).first()
            if office is None:
                raise CommandError(f"No office with slug {opts['office']!r}")
            # The office's own second factor first, as on its kiosk; the other only when several
            # fit that one (the kiosk then asks it).
            if office.second_factor == Office.SecondFactor.PHONE_LAST4:
                other = Answer.from_birth_date(birth_date=birth_date) if birth_date else None
                birth_date = None
            else:
                other = Answer(phone_last4=phone_last4) if phone_last4 else None
                phone_last4 = ""
        if not opts["first"].strip() or not opts["last"].strip():
            raise CommandError("--first and --last must not be empty")
        given = Answer.from_birth_date(phone_last4=phone_last4, birth_date=birth_date)
        limit = max(1, opts["limit"])
        name = {"first_name": opts["first"], "last_name": opts["last"], "limit": limit}
        found = identify(answer=given, **name)
        if found.ask and other is not None:
            # As on the office's kiosk: the other factor, asked because several fitted the first.
            found = identify(answer=given.and_(other), **name)
        rows = [
            {
                "id": c.visitor.pk,
                "first_name": c.visitor.first_name,
                "last_name": c.visitor.last_name,
                "score": c.score,
                "confirmed": found.visitor is not None and c.visitor.pk == found.visitor.pk,
            }
            for c in found.candidates
        ]
        if found.result == "several":
            ask = {"birth_month_day": "--birth-date", "phone_last4": "--phone-last4"}
            hint = (
                f"give {ask[found.ask]} as well to tell them apart"
                if found.ask
                else "no other factor tells them apart: a new visit, flagged for the desk"
            )
            self.stderr.write(f"{len(found.fitting)} records fit; none is confirmed ({hint}).")
        if opts["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        for row, candidate in zip(rows, found.candidates, strict=True):
            name = f"{row['first_name']} {row['last_name']}"
            mark = "confirmed" if row["confirmed"] else "fits" if candidate.confirmed else ""
            self.stdout.write(f"{row['id']:>8}  {row['score']:.3f}  {name}  {mark}")
