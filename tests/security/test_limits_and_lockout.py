"""Rate limits on the public surfaces and lockout after failed sign-ins."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.factories import ReasonFactory, VisitFactory, VisitorFactory
from tests.kiosk.conftest import Tablet
from visitors.offices.models import KioskLink
from visitors.views.kiosk import KIOSK_COOKIE
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits_on(settings):
    """Limits on, a clean count, and the clock held still: limits count in fixed windows,
    and a window ending between two requests would start the count again."""
    settings.RATELIMIT_ENABLE = True
    cache.clear()
    with time_machine.travel(dt.datetime(2026, 3, 2, 15, 0, 30, tzinfo=dt.UTC), tick=False):
        yield
    cache.clear()


def test_the_status_page_says_in_both_languages_when_one_address_asks_too_often(
    client, office, settings
):
    settings.RATELIMIT_STATUS = "3/m"
    visit = VisitFactory(office=office)
    url = reverse("status:page", args=[visit.status_token])
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get(url)
    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"
    assert "Please wait a minute" in limited.text and "Espere un minuto" in limited.text
    other = client.get(url, REMOTE_ADDR="203.0.113.9")  # another address is not held back
    assert other.status_code == 200


def test_an_htmx_request_that_is_limited_gets_a_fragment_to_swap_in(client, office, settings):
    settings.RATELIMIT_STATUS = "1/m"
    visit = VisitFactory(office=office)
    url = reverse("status:page", args=[visit.status_token])
    client.get(url)
    limited = client.get(url, headers={"HX-Request": "true"})
    assert limited.status_code == 429
    assert limited.text.lstrip().startswith("<section")


def test_the_sms_webhook_is_limited(client, settings):
    settings.RATELIMIT_SMS_WEBHOOK = "2/m"
    settings.TWILIO_AUTH_TOKEN = "token"
    url = reverse("sms_inbound")
    codes = [client.post(url, {"From": "+15550000000", "Body": "HELP"}).status_code
             for _ in range(3)]  # fmt: skip
    assert codes == [403, 403, 429]  # unsigned, then too many


def paired_tablet(office, **client_kwargs) -> Tablet:
    """A tablet holding a kiosk link of ``office``."""
    _link, token = KioskLink.issue(office=office, label="Lobby")
    client = Client(**client_kwargs)
    client.cookies[KIOSK_COOKIE] = token
    return Tablet(client, office)


def test_requests_without_a_kiosk_cookie_cannot_lock_the_tablet_out(client, office, settings):
    """65 cookie-less kiosk posts from the tablet's own address use up their own bucket only:
    the real tablet still checks a visitor in."""
    settings.RATELIMIT_KIOSK = "60/m"
    reason = ReasonFactory(office=office)
    url = reverse("kiosk:step", args=[office.slug])
    codes = [client.post(url, {"step": "language", "language": "en"}).status_code
             for _ in range(65)]  # fmt: skip
    assert codes == [403] * 60 + [429] * 5  # the strangers' bucket is limited too
    tablet = paired_tablet(office)  # the same address, 127.0.0.1
    ticket = tablet.check_in_new("Dana", "Cole", reason)
    assert ticket.status_code == 200
    assert Visit.objects.get().ticket_code in ticket.text


def test_a_paired_tablet_is_limited_by_its_own_count_wherever_it_posts_from(office, settings):
    """The tablet's limit follows the device: a new address (Wi-Fi roaming) does not reset it,
    and a second tablet behind the same address keeps its own count."""
    settings.RATELIMIT_KIOSK = "3/m"
    tablet = paired_tablet(office, REMOTE_ADDR="10.0.0.1")
    assert [tablet.start().status_code for _ in range(3)] == [200, 200, 200]
    tablet.client.defaults["REMOTE_ADDR"] = "10.0.0.2"
    limited = tablet.start()
    assert limited.status_code == 429
    assert "Please wait a minute" in limited.text
    neighbour = paired_tablet(office, REMOTE_ADDR="10.0.0.1")
    assert neighbour.start().status_code == 200


def test_sign_in_is_locked_after_repeated_failures_and_says_so(client, clerk, settings):
    settings.AXES_FAILURE_LIMIT = 3
    url = reverse("login")
    codes = [client.post(url, {"username": "clerk", "password": "wrong"}).status_code
             for _ in range(3)]  # fmt: skip
    assert codes == [200, 200, 429]  # the form again with its error, then the lockout page
    locked = client.post(url, {"username": "clerk", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    assert "_auth_user_id" not in client.session  # the right password does not get in now
    elsewhere = client.post(url, {"username": "clerk", "password": PASSWORD},
                            REMOTE_ADDR="198.51.100.7")  # fmt: skip
    assert elsewhere.status_code == 302  # nobody can lock a colleague out from another place


def test_a_successful_sign_in_resets_the_count(client, clerk, settings):
    settings.AXES_FAILURE_LIMIT = 3
    url = reverse("login")
    for _ in range(2):
        client.post(url, {"username": "clerk", "password": "wrong"})
    assert client.post(url, {"username": "clerk", "password": PASSWORD}).status_code == 302
    client.logout()
    for _ in range(2):
        client.post(url, {"username": "clerk", "password": "wrong"})
    assert client.post(url, {"username": "clerk", "password": PASSWORD}).status_code == 302


def test_sign_in_attempts_from_one_address_are_rate_limited(client, settings):
    settings.RATELIMIT_LOGIN = "2/m"
    url = reverse("login")
    codes = [client.post(url, {"username": f"u{i}", "password": "x"}).status_code
             for i in range(3)]  # fmt: skip
    assert codes == [200, 200, 429]


def _kiosk_tablet(client, office):
    client.cookies[KIOSK_COOKIE] = KioskLink.issue(office=office, label="Lobby")[1]


def test_a_new_kiosk_flow_buys_no_new_guesses_at_one_visitor_s_digits(client, office, settings):
    """Each flow has three tries; starting a new one used to give three more, so the last
    four digits of a waiting visitor's phone fell in under a minute (an outside probe)."""
    settings.RATELIMIT_KIOSK_FACTOR = "5/h"
    jose = VisitorFactory(first_name="José", last_name="García", phone="(555) 201-4477")
    VisitFactory(office=office, visitor=jose)
    _kiosk_tablet(client, office)
    for guess in ("1111", "2222", "3333", "4444", "5555"):  # five misses, each in a new flow
        screen = Tablet(client, office).identify("José", "García", phone_last4=guess)
        assert "We could not find you" in screen.text
    right = Tablet(client, office).identify("José", "García", phone_last4="4477")
    # Answered exactly as a miss: a right guess is not told apart from a wrong one.
    assert "We could not find you" in right.text
    assert "You are already in line." not in right.text
    # The count is per record and per window: an hour on, José is recognised again.
    with time_machine.travel(dt.datetime(2026, 3, 2, 16, 1, tzinfo=dt.UTC), tick=False):
        later = Tablet(client, office).identify("José", "García", phone_last4="4477")
    assert "You are already in line." in later.text


def test_a_visitor_who_mistypes_once_is_still_recognised(client, office, settings):
    settings.RATELIMIT_KIOSK_FACTOR = "5/h"
    VisitorFactory(first_name="José", last_name="García", phone="(555) 201-4477")
    _kiosk_tablet(client, office)
    tablet = Tablet(client, office)
    assert "We could not find you" in tablet.identify("José", "García", phone_last4="4478").text
    assert "Welcome back" in tablet.verify(phone_last4="4477").text


def test_records_sharing_the_name_do_not_hide_the_one_guessed_at(client, office, settings):
    """A miss is counted on the ten records that fit the name best; with ten newer namesakes the
    one guessed at is not among them (a second probe made them at another office). The tablet's
    own count of misses still stops the guessing."""
    settings.RATELIMIT_KIOSK_FACTOR = "100/h"  # not what stops it here
    settings.RATELIMIT_KIOSK_MISSES = "5/h"
    hana = VisitorFactory(first_name="Hana", last_name="Decoyed", phone="(555) 201-2468")
    VisitFactory(office=office, visitor=hana)
    for n in range(10):
        VisitorFactory(first_name="Hana", last_name="Decoyed", phone=f"(555) 301-10{n:02d}")
    _kiosk_tablet(client, office)
    for guess in ("1111", "2222", "3333", "4444", "5555"):
        screen = Tablet(client, office).identify("Hana", "Decoyed", phone_last4=guess)
        assert "We could not find you" in screen.text
    right = Tablet(client, office).identify("Hana", "Decoyed", phone_last4="2468")
    assert "We could not find you" in right.text
    assert "You are already in line." not in right.text
