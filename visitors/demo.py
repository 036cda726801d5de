"""Demo data: an office that looks like a real working day, for `make run` and screenshots.

Everything is idempotent: configuration rows are matched by natural keys and updated, the visit
history is generated once per office (deterministically, from a seed), and the live queue is only
topped up to its target size. Running it twice leaves the same rows.

The demo keeps the office's opening hours (``Office.spans_on``: its weekly hours, Monday to
Friday 8:00 to 17:00 by default, and its closed dates): past visits fall on open days within the
hours, workshops on open days, and a live queue is seeded only while the office is open — on a
Sunday evening the queue stays empty, as it would at a real office.
"""

import datetime as dt
import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from visitors import services
from visitors.followups.models import Appointment, Workshop, WorkshopSignup
from visitors.offices.models import (
    KioskLink,
    Language,
    Office,
    ReasonForVisit,
    ReferralPartner,
    Service,
    StaffMembership,
    StaffRole,
)
from visitors.people.models import (
    EOAgeBand,
    EOAnswer,
    EOSex,
    EqualOpportunityRecord,
    PriorityCategory,
    Visitor,
    VisitorNameKey,
)
from visitors.visits.lifecycle import ACTIVE_STATUSES, Outcome, Stage, Status
from visitors.visits.models import OpenRequest, Referral, ServiceGiven, Source, TicketCounter, Visit

OFFICE_SLUG = "riverside"


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: StaffRole
    first_name: str
    last_name: str


# Demo passwords are printed by `manage.py banner`; seed_demo refuses to run with DEBUG=0.
DEMO_USERS = (
    DemoUser("frontdesk", "frontdesk-demo", StaffRole.FRONT_DESK, "Dana", "Reyes"),
    DemoUser("counsellor", "counsellor-demo", StaffRole.COUNSELLOR, "Sam", "Okafor"),
    DemoUser("manager", "manager-demo", StaffRole.MANAGER, "Priya", "Shah"),
    DemoUser("admin", "admin-demo", StaffRole.ADMIN, "Alex", "Kowalski"),
)

REASONS = (
    ("Looking for work", "Busco trabajo"),
    ("Unemployment insurance question", "Pregunta sobre el seguro de desempleo"),
    ("Help with my résumé", "Ayuda con mi currículum"),
    ("Use a computer or printer", "Usar una computadora o impresora"),
    ("Training and WIOA programmes", "Capacitación y programas WIOA"),
    ("Veterans' services", "Servicios para veteranos"),
    ("Sign up for a workshop", "Inscribirme en un taller"),
    ("I have an appointment", "Tengo una cita"),
)

# Codes in the shape a state's WIOA basic-career-services reporting uses.
SERVICES = (
    ("Initial assessment of skills and needs", "BCS-101", True),
    ("Job search and placement assistance", "BCS-102", True),
    ("Labour market information", "BCS-104", True),
    ("Self-service resource room", "BCS-105", False),
    ("Referral to partner programme", "BCS-106", True),
    ("Workshop", "BCS-107", True),
    ("Résumé assistance", "BCS-108", True),
    ("Unemployment insurance claim assistance", "BCS-112", True),
    ("Eligibility for training (WIOA individualised)", "IND-201", True),
)

PARTNERS = (
    (
        "Riverside Adult Education",
        "GED classes, English as a second language, basic computer skills.",
        "(555) 010-2200",
        "https://adulted.example.org",
        False,
    ),
    (
        "County Childcare Resource Center",
        "Finding and paying for childcare while working or in training.",
        "(555) 010-3300",
        "https://childcare.example.org",
        False,
    ),
    (
        "Legal Aid of the Valley",
        "Free legal help: wage theft, record expungement, benefits appeals.",
        "(555) 010-4400",
        "https://legalaid.example.org",
        False,
    ),
    (
        "Veterans' Employment Specialist (DVOP)",
        "One-to-one employment help for veterans with significant barriers.",
        "(555) 010-5500",
        "",
        True,
    ),
    (
        "Community Food Bank",
        "Emergency food and help applying for SNAP.",
        "(555) 010-6600",
        "https://food.example.org",
        False,
    ),
)

WORKSHOPS = (
    ("Résumé basics", 2, 10, 12),
    ("Interview practice", 3, 14, 10),
    ("Computer basics for the job search", 7, 9, 8),
    ("Talleres de búsqueda de empleo (en español)", 9, 10, 15),
)

FIRST_NAMES = (
    "Maria", "José", "Aaliyah", "James", "Nguyễn", "Fatima", "Robert", "Guadalupe", "Wei",
    "Jennifer", "Mohammed", "Olga", "DeShawn", "Siobhán", "Luis", "Patricia", "Kwame", "Ana",
    "Michael", "Thi", "Carlos", "Elizabeth", "Jamal", "Rosa", "William", "Ayesha", "Juan",
    "Katherine", "Tyrone", "Yesenia", "Daniel", "Chloé", "Abdi", "Margaret", "Andrés", "Lakshmi",
)  # fmt: skip
LAST_NAMES = (
    "García", "Smith", "Nguyen", "Johnson", "Hernández", "Williams", "Ali", "Brown", "López",
    "Jones", "O'Brien", "Martínez", "Davis", "Kim", "Rodríguez", "Miller", "Hassan", "Wilson",
    "Pérez", "Moore", "Okonkwo", "Taylor", "Sánchez", "Anderson", "Díaz", "Thomas", "Chen",
    "Jackson", "Ramírez", "White", "Novak", "Harris", "Flores", "Clark", "Patel", "Lewis",
)  # fmt: skip
NICKNAMES = {"Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "Katherine": "Kate"}


@dataclass
class SeedReport:
    created_office: bool
    visitors: int
    visits: int
    waiting: int
    open_now: bool = True


def demo_seed(*, visitors: int = 200, seed: int = 2026, now: dt.datetime | None = None):
    """Create or update the demo office, its staff, catalogues, history and live queue."""
    now = now or timezone.now()
    rng = random.Random(seed)
    with transaction.atomic():
        office, created = _office()
        staff = _staff(office)
        _kiosk_link(office)
        reasons = _reasons(office)
        service_rows = _services()
        partners = _partners()
        _workshops(office, now)
        history_visits = 0
        if not Visitor.objects.filter(visits__office=office).exists():
            history_visits = _history(
                office, staff, reasons, service_rows, partners, rng, visitors, now,
                extras=random.Random(seed + 1),
            )  # fmt: skip
    waiting = _live_queue(office, staff, reasons, rng, now)
    return SeedReport(
        created_office=created,
        visitors=Visitor.objects.filter(visits__office=office).distinct().count(),
        visits=history_visits,
        waiting=waiting,
        open_now=open_span(office, now) is not None,
    )


def open_span(office: Office, at: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The opening hours ``at`` falls in, or None while the office is closed."""
    local = at.astimezone(office.zone)
    return next(((o, c) for o, c in office.spans_on(local.date()) if o <= local < c), None)


def demo_kiosk_token(office: Office, capability: str = "check_in") -> str:
    """A demo device's token: derived from SECRET_KEY, so the banner can print its link."""
    salt = "frontdesk.demo-kiosk" if capability == "check_in" else f"frontdesk.demo-{capability}"
    return salted_hmac(salt, office.slug, algorithm="sha256").hexdigest()


def _kiosk_link(office: Office) -> None:
    for capability, label in (("check_in", "Demo lobby tablet"), ("display", "Demo lobby TV")):
        token_hash = KioskLink.hash_token(demo_kiosk_token(office, capability))
        if not KioskLink.objects.filter(token_hash=token_hash).exists():
            KioskLink.objects.create(
                office=office, label=label, token_hash=token_hash, capability=capability
            )


def _office() -> tuple[Office, bool]:
    return Office.objects.update_or_create(
        slug=OFFICE_SLUG,
        defaults={
            "name": "Riverside Job Center",
            "time_zone": "America/Chicago",
            "address": "120 River Street, Riverside",
            "phone": "(555) 010-1000",
        },
    )


def _staff(office: Office) -> dict[StaffRole, object]:
    user_model = get_user_model()
    staff = {}
    for demo in DEMO_USERS:
        user, created = user_model.objects.get_or_create(
            username=demo.username,
            defaults={
                "first_name": demo.first_name,
                "last_name": demo.last_name,
                "email": f"{demo.username}@riverside.example.org",
                "is_staff": demo.role == StaffRole.ADMIN,
                "is_superuser": demo.role == StaffRole.ADMIN,
            },
        )
        if created:
            user.set_password(demo.password)
            user.save(update_fields=["password"])
        StaffMembership.objects.update_or_create(
            user=user, office=office, defaults={"role": demo.role, "is_active": True}
        )
        staff[demo.role] = user
    return staff


def _reasons(office: Office) -> list[ReasonForVisit]:
    return [
        ReasonForVisit.objects.update_or_create(
            office=office,
            label_en=label_en,
            defaults={"label_es": label_es, "position": position * 10, "is_active": True},
        )[0]
        for position, (label_en, label_es) in enumerate(REASONS, start=1)
    ]


def _services() -> list[Service]:
    return [
        Service.objects.update_or_create(
            reporting_code=code,
            defaults={"name": name, "staff_assisted": assisted, "position": position * 10},
        )[0]
        for position, (name, code, assisted) in enumerate(SERVICES, start=1)
    ]


def _partners() -> list[ReferralPartner]:
    return [
        ReferralPartner.objects.update_or_create(
            name=name,
            defaults={
                "helps_with": helps,
                "phone": phone,
                "website": website,
                "is_veterans_specialist": veterans,
            },
        )[0]
        for name, helps, phone, website, veterans in PARTNERS
    ]


def _workshops(office: Office, now: dt.datetime) -> None:
    today = office.local_date(now)
    for title, days_ahead, hour, capacity in WORKSHOPS:
        if Workshop.objects.filter(office=office, title=title).exists():
            continue
        day = today + dt.timedelta(days=days_ahead)
        for _ in range(6):  # on a day the office is open, if it opens at all that week
            if office.spans_on(day):
                break
            day += dt.timedelta(days=1)
        starts = dt.datetime.combine(day, dt.time(hour), tzinfo=office.zone)
        spans = office.spans_on(day)
        if spans and not any(opens <= starts < closes for opens, closes in spans):
            starts = spans[0][0]  # the usual hour is outside this office's: at opening time
        Workshop.objects.create(
            office=office, title=title, starts_at=starts, capacity=capacity, location="Room B"
        )


def _open_days(office: Office, now: dt.datetime, count: int) -> list[dt.date]:
    """The last ``count`` days before today the office was open (none if it never opens)."""
    days, day = [], office.local_date(now)
    for _ in range(count * 7):
        if len(days) == count:
            break
        day -= dt.timedelta(days=1)
        if office.spans_on(day):
            days.append(day)
    return days


def _new_visitor(rng: random.Random, now: dt.datetime) -> Visitor:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    phone = ""
    if rng.random() < 0.8:
        phone = f"(555) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
    email = f"{first}.{last}{rng.randint(1, 99)}@example.com".lower() if rng.random() < 0.5 else ""
    roll = rng.random()
    category = (
        PriorityCategory.COVERED_VETERAN
        if roll < 0.07
        else PriorityCategory.ELIGIBLE_SPOUSE
        if roll < 0.09
        else PriorityCategory.NONE
    )
    visitor = Visitor(
        first_name=first,
        last_name=last,
        preferred_name=NICKNAMES.get(first, "") if rng.random() < 0.5 else "",
        phone=phone,
        email=email.encode("ascii", "ignore").decode().replace("'", ""),
        birth_date=dt.date(rng.randint(1955, 2006), rng.randint(1, 12), rng.randint(1, 28)),
        preferred_language=Language.SPANISH if rng.random() < 0.25 else Language.ENGLISH,
        consent_sms=bool(phone) and rng.random() < 0.7,
        consent_email=bool(email) and rng.random() < 0.6,
        priority_category=category,
        first_seen_at=now,
        last_seen_at=now,
    )
    visitor.fill_search_keys()
    return visitor


# A returning visitor the README names, to try "Welcome back" at the kiosk: she has a history,
# and is never put in today's live queue.
DEMO_RETURNING = {
    "first_name": "María José", "last_name": "Hernández", "phone": "(555) 201-4477",
    "birth_date": dt.date(1984, 4, 12), "preferred_language": Language.SPANISH,
    "consent_sms": True, "preferred_name": "",
}  # fmt: skip


def _history(office, staff, reasons, service_rows, partners, rng, count, now, *, extras) -> int:
    """Generate about eight weeks of finished visits for ``count`` visitors.

    ``extras`` draws what came later (the wait quoted at check-in, the visitor's rating), so
    that ``rng`` still gives a seed's visits, people and outcomes as before.
    """
    days = _open_days(office, now, 40)
    if not days:
        return 0
    generated = [_new_visitor(rng, now) for _ in range(count)]
    if generated:
        for field, value in DEMO_RETURNING.items():
            setattr(generated[0], field, value)
        generated[0].fill_search_keys()
    people = Visitor.objects.bulk_create(generated)
    VisitorNameKey.rebuild(people)
    staff_users = [staff[StaffRole.FRONT_DESK], staff[StaffRole.COUNSELLOR]]
    numbers: dict[dt.date, int] = {}
    visits: list[Visit] = []
    plans = []
    for person in people:
        for day in sorted(rng.sample(days, k=rng.choice((1, 1, 1, 2, 2, 3, 4)))):
            numbers[day] = numbers.get(day, 0) + 1
            visit, plan = _past_visit(office, person, day, numbers[day], staff_users, rng)
            _quote_and_rating(visit, extras)
            visits.append(visit)
            plans.append((person, plan))
    visits = Visit.objects.bulk_create(visits)
    TicketCounter.objects.bulk_create(
        [TicketCounter(office=office, service_date=d, last_number=n) for d, n in numbers.items()]
    )
    _history_details(office, visits, plans, reasons, service_rows, partners, staff_users, rng, now)
    _history_seen(people, visits)
    _equal_opportunity(people, staff[StaffRole.FRONT_DESK], rng)
    return len(visits)


def _past_visit(office, person, day, number, staff_users, rng):
    spans = office.spans_on(day)
    lengths = [(closes - opens).total_seconds() // 60 for opens, closes in spans]
    # One draw for the common single span, so a seed gives the same history it always gave.
    which = 0 if len(spans) == 1 else rng.choices(range(len(spans)), weights=lengths)[0]
    opens = spans[which][0]
    # Nobody checks in during the last half hour (or at all in a span shorter than that).
    checked_in = opens + dt.timedelta(minutes=rng.randint(0, max(0, int(lengths[which]) - 30)))
    wait = dt.timedelta(minutes=max(1, int(rng.gauss(14, 9))))
    by = rng.choice(staff_users)
    roll = rng.random()
    visit = Visit(
        office=office,
        visitor=person,
        service_date=day,
        ticket_number=number,
        ticket_code=services.ticket_code(office=office, number=number),
        priority=1 if person.priority_category != PriorityCategory.NONE else 0,
        source=Source.KIOSK if rng.random() < 0.8 else Source.DESK,
        checked_in_at=checked_in,
    )
    if roll < 0.06:
        visit.status, visit.ended_at = Status.LEFT, checked_in + wait
        return visit, None
    visit.called_at, visit.called_by = checked_in + wait, by
    visit.desk = f"Desk {rng.randint(1, 4)}"
    if roll < 0.09:
        visit.status, visit.ended_at = Status.NO_SHOW, visit.called_at + dt.timedelta(minutes=5)
        return visit, None
    start = visit.called_at + dt.timedelta(minutes=1)
    visit.status = Status.DONE
    visit.service_started_at = visit.greeted_at = start
    visit.determined_at = start + dt.timedelta(minutes=rng.randint(2, 5))
    visit.responded_at = visit.determined_at + dt.timedelta(minutes=rng.randint(3, 20))
    visit.concluded_at = visit.responded_at + dt.timedelta(minutes=rng.randint(1, 4))
    visit.greeted_by = visit.determined_by = visit.responded_by = visit.concluded_by = by
    visit.outcome = rng.choices(
        [Outcome.RESOLVED, Outcome.REFERRED, Outcome.FOLLOW_UP, Outcome.HIRED], [60, 20, 17, 3]
    )[0]
    visit.future_reference_at = visit.concluded_at + dt.timedelta(minutes=1)
    visit.future_reference_by = by
    visit.ended_at = visit.future_reference_at + dt.timedelta(minutes=1)
    return visit, visit.outcome


def _quote_and_rating(visit: Visit, extras: random.Random) -> None:
    """The range the kiosk quoted (about right, as estimates go) and, for some finished
    visits, the visitor's rating."""
    waited = ((visit.called_at or visit.ended_at) - visit.checked_in_at).total_seconds() / 60
    low = max(0, 5 * round((waited + extras.gauss(0, 7)) / 5) - 5)
    visit.quoted_wait_min, visit.quoted_wait_max = low, low + 10
    if visit.status == Status.DONE and extras.random() < 0.3:
        visit.rating = extras.choices([5, 4, 3, 2], [55, 30, 10, 5])[0]


def _history_details(office, visits, plans, reasons, service_rows, partners, staff_users, rng, now):
    reason_links, given, referrals, requests, appointments = [], [], [], [], []
    through = Visit.reasons.through
    for visit, (person, outcome) in zip(visits, plans, strict=True):
        for reason in rng.sample(reasons[:7], k=rng.choice((1, 1, 2))):
            reason_links.append(through(visit_id=visit.pk, reasonforvisit_id=reason.pk))
        if outcome is None:
            continue
        for service in rng.sample(service_rows, k=rng.randint(1, 3)):
            given.append(
                ServiceGiven(
                    visit=visit,
                    service=service,
                    given_by=visit.responded_by,
                    given_at=visit.responded_at,
                )  # fmt: skip
            )
        if outcome == Outcome.REFERRED:
            referrals.append(
                Referral(
                    visit=visit,
                    partner=rng.choice(partners),
                    referred_by=visit.responded_by,
                    created_at=visit.responded_at,
                )  # fmt: skip
            )
        if outcome == Outcome.FOLLOW_UP:
            requests.append(
                OpenRequest(
                    office=office,
                    visitor=person,
                    raised_on=visit,
                    description=rng.choice(
                        (
                            "Waiting on documents for the training application",
                            "Call back with the UI appeal hearing date",
                            "Check forklift certification class dates",
                        )
                    ),
                    created_at=visit.concluded_at,
                )  # fmt: skip
            )
            kept = rng.random() < 0.7
            appointments.append(
                Appointment(
                    office=office,
                    visitor=person,
                    staff=rng.choice(staff_users),
                    starts_at=visit.concluded_at + dt.timedelta(days=7),
                    purpose="Follow-up",
                    state=Appointment.State.KEPT if kept else Appointment.State.MISSED,
                    booked_on=visit,
                    created_at=visit.concluded_at,
                )  # fmt: skip
            )
    through.objects.bulk_create(reason_links)
    ServiceGiven.objects.bulk_create(given)
    Referral.objects.bulk_create(referrals)
    OpenRequest.objects.bulk_create(requests)
    for appointment in appointments:
        if appointment.starts_at > now:
            appointment.state = Appointment.State.SCHEDULED
    Appointment.objects.bulk_create(appointments)
    workshop = Workshop.objects.filter(office=office).order_by("starts_at").first()
    if workshop is not None:
        people = {person.pk: person for person, _outcome in plans}
        chosen = rng.sample(sorted(people), k=min(workshop.capacity - 2, len(people)))
        WorkshopSignup.objects.bulk_create(
            [WorkshopSignup(workshop=workshop, visitor_id=pk) for pk in chosen]
        )


def _history_seen(people, visits) -> None:
    seen: dict[int, list[dt.datetime]] = {}
    for visit in visits:
        seen.setdefault(visit.visitor_id, []).append(visit.checked_in_at)
    for person in people:
        times = seen.get(person.pk)
        if times:
            person.first_seen_at, person.last_seen_at = min(times), max(times)
    Visitor.objects.bulk_update(people, ["first_seen_at", "last_seen_at"])


def _equal_opportunity(people, recorded_by, rng) -> None:
    records = []
    for person in people:
        if rng.random() < 0.4:
            continue
        records.append(
            EqualOpportunityRecord(
                visitor=person,
                race_ethnicity=rng.sample(EqualOpportunityRecord.RACE_ETHNICITY_CODES[:6], k=1),
                sex=rng.choice(EOSex.values),
                age_band=rng.choice(EOAgeBand.values[1:6]),
                disability=rng.choice(EOAnswer.values),
                limited_english=rng.choice(EOAnswer.values),
                recorded_by=recorded_by,
                recorded_at=person.first_seen_at,
            )
        )
    EqualOpportunityRecord.objects.bulk_create(records)


LIVE_QUEUE_TARGET = 6


def _live_queue(office, staff, reasons, rng, now) -> int:
    """Top today's queue up to a handful waiting, one called and one in service — only while
    the office is open, with nobody checked in before it opened."""
    today = office.local_date(now)
    active = Visit.objects.filter(office=office, service_date=today, status__in=ACTIVE_STATUSES)
    span = open_span(office, now)
    if span is None:
        return active.filter(status=Status.WAITING).count()
    missing = LIVE_QUEUE_TARGET - active.count()
    candidates = list(
        Visitor.objects.filter(visits__office=office)
        .exclude(visits__status__in=ACTIVE_STATUSES, visits__office=office)
        .exclude(phone=DEMO_RETURNING["phone"])
        .distinct()
        .order_by("pk")[:50]
    )
    rng.shuffle(candidates)
    # Arrivals every few minutes, the earliest no sooner than opening time.
    earliest = max(span[0], now - dt.timedelta(minutes=max(missing, 0) * 4 + 3))
    step = (now - earliest) / max(missing, 1)
    for i, person in zip(range(missing), candidates, strict=False):
        with transaction.atomic():
            services.visit_check_in(
                office=office,
                visitor=person,
                reasons=[rng.choice(reasons[:7])],
                at=earliest + step * i,
            )
    waiting = list(active.filter(status=Status.WAITING).order_by("checked_in_at")[:2])
    if missing > 0 and len(waiting) == 2:
        # A fresh queue also shows someone being served and someone just called.
        first, second = waiting
        counsellor = staff[StaffRole.COUNSELLOR]
        services.visit_call(visit=first, staff=counsellor, desk="Desk 2")
        services.visit_stage_record(visit=first, stage=Stage.GREETING, by=counsellor, data={})
        services.visit_call(visit=second, staff=staff[StaffRole.FRONT_DESK], desk="Desk 1")
    return active.filter(status=Status.WAITING).count()
