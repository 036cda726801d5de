"""Sending text messages through one small interface, chosen by settings.SMS_BACKEND."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

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


class ConsoleBackend(BaseBackend):
    """Development: write the text to the log instead of sending it."""

    def send(self, message: SmsMessage) -> str:
        logger.info("SMS to %s [%s]: %s", message.to, message.idempotency_key, message.body)
        return f"console-{message.idempotency_key}"


class MemoryBackend(BaseBackend):
    """Tests: keep sent texts in ``outbox`` (a class attribute, like Django's locmem mail)."""

    outbox: list[SmsMessage] = []

    def send(self, message: SmsMessage) -> str:
        MemoryBackend.outbox.append(message)
        return f"memory-{len(MemoryBackend.outbox)}"


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(*, to: str, body: str, idempotency_key: str) -> str:
    return get_backend().send(SmsMessage(to=to, body=body, idempotency_key=idempotency_key))
