"""Small factories for the core models; tests say what matters and take defaults for the rest."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from visitors.offices.models import WEEKDAYS, Office, ReasonForVisit, StaffMembership, StaffRole
from visitors.people.models import Visitor
from visitors.visits.lifecycle import Status
from visitors.visits.models import Visit


def zone_at_midday(at: dt.datetime | None = None) -> str:
    """A time zone where it is about noon ``at`` (now), for a test that backdates today's visits.

    "Checked in 48 minutes ago" is yesterday for an office just past its midnight, and yesterday's
    visits are not on today's board; a test that builds this morning's line in an office whose day
    is half over is right at any hour the suite runs. Etc/GMT-12 is UTC+12: the signs are POSIX's.
    """
    hours = 12 - (at or timezone.now()).astimezone(dt.UTC).hour  # from -11 to +12
    return "Etc/GMT" + (f"{-hours:+d}" if hours else "")


class OfficeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Office
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Office {n}")
    slug = factory.Sequence(lambda n: f"office-{n}")
    # Where it is midday when the office is made, so that a visit backdated by an hour is still
    # today's whatever the hour of the run; tests about a real office's zone and day set their own.
    time_zone = factory.LazyFunction(zone_at_midday)
    # Open round the clock, so that tests about something else run at any hour of any day;
    # tests of opening hours set their own.
    opening_hours = factory.LazyFunction(lambda: {d: [["00:00", "24:00"]] for d in WEEKDAYS})


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    password = factory.django.Password("correct horse battery staple")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMembership

    user = factory.SubFactory(UserFactory)
    office = factory.SubFactory(OfficeFactory)
    role = StaffRole.FRONT_DESK


class VisitorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visitor

    first_name = factory.Sequence(lambda n: f"Ana{n}")
    last_name = "García"
    phone = "(555) 201-4477"


class ReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReasonForVisit

    office = factory.SubFactory(OfficeFactory)
    label_en = factory.Sequence(lambda n: f"Reason {n}")


class VisitFactory(factory.django.DjangoModelFactory):
    """A waiting visit with the next free ticket of its office's day."""

    class Meta:
        model = Visit

    office = factory.SubFactory(OfficeFactory)
    visitor = factory.SubFactory(VisitorFactory)
    checked_in_at = factory.LazyFunction(timezone.now)
    service_date = factory.LazyAttribute(lambda o: o.office.local_date(o.checked_in_at))
    ticket_number = factory.Sequence(lambda n: n + 1)
    ticket_code = factory.LazyAttribute(lambda o: f"{o.office.ticket_prefix}-{o.ticket_number:03d}")
    status = Status.WAITING


def aware(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)
