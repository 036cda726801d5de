"""Sending text messages through one small interface, chosen by settings.SMS_BACKEND."""

import datetime as dt
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from twilio.http import HttpClient
    from twilio.rest import Client

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """The provider refused or failed; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    idempotency_key: str


class BaseBackend:
    def send(self, message: SmsMessage) -> str:
        """Send ``message``; return the provider's message id, or raise SmsError."""
        raise NotImplementedError

    def find_sent(self, message: SmsMessage, *, since: dt.datetime) -> str | None:
        """The provider's id for ``message`` if it took it at or after ``since``; None when it
        did not, or when this backend cannot tell (then the outbox sends again: at least once).
        Raises SmsError when the provider cannot be asked now."""
        return None


class ConsoleBackend(BaseBackend):
    """Development: write the text to the log instead of sending it."""

    def send(self, message: SmsMessage) -> str:
        # The body only at DEBUG: a text can say more about a visitor than a log should keep.
        logger.info("SMS to %s [%s], %d characters", message.to, message.idempotency_key,
                    len(message.body))  # fmt: skip
        logger.debug("SMS body [%s]: %s", message.idempotency_key, message.body)
        return f"console-{message.idempotency_key}"


class FileBackend(BaseBackend):
    """Development and tests across processes: one JSON file per message in SMS_FILE_DIR.

    It keeps the provider's promise on idempotency keys: a second send with the same key
    returns the first message's id and sends nothing. Every call is also appended to
    ``attempts.log`` (one line per key), so a test or benchmark can see how often our side
    asked to send the same message.
    """

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory or settings.SMS_FILE_DIR)
        self.directory.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _name(message: SmsMessage) -> str:
        return hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]

    def find_sent(self, message: SmsMessage, *, since: dt.datetime) -> str | None:
        name = self._name(message)
        return f"file-{name}" if (self.directory / f"{name}.json").exists() else None

    def send(self, message: SmsMessage) -> str:
        name = self._name(message)
        with open(self.directory / "attempts.log", "a", encoding="utf-8") as log:
            log.write(message.idempotency_key.replace("\n", " ") + "\n")
        record = {"to": message.to, "body": message.body, "key": message.idempotency_key}
        try:
            fd = os.open(self.directory / f"{name}.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return f"file-{name}"  # already sent: the same id, nothing sent again
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record, out, ensure_ascii=False)
        return f"file-{name}"

    @staticmethod
    def read(directory: str | os.PathLike) -> list[dict]:
        """Every message sent into ``directory`` (for tests and benchmarks)."""
        messages = []
        for path in sorted(Path(directory).glob("*.json")):
            messages.append(json.loads(path.read_text(encoding="utf-8")))
        return messages


class MemoryBackend(BaseBackend):
    """Tests: keep sent texts in ``outbox`` (a class attribute, like Django's locmem mail)."""

    outbox: list[SmsMessage] = []

    def send(self, message: SmsMessage) -> str:
        MemoryBackend.outbox.append(message)
        return f"memory-{len(MemoryBackend.outbox)}"

    def find_sent(self, message: SmsMessage, *, since: dt.datetime) -> str | None:
        for number, sent in enumerate(MemoryBackend.outbox, start=1):
            if sent.idempotency_key == message.idempotency_key:
                return f"memory-{number}"
        return None


class TwilioBackend(BaseBackend):
    """Production: send through Twilio's Messages API with the official ``twilio`` package.

    Needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and SMS_FROM (a sending number in E.164, or a
    Messaging Service SID starting with "MG"); a missing one raises ImproperlyConfigured when the
    backend is built, so a misconfigured worker fails loudly instead of dropping texts.

    Twilio takes no idempotency key when a message is created: sending the same request twice
    sends two texts. Duplicate protection is ours, in the outbox: a reminder is sent only by the
    worker holding its claim, and only while it is still in *sending* (see visitors.outbox).
    ``message.idempotency_key`` is therefore not sent to Twilio; it appears only in our logs.

    Errors: a 4xx other than 429 is permanent (an invalid number, code 21211; a recipient who
    replied STOP, code 21610; bad credentials): retrying cannot help. 429 (rate limited), 5xx and
    network failures are transient, and the outbox retries them.

    Phone numbers are stored as typed ("(555) 301-0001"): a 10-digit number, or 11 digits starting
    with 1, is sent as a US number in E.164 (+15553010001); one typed with "+" keeps its country
    code; anything else is passed as typed, for Twilio to accept or refuse.
    """

    timeout = 10.0  # seconds for one API request; well inside the outbox's lease

    def __init__(self, *, http_client: "HttpClient | None" = None):
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.auth_token = settings.TWILIO_AUTH_TOKEN
        self.sender = settings.SMS_FROM
        missing = [
            name
            for name, value in (
                ("TWILIO_ACCOUNT_SID", self.account_sid),
                ("TWILIO_AUTH_TOKEN", self.auth_token),
                ("SMS_FROM", self.sender),
            )
            if not value
        ]
        if missing:
            raise ImproperlyConfigured(f"TwilioBackend needs {', '.join(missing)} to be set")
        self._http_client = http_client

    @cached_property
    def client(self) -> "Client":
        """The Twilio REST client, built on first use and kept for this backend's lifetime.

        ``twilio.rest`` (and ``requests`` under it) is imported here, not at the top of the
        module: it costs a few hundred milliseconds that processes never sending texts skip.
        """
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        http_client = self._http_client or TwilioHttpClient(timeout=self.timeout)
        return Client(self.account_sid, self.auth_token, http_client=http_client)

    def find_sent(self, message: SmsMessage, *, since: dt.datetime) -> str | None:
        """Ask Twilio for the latest messages to this number: one with this body, made since
        ``since`` (a minute of slack for the clocks), is ours — queued or delivered."""
        from twilio.base.exceptions import TwilioRestException, TwilioServiceException

        window = since - dt.timedelta(minutes=1)
        try:
            recent = self.client.messages.list(to=e164(message.to), limit=20)
        except (TwilioRestException, TwilioServiceException, OSError) as error:
            raise SmsError(f"Twilio message list: {error}") from error
        for sent in recent:
            created = sent.date_created
            if sent.body == message.body and (created is None or created >= window):
                return sent.sid
        return None

    def send(self, message: SmsMessage) -> str:
        from twilio.base.exceptions import TwilioRestException, TwilioServiceException

        sender = (
            {"messaging_service_sid": self.sender}
            if self.sender.startswith("MG")
            else {"from_": self.sender}
        )
        try:
            sent = self.client.messages.create(to=e164(message.to), body=message.body, **sender)
        except (TwilioRestException, TwilioServiceException) as error:
            status = int(error.status or 0)
            detail = getattr(error, "msg", None) or getattr(error, "title", "") or ""
            permanent = 400 <= status < 500 and status != 429
            raise SmsError(
                f"Twilio {status} (error {error.code}): {detail}", permanent=permanent
            ) from error
        except OSError as error:  # requests' connection errors and timeouts are OSErrors
            raise SmsError(f"Twilio unreachable: {error}", permanent=False) from error
        logger.info("SMS [%s] sent by Twilio as %s", message.idempotency_key, sent.sid)
        return sent.sid


def e164(phone: str) -> str:
    """A phone number as typed, in E.164 where we can tell its country (see TwilioBackend)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if phone.strip().startswith("+") and digits:
        return f"+{digits}"
    if len(digits) == 10:
        return f"+1{digits}"
    if len(digits) == 11 and digits.startswith("1"):
        return f"+{digits}"
    return phone


TEST_BACKENDS = {"visitors.sms.ConsoleBackend", "visitors.sms.FileBackend",
                 "visitors.sms.MemoryBackend"}  # fmt: skip


def sends_nothing() -> bool:
    """Whether this production setup (DEBUG=0) would only pretend to send texts."""
    return (
        not settings.DEBUG
        and settings.SMS_BACKEND in TEST_BACKENDS
        and not settings.SMS_ALLOW_TEST_BACKEND
    )


def get_backend() -> BaseBackend:
    """The configured backend; a test backend in production is refused, so that no text is
    marked sent that never went (check --deploy says so before the first one)."""
    if sends_nothing():
        raise ImproperlyConfigured(
            f"SMS_BACKEND {settings.SMS_BACKEND} sends nothing; refused with DEBUG=0 "
            "(set a real backend, or SMS_ALLOW_TEST_BACKEND=1)"
        )
    return import_string(settings.SMS_BACKEND)()


def find_sent(*, to: str, body: str, idempotency_key: str, since: dt.datetime) -> str | None:
    message = SmsMessage(to=to, body=body, idempotency_key=idempotency_key)
    return get_backend().find_sent(message, since=since)


def send_sms(*, to: str, body: str, idempotency_key: str) -> str:
    return get_backend().send(SmsMessage(to=to, body=body, idempotency_key=idempotency_key))
