"""What goes into the outbox and when: appointments, workshops, referral follow-ups, "N people
ahead", the managers' daily summary; and what calls reminders off again."""

import datetime as dt
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from tests.factories import UserFactory, VisitFactory, VisitorFactory, aware
from visitors import outbox, reminders, services
from visitors.followups.models import Appointment, Workshop, WorkshopSignup
from visitors.messaging.models import Reminder
from visitors.offices.models import Office, ReferralPartner, StaffMembership, StaffRole
from visitors.visits.lifecycle import Outcome, Status
from visitors.visits.models import Referral

pytestmark = pytest.mark.django_db


@pytest.fixture
def texting():
    return VisitorFactory(first_name="Rosa", phone="(555) 301-0001", consent_sms=True)


def _deliver(reminder, now=None):
    reminder.refresh_from_db()
    [(pk, claim)] = [c for c in outbox.reminders_claim(now=now) if c[0] == reminder.pk]
    return outbox.reminder_deliver(reminder_id=pk, claim=claim, now=now)


def test_an_appointment_gets_a_text_the_day_before_and_two_hours_before(office, texting):
    starts = timezone.now() + dt.timedelta(days=5)
    appointment = Appointment.objects.create(
        office=office, visitor=texting, starts_at=starts, purpose="Résumé review"
    )
    made = reminders.appointment_schedule(appointment)
    assert sorted(r.due_at for r in made) == [starts - dt.timedelta(days=1),
                                              starts - dt.timedelta(hours=2)]  # fmt: skip
    assert {(r.kind, r.channel) for r in made} == {("appointment", "sms")}
    assert reminders.appointment_schedule(appointment) == made  # scheduling twice: same rows
    assert Reminder.objects.count() == 2


def test_no_reminder_goes_to_a_visitor_who_did_not_agree(office):
    silent = VisitorFactory(phone="(555) 301-0002", consent_sms=False, email="")
    appointment = Appointment.objects.create(
        office=office, visitor=silent, starts_at=timezone.now() + dt.timedelta(days=3),
        purpose="Check-in",
    )  # fmt: skip
    assert reminders.appointment_schedule(appointment) == []
    emailer = VisitorFactory(phone="", email="e@example.org", consent_email=True)
    appointment.visitor = emailer
    assert {r.channel for r in reminders.appointment_schedule(appointment)} == {"email"}


def test_an_appointment_booked_for_this_afternoon_gets_only_the_two_hour_text(office, texting):
    appointment = Appointment.objects.create(
        office=office, visitor=texting, starts_at=timezone.now() + dt.timedelta(hours=5),
        purpose="Résumé review",
    )  # fmt: skip
    assert [r.idempotency_key.rsplit(":", 1)[1] for r in reminders.appointment_schedule(
        appointment)] == ["2h"]  # fmt: skip


def test_moving_an_appointment_cancels_its_texts_and_schedules_new_ones(office, texting):
    appointment = Appointment.objects.create(
        office=office, visitor=texting, starts_at=timezone.now() + dt.timedelta(days=5),
        purpose="Résumé review",
    )  # fmt: skip
    old = reminders.appointment_schedule(appointment)
    later = appointment.starts_at + dt.timedelta(days=2)
    new = reminders.appointment_move(appointment, starts_at=later)
    assert {Reminder.objects.get(pk=r.pk).state for r in old} == {"cancelled"}
    assert sorted(r.due_at for r in new) == [later - dt.timedelta(days=1),
                                             later - dt.timedelta(hours=2)]  # fmt: skip
    reminders.appointment_cancel(appointment)
    assert set(Reminder.objects.values_list("state", flat=True)) == {"cancelled"}


def test_a_text_for_an_appointment_changed_elsewhere_is_called_off_at_send_time(
    office, texting, memory_sms
):
    appointment = Appointment.objects.create(
        office=office, visitor=texting, starts_at=timezone.now() + dt.timedelta(hours=26),
        purpose="Résumé review",
    )  # fmt: skip
    day_before, _two_hours = reminders.appointment_schedule(appointment)
    # Moved in the admin, which knows nothing of reminders: the send-time check catches it.
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=appointment.starts_at + dt.timedelta(hours=1)
    )
    at = day_before.due_at + dt.timedelta(seconds=1)
    with mock.patch.object(type(office), "in_quiet_hours", return_value=False):
        assert _deliver(day_before, now=at) == "cancelled"
    day_before.refresh_from_db()
    assert (day_before.state, day_before.last_error) == ("cancelled", "appointment moved")
    assert memory_sms == []


def test_a_workshop_signup_is_reminded_and_a_cancelled_workshop_is_not(office, texting, memory_sms):
    workshop = Workshop.objects.create(
        office=office, title="Interview practice", capacity=10,
        starts_at=timezone.now() + dt.timedelta(days=2),
    )  # fmt: skip
    signup = WorkshopSignup.objects.create(workshop=workshop, visitor=texting)
    made = reminders.workshop_schedule(signup)
    assert [r.kind for r in made] == ["workshop", "workshop"]
    Workshop.objects.filter(pk=workshop.pk).update(is_cancelled=True)
    with mock.patch.object(type(office), "in_quiet_hours", return_value=False):
        assert _deliver(made[0], now=made[0].due_at) == "cancelled"
    assert memory_sms == []


@pytest.fixture
def referral(office, texting, counsellor):
    visit = VisitFactory(office=office, visitor=texting, status=Status.LEFT)
    partner = ReferralPartner.objects.create(name="Legal Aid", helps_with="Legal help")
    return Referral.objects.create(visit=visit, partner=partner, referred_by=counsellor)


def test_a_referral_is_followed_up_a_week_later_at_ten_in_the_office_s_time(
    office, referral, settings
):
    settings.REFERRAL_FOLLOW_UP_DAYS = 7
    now = aware(2026, 3, 2, 15, 0)  # Monday 09:00 in Chicago
    assert reminders.referral_follow_up_schedule(referral, now=now)
    row = Reminder.objects.get(kind="referral_follow_up")
    assert timezone.localtime(row.due_at, office.zone) == dt.datetime(
        2026, 3, 9, 10, 0, tzinfo=office.zone
    )  # across the change to daylight time on 8 March: still 10:00 local
    assert row.context == {"partner": "Legal Aid"}


# Late morning in Chicago: "in three hours" is still today there (at 21:00 local it is tomorrow).
@time_machine.travel(aware(2026, 3, 4, 16, 0), tick=False)
def test_a_visitor_who_comes_back_is_asked_in_person_not_texted(office, referral, texting):
    reminders.referral_follow_up_schedule(referral)
    today = Appointment.objects.create(
        office=office, visitor=texting, starts_at=timezone.now() + dt.timedelta(hours=3),
        purpose="Today's check",
    )  # fmt: skip
    next_month = Appointment.objects.create(
        office=office, visitor=texting, starts_at=timezone.now() + dt.timedelta(days=30),
        purpose="Next month",
    )  # fmt: skip
    reminders.appointment_schedule(today)
    reminders.appointment_schedule(next_month)
    services.visit_check_in(office=office, visitor=texting)
    states = {
        (r.kind, r.appointment_id): r.state
        for r in Reminder.objects.all()
    }  # fmt: skip
    assert states[("referral_follow_up", None)] == "cancelled"
    assert states[("appointment", today.pk)] == "cancelled"
    assert states[("appointment", next_month.pk)] == "scheduled"


# Mid-morning in Chicago: "N ahead" texts are not written in the office's quiet hours, which
# the suite's wall clock reaches when it runs in the evening there.
@time_machine.travel(aware(2026, 3, 4, 16, 0), tick=False)
def test_a_visitor_who_asked_hears_when_only_a_few_are_ahead_once(office, counsellor):
    line = [VisitFactory(office=office, visitor=VisitorFactory()) for _ in range(3)]
    asking = VisitFactory(
        office=office, notify_when_ahead=2,
        visitor=VisitorFactory(phone="(555) 301-0003", consent_sms=True),
    )  # fmt: skip
    services.queue_call_next(office=office, staff=counsellor)  # 2 ahead now
    [row] = Reminder.objects.filter(kind="queue_position")
    assert (row.visit, row.context["ahead"], row.channel) == (asking, 2, "sms")
    services.queue_call_next(office=office, staff=counsellor)  # 1 ahead: no second text
    assert Reminder.objects.filter(kind="queue_position").count() == 1
    assert line[0].pk != asking.pk


@time_machine.travel(aware(2026, 3, 4, 16, 0), tick=False)
def test_n_ahead_counts_by_the_office_s_own_queue_rule(office, counsellor):
    """An office that calls strictly by arrival: a covered veteran who came last is not ahead
    of anyone, so after one call the visitor who asked for "1 ahead" hears it."""
    office.queue_rule = Office.QueueRule.ARRIVAL
    office.save()
    now = timezone.now()
    for n in range(2):
        VisitFactory(office=office, checked_in_at=now - dt.timedelta(minutes=30 - n))
    asking = VisitFactory(
        office=office, notify_when_ahead=1, checked_in_at=now - dt.timedelta(minutes=20),
        visitor=VisitorFactory(phone="(555) 301-0004", consent_sms=True),
    )  # fmt: skip
    VisitFactory(office=office, priority=2, checked_in_at=now - dt.timedelta(minutes=10))
    services.queue_call_next(office=office, staff=counsellor)
    [row] = Reminder.objects.filter(kind="queue_position")
    assert (row.visit, row.context["ahead"]) == (asking, 1)


def test_managers_get_the_day_s_summary_once_after_the_office_closes(office, manager, clerk):
    manager.email = "boss@example.org"
    manager.save()
    StaffMembership.objects.create(
        user=UserFactory(username="gone", email="gone@example.org", is_active=False),
        office=office, role=StaffRole.MANAGER,
    )  # fmt: skip
    evening = dt.datetime(2026, 3, 2, 18, 30, tzinfo=office.zone)
    day = evening.date()
    at = dt.datetime(2026, 3, 2, 10, 0, tzinfo=office.zone)
    stages = {f"{s}_at": at for s in ("called", "service_started", "greeted", "determined",
                                          "responded", "concluded", "ended")}  # fmt: skip
    VisitFactory(office=office, status=Status.DONE, outcome=Outcome.FOLLOW_UP, checked_in_at=at,
                 service_date=day, **stages)  # fmt: skip
    VisitFactory(office=office, status=Status.LEFT, checked_in_at=at, service_date=day)
    assert reminders.daily_summaries_schedule(now=evening - dt.timedelta(hours=1)) == 0
    assert reminders.daily_summaries_schedule(now=evening) == 1
    assert reminders.daily_summaries_schedule(now=evening + dt.timedelta(hours=1)) == 0
    row = Reminder.objects.get(kind="daily_summary")
    assert (row.recipient_user, row.channel) == (manager, "email")
    assert _deliver(row, now=evening) == "sent"
    [email] = mail.outbox
    assert email.to == ["boss@example.org"]
    assert "Visits: 2 (2 people)" in email.body
    assert "left before being served: 1" in email.body
    assert "Follow-up needed: 1" in email.body


def test_a_call_succeeds_and_the_text_waits_when_the_broker_is_down(
    client, office, counsellor, settings, django_capture_on_commit_callbacks
):
    settings.REMINDERS_DISPATCH_ON_COMMIT = True
    visit = VisitFactory(
        office=office, notify_when_called=True,
        visitor=VisitorFactory(phone="(555) 301-0004", consent_sms=True),
    )  # fmt: skip
    client.force_login(counsellor)
    with (
        mock.patch(
            "visitors.broker.current_app.send_task",
            side_effect=OperationalError("Error 111 connecting to 127.0.0.1:6379"),
        ) as kick,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(reverse("desk:call_next", args=[office.slug]), {"desk": "Desk 1"})
    assert response.status_code == 302
    assert kick.call_count == 1  # it tried, after the commit
    row = Reminder.objects.get(kind="called_now", visit=visit)
    assert row.state == "scheduled"  # waits for the next beat


def test_a_call_asks_a_worker_to_send_right_away(
    client, office, counsellor, settings, django_capture_on_commit_callbacks
):
    settings.REMINDERS_DISPATCH_ON_COMMIT = True
    VisitFactory(
        office=office, notify_when_called=True,
        visitor=VisitorFactory(phone="(555) 301-0005", consent_sms=True),
    )  # fmt: skip
    client.force_login(counsellor)
    with (
        mock.patch("visitors.broker.current_app.send_task") as kick,
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post(reverse("desk:call_next", args=[office.slug]), {"desk": "Desk 1"})
    kick.assert_called_once_with(
        "visitors.tasks.dispatch_reminders", (), retry=False, ignore_result=True
    )
