"""The whole journey in a real browser, with a real Celery worker.

A new visitor checks in on the tablet kiosk, appears on the staff console, is called (the lobby
display and her phone's status page change, and the worker texts her), is served through the
five stages with a referral and a follow-up, the referral's "did you reach them?" text goes out
through the worker when it falls due, and the manager's dashboard counts the visit. She comes
back and the kiosk greets her by name.

Every page on the way is checked with axe-core (no serious or critical violation) and
photographed into test-artifacts/ (``make screenshots`` copies the set to docs/screenshots/).
"""

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from django.utils import timezone

from frontdesk.celery import QUEUES, app
from tests.conftest import PASSWORD
from tests.e2e.conftest import DESKTOP, PHONE, TABLET, TV, _shot, assert_accessible
from tests.factories import (
    MembershipFactory,
    OfficeFactory,
    ReasonFactory,
    UserFactory,
    zone_at_midday,
)
from visitors import sms
from visitors.messaging.models import Reminder
from visitors.offices.models import KioskLink, ReferralPartner, Service
from visitors.visits.lifecycle import Status
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def journey(live_server, settings):
    settings.SMS_BACKEND = "visitors.sms.MemoryBackend"
    settings.REMINDERS_DISPATCH_ON_COMMIT = True  # a call kicks the worker, as in production
    sms.MemoryBackend.outbox = []
    office = OfficeFactory(
        name="Riverside Job Center", slug="riverside", time_zone=zone_at_midday(),
        kiosk_reset_seconds=60,
        quiet_hours_start=dt.time(0), quiet_hours_end=dt.time(0),  # texts at any hour of the run
    )  # fmt: skip
    ReasonFactory(office=office, label_en="Looking for work", label_es="Busco trabajo")
    ReasonFactory(office=office, label_en="Unemployment claim", label_es="Desempleo")
    Service.objects.create(name="Job search assistance", reporting_code="BCS-102")
    ReferralPartner.objects.create(
        name="Second Harvest Food Bank", helps_with="Groceries this week", phone="555-0100"
    )
    clerk = UserFactory(username="dana", first_name="Dana")
    MembershipFactory(user=clerk, office=office, role="front_desk")
    boss = UserFactory(username="maria", first_name="María")
    MembershipFactory(user=boss, office=office, role="manager")
    _k, kiosk_token = KioskLink.issue(office=office, label="Lobby")
    _d, display_token = KioskLink.issue(office=office, label="TV", capability="display")
    base = live_server.url
    queues = [*QUEUES, app.conf.task_default_queue]
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=30, queues=queues
    ):
        yield {
            "office": office,
            "base": base,
            "console": base + reverse("desk:console", args=[office.slug]),
            "login": base + reverse("login"),
            "kiosk": base + reverse("kiosk:open", args=[office.slug, kiosk_token]),
            "display": base + reverse("display:open", args=[office.slug, display_token]),
            "dashboard": base + reverse("dashboard:day") + f"?office={office.slug}",
        }
    app.control.purge()  # no kick left on the broker for another test's worker


def _sign_in(page, login_url, username):
    page.goto(login_url)
    assert_accessible(page, "sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_visit_from_the_kiosk_to_the_dashboard(open_page, journey):
    errors: list = []

    # The front desk opens the console before the doors open.
    console = open_page(errors, viewport=DESKTOP)
    _sign_in(console, journey["login"], "dana")
    console.goto(journey["console"])
    console.get_by_label("Your desk").fill("Desk 7")
    assert_accessible(console, "console-empty")

    # A new visitor checks in on the tablet.
    kiosk = open_page(errors, viewport=TABLET, has_touch=True)
    kiosk.goto(journey["kiosk"])
    assert_accessible(kiosk, "kiosk-welcome")
    _shot(kiosk, "journey-kiosk-welcome")
    kiosk.get_by_role("button", name="Check in English").tap()
    kiosk.get_by_label("First name").fill("Aaliyah")
    kiosk.get_by_label("Last name").fill("Brooks")
    assert_accessible(kiosk, "kiosk-name")
    kiosk.get_by_role("button", name="Next").tap()
    kiosk.get_by_role("button", name="This is my first visit").tap()
    kiosk.get_by_text("Looking for work").wait_for()
    assert_accessible(kiosk, "kiosk-reasons")
    kiosk.get_by_text("Looking for work").tap()
    kiosk.get_by_role("button", name="Next").tap()
    kiosk.get_by_label("Mobile number (optional)").fill("(555) 201-3344")
    kiosk.get_by_label("Text me when I'm called").check()
    kiosk.get_by_label("Send me reminders about appointments and workshops").check()
    kiosk.get_by_role("radio", name="No").check()
    assert_accessible(kiosk, "kiosk-contact")
    _shot(kiosk, "journey-kiosk-contact")
    kiosk.get_by_role("button", name="Check in").tap()
    kiosk.get_by_role("heading", name="You are checked in!").wait_for()
    assert kiosk.locator(".ticket").inner_text() == "A-001"
    assert_accessible(kiosk, "kiosk-ticket")
    _shot(kiosk, "journey-kiosk-ticket")
    visit = Visit.objects.get()
    assert (visit.visitor.first_name, visit.status) == ("Aaliyah", Status.WAITING)

    # She follows her place on her phone (the ticket's QR code leads there).
    phone = open_page(errors, viewport=PHONE, has_touch=True, is_mobile=True)
    phone.goto(journey["base"] + reverse("status:page", args=[visit.status_token]))
    phone.get_by_role("heading", name="You are next in line.").wait_for()
    assert_accessible(phone, "status-waiting")
    _shot(phone, "journey-status-waiting")

    # The lobby display, with nobody called yet.
    display = open_page(errors, viewport=TV)
    display.goto(journey["display"])
    assert_accessible(display, "display")

    # She shows on the open console without a reload; the desk calls her.
    console.locator("#queue-board", has_text="Aaliyah").wait_for(timeout=10_000)
    assert_accessible(console, "console-waiting")
    _shot(console, "journey-console")
    console.get_by_role("button", name="Call next").click()
    display.locator(".now", has_text="A-001").wait_for(timeout=10_000)
    assert "Desk 7" in display.locator(".now").inner_text()
    assert "Aaliyah" not in display.content() and "Brooks" not in display.content()
    assert_accessible(display, "display-called")
    _shot(display, "journey-display")
    phone.get_by_role("heading", name="Now go to Desk 7.").wait_for(timeout=15_000)
    assert_accessible(phone, "status-called")
    _shot(phone, "journey-status-called")
    # The worker texts her that she is being called (the request kicked the dispatcher).
    assert _wait_for(lambda: any("Desk 7" in m.body for m in sms.MemoryBackend.outbox)), (
        sms.MemoryBackend.outbox
    )
    called_text = next(m for m in sms.MemoryBackend.outbox if "Desk 7" in m.body)
    assert called_text.to == "(555) 201-3344"

    # The five stages, with a referral and a follow-up.
    console.get_by_role("button", name="Greeted").click()
    console.get_by_label("What they need, in their words").fill(
        "Warehouse work near the bus line; <b>food</b> until the first paycheck"
    )
    assert_accessible(console, "workspace-determining")
    console.get_by_role("button", name="Record determining").click()
    console.get_by_label("Job search assistance (BCS-102)").check()
    console.get_by_label("Second Harvest Food Bank").check()
    console.get_by_role("button", name="Record responding").click()
    console.get_by_label("Referred").check()
    console.get_by_role("button", name="Record concluding").click()
    follow_up_day = timezone.localdate() + dt.timedelta(days=7)
    console.get_by_label("Follow up on").fill(follow_up_day.isoformat())
    console.locator("[name=follow_up_note]").fill("Ask how the interview went")
    console.get_by_role("button", name="Record future reference").click()
    console.get_by_role("button", name="Finish visit").wait_for()
    assert_accessible(console, "workspace-recorded")
    _shot(console, "journey-workspace")
    console.get_by_role("button", name="Finish visit").click()
    console.locator("#done-h", has_text="(1)").wait_for()
    visit.refresh_from_db()
    assert (visit.status, visit.outcome, visit.desk) == (Status.DONE, "referred", "Desk 7")
    assert len(visit.recorded_stages) == 5
    # What she chose on the kiosk survived the determining stage (it starts ticked there).
    assert list(visit.reasons.values_list("label_en", flat=True)) == ["Looking for work"]
    assert "<b>food</b>" in visit.visitor_words  # stored exactly as typed
    assert list(visit.referrals.values_list("partner__name", flat=True)) == [
        "Second Harvest Food Bank"
    ]
    assert visit.follow_ups_promised.get().due_on == follow_up_day

    # Her phone says thank you and asks for a rating.
    phone.get_by_role("heading", name="Thank you for visiting.").wait_for(timeout=15_000)
    assert_accessible(phone, "status-done")
    phone.get_by_role("button", name="5 of 5").click()
    phone.get_by_text("Thank you for your rating.").wait_for()

    # Days later the referral's follow-up text falls due; beat's dispatcher hands it to the
    # worker, which sends it.
    follow_up = Reminder.objects.get(visit=visit, kind=Reminder.Kind.REFERRAL_FOLLOW_UP)
    assert follow_up.state == Reminder.State.SCHEDULED and follow_up.channel == "sms"
    assert follow_up.due_at > timezone.now()
    Reminder.objects.filter(pk=follow_up.pk).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    from visitors.tasks import dispatch_reminders

    dispatch_reminders.delay()
    assert _wait_for(lambda: Reminder.objects.get(pk=follow_up.pk).state == "sent")
    texts = [m.body for m in sms.MemoryBackend.outbox if "Second Harvest" in m.body]
    assert len(texts) == 1, sms.MemoryBackend.outbox

    # The manager's dashboard counts the visit, the referral and the rating.
    manager = open_page(errors, viewport=DESKTOP)
    _sign_in(manager, journey["login"], "maria")
    manager.goto(journey["dashboard"])
    tiles = manager.get_by_role("region", name="The day in numbers")
    assert "1 visit" in tiles.inner_text() and "1 new, 0 returning" in tiles.inner_text()
    referrals = manager.get_by_role("table", name="Referrals by partner")
    assert "Second Harvest Food Bank" in referrals.inner_text()
    assert "1" in referrals.locator("td").first.inner_text()
    assert_accessible(manager, "dashboard")
    _shot(manager, "journey-dashboard")

    # She comes back: the kiosk greets her by name, even typed differently.
    kiosk.goto(journey["kiosk"])
    kiosk.get_by_role("button", name="Check in English").tap()
    kiosk.get_by_label("First name").fill("aliyah")
    kiosk.get_by_label("Last name").fill("BROOKS")
    kiosk.get_by_role("button", name="Next").tap()
    kiosk.locator("input[name=phone_last4]").fill("3344")
    assert_accessible(kiosk, "kiosk-verify")
    kiosk.get_by_role("button", name="Find me").tap()
    kiosk.get_by_role("heading", name="Welcome back, Aaliyah!").wait_for()
    usual = kiosk.locator("label.toggle", has_text="Looking for work")
    assert "last time" in usual.inner_text()  # what she came for last time: marked, not ticked
    assert not usual.locator("input").is_checked()
    assert_accessible(kiosk, "kiosk-welcome-back")
    _shot(kiosk, "journey-kiosk-welcome-back")
    usual.tap()
    kiosk.get_by_role("button", name="Next").tap()
    kiosk.get_by_role("button", name="Check in").tap()
    kiosk.locator(".ticket").wait_for()
    again = Visit.objects.get(status=Status.WAITING)
    assert again.visitor_id == visit.visitor_id
    assert errors == [], errors
