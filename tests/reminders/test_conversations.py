"""Two-way texts: every text that is not a keyword reaches a person through the office's inbox.

Driven through the signed Twilio webhook, as Twilio calls it. A reply to the referral follow-up
text attaches to the follow-up, counts as two-way contact and alerts the counsellor who promised
it; staff answer through the outbox (consent, STOP and quiet hours respected); an unknown number
gets a thread an office admin attaches to a person; no thread is seen by another office.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils.translation import trans_real
from twilio.request_validator import RequestValidator

from tests.factories import MembershipFactory, UserFactory, VisitFactory, VisitorFactory
from visitors import conversations, outbox
from visitors.followups.models import FollowUp
from visitors.messaging.models import (
    Conversation,
    ConversationMessage,
    Reminder,
    ReminderKind,
    ReminderState,
)
from visitors.offices.models import WEEKDAYS, StaffRole

pytestmark = pytest.mark.django_db
TOKEN = "test-auth-token"
URL = "http://testserver/sms/inbound/"
NUMBER = "+15553010001"
# Monday 2 March 2026, 09:00 in Chicago (Riverside's zone): open, outside quiet hours.
NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
QUESTION = "I called them but they never answered, what now?"
REPLY_EN = "%(office)s (%(author)s): %(body)s — Reply to this message to write back."
REPLY_ES = "%(office)s (%(author)s): %(body)s — Responda a este mensaje para contestar."


@pytest.fixture(autouse=True)
def auth_token(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


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
def rosa(office):
    """A visitor who agreed to texts, her number typed the way the desk types it."""
    person = VisitorFactory(first_name="Rosa", last_name="Díaz", phone="(555) 301-0001",
                            consent_sms=True)  # fmt: skip
    VisitFactory(office=office, visitor=person, checked_in_at=NOW - dt.timedelta(days=10))
    return person


@pytest.fixture
def promised(office, rosa, counsellor):
    """The counsellor promised Rosa a follow-up after referring her; the "did you reach …?"
    text went out yesterday."""
    visit = rosa.visits.get()
    follow_up = FollowUp.objects.create(
        office=office, visitor=rosa, promised_on=visit, assigned_to=counsellor,
        due_on=NOW.date() + dt.timedelta(days=3), note="Check on the food bank",
    )  # fmt: skip
    Reminder.objects.create(
        office=office, visitor=rosa, visit=visit, kind=ReminderKind.REFERRAL_FOLLOW_UP,
        channel="sms", state="sent", due_at=NOW - dt.timedelta(days=1),
        sent_at=NOW - dt.timedelta(days=1), idempotency_key="referral:1",
        context={"partner": "Second Harvest"},
    )  # fmt: skip
    return follow_up


def _text(client, body, sender=NUMBER, *, sid="SM1", to="+15550000000"):
    params = {"From": sender, "To": to, "Body": body, "MessageSid": sid}
    signature = RequestValidator(TOKEN).compute_signature(URL, params)
    response = client.post(
        reverse("sms_inbound"), params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200
    return response


def _deliver_due(now=None):
    """Run the outbox once, as the worker does."""
    return [
        outbox.reminder_deliver(reminder_id=pk, claim=claim, now=now or NOW)
        for pk, claim in outbox.reminders_claim(now=now or NOW)
    ]


def _reply(client, office, thread, body, token="a" * 32):
    url = reverse("desk:inbox_reply", args=[office.slug, thread.pk])
    return client.post(url, {"body": body, "token": token})


# --- Inbound ------------------------------------------------------------------------------------


def test_it_keeps_a_reply_to_the_follow_up_text_in_the_visitor_s_thread(client, office, promised):
    """The words land in Rosa's thread at the office that texted her, on her follow-up."""
    _text(client, QUESTION)
    message = ConversationMessage.objects.get()
    thread = message.conversation
    assert (thread.office, thread.visitor, message.body) == (office, promised.visitor, QUESTION)
    assert message.follow_up == promised
    assert thread.awaiting_reply_since == NOW


def test_it_counts_the_reply_as_two_way_contact_once(client, promised):
    """The follow-up is done (a two-way contact by text); a second text logs nothing more."""
    _text(client, QUESTION, sid="SM1")
    _text(client, "Hello?", sid="SM2")
    promised.refresh_from_db()
    [contact] = promised.contacts.all()
    assert (contact.method, contact.result, contact.by) == ("text", "reached", None)
    assert QUESTION in contact.outcome
    assert promised.state == FollowUp.State.DONE


def test_it_keeps_a_text_twilio_posts_twice_once(client, promised):
    _text(client, QUESTION, sid="SMsame")
    _text(client, QUESTION, sid="SMsame")
    assert ConversationMessage.objects.count() == 1


def test_it_does_not_attach_a_text_after_another_text_to_the_follow_up(client, office, promised):
    """An appointment reminder went out after the follow-up text: "ok" answers that one."""
    Reminder.objects.create(
        office=office, visitor=promised.visitor, kind="appointment", channel="sms", state="sent",
        due_at=NOW - dt.timedelta(hours=2), sent_at=NOW - dt.timedelta(hours=2),
        idempotency_key="appointment:later",
    )  # fmt: skip
    _text(client, "ok thanks")
    assert ConversationMessage.objects.get().follow_up is None
    assert promised.contacts.count() == 0


def test_it_keeps_the_words_but_never_logs_them(client, promised, caplog):
    caplog.set_level("INFO")
    _text(client, "my ssn is 123-45-6789")
    assert ConversationMessage.objects.get().body == "my ssn is 123-45-6789"
    assert "123-45-6789" not in caplog.text


def test_it_puts_the_thread_at_the_office_that_texted_last(client, office, other_office, rosa):
    """Rosa visited Riverside, but Hillside texted her last: her answer is Hillside's."""
    Reminder.objects.create(
        office=other_office, visitor=rosa, kind="appointment", channel="sms", state="sent",
        due_at=NOW - dt.timedelta(hours=1), sent_at=NOW - dt.timedelta(hours=1),
        idempotency_key="hillside",
    )  # fmt: skip
    _text(client, "Is my appointment still on?")
    assert Conversation.objects.get().office == other_office


def test_it_strips_what_the_database_would_refuse(client, promised):
    _text(client, "a\x00b\x07c\nnext line")
    assert ConversationMessage.objects.get().body == "abc\nnext line"


# --- Unknown senders ----------------------------------------------------------------------------


def test_it_keeps_an_unknown_sender_s_text_in_a_thread_of_their_number(client, office, rosa):
    """One office, so it is that office's; nobody can reply until it is attached."""
    _text(client, "Who is this? I got a missed call", sender="+15559998888")
    thread = Conversation.objects.get()
    assert (thread.office, thread.visitor, thread.phone) == (office, None, "+15559998888")
    with pytest.raises(conversations.ReplyRefused, match="attach it to a person"):
        conversations.conversation_reply(conversation=thread, by=None, body="Hi", token="a" * 32)


def test_an_unknown_sender_s_thread_goes_to_the_office_whose_number_it_texted(
    client, office, other_office
):
    other_office.phone = "(555) 700-1000"
    other_office.save()
    _text(client, "hello", sender="+15559998888", to="+15557001000")
    assert Conversation.objects.get().office == other_office


def test_with_several_offices_an_unknown_sender_waits_for_an_admin(
    client, office, other_office, clerk
):
    """No office can be told: the thread has none, and only office admins see it."""
    _text(client, "hello", sender="+15559998888")
    thread = Conversation.objects.get()
    assert thread.office is None
    admin = UserFactory(username="admin")
    MembershipFactory(user=admin, office=office, role=StaffRole.ADMIN)
    url = reverse("desk:inbox_thread", args=[office.slug, thread.pk])
    client.force_login(clerk)
    assert client.get(url).status_code == 404
    assert "+15559998888" not in client.get(reverse("desk:inbox", args=[office.slug])).text
    client.force_login(admin)
    assert "+15559998888" in client.get(url).text


def test_an_admin_attaches_an_unknown_sender_to_a_person(client, office, other_office, rosa):
    admin = UserFactory(username="admin")
    MembershipFactory(user=admin, office=office, role=StaffRole.ADMIN)
    _text(client, "this is Rosa, new phone", sender="+15559998888")
    thread = Conversation.objects.get()
    client.force_login(admin)
    found = client.get(reverse("desk:inbox_thread", args=[office.slug, thread.pk]), {"q": "Rosa"})
    assert "These texts are from Rosa" in found.text
    response = client.post(
        reverse("desk:inbox_attach", args=[office.slug, thread.pk]), {"visitor": rosa.pk}
    )
    assert response.status_code == 302
    thread.refresh_from_db()
    assert (thread.office, thread.visitor) == (office, rosa)
    # The next text from that number comes to her thread.
    _text(client, "did you get my message?", sender="+15559998888", sid="SM2")
    assert Conversation.objects.count() == 1 and thread.messages.count() == 2


def test_attaching_joins_the_person_s_existing_thread(client, office, promised):
    rosa = promised.visitor
    _text(client, QUESTION, sid="SM1")
    admin = UserFactory(username="admin")
    MembershipFactory(user=admin, office=office, role=StaffRole.ADMIN)
    _text(client, "from my work phone", sender="+15559998888", sid="SM2")
    stray = Conversation.objects.get(visitor=None)
    client.force_login(admin)
    client.post(reverse("desk:inbox_attach", args=[office.slug, stray.pk]), {"visitor": rosa.pk})
    thread = Conversation.objects.get()
    assert thread.visitor == rosa and thread.messages.count() == 2


def test_only_an_office_admin_may_attach(client, office, clerk, rosa):
    _text(client, "hello", sender="+15559998888")
    thread = Conversation.objects.get()
    client.force_login(clerk)
    url = reverse("desk:inbox_attach", args=[office.slug, thread.pk])
    assert client.post(url, {"visitor": rosa.pk}).status_code == 403
    thread.refresh_from_db()
    assert thread.visitor is None


# --- STOP ---------------------------------------------------------------------------------------


def test_stop_still_stops_and_is_not_kept_as_a_message(client, promised):
    _text(client, "STOP")
    promised.visitor.refresh_from_db()
    assert promised.visitor.consent_sms is False
    assert ConversationMessage.objects.count() == 0


def test_a_reply_to_someone_who_sent_stop_is_refused_with_a_clear_message(
    client, office, promised, counsellor
):
    _text(client, QUESTION, sid="SM1")
    _text(client, "STOP", sid="SM2")
    thread = Conversation.objects.get()
    client.force_login(counsellor)
    response = _reply(client, office, thread, "Call them again tomorrow")
    assert response.status_code == 422
    assert "has stopped texts from the office" in response.text
    assert "Call them again tomorrow" in response.text  # what they typed is kept
    assert not Reminder.objects.filter(kind=ReminderKind.REPLY).exists()


def test_stop_calls_off_a_reply_still_waiting_for_quiet_hours_to_end(
    client, office, promised, counsellor, frozen
):
    frozen.move_to(NOW.replace(hour=3))  # 21:00 in Chicago
    _text(client, QUESTION, sid="SM1")
    client.force_login(counsellor)
    _reply(client, office, Conversation.objects.get(), "We'll call you tomorrow")
    _text(client, "STOP", sid="SM2")
    assert Reminder.objects.get(kind=ReminderKind.REPLY).state == ReminderState.CANCELLED


# --- Staff replies ------------------------------------------------------------------------------


def test_a_staff_reply_goes_out_through_the_outbox_with_its_author(
    client, office, promised, counsellor, memory_sms
):
    counsellor.first_name = "Marta"
    counsellor.save()
    _text(client, QUESTION)
    thread = Conversation.objects.get()
    client.force_login(counsellor)
    response = _reply(client, office, thread, "Try again after 10, ask for Luis & Ana")
    assert response.status_code == 302
    message = thread.messages.get(direction="out")
    assert (message.author, message.follow_up) == (counsellor, promised)
    assert _deliver_due() == ["sent"]
    assert memory_sms[0].to == "(555) 301-0001"
    assert memory_sms[0].body == REPLY_EN % {
        "office": office.name,
        "author": "Marta",
        "body": "Try again after 10, ask for Luis & Ana",
    }
    thread.refresh_from_db()
    assert thread.awaiting_reply_since is None


def test_a_reply_to_a_spanish_speaker_is_sent_in_spanish(
    client, office, promised, counsellor, memory_sms, spanish_reply
):
    rosa = promised.visitor
    rosa.preferred_language = "es"
    rosa.save()
    counsellor.first_name = "Marta"
    counsellor.save()
    _text(client, "Los llamé pero nadie contestó, ¿qué hago?")
    client.force_login(counsellor)
    _reply(client, office, Conversation.objects.get(), "Llame otra vez mañana a las 10")
    _deliver_due()
    body = {"office": office.name, "author": "Marta", "body": "Llame otra vez mañana a las 10"}
    assert memory_sms[0].body == spanish_reply % body
    assert memory_sms[0].body != REPLY_EN % body


def test_a_reply_in_quiet_hours_waits_and_says_when_it_goes(
    client, office, promised, counsellor, memory_sms, frozen
):
    frozen.move_to(NOW.replace(hour=3))  # 21:00 the evening before in Chicago
    _text(client, QUESTION)
    client.force_login(counsellor)
    response = _reply(client, office, Conversation.objects.get(), "We'll call you tomorrow")
    assert "your reply will be sent at 08:00" in client.get(response["Location"]).text
    reminder = Reminder.objects.get(kind=ReminderKind.REPLY)
    assert reminder.due_at == dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)  # 08:00 Chicago
    assert _deliver_due(NOW.replace(hour=3)) == []
    assert _deliver_due(reminder.due_at) == ["sent"] and len(memory_sms) == 1


def test_the_same_reply_form_sent_twice_queues_one_text(client, office, promised, counsellor):
    _text(client, QUESTION)
    thread = Conversation.objects.get()
    client.force_login(counsellor)
    _reply(client, office, thread, "Call them again", token="b" * 32)
    _reply(client, office, thread, "Call them again", token="b" * 32)
    assert Reminder.objects.filter(kind=ReminderKind.REPLY).count() == 1
    assert thread.messages.filter(direction="out").count() == 1


def test_an_empty_reply_is_refused(client, office, promised, counsellor):
    _text(client, QUESTION)
    client.force_login(counsellor)
    assert _reply(client, office, Conversation.objects.get(), "   ").status_code == 422
    assert not Reminder.objects.filter(kind=ReminderKind.REPLY).exists()


def test_answered_another_way_takes_it_off_the_waiting_list(client, office, promised, clerk):
    _text(client, QUESTION)
    thread = Conversation.objects.get()
    client.force_login(clerk)
    client.post(reverse("desk:inbox_answered", args=[office.slug, thread.pk]))
    thread.refresh_from_db()
    assert thread.awaiting_reply_since is None


# --- Alerts and unread counts -------------------------------------------------------------------


def test_the_promising_counsellor_sees_the_alert_until_they_open_the_thread(
    client, office, promised, counsellor, clerk, frozen
):
    _text(client, QUESTION)
    assert conversations.unread_for(office, counsellor) == {"total": 1, "mine": 1}
    assert conversations.unread_for(office, clerk) == {"total": 1, "mine": 0}
    client.force_login(counsellor)
    thread = Conversation.objects.get()
    client.get(reverse("desk:inbox_thread", args=[office.slug, thread.pk]))
    assert conversations.unread_for(office, counsellor) == {"total": 0, "mine": 0}
    assert conversations.unread_for(office, clerk) == {"total": 1, "mine": 0}
    frozen.shift(60)
    _text(client, "hello?", sid="SM2")
    assert conversations.unread_for(office, counsellor) == {"total": 1, "mine": 1}


def test_an_off_shift_counsellor_gets_an_email_without_the_words(
    client, office, promised, counsellor
):
    counsellor.email = "marta@example.org"
    counsellor.last_login = NOW - dt.timedelta(days=2)
    counsellor.save()
    _text(client, QUESTION, sid="SM1")
    _text(client, "hello?", sid="SM2")  # one email a day per thread
    assert _deliver_due() == ["sent"]
    [email] = mail.outbox
    assert email.to == ["marta@example.org"]
    assert email.subject == "Rosa D. replied to your follow-up text"
    thread = Conversation.objects.get()
    assert f"/desk/{office.slug}/inbox/{thread.pk}/" in email.body
    assert "never answered" not in email.body


def test_an_on_shift_counsellor_gets_no_email(client, office, promised, counsellor):
    counsellor.email = "marta@example.org"
    counsellor.last_login = NOW - dt.timedelta(hours=1)
    counsellor.save()
    _text(client, QUESTION)
    assert not Reminder.objects.filter(kind=ReminderKind.REPLY_RECEIVED).exists()


# --- Screens ------------------------------------------------------------------------------------


def test_the_thread_shows_on_the_inbox_the_visitor_s_page_and_the_follow_up(
    client, office, promised, clerk
):
    _text(client, QUESTION)
    thread = Conversation.objects.get()
    client.force_login(clerk)
    inbox = client.get(reverse("desk:inbox", args=[office.slug]))
    assert "Rosa" in inbox.text and "never answered" in inbox.text and "needs a reply" in inbox.text
    page = client.get(reverse("desk:visitor", args=[office.slug, promised.visitor.pk]))
    assert reverse("desk:inbox_thread", args=[office.slug, thread.pk]) in page.text
    follow_up = client.get(reverse("desk:follow_up", args=[office.slug, promised.pk]))
    assert QUESTION in follow_up.text


def test_another_office_never_sees_the_thread(client, office, promised, outsider, other_office):
    _text(client, QUESTION)
    thread = Conversation.objects.get()
    client.force_login(outsider)
    assert (
        client.get(reverse("desk:inbox_thread", args=[office.slug, thread.pk])).status_code == 404
    )
    own = reverse("desk:inbox_thread", args=[other_office.slug, thread.pk])
    assert client.get(own).status_code == 404
    reply = reverse("desk:inbox_reply", args=[other_office.slug, thread.pk])
    assert client.post(reply, {"body": "hi", "token": "c" * 32}).status_code == 404
    assert "never answered" not in client.get(reverse("desk:inbox", args=[other_office.slug])).text


def test_the_inbox_reads_a_page_in_a_fixed_number_of_queries(
    client, office, clerk, django_assert_num_queries
):
    for n in range(30):
        person = VisitorFactory(phone=f"(555) 400-{n:04d}", consent_sms=True)
        VisitFactory(office=office, visitor=person)
        _text(client, f"question {n}", sender=f"+1555400{n:04d}", sid=f"SM{n}")
    client.force_login(clerk)
    client.get(reverse("desk:inbox", args=[office.slug]))  # warm the session
    # the office with the membership, count, page, unread counts; the session, the user and
    # their memberships (the admin role, the dashboard link) come from the cache, and the
    # session was renewed by the page before (at most once a minute): none per thread
    with django_assert_num_queries(4):
        response = client.get(reverse("desk:inbox", args=[office.slug]))
    assert len(re.findall(r'class="inbox-row', response.text)) == 30


def test_the_inbox_is_for_signed_in_staff_and_get_only(client, office, clerk):
    url = reverse("desk:inbox", args=[office.slug])
    assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(clerk)
    assert client.post(url).status_code == 405


def test_unanswered_threads_older_than_a_business_day(client, office, promised, frozen):
    _text(client, QUESTION)
    tomorrow = NOW + dt.timedelta(days=1)
    assert not conversations.unanswered_threads(
        [office.pk], conversations.one_business_day_before(office, NOW)
    ).exists()
    cutoff = conversations.one_business_day_before(office, tomorrow + dt.timedelta(minutes=1))
    assert list(conversations.unanswered_threads([office.pk], cutoff)) == [
        Conversation.objects.get()
    ]


def test_a_business_day_before_monday_is_friday(office):
    office.opening_hours = {day: [["08:00", "17:00"]] for day in WEEKDAYS[:5]}
    monday = dt.datetime(2026, 3, 9, 15, 0, tzinfo=dt.UTC)
    friday = dt.datetime(2026, 3, 6, 16, 0, tzinfo=dt.UTC)  # 10:00 in Chicago, before DST
    assert conversations.one_business_day_before(office, monday) == friday
