"""Proving a phone number with a one-time code by text, before a place or a booking is taken.

Shared by "Join the line now" and "Book a time" on the office's public page (and by anything
else that must not act on a number nobody has shown they hold). The steps:

1. ``code_send``: a six-digit code goes by text to the number; the row keeps a keyed hash of
   it, never the code. Rate limits per number and per address are the views' (see
   ``frontdesk.ratelimits``), this module only refuses a number it cannot text.
2. ``code_check``: the code typed back, compared in constant time; five wrong tries and the
   row is dead (a new code must be asked for, which counts against the number's limit).
3. ``verified``: a proved row, still fresh and not used, for the office and purpose.
4. ``consume``: a compare-and-set that lets one place or one booking be taken per proof, also
   when the same form is sent ten times at once.
"""

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from visitors import sms
from visitors.offices.models import Office
from visitors.people.models import PhoneVerification
from visitors.people.recognition import phone_digits

logger = logging.getLogger(__name__)


PHONE_CHARACTERS = frozenset("0123456789+-() .")


class NotTextable(Exception):
    """The number can't take a text: the message says what to do."""


def normalise(phone: str) -> str | None:
    """The number in E.164, or None when it cannot be a mobile number we can text (only ASCII
    digits and + - ( ) . and spaces: other scripts' digits would make another rate-limit bucket
    for the same number)."""
    if set(phone or "") - PHONE_CHARACTERS:
        return None
    digits = phone_digits(phone or "")
    if not 10 <= len(digits) <= 15:
        return None
    number = sms.e164(phone)
    return number if number.startswith("+") else None


def _hash(code: str, token: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{token}:{code}".encode(), hashlib.sha256).hexdigest()


def code_send(*, office: Office, phone: str, purpose: str, language: str) -> PhoneVerification:
    """Text a new code to ``phone`` (already normalised); return the row that checks it."""
    code = f"{secrets.randbelow(10**6):06d}"
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    verification = PhoneVerification.objects.create(
        office=office,
        purpose=purpose,
        phone=phone,
        code_hash=_hash(code, token),
        token=token,
        language=language,
        created_at=now,
        expires_at=now + dt.timedelta(minutes=settings.VERIFY_CODE_MINUTES),
    )
    with translation.override(language):
        body = _(
            "%(office)s: your code is %(code)s. It works for %(minutes)s minutes. If you did not "
            "ask for it, ignore this text."
        ) % {"office": office.name, "code": code, "minutes": settings.VERIFY_CODE_MINUTES}
    try:
        sms.send_sms(to=phone, body=body, idempotency_key=f"verify:{token}")
    except sms.SmsError as error:
        logger.warning("verification code not sent to …%s: %s", phone[-4:], error)
        verification.delete()
        raise NotTextable(
            _("We could not send a text to that number. Check it, or come to the office.")
        ) from error
    return verification


@dataclass(frozen=True)
class Check:
    ok: bool
    message: str = ""


def pending(token: str, *, office: Office, purpose: str) -> PhoneVerification | None:
    """The row a form's token names, for this office and purpose, or None."""
    if not token or len(token) > 64:
        return None
    return PhoneVerification.objects.filter(token=token, office=office, purpose=purpose).first()


def code_check(verification: PhoneVerification, code: str) -> Check:
    """Count one try; prove the row when ``code`` is right, still fresh and tries are left."""
    now = timezone.now()
    if verification.verified_at is not None:
        return Check(True)
    code = "".join(ch for ch in (code or "") if ch in "0123456789")
    # The try is counted first, with a compare-and-set on the count: ten guesses sent at
    # once get five answers at most.
    counted = PhoneVerification.objects.filter(
        pk=verification.pk, attempts=verification.attempts,
        attempts__lt=settings.VERIFY_MAX_ATTEMPTS,
    ).update(attempts=verification.attempts + 1)  # fmt: skip
    if not counted:
        verification.refresh_from_db()
        if verification.verified_at is not None:
            return Check(True)
        if verification.attempts >= settings.VERIFY_MAX_ATTEMPTS:
            return Check(False, _("Too many wrong codes. Ask for a new code."))
        return code_check(verification, code)
    verification.attempts += 1
    if verification.expires_at <= now:
        return Check(False, _("That code has run out. Ask for a new code."))
    if len(code) != 6 or not hmac.compare_digest(
        _hash(code, verification.token), verification.code_hash
    ):
        if verification.attempts >= settings.VERIFY_MAX_ATTEMPTS:
            return Check(False, _("Too many wrong codes. Ask for a new code."))
        return Check(False, _("That code is not right. Check the text and try again."))
    PhoneVerification.objects.filter(pk=verification.pk, verified_at__isnull=True).update(
        verified_at=now
    )
    verification.verified_at = now
    return Check(True)


def verified(token: str, *, office: Office, purpose: str) -> PhoneVerification | None:
    """A proved, fresh row for ``token`` (used or not: ``used_at`` tells), or None."""
    verification = pending(token, office=office, purpose=purpose)
    if verification is None or verification.verified_at is None:
        return None
    fresh = timezone.now() - verification.verified_at
    if fresh > dt.timedelta(minutes=settings.VERIFY_VALID_MINUTES):
        return None
    return verification


def consume(verification: PhoneVerification) -> bool:
    """Use a proof once: True for the one caller that got it."""
    now = timezone.now()
    used = PhoneVerification.objects.filter(pk=verification.pk, used_at__isnull=True).update(
        used_at=now
    )
    if used:
        verification.used_at = now
    return bool(used)


def forget_expired(*, now: dt.datetime | None = None) -> int:
    """Delete rows a day past their code's life (the number is personal data)."""
    now = now or timezone.now()
    deleted, _rows = PhoneVerification.objects.filter(
        expires_at__lt=now - dt.timedelta(days=1)
    ).delete()
    return deleted


def number_key(group, request) -> str:
    """django-ratelimit key: the number in the form (a field named ``phone``, or ``<prefix>-phone``
    in a prefixed form), normalised, so that typing it another way buys no more texts."""
    typed = next(
        (
            value
            for name, value in request.POST.items()
            if name == "phone" or name.endswith("-phone")
        ),
        "",
    )
    return normalise(typed) or "invalid"


def no_shows(*, office: Office, phone: str, days: int = 90) -> int:
    """Missed calls after joining from a phone, and missed bookings, of the people with this
    number at this office in the last ``days`` days."""
    from visitors.followups.models import Appointment
    from visitors.people.models import Visitor
    from visitors.visits.lifecycle import Status
    from visitors.visits.models import Source, Visit

    since = timezone.now() - dt.timedelta(days=days)
    last4 = phone_digits(phone)[-4:]
    people = [
        v.pk
        for v in Visitor.objects.filter(phone_last4=last4).only("pk", "phone")
        if normalise(v.phone) == phone
    ]
    if not people:
        return 0
    missed_visits = Visit.objects.filter(
        office=office, visitor_id__in=people, source=Source.REMOTE, status=Status.NO_SHOW,
        checked_in_at__gte=since,
    ).count()  # fmt: skip
    missed_bookings = Appointment.objects.filter(
        office=office, visitor_id__in=people, state=Appointment.State.MISSED, starts_at__gte=since
    ).count()
    return missed_visits + missed_bookings


def must_check_in_on_site(*, office: Office, phone: str) -> bool:
    """Whether the office asks this number to come in person (repeated no-shows)."""
    limit = office.remote_no_show_limit
    return bool(limit) and no_shows(office=office, phone=phone) >= limit
