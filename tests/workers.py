"""Real Celery worker processes for tests where delivery itself is the point.

``celery worker`` in a subprocess, on the run's broker (Redis in CI's second pass, the
filesystem transport in the first) and the test database, so that a test can kill one with
SIGKILL or keep one busy while another works.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from frontdesk.celery import QUEUES, app

ROOT = Path(settings.BASE_DIR)
ALL_QUEUES = (*QUEUES, app.conf.task_default_queue)


def database_url() -> str:
    """The test database, as a DATABASE_URL a worker process can open."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def start(tmp_path: Path, name: str, *, queues=ALL_QUEUES, **env) -> subprocess.Popen:
    """A solo-pool worker on ``queues``, logging to ``tmp_path/<name>.log``."""
    environment = os.environ | {
        "DATABASE_URL": database_url(),
        "DB_POOL": "0",
        "SMS_FILE_DIR": str(tmp_path / "provider"),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    } | env  # fmt: skip
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "frontdesk", "worker",
            "--pool=solo", "-Q", ",".join(queues),
            "-n", f"{name}-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def stop(worker: subprocess.Popen | None) -> None:
    if worker is not None and worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_for(predicate: Callable[[], bool], *, seconds: float, what: str, tmp_path: Path):
    """Poll ``predicate``; fail with the workers' logs when it stays false."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log"))
    pytest.fail(f"timed out waiting for {what}; worker logs:\n{logs}")
