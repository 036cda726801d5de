"""'Got hired!' in a real browser: staff see the moment to congratulate, the visitor's status
page says congratulations with what the office offers next, and the check-ins are scheduled."""

import datetime as dt

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.e2e.conftest import PHONE, _shot, assert_accessible
from tests.factories import (
    MembershipFactory,
    OfficeFactory,
    UserFactory,
    VisitFactory,
    VisitorFactory,
)
from visitors import services
from visitors.followups.models import FollowUp
from visitors.messaging.models import Reminder
from visitors.visits.lifecycle import Outcome, Status
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db(transaction=True)

OFFER = "We are here for your first weeks too: call us about childcare, transport or the new job."


def test_got_hired_congratulates_on_both_sides_and_schedules_the_check_ins(open_page, live_server):
    office = OfficeFactory(name="Riverside Job Center", slug="riverside", hire_offer_en=OFFER,
                           phone="(555) 010-2000")  # fmt: skip
    dana = UserFactory(username="dana", first_name="Dana", last_name="Reyes")
    MembershipFactory(user=dana, office=office, role="counsellor")
    rosa = VisitorFactory(first_name="Rosa", last_name="Díaz", consent_sms=True)
    visit = VisitFactory(office=office, visitor=rosa)
    services.visit_call(visit=visit, staff=dana, desk="Desk 2")

    errors: list = []
    desk = open_page(errors, viewport={"width": 1366, "height": 900})
    desk.goto(live_server.url + reverse("login"))
    desk.get_by_label("Username").fill("dana")
    desk.get_by_label("Password").fill(PASSWORD)
    desk.get_by_role("button", name="Sign in").click()
    desk.goto(live_server.url + reverse("desk:visit", args=[office.slug, visit.pk]))
    desk.get_by_role("button", name="Greeted").click()
    desk.get_by_label("What they need, in their words").fill("Has a job offer to talk over")
    desk.get_by_role("button", name="Record determining").click()
    desk.get_by_label("Job leads handed over").fill("Warehouse, day shift")
    desk.get_by_role("button", name="Record responding").click()

    # The congratulation text is offered only once "Got hired!" is chosen, ticked because
    # Rosa agreed to texts.
    text_box = desk.get_by_label("Text them congratulations")
    assert not text_box.is_visible()
    desk.get_by_label("Got hired!").check()
    assert text_box.is_visible() and text_box.is_checked()
    desk.get_by_role("button", name="Record concluding").click()

    moment = desk.locator("#hired-moment")
    moment.wait_for()
    assert "“Congratulations on the new job, Rosa! That is wonderful news.”" in moment.inner_text()
    assert OFFER in moment.inner_text()
    assert "Congratulations by text message: scheduled." in moment.inner_text()
    assert_accessible(desk, "workspace-hired")
    _shot(desk, "workspace-hired")

    check_ins = FollowUp.objects.filter(promised_on=visit).order_by("due_on")
    today = office.local_date()
    assert [(f.kind, f.due_on, f.assigned_to_id) for f in check_ins] == [
        ("hire_check_in", today + dt.timedelta(days=30), dana.pk),
        ("hire_check_in", today + dt.timedelta(days=90), dana.pk),
    ]
    assert Reminder.objects.filter(visit=visit, kind="hired", channel="sms").count() == 1
    # Each check-in opens from the moment's list.
    assert moment.get_by_role("link").count() == 2

    desk.get_by_role("button", name="Finish without a next step").click()
    assert Visit.objects.get(pk=visit.pk).status == Status.DONE

    phone = open_page(errors, viewport=PHONE, has_touch=True)
    phone.goto(live_server.url + reverse("status:page", args=[visit.status_token]))
    phone.get_by_role("heading", name="Congratulations on the new job!").wait_for()
    assert OFFER in phone.locator("#status-panel").inner_text()
    assert phone.get_by_role("group", name="How did we do today?").is_visible()
    assert_accessible(phone, "status-hired")
    _shot(phone, "docs-status-hired")
    phone.get_by_role("button", name="5 of 5").tap()
    phone.get_by_text("Thank you for your rating.").wait_for()
    assert Visit.objects.get(pk=visit.pk).rating == 5

    follow_ups = open_page(errors, viewport={"width": 1366, "height": 900})
    follow_ups.context.add_cookies(desk.context.cookies())
    follow_ups.goto(live_server.url + reverse("desk:follow_ups", args=[office.slug]))
    assert follow_ups.locator(".badge.hire").count() == 2
    assert_accessible(follow_ups, "follow-ups-hire-check-ins")
    assert errors == []
    assert Visit.objects.get(pk=visit.pk).outcome == Outcome.HIRED
