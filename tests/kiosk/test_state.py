"""What the tablet holds between the kiosk's screens: an opaque key, the same for everyone.

The outside probe read a returning visitor's existence off the hidden ``state`` field (its
length, and its decoded contents). Whatever the visitor said stays on the server; the tablet
carries a key that says nothing, and the second-factor count goes with the server's copy.
"""

import base64
import binascii
import contextlib
import datetime as dt
import zlib

import pytest
import time_machine
from django.test import Client

from tests.factories import VisitorFactory
from tests.kiosk.conftest import Tablet
from visitors import tasks
from visitors.offices.models import KioskLink
from visitors.people.models import Visitor
from visitors.views.kiosk import FLAG_WRONG_ANSWERS, KIOSK_COOKIE
from visitors.visits.lifecycle import Status
from visitors.visits.models import KioskFlow, Visit

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def jose(office):
    """A returning visitor whose phone ends in 4477."""
    return VisitorFactory(first_name="José", last_name="García", phone="(555) 201-4477")


def readable(token: str) -> str:
    """The token and everything it decodes to (each part as base64, then as zlib), as text."""
    found = [token]
    for part in token.replace(".", ":").split(":"):
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
        found.append(raw.decode("utf-8", "ignore"))
        with contextlib.suppress(zlib.error):
            found.append(zlib.decompress(raw).decode("utf-8", "ignore"))
    return "\n".join(found)


def three_wrong_answers(tablet, first, last):
    tablet.start()
    tablet.name(first, last)
    for last4 in ("1111", "2222", "3333"):
        tablet.verify(phone_last4=last4)
    return tablet.state


def test_it_sends_the_same_length_of_state_for_a_known_and_an_unknown_name(tablet, jose):
    """After three wrong answers the state is as long for José as for nobody at all."""
    known = three_wrong_answers(tablet, "José", "García")
    unknown = three_wrong_answers(tablet, "Nobody", "Atall")
    assert known and unknown
    assert len(known) == len(unknown)


def test_the_state_decodes_to_nothing_of_the_visitor(tablet, jose):
    """No name, no flag, no visitor id: nothing in the state can be read back."""
    state = three_wrong_answers(tablet, "José", "García")
    text = readable(state)
    for secret in ("José", "Jos", "García", "flag", "returning", "visitor", '"first"', "lang"):
        assert secret not in text


def test_the_confirmation_step_reveals_no_visitor_id(tablet, jose, reasons):
    """A confirmed returning visitor's state is as long as a new visitor's and says nothing."""
    tablet.start()
    tablet.name("José", "García")
    assert "Welcome back" in tablet.verify(phone_last4="4477").text
    confirmed = tablet.state
    tablet.start()
    tablet.name("Nadia", "Park")
    tablet.first_visit()
    assert len(confirmed) == len(tablet.state)
    text = readable(confirmed)
    for secret in ("visitor_id", "José", "García", str(reasons[1].pk) + "]"):
        assert secret not in text


def test_a_state_from_another_tablet_does_not_check_in_its_visitor(tablet, jose, reasons, office):
    """A key lifted from one tablet's confirmed flow starts another tablet over."""
    tablet.start()
    tablet.name("José", "García")
    tablet.verify(phone_last4="4477")
    lifted = tablet.state
    _link, token = KioskLink.issue(office=office, label="Lobby right")
    other = Client()
    other.cookies[KIOSK_COOKIE] = token
    intruder = Tablet(other, office)
    intruder.state = lifted
    screen = intruder.post("reasons", reasons=[reasons[0].pk], visitor_id=jose.pk)
    assert "Check in" in screen.text and "Registrarse" in screen.text  # the welcome screen
    intruder.state = lifted
    intruder.contact(phone="(555) 000-0000")
    assert not Visit.objects.exists()


def test_the_attempt_count_survives_the_tablet_sending_an_old_state(tablet, jose, reasons):
    """Resending the state from before the wrong answers buys no fourth guess."""
    tablet.start()
    tablet.name("José", "García")
    before = tablet.state
    for last4 in ("1111", "2222", "3333"):
        tablet.state = before
        tablet.verify(phone_last4=last4)
    tablet.state = before
    fourth = tablet.verify(phone_last4="4477")  # the right answer, one too many
    assert "Welcome back" not in fourth.text
    assert "What brings you in today?" in fourth.text
    tablet.reasons(reasons[0])
    tablet.contact()
    visit = Visit.objects.get(status=Status.WAITING)
    assert visit.visitor != jose
    assert visit.identity_flag == FLAG_WRONG_ANSWERS


def test_it_counts_wrong_answers_without_the_cache(tablet, jose, reasons, settings):
    """With a cache that keeps nothing (Redis down), three wrong answers still end the tries."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    tablet.start()
    tablet.name("José", "García")
    tablet.verify(phone_last4="1111")
    tablet.verify(phone_last4="2222")
    third = tablet.verify(phone_last4="3333")
    assert "What brings you in today?" in third.text
    tablet.reasons(reasons[0])
    tablet.contact()
    assert Visit.objects.get().identity_flag == FLAG_WRONG_ANSWERS
    assert Visitor.objects.count() == 2


def test_a_flow_lapses_twenty_minutes_after_its_last_step_and_is_swept(tablet):
    """A flow left for 20 minutes starts over, and the housekeeping round deletes it."""
    with time_machine.travel(NOW, tick=False) as clock:
        tablet.start()
        tablet.name("Ana", "Ruiz")
        clock.shift(dt.timedelta(minutes=19))
        assert tablet.verify(phone_last4="1111").status_code == 422  # still going
        clock.shift(dt.timedelta(minutes=20, seconds=1))
        assert "Registrarse" in tablet.first_visit().text  # lapsed: the welcome screen
        tablet.start()  # someone else begins meanwhile
        tasks.close_stale_visits()
        assert KioskFlow.objects.get().key == tablet.state
