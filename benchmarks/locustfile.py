"""Locust users for benchmarks/bench_http.py (run by it headless; not a test).

The back-to-back figures come from wrk; these are the scenarios, one class each, configured by
environment variables the driver sets:

- ``PollUnchanged``  an open console's poll while nothing changed: GET
                     /desk/<office>/queue/?v=<current> with HX-Request (204), once every
                     ``BENCH_PACING`` seconds per user.
- ``RemoteJoin``     a phone joining the line, one per ``BENCH_PACING`` seconds per user: the
                     office's public page → the join form → "text me a code" → the code (read
                     from the server's file SMS backend in ``BENCH_SMS_DIR``) → the place.
"""

import hashlib
import json
import os
import re
import secrets
import time
from itertools import count
from urllib.parse import urlencode

from locust import constant, constant_pacing, events, task
from locust.contrib.fasthttp import FastHttpUser

OFFICE = os.environ.get("BENCH_OFFICE", "bench")
COOKIE = os.environ.get("BENCH_COOKIE", "")
CSRF = os.environ.get("BENCH_CSRF", "")
VERSION = os.environ.get("BENCH_VERSION", "0")
PACING = float(os.environ.get("BENCH_PACING", "0"))
SMS_DIR = os.environ.get("BENCH_SMS_DIR", "")
PROOF = re.compile(r'name="proof" value="([^"]+)"')
JOIN_REASON = re.compile(r'name="j-reasons" value="(\d+)"')
CODE = re.compile(r"code is (\d{6})")

HTMX = {"HX-Request": "true"}
OUT = os.environ.get("BENCH_OUT", "")


# --- Exact figures -------------------------------------------------------------------------------
# Locust's own percentiles are rounded into buckets; the driver wants exact ones, timed only
# once every user has started (the ramp is not measured) and until the run stops.

_timed: list[float] = []
_clock = {"start": None, "stop": None, "failures": 0, "flows": 0}
_why: dict[str, int] = {}


@events.spawning_complete.add_listener
def _start_timing(user_count, **_kw):
    _clock["start"] = time.perf_counter()


@events.request.add_listener
def _record(request_type, name, response_time, exception, **_kw):
    if _clock["start"] is None or _clock["stop"] is not None:
        return
    if request_type == "FLOW":
        _clock["flows"] += 1
    elif exception is not None:
        _clock["failures"] += 1
        reason = f"{name}: {exception}"[:120]
        _why[reason] = _why.get(reason, 0) + 1
    else:
        _timed.append(response_time)


@events.test_stop.add_listener
def _write_figures(**_kw):
    _clock["stop"] = time.perf_counter()
    if not OUT or _clock["start"] is None:
        return
    elapsed = _clock["stop"] - _clock["start"]
    ordered = sorted(_timed)

    def pct(p):
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0

    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump({
            "requests": len(ordered), "seconds": elapsed, "rps": len(ordered) / elapsed,
            "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
            "failures": _clock["failures"], "flows_per_s": _clock["flows"] / elapsed,
            "failure_kinds": _why,
        }, fh)  # fmt: skip


def _wait():
    return constant_pacing(PACING) if PACING > 0 else constant(0)


class _Base(FastHttpUser):
    abstract = True
    wait_time = _wait()
    # Connections are not shared between users; each user is one browser.
    concurrency = 1


class _Console(_Base):
    abstract = True

    def on_start(self):
        self.headers = HTMX | {"Cookie": COOKIE}


class PollUnchanged(_Console):
    @task
    def poll(self):
        path = f"/desk/{OFFICE}/queue/?v={VERSION}"
        with self.client.get(path, headers=self.headers, name="queue_poll_unchanged",
                             catch_response=True) as r:  # fmt: skip
            if r.status_code != 204:
                r.failure(f"status {r.status_code}")


class _Abandon(Exception):
    pass


_phones = count(1)


class RemoteJoin(_Base):
    """A phone joining the line from the office's public page, code by text included."""

    def on_start(self):
        self.headers = {"Cookie": COOKIE, "X-CSRFToken": CSRF,
                        "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip

    def _get(self, path, name):
        with self.client.get(path, headers=self.headers, name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"status {r.status_code}")
                raise _Abandon
            return r.text

    def _post(self, data, name, *, ok=200):
        with self.client.post(f"/o/{OFFICE}/join/", data=urlencode(data, doseq=True),
                              headers=self.headers, name=name, allow_redirects=False,
                              catch_response=True) as r:  # fmt: skip
            if r.status_code != ok:
                r.failure(f"status {r.status_code}")
                raise _Abandon
            r.success()
            return r.text

    @task
    def join(self):
        try:
            self._get(f"/o/{OFFICE}/", "public_page")
            form = self._get(f"/o/{OFFICE}/join/", "join_form")
            n = next(_phones)
            data = {"step": "send", "lang": "en", "j-first_name": f"Phone{n}",
                    "j-last_name": secrets.token_hex(4), "j-reasons": JOIN_REASON.findall(form)[:1],
                    "j-travel_minutes": "20", "j-phone": f"+1312{n % 10_000_000:07d}",
                    "j-consent": "on"}  # fmt: skip
            page = self._post(data, "join_send_code")
            proof = PROOF.search(page).group(1)
            key = hashlib.sha256(f"verify:{proof}".encode()).hexdigest()[:32]
            with open(os.path.join(SMS_DIR, f"{key}.json"), encoding="utf-8") as fh:
                code = CODE.search(json.load(fh)["body"]).group(1)
            self._post(data | {"step": "verify", "proof": proof, "code": code}, "join_verify",
                       ok=302)  # fmt: skip
            self.environment.events.request.fire(
                request_type="FLOW", name="remote_join_done", response_time=0,
                response_length=0, exception=None, context={},
            )  # fmt: skip
        except _Abandon:
            return
