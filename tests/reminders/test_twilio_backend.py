"""The Twilio SMS backend: the real twilio library builds each request and parses each answer,
over a fake HTTP client instead of the network; refusals are permanent, overload and outages
transient."""

import datetime as dt
import json
import logging

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from twilio.http import HttpClient
from twilio.http.response import Response

from visitors import sms

SID = "AC00000000000000000000000000000001"
TOKEN = "secret-auth-token"
SENDER = "+15550000000"
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
SENT = (
    '{"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued", '
    '"to": "+15553010001", "from": "+15550000000", "body": "Your turn"}'
)


class FakeHttp(HttpClient):
    """Records each request and answers with one canned status and JSON body (or raises)."""

    def __init__(self, status: int = 201, text: str = SENT, *, error: Exception | None = None):
        super().__init__(logging.getLogger("tests.twilio"), is_async=False)
        self.status, self.text, self.error = status, text, error
        self.requests: list[dict] = []

    def request(self, method, url, params=None, data=None, headers=None, auth=None, **kwargs):
        self.requests.append(
            {
                "method": method,
                "url": url,
                "data": data,
                "auth": auth,
                "headers": headers,
                "params": params,
            }  # fmt: skip
        )
        if self.error:
            raise self.error
        return Response(self.status, self.text)


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.SMS_FROM = SENDER
    return settings


def _send(http: FakeHttp, *, to: str = "(555) 301-0001", body: str = "Your turn") -> str:
    backend = sms.TwilioBackend(http_client=http)
    return backend.send(sms.SmsMessage(to=to, body=body, idempotency_key="called:42"))


def test_a_sent_text_returns_twilio_s_message_sid_and_posts_to_the_messages_endpoint():
    http = FakeHttp()
    assert (
        _send(http, body="Ticket A-007: it's your turn ✓") == "SM0123456789abcdef0123456789abcdef"
    )
    [request] = http.requests
    assert (request["method"], request["url"], request["auth"]) == (
        "POST",
        MESSAGES_URL,
        (SID, TOKEN),
    )
    assert request["data"] == {
        "To": "+15553010001",  # typed as "(555) 301-0001": sent in E.164
        "From": SENDER,
        "Body": "Ticket A-007: it's your turn ✓",
    }


def test_a_messaging_service_sid_is_sent_as_such_not_as_a_from_number(settings):
    settings.SMS_FROM = "MG00000000000000000000000000000001"
    http = FakeHttp()
    _send(http)
    data = http.requests[0]["data"]
    assert data["MessagingServiceSid"] == "MG00000000000000000000000000000001"
    assert "From" not in data


def test_the_idempotency_key_stays_on_our_side():
    http = FakeHttp()
    _send(http)
    sent = http.requests[0]
    assert "called:42" not in str(sent["data"]) and "called:42" not in str(sent["headers"])


def test_the_client_is_built_once_per_backend():
    backend = sms.TwilioBackend(http_client=FakeHttp())
    assert backend.client is backend.client
    assert backend.client.http_client is backend._http_client


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("(555) 301-0001", "+15553010001"),
        ("1-555-301-0001", "+15553010001"),
        ("+1 555 301 0001", "+15553010001"),
        ("+44 20 7946 0958", "+442079460958"),
        ("301-0001", "301-0001"),  # no area code: passed as typed, for Twilio to refuse
    ],
)
def test_phone_numbers_as_typed_are_sent_in_e164(typed, sent):
    assert sms.e164(typed) == sent


def test_an_invalid_number_is_a_permanent_error():
    http = FakeHttp(
        400,
        '{"code": 21211, "message": "The \'To\' number 5553010001 is not a valid phone number.",'
        ' "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}',
    )
    with pytest.raises(sms.SmsError) as raised:
        _send(http)
    assert raised.value.permanent
    assert "21211" in str(raised.value) and "not a valid phone number" in str(raised.value)


def test_a_recipient_who_replied_stop_is_a_permanent_error():
    http = FakeHttp(
        400,
        '{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}',
    )
    with pytest.raises(sms.SmsError) as raised:
        _send(http)
    assert raised.value.permanent and "21610" in str(raised.value)


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (500, '{"code": 20500, "message": "Internal Server Error", "status": 500}'),
        (503, "<html>Service Unavailable</html>"),
        (429, '{"code": 20429, "message": "Too Many Requests", "status": 429}'),
    ],
)
def test_overload_and_server_errors_are_transient(status, text):
    with pytest.raises(sms.SmsError) as raised:
        _send(FakeHttp(status, text))
    assert not raised.value.permanent
    assert str(status) in str(raised.value)


@pytest.mark.parametrize(
    "error",
    [
        requests.ConnectionError("connection refused"),
        requests.Timeout("read timed out"),
        OSError("network is unreachable"),
    ],
)
def test_network_failures_are_transient(error):
    with pytest.raises(sms.SmsError) as raised:
        _send(FakeHttp(error=error))
    assert not raised.value.permanent


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SMS_FROM"])
def test_a_missing_setting_fails_when_the_backend_is_built(settings, missing):
    setattr(settings, missing, "")
    with pytest.raises(ImproperlyConfigured, match=missing):
        sms.TwilioBackend()


def test_settings_select_the_twilio_backend(settings):
    settings.SMS_BACKEND = "visitors.sms.TwilioBackend"
    assert isinstance(sms.get_backend(), sms.TwilioBackend)


def _listing(*messages: dict) -> str:
    """Twilio's answer to GET …/Messages.json: the newest messages first, one page."""
    rows = [
        {"sid": m["sid"], "body": m["body"], "to": "+15553010001", "from": SENDER,
         "status": m.get("status", "delivered"), "date_created": m["created"]}
        for m in messages
    ]  # fmt: skip
    return json.dumps({"messages": rows, "next_page_uri": None, "page": 0, "page_size": 20})


ATTEMPT = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def _find(http: FakeHttp, body: str = "Your turn") -> str | None:
    backend = sms.TwilioBackend(http_client=http)
    message = sms.SmsMessage(to="(555) 301-0001", body=body, idempotency_key="called:42")
    return backend.find_sent(message, since=ATTEMPT)


def test_it_finds_a_text_twilio_already_took_by_number_body_and_time():
    """After a worker died mid-send: the same body to the same number, made since the attempt
    (queued counts too), is ours — and the list is asked for that number only."""
    http = FakeHttp(200, _listing(
        {"sid": "SMnew", "body": "Your turn", "status": "queued",
         "created": "Mon, 02 Mar 2026 15:00:01 +0000"},
    ))  # fmt: skip
    assert _find(http) == "SMnew"
    [request] = http.requests
    assert (request["method"], request["url"]) == ("GET", MESSAGES_URL)
    assert request["params"]["To"] == "+15553010001"


@pytest.mark.parametrize(
    ("body", "created"),
    [
        ("Your turn", "Mon, 02 Mar 2026 14:30:00 +0000"),  # the same words, half an hour before
        ("Two people are ahead of you", "Mon, 02 Mar 2026 15:00:01 +0000"),  # another text
    ],
)
def test_another_or_an_older_text_is_not_taken_for_ours(body, created):
    http = FakeHttp(200, _listing({"sid": "SMother", "body": body, "created": created}))
    assert _find(http) is None


def test_a_provider_that_cannot_be_asked_is_a_transient_error():
    """Then the outbox leaves the row for the next round instead of sending it again blind."""
    with pytest.raises(sms.SmsError) as raised:
        _find(FakeHttp(error=requests.ConnectionError("connection refused")))
    assert not raised.value.permanent
