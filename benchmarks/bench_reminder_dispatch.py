"""Benchmark: dispatching 10,000 due reminders through a real Celery worker process.

Prints: BENCH reminder_dispatch db=<vendor> n=10000 seconds=… duplicates=… lost=…
(details of where the time went go to stderr). Exits 1 when a text was sent twice, one was
lost, or the run did not finish within the time limit.

The benchmark process plays beat: it runs the dispatcher (``outbox.reminders_claim`` +
``tasks.hand_out``: one ``send_reminders`` message per REMINDER_SEND_BATCH claimed rows, as
``dispatch_reminders`` does) back to back until nothing is due, twice at once in two threads,
as overlapping beats would. The worker is ``celery -A frontdesk worker`` in a
subprocess on a queue of this run only, with the file SMS backend writing into a fresh folder:
a duplicate is an idempotency key asked for more than once (``attempts.log``), a lost reminder
one with no message file or not in state *sent*. ``seconds`` runs from the first claim until
every row is *sent*.

Run with `make bench` (SQLite, filesystem broker), or with DATABASE_URL (PostgreSQL) and
REDIS_URL (Redis broker) set. Options: --n (10000), --concurrency (worker processes, 2).
"""

import argparse
import collections
import contextlib
import datetime as dt
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from _setup import ROOT, django_for_bench

TIME_LIMIT = 15 * 60  # seconds from the first claim
BATCH = 500  # rows per claim, as the beat's dispatcher takes them
DISPATCHERS = 2
LAST_NAME = "Reminderbench"  # marks this benchmark's visitors


def _prepare(n: int, run_id: str):
    """The office, n visitors who agreed to texts, and n broadcast texts due now."""
    from django.utils import timezone

    from visitors.messaging.models import Reminder, ReminderChannel, ReminderKind
    from visitors.offices.models import Office
    from visitors.people.models import Visitor, VisitorNameKey

    office, _ = Office.objects.get_or_create(
        slug="bench-reminders", defaults={"name": "Bench Reminders"}
    )
    # Equal start and end: no quiet hours at all (and broadcasts ignore them anyway).
    Office.objects.filter(pk=office.pk).update(
        quiet_hours_start=dt.time(0, 0), quiet_hours_end=dt.time(0, 0)
    )
    Reminder.objects.filter(office=office).delete()
    people = list(
        Visitor.objects.filter(last_name=LAST_NAME, consent_sms=True)
        .exclude(phone="")
        .order_by("pk")
        .values_list("pk", flat=True)[:n]
    )
    for start in range(len(people), n, 2000):
        batch = []
        for i in range(start, min(n, start + 2000)):
            visitor = Visitor(
                first_name=f"Rb{i}", last_name=LAST_NAME, consent_sms=True,
                phone=f"(555) {200 + i // 10_000 % 800:03d}-{i % 10_000:04d}",
            )  # fmt: skip
            visitor.fill_search_keys()
            batch.append(visitor)
        created = Visitor.objects.bulk_create(batch, batch_size=1000)
        VisitorNameKey.rebuild(created)
        people += [visitor.pk for visitor in created]
    now = timezone.now()
    Reminder.objects.bulk_create(
        [
            Reminder(
                office=office,
                visitor_id=pk,
                kind=ReminderKind.BROADCAST,
                channel=ReminderChannel.SMS,
                due_at=now,
                idempotency_key=f"bench:{run_id}:{i}",
                context={"message": f"Benchmark message {i}."},
            )
            for i, pk in enumerate(people)
        ],
        batch_size=1000,
    )
    return office


def _dispatch(queue: str, stats: dict, errors: list) -> None:
    """What beat's dispatch_reminders does, back to back until nothing is due."""
    from django.db import connection

    from visitors import outbox
    from visitors.tasks import hand_out

    try:
        while True:
            t0 = time.perf_counter()
            claimed = outbox.reminders_claim(limit=BATCH)
            t1 = time.perf_counter()
            if not claimed:
                break
            stats["messages"] += hand_out(claimed, queue=queue)
            t2 = time.perf_counter()
            stats["claims"] += 1
            stats["claimed"] += len(claimed)
            stats["claim_s"] += t1 - t0
            stats["publish_s"] += t2 - t1
        stats["done_s"] = time.perf_counter()
    except BaseException as error:  # reported by the main thread
        errors.append(error)
    finally:
        connection.close()


def _wait_for_worker(app, queue: str, worker: subprocess.Popen) -> float:
    """Round-trip a ping task through the run's queue: the worker is consuming it."""
    from celery.exceptions import TimeoutError as ResultTimeout

    started = time.perf_counter()
    result = app.send_task("frontdesk.ping", queue=queue)
    while time.perf_counter() - started < 120:
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited with {worker.returncode} before it was ready")
        try:
            result.get(timeout=1)
            result.forget()
            return time.perf_counter() - started
        except ResultTimeout:
            continue
    raise SystemExit("the worker did not answer a ping within 120 s")


def _stop(worker: subprocess.Popen) -> None:
    """Warm shutdown (SIGTERM); the whole process group is killed if that takes too long."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=60)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)  # pool children left behind, if any
    worker.wait(timeout=30)


def _drop_queue(app, queue: str) -> None:
    """Remove the run's queue (and any message left in it) from the broker."""
    try:
        with app.connection_for_write() as conn:
            # Declared again on this connection, so that delete() knows its binding.
            bound = app.amqp.queues[queue].bind(conn.default_channel)
            bound.declare()
            bound.purge()
            bound.delete()
    except Exception as error:  # cleaning up must not hide the result
        print(f"# could not remove queue {queue}: {error!r}", file=sys.stderr)
    control = app.conf.broker_transport_options.get("control_folder")
    if control:  # the filesystem transport keeps one exchange file per queue
        Path(control, f"{queue}.exchange").unlink(missing_ok=True)


def _tally(sms_dir: Path, office) -> tuple[int, int, int, collections.Counter]:
    """(duplicates, lost, rows, states): keys asked for more than once; rows not delivered."""
    from visitors.messaging.models import Reminder

    log = sms_dir / "attempts.log"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    duplicates = sum(1 for count in collections.Counter(lines).values() if count > 1)
    files = {path.stem for path in sms_dir.glob("*.json")}
    rows = list(Reminder.objects.filter(office=office).values_list("idempotency_key", "state"))
    lost = sum(
        1
        for key, state in rows
        if state != "sent" or hashlib.sha256(key.encode()).hexdigest()[:32] not in files
    )
    return duplicates, lost, len(rows), collections.Counter(state for _, state in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="reminders to send (10000)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (2)")
    args = parser.parse_args()

    vendor = django_for_bench("reminder_dispatch", suffix="_bench_reminders")
    from frontdesk.celery import app
    from visitors.messaging.models import Reminder

    run_id = uuid.uuid4().hex[:10]
    queue = f"bench-reminders-{run_id}"
    t0 = time.perf_counter()
    office = _prepare(args.n, run_id)
    prepared_s = time.perf_counter() - t0
    sms_dir = Path(tempfile.mkdtemp(prefix="bench-sms-"))
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "SMS_BACKEND": "visitors.sms.FileBackend",
        "SMS_FILE_DIR": str(sms_dir),
        "LOG_LEVEL": "WARNING",
    }
    if vendor == "postgresql":
        env["DB_POOL"] = "0"  # a pool opened before the fork is no use to the pool's children
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "frontdesk", "worker", "--pool=prefork",
         f"--concurrency={args.concurrency}", "-Q", queue, "-n", f"{queue}@%h",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    stats = [collections.defaultdict(float) for _ in range(DISPATCHERS)]
    errors: list[BaseException] = []
    timed_out = False
    try:
        ready_s = _wait_for_worker(app, queue, worker)
        dispatchers = [
            threading.Thread(target=_dispatch, args=(queue, stats[i], errors), daemon=True)
            for i in range(DISPATCHERS)
        ]
        started = time.perf_counter()
        for thread in dispatchers:
            thread.start()
        sent = Reminder.objects.filter(office=office, state="sent")
        while sent.count() < args.n:
            if errors or worker.poll() is not None:
                break
            if time.perf_counter() - started > TIME_LIMIT:
                timed_out = True
                break
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        for thread in dispatchers:
            thread.join(timeout=60)
    finally:
        _stop(worker)
        _drop_queue(app, queue)

    duplicates, lost, rows, states = _tally(sms_dir, office)
    lost += max(0, args.n - rows)
    print(
        f"BENCH reminder_dispatch db={vendor} n={args.n} seconds={seconds:.2f} "
        f"duplicates={duplicates} lost={lost}",
        flush=True,
    )
    claimed = int(sum(s["claimed"] for s in stats))
    dispatched_s = max((s["done_s"] for s in stats if s["done_s"]), default=started) - started
    print(
        f"# set-up {prepared_s:.1f} s, worker ready {ready_s:.1f} s; dispatchers claimed "
        f"{' + '.join(str(int(s['claimed'])) for s in stats)} = {claimed} rows in "
        f"{' + '.join(str(int(s['claims'])) for s in stats)} claims and "
        f"{int(sum(s['messages'] for s in stats))} messages, all dispatched after "
        f"{dispatched_s:.2f} s (claiming {sum(s['claim_s'] for s in stats):.2f} s, publishing "
        f"{sum(s['publish_s'] for s in stats):.2f} s, summed over threads); "
        f"{states['sent'] / seconds:.0f} sent/s; states {dict(states)}",
        file=sys.stderr,
    )
    failed = bool(duplicates or lost or timed_out or errors or rows != args.n)
    if errors:
        print(f"# dispatcher failed: {errors[0]!r}", file=sys.stderr)
    if worker.returncode not in (0, None) and not timed_out and states["sent"] < args.n:
        print(f"# the worker exited with {worker.returncode} mid-run", file=sys.stderr)
    if timed_out:
        print(f"# not finished after {TIME_LIMIT} s", file=sys.stderr)
    if failed:
        print(f"# SMS files kept in {sms_dir}", file=sys.stderr)
    else:
        shutil.rmtree(sms_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
