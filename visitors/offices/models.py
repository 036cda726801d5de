"""Offices, their staff, devices and what they offer."""

import contextlib
import datetime as dt
import hashlib
import secrets
import zoneinfo
from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from frontdesk.cache import Recently, forget

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


def validate_opening_hours(value: object) -> None:
    """Opening hours look like {"mon": [["08:00", "17:00"]], …}; missing days are closed;
    "24:00" closes at midnight."""
    if not isinstance(value, dict):
        raise ValidationError(_("Opening hours must be an object keyed by weekday."))
    for day, spans in value.items():
        if day not in WEEKDAYS:
            raise ValidationError(_("Unknown weekday %(day)s."), params={"day": day})
        if not isinstance(spans, list):
            raise ValidationError(
                _("%(day)s must be a list of [open, close]."), params={"day": day}
            )
        for span in spans:
            try:
                opens, closes = (
                    dt.time.max if t == "24:00" else dt.time.fromisoformat(t) for t in span
                )
            except (TypeError, ValueError):
                raise ValidationError(
                    _('%(day)s: %(span)s is not ["HH:MM", "HH:MM"].'),
                    params={"day": day, "span": span},
                ) from None
            if opens >= closes:
                raise ValidationError(
                    _("%(day)s: opening must be before closing."), params={"day": day}
                )


def _at(day: dt.date, hhmm: str, zone) -> dt.datetime:
    """``day`` at "HH:MM" in ``zone``; "24:00" is the end of the day (midnight after it)."""
    if hhmm == "24:00":
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=zone)


def validate_closed_dates(value: object) -> None:
    """Closed dates look like ["2026-12-24", …]."""
    if not isinstance(value, list):
        raise ValidationError(_("Closed dates must be a list of dates."))
    for day in value:
        try:
            dt.date.fromisoformat(day)
        except (TypeError, ValueError):
            raise ValidationError(
                _("%(day)s is not a date like 2026-12-24."), params={"day": day}
            ) from None


def default_opening_hours() -> dict:
    return {day: [["08:00", "17:00"]] for day in WEEKDAYS[:5]}


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Español"


def text_for(language: str, english: str, spanish: str) -> str:
    """What a visitor reading ``language`` is shown of a text staff entered in English with an
    optional Spanish version: the Spanish when there is one, else the English."""
    return spanish if language == Language.SPANISH and spanish else english


def is_english_only(language: str, english: str, spanish: str) -> bool:
    """Whether a visitor reading ``language`` would be shown ``english`` for want of a version
    in their language (staff see an "English only" mark)."""
    return language != Language.ENGLISH and bool(english) and not spanish


def list_30_90() -> list[int]:
    return [30, 90]


class Office(models.Model):
    class SecondFactor(models.TextChoices):
        PHONE_LAST4 = "phone_last4", _("Last 4 digits of phone")
        BIRTH_MONTH_DAY = "birth_month_day", _("Birth month and day")

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    opening_hours = models.JSONField(
        default=default_opening_hours, validators=[validate_opening_hours]
    )
    ticket_prefix = models.CharField(
        max_length=2,
        default="A",
        validators=[RegexValidator(r"^[A-Z]{1,2}$", _("One or two capital letters."))],
    )
    wait_target_minutes = models.PositiveSmallIntegerField(
        default=20, help_text=_("Waits longer than this are shown in red and counted as late.")
    )
    second_factor = models.CharField(
        max_length=20, choices=SecondFactor.choices, default=SecondFactor.PHONE_LAST4
    )
    kiosk_idle_seconds = models.PositiveSmallIntegerField(
        default=45, help_text=_("The kiosk returns to its welcome screen after this idle time.")
    )
    kiosk_reset_seconds = models.PositiveSmallIntegerField(
        default=15, help_text=_("Seconds the kiosk shows the ticket before starting over.")
    )
    kiosk_after_hours_callback = models.BooleanField(
        default=True,
        help_text=_("Outside opening hours the kiosk takes a call-back request (name, phone, what "
                    "they need), which lands in the office's inbox."),
    )  # fmt: skip
    email_staff_on_arrival = models.BooleanField(
        default=False,
        help_text=_("Email a counsellor when the visitor of their appointment checks in (besides "
                    "the 'For you' list and the chime on their console)."),
    )  # fmt: skip
    closed_dates = models.JSONField(
        default=list, blank=True, validators=[validate_closed_dates],
        help_text=_('Days the office is closed although its hours say open, e.g. '
                    '["2026-12-24", "2026-12-25"].'),
    )  # fmt: skip
    kiosk_ticket_print = models.BooleanField(
        default=False,
        help_text=_("The kiosk's ticket screen offers 'Print my ticket' (a ticket-sized page "
                    "for the tablet's printer) and 'Keep this on screen'."),
    )  # fmt: skip
    remote_join = models.BooleanField(
        _("offer 'Join the line now'"),
        default=False,
        help_text=_("The office's public page lets people join the line from their phone, with a "
                    "number proved by a code by text."),
    )  # fmt: skip
    remote_booking = models.BooleanField(
        _("offer 'Book a time'"),
        default=False,
        help_text=_("The office's public page lets people book an appointment online."),
    )  # fmt: skip
    remote_call_on_the_way = models.BooleanField(
        _("call next takes people still on the way"),
        default=False,
        help_text=_("Off: 'Call next' takes only people who have arrived; those still on the way "
                    "keep their place until they say 'I'm here'."),
    )  # fmt: skip
    remote_grace_minutes = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1)],
        help_text=_("Someone called while still on the way who has not arrived after this many "
                    "minutes gives up their place (and is told how to join again)."),
    )  # fmt: skip
    remote_daily_cap = models.PositiveSmallIntegerField(
        default=60,
        help_text=_("At most this many places a day taken from phones (0: no remote places)."),
    )
    remote_no_show_limit = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("A number with this many missed calls or bookings in the last 90 days must "
                    "check in at the office (0: never asked)."),
    )  # fmt: skip
    hire_check_in_days = models.JSONField(
        default=list_30_90, blank=True,
        help_text=_("Days after 'Got hired!' to check in on how the job is going, e.g. [30, 90]; "
                    "[] for none."),
    )  # fmt: skip
    hire_offer_en = models.TextField(
        blank=True,
        default="We are here for your first weeks too: call us "
        "if anything comes up with the new job, childcare or transport.",
        help_text=_("What the office offers next, said on the status page and in the text."),
    )
    hire_offer_es = models.TextField(
        blank=True,
        default="También le acompañamos en las primeras "
        "semanas: llámenos si surge algo con el trabajo, el cuidado de los niños o el transporte.",
    )
    priority_notice_en = models.TextField(
        blank=True,
        default=(
            "Veterans and eligible spouses receive priority of service: you will be served "
            "ahead of others waiting for the same service. Answering is voluntary."
        ),
    )
    priority_notice_es = models.TextField(
        blank=True,
        default=(
            "Los veteranos y sus cónyuges elegibles tienen prioridad de servicio: se les atiende "
            "antes que a otras personas que esperan el mismo servicio. Responder es voluntario."
        ),
    )

    class QueueRule(models.TextChoices):
        PRIORITY_FIRST = (
            "priority_first",
            _("Priority of service, then appointment time, then arrival (default)"),
        )
        APPOINTMENTS_FIRST = (
            "appointments_first",
            _("Appointment time, then priority of service, then arrival"),
        )
        ARRIVAL = "arrival", _("Arrival only (no priority)")

    queue_rule = models.CharField(
        max_length=20, choices=QueueRule.choices, default=QueueRule.PRIORITY_FIRST
    )
    display_names = models.BooleanField(
        default=False,
        help_text=_("Lobby display shows first name and last initial with the ticket."),
    )
    quiet_hours_start = models.TimeField(
        default=dt.time(20, 0), help_text=_("No reminder texts from this local time…")
    )
    quiet_hours_end = models.TimeField(
        default=dt.time(8, 0), help_text=_("…until this one; they are deferred, not dropped.")
    )
    retention_months = models.PositiveSmallIntegerField(
        default=36,
        validators=[MinValueValidator(1)],
        help_text=_("Visitors whose last visit was here and longer ago than this are "
                    "anonymised (visits and statistics stay)."),
    )  # fmt: skip
    queue_version = models.PositiveBigIntegerField(
        default=0, editable=False, help_text=_("Moves on every queue change; consoles poll it.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(second_factor__in=["phone_last4", "birth_month_day"]),
                name="office_second_factor_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def local_now(self) -> dt.datetime:
        return timezone.now().astimezone(self.zone)

    def local_date(self, at: dt.datetime | None = None) -> dt.date:
        return (at or timezone.now()).astimezone(self.zone).date()

    def day_bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """Return the UTC instants where the office's local ``day`` starts and ends."""
        start = dt.datetime.combine(day, dt.time.min, tzinfo=self.zone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=self.zone)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)

    def in_quiet_hours(self, at: dt.datetime) -> bool:
        now = at.astimezone(self.zone).time()
        start, end = self.quiet_hours_start, self.quiet_hours_end
        return (start <= now or now < end) if start > end else (start <= now < end)

    def quiet_hours_end_after(self, at: dt.datetime) -> dt.datetime:
        """The first moment after ``at`` outside quiet hours."""
        local = at.astimezone(self.zone)
        end = dt.datetime.combine(local.date(), self.quiet_hours_end, tzinfo=self.zone)
        if end <= local:
            end += dt.timedelta(days=1)
        return end.astimezone(dt.UTC)

    def priority_notice(self, language: str) -> str:
        if language == Language.SPANISH and self.priority_notice_es:
            return self.priority_notice_es
        return self.priority_notice_en

    def spans_on(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The office's open spans on its local ``day``, as aware datetimes; none if closed."""
        if day.isoformat() in self.closed_dates:
            return []
        return [
            (_at(day, opens, self.zone), _at(day, closes, self.zone))
            for opens, closes in self.opening_hours.get(WEEKDAYS[day.weekday()], [])
        ]

    def is_open_at(self, at: dt.datetime) -> bool:
        return self.closes_at(at) is not None

    def closes_at(self, at: dt.datetime) -> dt.datetime | None:
        """When the office, open at ``at``, closes; None when it is closed then. Spans that meet
        ("…–24:00" then "00:00–…" the next day) are one opening: an office open round the clock
        closes a week on, as far as anyone waiting is concerned."""
        local = at.astimezone(self.zone)
        end = next((c for o, c in self.spans_on(local.date()) if o <= local < c), None)
        if end is None:
            return None
        for _day in range(8):
            following = next((c for o, c in self.spans_on(end.date()) if o == end), None)
            if following is None:
                break
            end = following
        return end

    def next_opening(self, at: dt.datetime) -> dt.datetime | None:
        """The next time the office opens after ``at`` (within four weeks), or None."""
        local = at.astimezone(self.zone)
        for offset in range(29):
            for opens, _closes in self.spans_on(local.date() + dt.timedelta(days=offset)):
                if opens > local:
                    return opens
        return None

    def weekly_hours(self) -> list[tuple[int, list[tuple[str, str]]]]:
        """(weekday number 0–6, [(opens, closes), …]) for each day, Monday first."""
        return [
            (number, [tuple(span) for span in self.opening_hours.get(day, [])])
            for number, day in enumerate(WEEKDAYS)
        ]


class StaffRole(models.TextChoices):
    FRONT_DESK = "front_desk", _("Front desk")
    COUNSELLOR = "counsellor", _("Counsellor")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Office admin")


class StaffMembership(models.Model):
    """A user's role at one office; staff who move between offices hold several."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=StaffRole.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "office"], name="membership_unique_user_office"
            ),
            models.CheckConstraint(
                condition=Q(role__in=StaffRole.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.office}"


class ReasonForVisitQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        """As QuerySet.update, and the cached lists of the offices it changes are forgotten."""
        offices = list(self.values_list("office_id", flat=True).distinct())
        updated = super().update(**kwargs)
        forget_reasons(offices)
        return updated


class ReasonForVisit(models.Model):
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="reasons")
    label_en = models.CharField(_("label (English)"), max_length=80)
    label_es = models.CharField(_("label (Spanish)"), max_length=80, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    closed_on = models.DateField(
        null=True, blank=True, help_text=_("Closed for this office day, e.g. a full programme.")
    )
    closed_note = models.CharField(max_length=200, blank=True)
    closed_note_es = models.CharField(_("closed note (Spanish)"), max_length=200, blank=True)
    remote_join = models.BooleanField(
        _("can be chosen from a phone"),
        default=True,
        help_text=_("Offered to people joining the line from the office's public page."),
    )

    objects = ReasonForVisitQuerySet.as_manager()

    class Meta:
        ordering = ["office", "position", "label_en"]
        verbose_name = _("reason for visit")
        verbose_name_plural = _("reasons for visit")
        constraints = [
            models.UniqueConstraint(fields=["office", "label_en"], name="reason_unique_label"),
        ]

    def __str__(self) -> str:
        return self.label_en

    def label_for(self, language: str) -> str:
        return text_for(language, self.label_en, self.label_es)

    def label_is_english_only(self, language: str) -> bool:
        return is_english_only(language, self.label_en, self.label_es)

    def closed_note_for(self, language: str) -> str:
        return text_for(language, self.closed_note, self.closed_note_es)

    def closed_note_is_english_only(self, language: str) -> bool:
        return is_english_only(language, self.closed_note, self.closed_note_es)

    def is_closed_on(self, day: dt.date) -> bool:
        return self.closed_on == day


class Service(models.Model):
    """A service the agency reports on, e.g. a WIOA basic career service."""

    name = models.CharField(max_length=120)
    reporting_code = models.CharField(max_length=32, unique=True)
    description = models.TextField(blank=True)
    staff_assisted = models.BooleanField(
        default=True, help_text=_("Counts as staff-assisted in funders' reports.")
    )
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.reporting_code})"


class ReferralPartner(models.Model):
    name = models.CharField(max_length=160, unique=True)
    helps_with = models.TextField(help_text=_("What they help with, in plain words."))
    helps_with_es = models.TextField(blank=True, help_text=_("What they help with, in Spanish."))
    phone = models.CharField(max_length=32, blank=True)
    website = models.URLField(blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    is_veterans_specialist = models.BooleanField(
        default=False, help_text=_("A veterans' employment specialist (JVSG).")
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def helps_with_for(self, language: str) -> str:
        return text_for(language, self.helps_with, self.helps_with_es)

    def helps_with_is_english_only(self, language: str) -> bool:
        return is_english_only(language, self.helps_with, self.helps_with_es)


# Every kiosk and display request looks up its device's link and the office: the link, with its
# office, is kept in the cache for LINK_CACHE_SECONDS under the token's hash and forgotten as
# soon as either changes — saved, deleted, or changed by an UPDATE (which is how a link is
# revoked) — so a revoked tablet is still locked at its very next request.
LINK_CACHE_SECONDS = 30
SEEN_SECONDS = 60  # a device's last_seen_at is written at most this often
_SEEN_HERE = Recently(SEEN_SECONDS)


def _link_key(token_hash: str) -> str:
    return f"kiosk-link:{token_hash}"


def forget_links(hashes) -> None:
    forget((_link_key(h) for h in hashes), what="kiosk links")


class KioskLinkQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        """As QuerySet.update, and the cached copies of the links it changes are forgotten."""
        hashes = list(self.values_list("token_hash", flat=True))
        updated = super().update(**kwargs)
        forget_links(hashes)
        return updated


class KioskLink(models.Model):
    """A link that opens an office's kiosk on a tablet: a long random token, stored hashed.

    The token is shown once, when the link is made; revoking the link stops every tablet that
    opened it at its next request.
    """

    class Capability(models.TextChoices):
        CHECK_IN = "check_in", _("Kiosk: check-in")
        DISPLAY = "display", _("Lobby display")

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="kiosk_links")
    label = models.CharField(max_length=80, help_text=_("Where the tablet is, e.g. Lobby left."))
    capability = models.CharField(
        max_length=10, choices=Capability.choices, default=Capability.CHECK_IN
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = KioskLinkQuerySet.as_manager()

    class Meta:
        ordering = ["office", "label"]

    def __str__(self) -> str:
        return f"{self.office} — {self.label}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(
        cls, *, office: Office, label: str, created_by=None, capability: str = "check_in"
    ) -> tuple["KioskLink", str]:
        """Create a link; return it with its token, which is stored only as a hash."""
        token = secrets.token_urlsafe(32)
        link = cls.objects.create(
            office=office,
            label=label,
            token_hash=cls.hash_token(token),
            created_by=created_by,
            capability=capability,
        )
        return link, token

    @classmethod
    def find_active(
        cls,
        *,
        token: str,
        office: Office | None = None,
        slug: str | None = None,
        capability: str = "check_in",
    ) -> "KioskLink | None":
        """The active link of ``office`` (or of the office named ``slug``, loaded with it) that
        ``token`` opens. Cached briefly with its office; a token not found is not remembered."""
        if not token or len(token) > 100:
            return None
        token_hash = cls.hash_token(token)
        link = None
        with contextlib.suppress(Exception):  # no cache: read the row
            link = cache.get(_link_key(token_hash))
        if link is None:
            link = cls.objects.select_related("office").filter(token_hash=token_hash).first()
            if link is None:
                return None
            with contextlib.suppress(Exception):
                cache.set(_link_key(token_hash), link, LINK_CACHE_SECONDS)
        if not link.is_active or link.capability != capability:
            return None
        if office is not None:
            return link if link.office_id == office.pk else None
        return link if link.office.slug == slug else None

    def seen(self, now) -> None:
        """Record that the device was seen, at most once a minute: a mark in the cache says it
        was just done, as the cached copy keeps the time it was read with. Being seen changes
        nothing the device may do, so the cached copy is not forgotten. This process remembers
        its own mark too, and asks Redis only when that has lapsed."""
        if not _SEEN_HERE.due(self.token_hash, f"kiosk-link-seen:{self.pk}"):
            return
        models.QuerySet.update(KioskLink.objects.filter(pk=self.pk), last_seen_at=now)
        self.last_seen_at = now

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L to misread


class DevicePairing(models.Model):
    """A device asking to be paired: it shows ``code``; an office admin types the code in the
    console and approves it for one office and one capability.

    The device made its own long random token and holds it in a cookie; only its hash is here.
    Approval turns that hash into a KioskLink, so no token ever travels from the server.
    """

    code = models.CharField(max_length=8, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    link = models.OneToOneField(
        KioskLink, null=True, blank=True, on_delete=models.CASCADE, related_name="pairing"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Pairing {self.code}"

    @staticmethod
    def new_code() -> str:
        return "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(6))


# Every kiosk check-in and API check-in reads the office's active reasons (the reasons screen,
# the form that checks the ones chosen): kept in the cache per office and forgotten whenever a
# reason is saved or deleted (staff close one for the day, an admin edits one). Written in bulk
# (bulk_create), the writer calls forget_reasons itself.
REASONS_CACHE_SECONDS = 300


def reasons_key(office_id: int) -> str:
    return f"office-reasons:{office_id}"


def active_reasons(office: Office) -> list[ReasonForVisit]:
    """The office's active reasons, in their order (closed today or not: callers tell)."""
    found = None
    with contextlib.suppress(Exception):  # no cache: read them
        found = cache.get(reasons_key(office.pk))
    if found is None:
        found = list(ReasonForVisit.objects.filter(office=office, is_active=True))
        with contextlib.suppress(Exception):
            cache.set(reasons_key(office.pk), found, REASONS_CACHE_SECONDS)
    return found


def forget_reasons(office_ids) -> None:
    forget([reasons_key(pk) for pk in set(office_ids)], what="reasons")


@receiver(post_save, sender=ReasonForVisit, dispatch_uid="office-reason-saved")
@receiver(post_delete, sender=ReasonForVisit, dispatch_uid="office-reason-deleted")
def _reason_changed(sender, instance, **kwargs) -> None:
    forget_reasons([instance.office_id])


@receiver(post_save, sender=KioskLink, dispatch_uid="kiosk-link-saved")
@receiver(post_delete, sender=KioskLink, dispatch_uid="kiosk-link-deleted")
def _link_changed(sender, instance, **kwargs) -> None:
    forget_links([instance.token_hash])


@receiver(post_save, sender=Office, dispatch_uid="kiosk-link-office-saved")
def _link_office_changed(sender, instance, **kwargs) -> None:
    forget_links(KioskLink.objects.filter(office=instance).values_list("token_hash", flat=True))
