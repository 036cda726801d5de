"""`manage.py seed_demo`: a believable office, idempotent, and never on a production site."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from visitors.demo import DEMO_USERS
from visitors.identify import Answer, identify
from visitors.offices.models import Office, StaffMembership
from visitors.people.models import Visitor
from visitors.visits.lifecycle import ACTIVE_STATUSES, Status
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db

# A Tuesday, 10:00 in Chicago: the demo office is open (tests/commands/test_demo_hours.py has
# the closed hours).
OPEN = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _development_site(settings):
    """The test runner turns DEBUG off; the demo is for development sites, where it is on."""
    settings.DEBUG = True


def _seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", "--visitors", "40", *args, stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in apps.get_app_config("visitors").get_models()}


@time_machine.travel(OPEN, tick=False)
def test_it_creates_an_office_with_staff_history_and_a_live_queue():
    output = _seed()
    office = Office.objects.get(slug="riverside")
    roles = set(StaffMembership.objects.filter(office=office).values_list("role", flat=True))
    assert roles == {"front_desk", "counsellor", "manager", "admin"}
    for demo in DEMO_USERS:
        assert f"{demo.username:<11} / {demo.password}" in output
    assert Visitor.objects.count() == 40
    assert office.reasons.count() >= 6
    assert office.workshops.count() >= 3
    past = Visit.objects.exclude(service_date=office.local_date())
    assert past.filter(status=Status.DONE).count() > 30
    assert not past.filter(status__in=ACTIVE_STATUSES).exists()
    today = Visit.objects.filter(service_date=office.local_date(), status__in=ACTIVE_STATUSES)
    assert today.filter(status=Status.WAITING).count() >= 3
    assert today.filter(status=Status.CALLED).count() == 1
    assert today.filter(status=Status.IN_SERVICE).count() == 1


def test_the_returning_visitor_the_readme_names_is_recognised_and_not_in_line():
    _seed()
    found = identify(first_name="Maria Jose", last_name="Hernandez",
                     answer=Answer(phone_last4="4477"))  # fmt: skip
    assert found.result == "confirmed"
    assert (found.visitor.first_name, found.visitor.last_name) == ("María José", "Hernández")
    assert found.visitor.visits.filter(status=Status.DONE).exists()
    assert not found.visitor.visits.filter(status__in=ACTIVE_STATUSES).exists()


def test_it_leaves_the_same_rows_when_run_again():
    _seed()
    first = _counts()
    _seed()
    assert _counts() == first


def test_it_does_nothing_with_if_empty_once_an_office_exists():
    Office.objects.create(name="Existing", slug="existing")
    output = _seed("--if-empty")
    assert "nothing to do" in output
    assert Office.objects.count() == 1
    assert Visitor.objects.count() == 0


def test_it_refuses_to_seed_published_passwords_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=0"):
        _seed()
    assert Office.objects.count() == 0


def test_it_does_not_reset_a_password_someone_changed():
    _seed()
    user = get_user_model().objects.get(username="manager")
    user.set_password("a new and private password")
    user.save()
    _seed()
    user.refresh_from_db()
    assert user.check_password("a new and private password")
    banner = StringIO()
    call_command("banner", "--port", "8123", stdout=banner)
    assert "http://127.0.0.1:8123/healthz" in banner.getvalue()
    assert "manager-demo" not in banner.getvalue()
    assert "frontdesk-demo" in banner.getvalue()
