"""No whole phone number, no message body at INFO, no secret path token in any log."""

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from frontdesk.logs import RedactingFormatter, redact
from visitors import sms

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("line", "kept", "gone"),
    [
        ("SMS to +15552014477 [k]", "…77", "5552014477"),
        ("SMS to (555) 201-4477", "…77", "201-4477"),
        ('"GET /status/Zx8_kq2LmN0pQrStUvWxYz012345/ HTTP/1.1" 200', "/status/…/", "Zx8_kq2L"),
        ("GET /kiosk/riverside/open/abcdefghijk123/", "/open/…/", "abcdefghijk123"),
        ("visit 12 of office 3 at 09:15", "visit 12 of office 3 at 09:15", "…"),
    ],
)
def test_it_masks_numbers_and_secret_paths_and_keeps_the_rest(line, kept, gone):
    assert kept in redact(line) and gone not in redact(line)


def test_every_handler_of_the_project_redacts():
    """Django's handlers (and so the worker's: Celery does not take the root logger over)."""
    ours = [h for h in logging.getLogger().handlers if not type(h).__module__.startswith("_pytest")]
    assert ours and all(isinstance(h.formatter, RedactingFormatter) for h in ours)


def test_the_console_sms_backend_logs_no_body_at_info(caplog, settings):
    settings.SMS_BACKEND = "visitors.sms.ConsoleBackend"
    with caplog.at_level(logging.INFO, logger="visitors.sms"):
        sms.send_sms(to="+15552014477", body="Your appointment is at 10", idempotency_key="k1")
    assert "appointment" not in caplog.text
    line = RedactingFormatter().format(caplog.records[-1])
    assert "…77" in line and "5552014477" not in line


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_s_access_log_has_no_status_page_token(tmp_path):
    """The real server with its config: a visitor's status-page address is logged without its
    token (the token lets anyone read their place in line)."""
    port = _free_port()
    env = {**os.environ, "FRONTDESK_VAR_DIR": str(tmp_path), "DATABASE_URL": "", "REDIS_URL": ""}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "frontdesk.wsgi", "-c",
         "python:frontdesk.gunicorn_conf", "-b", f"127.0.0.1:{port}", "-w", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    token = "Zx8_kq2LmN0pQrStUvWxYz0123456789abcdefghijk"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        with pytest.raises(urllib.error.HTTPError):  # no such visit: 404, logged all the same
            urllib.request.urlopen(f"http://127.0.0.1:{port}/status/{token}/", timeout=5)
        time.sleep(0.3)
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert "/status/…/" in output
    assert token not in output
