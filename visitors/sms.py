"""Sending text messages through one small interface, chosen by settings.SMS_BACKEND."""

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

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

    def send(self, message: SmsMessage) -> str:
        name = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
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


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(*, to: str, body: str, idempotency_key: str) -> str:
    return get_backend().send(SmsMessage(to=to, body=body, idempotency_key=idempotency_key))
