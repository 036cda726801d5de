"""Joining the line from a phone: the public page's figures, the join itself, arriving, the
"time to head in" text and releasing a place nobody came for.

A remote visitor is a waiting visit like any other (``source=remote``) that is ``on_the_way``
until they arrive: they keep their place and are counted ahead of later arrivals, but "call
next" passes over them unless the office says otherwise. They arrive by typing the lobby
display's short code on their status page, at the kiosk ("I joined from my phone"), or when
staff mark them arrived. Called while still on the way and not here within the office's grace
time, their place is released and they are told how to join again.

No place is taken without a number proved by a code (``visitors.verification``); a returning
visitor is recognised only when that proved number and their name both fit one record.
"""

import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from visitors import effects, reminders, selectors, services, verification
from visitors.effects import Event
from visitors.identify import Answer, identify
from visitors.messaging.models import ReminderKind
from visitors.offices.models import Office, ReasonForVisit
from visitors.people.models import AuditAction, AuditEvent, PhoneVerification
from visitors.visits.lifecycle import ACTIVE_STATUSES, Action, Status, TransitionNotAllowed
from visitors.visits.models import Source, Visit

logger = logging.getLogger(__name__)

# The lobby code changes every LOBBY_WINDOW minutes; the one before still works, so somebody
# who read it just before it changed is not turned away.
LOBBY_WINDOW = dt.timedelta(minutes=10)
TRAVEL_CHOICES = (10, 20, 30, 45, 60)
ASCII_DIGITS = frozenset("0123456789")


class JoinRefused(Exception):
    """The place can't be given; the message says why and what to do instead."""


# --- The public page's figures -------------------------------------------------------------------


@dataclass(frozen=True)
class Today:
    is_open: bool
    closes_at: dt.datetime | None
    next_opening: dt.datetime | None
    waiting: int
    estimate: selectors.WaitEstimate | None
    reasons: list  # (reason, closed today?) in the office's order
    can_join: bool  # remote places offered, open, places left today


def office_today(office: Office, *, now: dt.datetime | None = None) -> Today:
    """What the office's public page says of today: never who is waiting, only how many."""
    now = now or timezone.now()
    day = office.local_date(now)
    estimate = selectors.newcomer_estimate(office=office, now=now)
    reasons = [
        (reason, reason.is_closed_on(day))
        for reason in ReasonForVisit.objects.filter(office=office, is_active=True)
    ]
    is_open = office.is_open_at(now)
    closes = office.closes_at(now) if is_open else None
    if closes is not None and closes - now > dt.timedelta(hours=24):
        closes = None  # open round the clock: no closing time to speak of
    return Today(
        is_open=is_open,
        closes_at=closes,
        next_opening=None if is_open else office.next_opening(now),
        waiting=estimate.ahead if estimate else 0,
        estimate=estimate,
        reasons=reasons,
        can_join=office.remote_join and is_open and places_left(office, day=day) > 0,
    )


def places_left(office: Office, *, day: dt.date) -> int:
    taken = Visit.objects.filter(office=office, service_date=day, source=Source.REMOTE).count()
    return max(office.remote_daily_cap - taken, 0)


def joinable_reasons(office: Office, *, day: dt.date):
    return ReasonForVisit.objects.filter(office=office, is_active=True, remote_join=True).exclude(
        closed_on=day
    )


# --- Joining ------------------------------------------------------------------------------------


@dataclass
class JoinRequest:
    first_name: str
    last_name: str
    reason_ids: list[int]
    reason_other: str = ""
    travel_minutes: int | None = None
    language: str = "en"


def remote_join(*, office: Office, proof: PhoneVerification, data: JoinRequest) -> Visit:
    """Give a place in today's line to the holder of a proved number, once per proof.

    The proof's token is the check-in's idempotency token: the same form sent ten times (or a
    second join with the same proof) gets the one visit it made, with ``replayed`` set.
    Raises JoinRefused (closed, no places left, the number must come in person, nothing chosen)
    or services.AlreadyWaiting.
    """
    now = timezone.now()
    try:
        made = services.made_by_form(proof.token, office.pk)
    except services.FormUsedElsewhere:
        raise JoinRefused(_("This code was for another office. Start again here.")) from None
    if made is not None:
        made.replayed = True
        return made
    if not office.remote_join:
        raise JoinRefused(_("This office does not take places from phones."))
    if not office.is_open_at(now):
        raise JoinRefused(_("The office is closed now. Join when it opens."))
    day = office.local_date(now)
    with transaction.atomic():
        # The day's cap is counted under the office row's lock (each check-in moves its queue
        # version, so it takes that lock anyway): of joins racing for the last place, one gets it.
        list(Office.objects.select_for_update().filter(pk=office.pk).values_list("pk"))
        if places_left(office, day=day) <= 0:
            raise JoinRefused(
                _("All of today's places from phones are taken. You can still come to the office.")
            )
        if verification.must_check_in_on_site(office=office, phone=proof.phone):
            raise JoinRefused(
                _("After missed calls, we ask you to check in at the office itself. Come to the "
                  "front desk; we will be glad to see you.")
            )  # fmt: skip
        reasons = list(joinable_reasons(office, day=day).filter(pk__in=data.reason_ids))
        if not reasons and not data.reason_other.strip():
            raise JoinRefused(_("Choose what you need today, or tell us in your own words."))
        visitor = returning_visitor(data.first_name, data.last_name, phone=proof.phone)
        check_in = services.KioskCheckIn(
            first_name=data.first_name,
            last_name=data.last_name,
            language=data.language,
            visitor_id=visitor.pk if visitor else None,
            reason_ids=[r.pk for r in reasons],
            reason_other=data.reason_other,
            phone=proof.phone,
            notify_when_called=True,
            consent_reminders=True,
        )
        visit = services.kiosk_check_in(
            office=office,
            data=check_in,
            token=proof.token,
            source=Source.REMOTE,
            extra={"on_the_way": True, "travel_minutes": data.travel_minutes},
        )
    verification.consume(proof)
    if not visit.replayed and reminders.head_in_if_near(
        visit, getattr(visit, "wait_estimate", None)
    ):
        reminders.dispatch_soon()
    return visit


def returning_visitor(first_name: str, last_name: str, *, phone: str):
    """The one stored visitor this name and proved number fit, or None (then a new record).

    The name must fit as at the kiosk (typos, nicknames, swapped names) with the number's last
    four digits as the second factor, and the record's whole number must be the proved one.
    """
    found = identify(
        first_name=first_name, last_name=last_name, answer=Answer.of(phone_last4=phone[-4:])
    )
    visitor = found.visitor
    if found.result != "confirmed" or visitor is None:
        return None
    if verification.normalise(visitor.phone) != phone or visitor.merged_into_id:
        return None
    return visitor


# --- Arriving -----------------------------------------------------------------------------------


class ArrivedBy:
    LOBBY_CODE = "lobby_code"
    KIOSK = "kiosk"
    STAFF = "staff"


def visit_arrive(*, visit: Visit, how: str, by=None) -> bool:
    """Mark someone on the way as here; False when they already were (or the visit ended)."""
    now = timezone.now()
    with transaction.atomic():
        changed = Visit.objects.filter(
            pk=visit.pk, on_the_way=True, status__in=ACTIVE_STATUSES
        ).update(on_the_way=False, arrived_at=now, arrived_by=how)
        if not changed:
            return False
        visit.on_the_way, visit.arrived_at, visit.arrived_by = False, now, how
        effects.queue_moved(visit.office_id)
        AuditEvent.objects.create(
            user=by if getattr(by, "is_authenticated", False) else None,
            office_id=visit.office_id, visitor_id=visit.visitor_id, visit_id=visit.pk,
            action=AuditAction.CHANGE, what=f"visit arrived ({how})",
        )  # fmt: skip
    return True


def lobby_code(office: Office, *, at: dt.datetime | None = None, windows_back: int = 0) -> str:
    """The four digits the lobby display shows now: only someone in the lobby can read them."""
    at = at or timezone.now()
    window = int(at.timestamp() // LOBBY_WINDOW.total_seconds()) - windows_back
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"lobby:{office.pk}:{window}".encode(), hashlib.sha256
    ).hexdigest()
    return f"{int(digest[:12], 16) % 10000:04d}"


def lobby_code_window(*, at: dt.datetime | None = None) -> int:
    """Which code is current: the display's version changes with it."""
    at = at or timezone.now()
    return int(at.timestamp() // LOBBY_WINDOW.total_seconds())


def lobby_code_ok(office: Office, code: str, *, at: dt.datetime | None = None) -> bool:
    code = "".join(ch for ch in (code or "") if ch in ASCII_DIGITS)
    if len(code) != 4:
        return False
    return any(
        hmac.compare_digest(code, lobby_code(office, at=at, windows_back=back)) for back in (0, 1)
    )


def kiosk_find(office: Office, *, ticket: str, phone_last4: str) -> Visit | None:
    """The kiosk's "I joined from my phone": today's ticket here, on the way, whose number
    ends in these digits (both must fit; nothing is said of which did not)."""
    ticket = (ticket or "").strip().upper().replace(" ", "")
    if not ticket.isascii():
        return None
    digits = "".join(ch for ch in (phone_last4 or "") if ch in ASCII_DIGITS)
    if not ticket or len(digits) != 4:
        return None
    if "-" not in ticket and ticket[:1].isalpha():
        prefix = office.ticket_prefix
        rest = ticket[len(prefix) :] if ticket.startswith(prefix) else ticket
        if rest.isdigit():
            ticket = f"{prefix}-{int(rest):03d}"
    elif ticket.isdigit():
        ticket = f"{office.ticket_prefix}-{int(ticket):03d}"
    return (
        Visit.objects.select_related("visitor")
        .filter(
            office=office,
            service_date=office.local_date(),
            ticket_code=ticket,
            on_the_way=True,
            status__in=ACTIVE_STATUSES,
            visitor__phone_last4=digits,
        )
        .first()
    )


# --- A place nobody came for ---------------------------------------------------------------------


def release_overdue(*, now: dt.datetime | None = None) -> int:
    """Release the places of people called while on the way who have not arrived within their
    office's grace time: a no-show like any other, marked released, and a text saying so with
    the link to join again. Returns how many."""
    now = now or timezone.now()
    released = 0
    overdue = Visit.objects.filter(
        status=Status.CALLED, on_the_way=True, called_at__isnull=False
    ).select_related("office", "visitor")
    for visit in overdue:
        grace = dt.timedelta(minutes=visit.office.remote_grace_minutes)
        if visit.called_at is None or visit.called_at + grace > now:
            continue
        try:
            with transaction.atomic():
                # Only while still on the way and still this call: an arrival or a recall in
                # between wins.
                visit._apply(
                    Action.MARK_NO_SHOW,
                    extra_filter=Q(on_the_way=True, called_at=visit.called_at),
                    ended_at=now,
                    released_at=now,
                )
                effects.visit_changed(visit, Event.NO_SHOW, what="place released (not arrived)")
                join_url = settings.PUBLIC_URL + reverse("public:office", args=[visit.office.slug])
                reminders.remote_text(
                    visit,
                    ReminderKind.PLACE_RELEASED,
                    key=f"released:{visit.pk}",
                    context={"join_url": join_url},
                )
                reminders.dispatch_soon()
        except TransitionNotAllowed:
            continue  # arrived, or staff moved them on, meanwhile
        released += 1
    return released
