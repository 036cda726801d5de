"""Follow-up tasks for staff, and the office's reminder list with retry and cancel."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import VisitFactory, VisitorFactory
from visitors import services
from visitors.followups.models import FollowUp, FollowUpContact
from visitors.messaging.models import Reminder
from visitors.visits.lifecycle import Outcome

pytestmark = pytest.mark.django_db


@pytest.fixture
def promised(client, office, counsellor):
    """A visit served through the five stages that ended with a promised call-back."""
    visit = VisitFactory(office=office, visitor=VisitorFactory(first_name="Rosa"))
    services.visit_call(visit=visit, staff=counsellor, desk="Desk 2")
    client.force_login(counsellor)
    for stage, data in [
        ("greeting", {}),
        ("determining", {"visitor_words": "Needs work"}),
        ("responding", {"job_leads": "Warehouse"}),
        ("concluding", {"outcome": Outcome.FOLLOW_UP}),
        ("future_reference", {"follow_up_on": office.local_date().isoformat(),
                              "follow_up_note": "Call about the warehouse interview"}),
    ]:  # fmt: skip
        url = reverse("desk:visit_stage", args=[office.slug, visit.pk, stage])
        assert client.post(url, data).status_code == 302, stage
    return FollowUp.objects.get(promised_on=visit)


def test_a_promised_follow_up_becomes_a_task_in_the_staff_member_s_console(
    client, office, counsellor, promised
):
    assert (promised.assigned_to, promised.state) == (counsellor, "open")
    assert promised.note == "Call about the warehouse interview"
    console = client.get(reverse("desk:console", args=[office.slug]))
    assert "Your follow-ups" in console.text
    assert reverse("desk:follow_up", args=[office.slug, promised.pk]) in console.text


def test_no_answer_and_voicemail_keep_it_open_and_reaching_them_closes_it(
    client, office, counsellor, promised
):
    url = reverse("desk:follow_up_contact", args=[office.slug, promised.pk])
    for result in ("no_answer", "voicemail", "wrong_number"):
        page = client.post(url, {"method": "phone", "result": result}, follow=True)
        assert "stays open" in page.text
    assert FollowUp.objects.get(pk=promised.pk).state == "open"
    client.post(url, {"method": "phone", "result": "reached",
                      "outcome": "Got the job; starts Monday"})  # fmt: skip
    promised.refresh_from_db()
    assert (promised.state, promised.closed_by) == ("done", counsellor)
    assert list(promised.contacts.values_list("result", flat=True)) == [
        "no_answer", "voicemail", "wrong_number", "reached"]  # fmt: skip
    assert FollowUpContact.objects.last().outcome == "Got the job; starts Monday"
    call_back = Reminder.objects.get(kind="call_back_due", visit=promised.promised_on)
    assert call_back.state in {"cancelled", "sent"}
    page = client.get(reverse("desk:follow_up", args=[office.slug, promised.pk]))
    assert "Log contact" not in page.text  # nothing more to log on a done task


def test_a_text_never_closes_a_follow_up(office, promised, settings):
    from visitors import outbox

    settings.SMS_BACKEND = "visitors.sms.MemoryBackend"
    for pk, claim in outbox.reminders_claim(now=timezone.now() + dt.timedelta(days=2)):
        outbox.reminder_deliver(reminder_id=pk, claim=claim)
    assert FollowUp.objects.get(pk=promised.pk).state == "open"


def test_closing_without_contact_needs_a_reason(client, office, promised):
    url = reverse("desk:follow_up_close", args=[office.slug, promised.pk])
    refused = client.post(url, {"reason": "   "})
    assert refused.status_code == 422
    assert FollowUp.objects.get(pk=promised.pk).state == "open"
    client.post(url, {"reason": "Moved to another state <b>bold</b>"})
    promised.refresh_from_db()
    assert (promised.state, promised.close_reason) == (
        "closed",
        "Moved to another state <b>bold</b>",
    )
    page = client.get(reverse("desk:follow_up", args=[office.slug, promised.pk]))
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text  # shown, never run as markup
    again = client.post(url, {"reason": "twice"}, follow=True)
    assert "already closed" in again.text


def test_a_bad_contact_result_is_refused_and_nothing_logged(client, office, promised):
    url = reverse("desk:follow_up_contact", args=[office.slug, promised.pk])
    assert client.post(url, {"method": "phone", "result": "ghosted"}).status_code == 422
    assert not FollowUpContact.objects.exists()


def test_another_office_s_staff_cannot_see_or_change_a_follow_up(
    client, office, promised, outsider
):
    client.force_login(outsider)
    assert client.get(reverse("desk:follow_up", args=[office.slug, promised.pk])).status_code == 404
    url = reverse("desk:follow_up_contact", args=[office.slug, promised.pk])
    assert client.post(url, {"method": "phone", "result": "reached"}).status_code == 404
    assert FollowUp.objects.get(pk=promised.pk).state == "open"


def _row(office, state, n, **fields):
    visitor = VisitorFactory(phone=f"(555) 401-00{n:02d}", consent_sms=True)
    return Reminder.objects.create(
        office=office, visitor=visitor, kind="appointment", channel="sms", state=state,
        due_at=timezone.now() + dt.timedelta(hours=n), idempotency_key=f"list:{n}", **fields,
    )  # fmt: skip


def test_the_reminder_list_filters_by_status_and_retries_or_cancels(client, office, clerk):
    failed = _row(office, "failed", 1, attempts=5, last_error="carrier said no")
    scheduled = _row(office, "scheduled", 2)
    sent = _row(office, "sent", 3, sent_at=timezone.now())
    client.force_login(clerk)
    listing = reverse("desk:reminders", args=[office.slug])
    page = client.get(listing, {"state": "failed"})
    assert "carrier said no" in page.text
    assert page.context["page"].object_list[0] == failed
    assert len(page.context["page"].object_list) == 1

    act = lambda r, action: client.post(  # noqa: E731
        reverse("desk:reminder_action", args=[office.slug, r.pk, action]), follow=True
    )
    act(failed, "retry")
    failed.refresh_from_db()
    assert (failed.state, failed.attempts, failed.last_error) == ("scheduled", 0, "")
    act(scheduled, "cancel")
    scheduled.refresh_from_db()
    assert scheduled.state == "cancelled" and "cancelled by" in scheduled.last_error
    refused = act(sent, "cancel")
    assert "Only scheduled reminders can be cancelled." in refused.text
    assert Reminder.objects.get(pk=sent.pk).state == "sent"
    assert (
        client.post(
            reverse("desk:reminder_action", args=[office.slug, sent.pk, "explode"])
        ).status_code
        == 404
    )


def test_another_office_s_reminders_are_out_of_reach(client, office, other_office, outsider):
    mine = _row(office, "scheduled", 4)
    client.force_login(outsider)
    assert client.get(reverse("desk:reminders", args=[office.slug])).status_code == 404
    url = reverse("desk:reminder_action", args=[other_office.slug, mine.pk, "cancel"])
    assert client.post(url).status_code == 404
    assert Reminder.objects.get(pk=mine.pk).state == "scheduled"


def test_the_visitor_profile_lists_reminders_with_their_actions(client, office, clerk):
    row = _row(office, "failed", 5, last_error="timeout")
    client.force_login(clerk)
    page = client.get(reverse("desk:visitor", args=[office.slug, row.visitor_id]))
    assert reverse("desk:reminder_action", args=[office.slug, row.pk, "retry"]) in page.text
