"""Two-way texts in a real browser, with a real Celery worker and the signed Twilio webhook.

Rosa, a Spanish speaker, was referred to a food bank; the counsellor promised to follow up, and
the "did you reach them?" text went out. She answers it with a question. The answer reaches the
office's inbox and the follow-up; the counsellor who promised it sees the alert, opens it and
replies; the worker sends the reply, in Spanish around the counsellor's own words.

Pages are checked with axe-core and photographed (docs-inbox*.png) for docs/screenshots/.
"""

import datetime as dt
import time
import urllib.parse
import urllib.request

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import trans_real
from twilio.request_validator import RequestValidator

from frontdesk.celery import QUEUES, app
from tests.conftest import PASSWORD
from tests.e2e.conftest import DESKTOP, _shot, assert_accessible
from tests.factories import (
    MembershipFactory,
    OfficeFactory,
    UserFactory,
    VisitFactory,
    VisitorFactory,
    zone_at_midday,
)
from visitors import sms
from visitors.followups.models import FollowUp
from visitors.messaging.models import ConversationMessage, Reminder, ReminderKind

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "browser-test-token"
QUESTION = "I called them but they never answered, what now?"
REPLY_EN = "%(office)s (%(author)s): %(body)s — Reply to this message to write back."
REPLY_ES = "%(office)s (%(author)s): %(body)s — Responda a este mensaje para contestar."
ANSWER = "Llame otra vez el martes a las 10 y pregunte por Luis."


@pytest.fixture
def spanish_reply():
    """The Spanish of the staff reply's wording, as suggested to the catalog (kept if the
    catalog already has its own)."""
    catalog = trans_real.translation("es")._catalog  # type: ignore[attr-defined]
    added = REPLY_EN not in catalog
    if added:
        catalog[REPLY_EN] = REPLY_ES
    yield catalog[REPLY_EN]
    if added:
        catalog._catalogs[0].pop(REPLY_EN)


@pytest.fixture
def texts(live_server, settings):
    settings.SMS_BACKEND = "visitors.sms.MemoryBackend"
    settings.REMINDERS_DISPATCH_ON_COMMIT = True  # a reply kicks the worker, as in production
    settings.TWILIO_AUTH_TOKEN = TOKEN
    sms.MemoryBackend.outbox = []
    office = OfficeFactory(
        name="Riverside Job Center", slug="riverside", time_zone=zone_at_midday(),
        quiet_hours_start=dt.time(0), quiet_hours_end=dt.time(0),  # texts at any hour of the run
    )  # fmt: skip
    marta = UserFactory(username="marta", first_name="Marta", last_name="Ruiz")
    MembershipFactory(user=marta, office=office, role="counsellor")
    rosa = VisitorFactory(
        first_name="Rosa", last_name="Díaz", phone="(555) 301-0001", consent_sms=True,
        preferred_language="es",
    )  # fmt: skip
    now = timezone.now()
    visit = VisitFactory(office=office, visitor=rosa, checked_in_at=now - dt.timedelta(days=7))
    follow_up = FollowUp.objects.create(
        office=office, visitor=rosa, promised_on=visit, assigned_to=marta,
        due_on=now.date() + dt.timedelta(days=2), note="Did the food bank help?",
    )  # fmt: skip
    Reminder.objects.create(
        office=office, visitor=rosa, visit=visit, kind=ReminderKind.REFERRAL_FOLLOW_UP,
        channel="sms", state="sent", due_at=now - dt.timedelta(hours=3),
        sent_at=now - dt.timedelta(hours=3), idempotency_key="referral:browser",
        context={"partner": "Second Harvest Food Bank"},
    )  # fmt: skip
    queues = [*QUEUES, app.conf.task_default_queue]
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=30, queues=queues
    ):
        yield {"office": office, "follow_up": follow_up, "base": live_server.url}
    app.control.purge()


def _twilio_posts(base: str, body: str, sender: str = "+15553010001") -> int:
    """Post a text to the webhook as Twilio does: form-encoded and signed with our token."""
    url = base + reverse("sms_inbound")
    params = {"From": sender, "To": "+15550000000", "Body": body, "MessageSid": "SMbrowser1"}
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(params).encode(), method="POST",
        headers={"X-Twilio-Signature": signature},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our server)
        return response.status


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_reply_to_the_follow_up_text_reaches_the_counsellor_who_answers_it(
    open_page, texts, spanish_reply
):
    errors: list = []
    office, follow_up, base = texts["office"], texts["follow_up"], texts["base"]

    # Rosa answers the "did you reach them?" text.
    assert _twilio_posts(base, QUESTION) == 200
    message = ConversationMessage.objects.get()
    assert message.follow_up == follow_up

    # Marta, who promised the follow-up, signs in and sees the alert in the inbox.
    page = open_page(errors, viewport=DESKTOP)
    page.goto(base + reverse("login"))
    page.get_by_label("Username").fill("marta")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(base + reverse("desk:inbox", args=[office.slug]))
    page.get_by_text("1 reply to a follow-up you promised").wait_for()
    row = page.locator("tr.inbox-row.unread", has_text="Rosa Díaz")
    assert "never answered" in row.inner_text() and "needs a reply" in row.inner_text()
    assert "Español" in row.inner_text()  # the language badge
    assert_accessible(page, "inbox")
    _shot(page, "docs-inbox")

    # The same words are on the follow-up.
    page.goto(base + reverse("desk:follow_up", args=[office.slug, follow_up.pk]))
    page.locator("q", has_text=QUESTION).wait_for()
    assert "Reached them" in page.locator("ol", has_text="their reply by text").inner_text()
    assert_accessible(page, "inbox-follow-up")
    _shot(page, "docs-inbox-follow-up")

    # She opens the thread from the follow-up and answers.
    page.get_by_role("link", name="Answer it").click()
    page.get_by_role("heading", name="Texts with Rosa Díaz").wait_for()
    assert_accessible(page, "inbox-thread")
    page.get_by_label("Your reply").fill(ANSWER)
    page.get_by_role("button", name="Send reply").click()
    page.get_by_text("Your reply is on its way.").wait_for()

    # The worker sends it: her words, in Spanish around them, to Rosa's phone.
    assert _wait_for(lambda: bool(sms.MemoryBackend.outbox)), "no text sent"
    [text] = sms.MemoryBackend.outbox
    assert text.to == "(555) 301-0001"
    assert text.body == spanish_reply % {"office": office.name, "author": "Marta", "body": ANSWER}
    assert "Responda a este mensaje" in text.body
    page.reload()
    page.locator(".message.out", has_text="sent").wait_for()
    assert "Marta Ruiz" in page.locator(".message.out").inner_text()
    assert_accessible(page, "inbox-thread-answered")
    _shot(page, "docs-inbox-thread")

    # Nothing is waiting any more, and the alert is gone.
    page.goto(base + reverse("desk:inbox", args=[office.slug]))
    page.get_by_text("No text is waiting for a reply.").wait_for()
    assert page.get_by_text("you promised").count() == 0
    assert errors == []
