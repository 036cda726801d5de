"""The inbound SMS webhook: only Twilio's signed requests count; STOP withdraws consent and
cancels the texts still to come, START gives it back, HELP and AYUDA name the office, and nothing
a sender types makes it fail."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from twilio.request_validator import RequestValidator

from tests.factories import VisitFactory, VisitorFactory
from visitors.messaging.models import Reminder, ReminderState
from visitors.views import sms_webhook

pytestmark = pytest.mark.django_db
TOKEN = "test-auth-token"
URL = "http://testserver/sms/inbound/"
NUMBER = "+15553010001"


@pytest.fixture(autouse=True)
def auth_token(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN


@pytest.fixture
def rosa(office):
    """A visitor who agreed to texts, with her number typed the way the desk types it."""
    person = VisitorFactory(first_name="Rosa", phone="(555) 301-0001", consent_sms=True)
    VisitFactory(office=office, visitor=person)
    return person


def _text(client, body="", sender=NUMBER, *, token=TOKEN, signature=None):
    """Post a text as Twilio does, signed with ``token``; a None field is left out."""
    params = {"From": sender, "To": "+15550000000", "Body": body, "MessageSid": "SM1"}
    params = {key: value for key, value in params.items() if value is not None}
    if signature is None:
        signature = RequestValidator(token).compute_signature(URL, params)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post(reverse("sms_inbound"), params, headers=headers)


def _reply(response) -> str | None:
    """The text of the TwiML reply, or None for an empty <Response/> (and it must parse)."""
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    message = root.find("Message")
    return None if message is None else message.text


def _reminder(office, visitor, *, channel="sms", state="scheduled", key):
    return Reminder.objects.create(
        office=office, visitor=visitor, kind="appointment", channel=channel, state=state,
        due_at=timezone.now() + dt.timedelta(days=1), idempotency_key=key,
        sent_at=timezone.now() if state == "sent" else None,
    )  # fmt: skip


@pytest.fixture
def tag_language(monkeypatch):
    """Mark each reply with the language it was written in (the catalog has no Spanish yet)."""
    monkeypatch.setattr(
        sms_webhook, "_", lambda text: f"[{translation.get_language()}] {translation.gettext(text)}"
    )


def test_a_request_without_a_valid_signature_is_refused_and_changes_nothing(client, rosa):
    missing = _text(client, "STOP", signature="")
    forged = _text(client, "STOP", token="someone-else-s-token")
    params = {"From": NUMBER, "To": "+15550000000", "Body": "HELLO", "MessageSid": "SM1"}
    replayed = client.post(  # a signature of other parameters
        reverse("sms_inbound"),
        params | {"Body": "STOP"},
        headers={"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(URL, params)},
    )
    for response in (missing, forged, replayed):
        assert response.status_code == 403
        assert response.content == b""
    rosa.refresh_from_db()
    assert rosa.consent_sms is True and rosa.consent_updated_at is None


def test_without_an_auth_token_configured_every_request_is_refused(client, rosa, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    assert _text(client, "STOP", token="").status_code == 403
    rosa.refresh_from_db()
    assert rosa.consent_sms is True


@pytest.mark.parametrize("body", ["STOP", "stop please", "Parar", "¡BAJA!", " Unsubscribe."])
def test_stop_withdraws_consent_and_cancels_scheduled_texts_only(client, office, rosa, body):
    scheduled = _reminder(office, rosa, key="sms-scheduled")
    email = _reminder(office, rosa, channel="email", key="email-scheduled")
    sent = _reminder(office, rosa, state="sent", key="sms-sent")
    assert _reply(_text(client, body)) is None  # Twilio sends the carrier's confirmation
    rosa.refresh_from_db()
    assert rosa.consent_sms is False
    assert rosa.consent_updated_at is not None
    for reminder in (scheduled, email, sent):
        reminder.refresh_from_db()
    assert (scheduled.state, scheduled.last_error) == (ReminderState.CANCELLED, "STOP received")
    assert (email.state, email.last_error) == (ReminderState.SCHEDULED, "")
    assert sent.state == ReminderState.SENT


def test_stop_reaches_every_visitor_with_that_number_and_nobody_else(client, office, rosa):
    same_number = VisitorFactory(phone="+1 555.301.0001", consent_sms=True)
    same_last4 = VisitorFactory(phone="(555) 999-0001", consent_sms=True)
    other = VisitorFactory(phone="(555) 201-4477", consent_sms=True)
    no_phone = VisitorFactory(phone="", consent_sms=True)
    others_text = _reminder(office, same_last4, key="other-sms")
    _text(client, "STOP")
    consent = dict(_consents(rosa, same_number, same_last4, other, no_phone))
    assert consent == {rosa.pk: False, same_number.pk: False, same_last4.pk: True,
                       other.pk: True, no_phone.pk: True}  # fmt: skip
    others_text.refresh_from_db()
    assert others_text.state == ReminderState.SCHEDULED


def _consents(*visitors):
    for visitor in visitors:
        visitor.refresh_from_db()
        yield visitor.pk, visitor.consent_sms


def test_start_gives_consent_back_with_a_confirmation(client, rosa):
    _text(client, "STOP")
    reply = _reply(_text(client, "Start"))
    assert "again" in reply and "STOP" in reply
    rosa.refresh_from_db()
    assert rosa.consent_sms is True


def test_start_confirms_in_the_visitor_s_language(client, rosa, tag_language):
    rosa.preferred_language = "es"
    rosa.save()
    assert _reply(_text(client, "YES")).startswith("[es] ")
    assert _reply(_text(client, "comenzar")).startswith("[es] ")


def test_help_answers_in_english_naming_the_office_and_how_to_stop(client, office, rosa):
    office.phone = "(555) 100-2000"
    office.save()
    reply = _reply(_text(client, "help"))
    assert "Riverside Job Center" in reply and "(555) 100-2000" in reply
    assert "Reply STOP to stop texts" in reply


def test_help_names_the_office_of_the_latest_visit(client, office, other_office, rosa):
    VisitFactory(
        office=other_office, visitor=rosa, checked_in_at=timezone.now() + dt.timedelta(hours=1)
    )
    assert "Hillside Job Center" in _reply(_text(client, "INFO"))


def test_ayuda_answers_in_spanish_even_to_an_english_speaker(client, rosa, tag_language):
    assert rosa.preferred_language == "en"
    reply = _reply(_text(client, "Ayúda"))
    assert reply.startswith("[es] ") and "Riverside Job Center" in reply
    assert _reply(_text(client, "HELP")).startswith("[en] ")


def test_an_unknown_number_gets_help_but_changes_nothing(client, rosa):
    reply = _reply(_text(client, "HELP", sender="+15559998888"))
    assert "Reply STOP to stop texts" in reply
    assert _reply(_text(client, "STOP", sender="+15559998888")) is None
    assert _reply(_text(client, "START", sender="+15559998888")) is None
    rosa.refresh_from_db()
    assert rosa.consent_sms is True and rosa.consent_updated_at is None


def test_any_other_text_gets_no_reply_and_its_body_is_not_logged(client, rosa, caplog):
    caplog.set_level("INFO", logger="visitors.views.sms_webhook")
    assert _reply(_text(client, "running 10 minutes late, my ssn is 123-45-6789")) is None
    assert "123-45-6789" not in caplog.text and "late" not in caplog.text
    assert "without a keyword" in caplog.text
    rosa.refresh_from_db()
    assert rosa.consent_sms is True


@pytest.mark.parametrize(
    "fields",
    [
        {"Body": "x" * 10_000},
        {"Body": "STOP " + "x" * 10_000},
        {"Body": "<Response><Message>pwned</Message></Response>"},
        {"Body": "]]>&amp;<!-- \x00 -->"},
        {"Body": "😀 ¿Ayuda? 你好 \u202e"},
        {"Body": None},
        {"From": None, "Body": "STOP"},
        {"From": "", "Body": "HELP"},
        {"From": "+1" + "5" * 5000, "Body": "STOP"},
        {"From": "not a number", "Body": "START"},
    ],
)
def test_nothing_a_sender_types_makes_it_fail(client, rosa, fields):
    reply = _reply(_text(client, fields.get("Body", ""), fields.get("From", NUMBER)))
    assert reply is None or "pwned" not in reply


def test_a_blank_phone_on_file_never_matches_a_sender(client, office):
    blank = VisitorFactory(phone="", consent_sms=True)
    _text(client, "STOP", sender="")
    blank.refresh_from_db()
    assert blank.consent_sms is True


def test_only_post_is_allowed(client):
    assert client.get(reverse("sms_inbound")).status_code == 405
