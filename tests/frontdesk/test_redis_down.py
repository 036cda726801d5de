"""Redis stopped: the lobby keeps working on the cache's local stand-in (frontdesk/cache.py).

The cache points at a Redis that refuses connections (nothing listens on port 1: exactly what a
stopped Redis answers), with rate limits on, since the limits, the API throttle and the console
poll are what used to answer 500.
"""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD, STOPPED_REDIS
from tests.factories import ReasonFactory, VisitFactory
from tests.kiosk.conftest import Tablet
from visitors.integrations.models import ApiToken
from visitors.offices.models import KioskLink
from visitors.views.kiosk import KIOSK_COOKIE
from visitors.visits.models import Visit


@pytest.fixture
def redis_stopped(settings):
    settings.CACHES = STOPPED_REDIS
    settings.RATELIMIT_ENABLE = True


def test_a_visitor_checks_in_at_the_kiosk(client, office, redis_stopped):
    """Every kiosk step, rate-limited and counting attempts, answers; the ticket is made."""
    client.cookies[KIOSK_COOKIE] = KioskLink.issue(office=office, label="Lobby")[1]
    tablet = Tablet(client, office)
    assert tablet.home().status_code == 200
    response = tablet.check_in_new("Rosa", "Parks", ReasonFactory(office=office))
    assert response.status_code == 200, response.text[:500]
    visit = Visit.objects.get(visitor__last_name="Parks")
    assert visit.ticket_code in response.text
    status = client.get(reverse("status:page", args=[visit.status_token]))
    assert status.status_code == 200


def test_staff_sign_in_and_work_the_console(client, office, clerk, redis_stopped):
    """Sign-in (rate-limited), the console, its queue poll — full and "still version N?" —
    and a call."""
    visit = VisitFactory(office=office)
    signed_in = client.post(reverse("login"), {"username": "clerk", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert client.get(reverse("desk:console", args=[office.slug])).status_code == 200
    queue = reverse("desk:queue", args=[office.slug])
    full = client.get(queue, headers={"HX-Request": "true"})
    assert full.status_code == 200
    assert client.get(f"{queue}?v=0", headers={"HX-Request": "true"}).status_code in (200, 204)
    called = client.post(reverse("desk:call_next", args=[office.slug]), {"desk": "Desk 1"})
    assert called.status_code == 302
    assert Visit.objects.get(pk=visit.pk).status == "called"


def test_an_integration_reads_the_queue_and_calls(client, office, clerk, redis_stopped):
    """The API's throttle counts on the stand-in: answers, not 500."""
    token = ApiToken.issue(name="CRM", offices=[office], scope="write", created_by=clerk)[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    VisitFactory(office=office)
    assert client.get(f"/api/v1/offices/{office.slug}/queue", **auth).status_code == 200
    called = client.post(
        f"/api/v1/offices/{office.slug}/queue/call-next", b"{}",
        content_type="application/json", **auth,
    )  # fmt: skip
    assert called.status_code == 200


def test_rate_limits_still_apply_on_the_stand_in(client, office, redis_stopped, settings):
    """Degraded, not open: the stand-in counts, so a flood from one address is still refused."""
    settings.RATELIMIT_LOGIN = "3/m"
    answers = [
        client.post(reverse("login"), {"username": "nobody", "password": "x"}).status_code
        for _ in range(5)
    ]
    assert answers[-1] == 429
