"""Keeping visitors' personal data out of the logs, for every logger and the access log.

``RedactingFormatter`` formats for every handler (Django's, the Celery worker's — which uses
Django's logging config — and gunicorn's error and access logs through
``frontdesk/gunicorn_conf.py``), and rewrites the whole line, traceback included, so that

- a phone number keeps only its last two digits (``+1 555 201 4477`` → ``…77``);
- the secret part of a path is dropped: a visitor's status page (``/status/<token>/``) and the
  one-time kiosk and display links (``…/open/<token>/``), whose tokens let anyone in.

Message bodies are not logged at INFO anywhere (the console SMS backend logs them at DEBUG).
"""

import logging
import re

# A phone number as people type one (555 201-4477, (555) 201.4477, 5552014477) or in E.164
# (+15552014477); not a date, a time, an address or an id.
PHONE = re.compile(r"(?<![\w/+])(?:\+\d{8,15}|\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4})(?![\w/])")
SECRET_PATHS = re.compile(r"(/status/|/open/)[A-Za-z0-9_-]{8,}")


def redact(text: str) -> str:
    text = SECRET_PATHS.sub(r"\1…", text)
    return PHONE.sub(lambda m: "…" + re.sub(r"\D", "", m.group())[-2:], text)


FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class RedactingFormatter(logging.Formatter):
    """The plain format, with numbers and secret paths redacted from the message and from any
    traceback (whose frames can hold a token or a number as a query parameter)."""

    def __init__(self, fmt: str | None = FORMAT, *args, **kwargs) -> None:
        super().__init__(fmt, *args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def gunicorn_logconfig() -> dict:
    """gunicorn's own loggers (errors and the access log), through the same filter."""
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stdout"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"()": "frontdesk.logs.RedactingFormatter"}},
        "handlers": {"console": handler},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
