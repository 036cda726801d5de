"""Frontdesk's domain model.

Invariants the database can hold are declared here as constraints (unique ticket per office and
day, one active visit per visitor per office, valid statuses, a concluded outcome before done),
so that no code path, admin action or race can break them.
"""

import datetime as dt
import hashlib
import secrets
import zoneinfo
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator, URLValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from visitors import lifecycle
from visitors.lifecycle import Action, Outcome, Stage, Status, TransitionNotAllowed
from visitors.recognition import normalise_name, phone_digits, visitor_keys

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


def validate_opening_hours(value: object) -> None:
    """Opening hours look like {"mon": [["08:00", "17:00"]], …}; missing days are closed."""
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
                opens, closes = (dt.time.fromisoformat(t) for t in span)
            except (TypeError, ValueError):
                raise ValidationError(
                    _('%(day)s: %(span)s is not ["HH:MM", "HH:MM"].'),
                    params={"day": day, "span": span},
                ) from None
            if opens >= closes:
                raise ValidationError(
                    _("%(day)s: opening must be before closing."), params={"day": day}
                )


def default_opening_hours() -> dict:
    return {day: [["08:00", "17:00"]] for day in WEEKDAYS[:5]}


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Español"


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

    def is_open_at(self, at: dt.datetime) -> bool:
        local = at.astimezone(self.zone)
        spans = self.opening_hours.get(WEEKDAYS[local.weekday()], [])
        now = local.time()
        return any(
            dt.time.fromisoformat(opens) <= now < dt.time.fromisoformat(closes)
            for opens, closes in spans
        )


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


class PriorityCategory(models.TextChoices):
    NONE = "none", _("None")
    COVERED_VETERAN = "veteran", _("Covered veteran")
    ELIGIBLE_SPOUSE = "spouse", _("Eligible spouse")


class Visitor(models.Model):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    # Search keys: normalised copies of the names, kept in step by save().
    first_key = models.CharField(max_length=100, editable=False, db_index=True)
    last_key = models.CharField(max_length=100, editable=False)
    phone = models.CharField(max_length=32, blank=True)
    phone_last4 = models.CharField(max_length=4, blank=True, editable=False, db_index=True)
    email = models.EmailField(blank=True)
    birth_date = models.DateField(null=True, blank=True)
    preferred_language = models.CharField(
        max_length=5, choices=Language.choices, default=Language.ENGLISH
    )
    consent_sms = models.BooleanField(default=False, help_text=_("Agreed to text messages."))
    consent_email = models.BooleanField(default=False, help_text=_("Agreed to email."))
    consent_updated_at = models.DateTimeField(null=True, blank=True)
    priority_category = models.CharField(
        max_length=10, choices=PriorityCategory.choices, default=PriorityCategory.NONE
    )
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from",
        help_text=_("Set when this record was merged into another; it is then kept only as a "
                    "tombstone so that old links resolve."),
    )  # fmt: skip
    anonymised_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the personal data was removed.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["last_key", "first_key"], name="visitor_name_keys")]
        constraints = [
            models.CheckConstraint(
                condition=Q(priority_category__in=PriorityCategory.values),
                name="visitor_priority_category_valid",
            ),
            models.CheckConstraint(
                condition=Q(preferred_language__in=Language.values),
                name="visitor_language_valid",
            ),
            models.CheckConstraint(
                condition=Q(last_seen_at__gte=F("first_seen_at")),
                name="visitor_seen_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} {self.last_name}"

    def save(self, *args, **kwargs) -> None:
        self.fill_search_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            derived = {"first_key", "last_key", "phone_last4"}
            kwargs["update_fields"] = set(update_fields) | derived
        super().save(*args, **kwargs)
        if update_fields is None or {"first_name", "last_name"} & set(update_fields):
            VisitorNameKey.rebuild([self])

    def fill_search_keys(self) -> None:
        """Derive the stored search fields; bulk_create skips save(), so its callers call this."""
        self.first_key = normalise_name(self.first_name)
        self.last_key = normalise_name(self.last_name)
        self.phone_last4 = phone_digits(self.phone)[-4:]

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.first_name

    @property
    def is_covered_person(self) -> bool:
        """Covered veterans and eligible spouses are served ahead of others."""
        return self.priority_category != PriorityCategory.NONE


class VisitorNameKey(models.Model):
    """A blocking key for recognising a visitor by name (see visitors.recognition)."""

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="name_keys")
    key = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["key", "visitor"], name="visitor_name_key")]
        constraints = [
            models.UniqueConstraint(fields=["visitor", "key"], name="visitor_name_key_once"),
        ]

    def __str__(self) -> str:
        return self.key

    @classmethod
    def rebuild(cls, visitors) -> None:
        """Replace the keys of ``visitors`` (also after bulk_create, which skips save())."""
        visitors = list(visitors)
        VisitorNameKey.objects.filter(visitor__in=[v.pk for v in visitors]).delete()
        VisitorNameKey.objects.bulk_create(
            [
                VisitorNameKey(visitor_id=v.pk, key=key)
                for v in visitors
                for key in sorted(visitor_keys(v.first_name, v.last_name))
            ],
            batch_size=2000,
        )


class VisitorMerge(models.Model):
    """A record of two visitor records merged into one by staff."""

    kept = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="merges")
    merged_visitor_id = models.BigIntegerField()
    merged_name = models.CharField(max_length=210)
    moved = models.JSONField(default=dict, help_text=_("How many rows of each kind moved."))
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"{self.merged_name} → {self.kept}"


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
        if language == Language.SPANISH and self.label_es:
            return self.label_es
        return self.label_en

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


class EOSex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    DECLINED = "declined", _("Declined to answer")


class EOAgeBand(models.TextChoices):
    UNDER_18 = "u18", _("Under 18")
    AGE_18_24 = "18-24", "18–24"
    AGE_25_44 = "25-44", "25–44"
    AGE_45_54 = "45-54", "45–54"
    AGE_55_64 = "55-64", "55–64"
    AGE_65_PLUS = "65+", _("65 and over")
    DECLINED = "declined", _("Declined to answer")


class EOAnswer(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    DECLINED = "declined", _("Declined to answer")


class EqualOpportunityRecord(models.Model):
    """Optional equal-opportunity data, recorded by staff only and reported only in aggregate.

    Stored apart from Visitor, and with no reverse accessor, so that no screen that shows a
    visitor can reach it by accident.
    """

    RACE_ETHNICITY_CODES = (
        "hispanic_latino",
        "american_indian_alaska_native",
        "asian",
        "black_african_american",
        "native_hawaiian_pacific_islander",
        "white",
        "declined",
    )

    visitor = models.OneToOneField(Visitor, on_delete=models.CASCADE, related_name="+")
    race_ethnicity = models.JSONField(default=list, blank=True)
    sex = models.CharField(max_length=10, choices=EOSex.choices, default=EOSex.DECLINED)
    age_band = models.CharField(
        max_length=10, choices=EOAgeBand.choices, default=EOAgeBand.DECLINED
    )
    disability = models.CharField(
        max_length=10, choices=EOAnswer.choices, default=EOAnswer.DECLINED
    )
    limited_english = models.CharField(
        max_length=10, choices=EOAnswer.choices, default=EOAnswer.DECLINED
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        permissions = [
            ("view_eo_aggregates", "Can see equal-opportunity figures (aggregates only)"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(sex__in=EOSex.values), name="eo_sex_valid"),
            models.CheckConstraint(condition=Q(age_band__in=EOAgeBand.values), name="eo_age_valid"),
            models.CheckConstraint(
                condition=Q(disability__in=EOAnswer.values), name="eo_disability_valid"
            ),
            models.CheckConstraint(
                condition=Q(limited_english__in=EOAnswer.values), name="eo_lep_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Equal-opportunity record #{self.pk}"

    def clean(self) -> None:
        unknown = set(self.race_ethnicity) - set(self.RACE_ETHNICITY_CODES)
        if unknown:
            raise ValidationError({"race_ethnicity": _("Unknown codes: %s") % sorted(unknown)})


def new_status_token() -> str:
    """A visitor's status-page token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


class TicketCounter(models.Model):
    """The last ticket number handed out at an office on a local day."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+")
    service_date = models.DateField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["office", "service_date"], name="ticket_counter_unique_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.office_id} {self.service_date}: {self.last_number}"


class Source(models.TextChoices):
    KIOSK = "kiosk", _("Kiosk")
    DESK = "desk", _("Front desk")
    APPOINTMENT = "appointment", _("Appointment")
    API = "api", _("Integration (API)")


class Visit(models.Model):
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="visits")
    visitor = models.ForeignKey(Visitor, on_delete=models.PROTECT, related_name="visits")
    service_date = models.DateField(help_text=_("The office's local date of the check-in."))
    ticket_number = models.PositiveIntegerField()
    ticket_code = models.CharField(max_length=8)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.WAITING)
    priority = models.PositiveSmallIntegerField(
        default=0, help_text=_("Higher is served first; 1 for covered veterans and spouses.")
    )
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.KIOSK)
    reasons = models.ManyToManyField(ReasonForVisit, blank=True, related_name="visits")
    reason_other = models.CharField(max_length=200, blank=True)
    visitor_words = models.TextField(blank=True, help_text=_("What they need, in their words."))
    appointment = models.ForeignKey(
        "Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="visits"
    )

    checkin_token = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False,
        help_text=_("The kiosk form's idempotency token: a double-tapped submit makes one visit."),
    )  # fmt: skip
    status_token = models.CharField(
        max_length=64, unique=True, default=new_status_token, editable=False
    )
    identity_flag = models.CharField(
        max_length=200, blank=True,
        help_text=_("Why staff should check who this is, e.g. failed second-factor answers."),
    )  # fmt: skip
    notify_when_called = models.BooleanField(default=False)
    notify_when_ahead = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Text the visitor when this many people are ahead.")
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text=_("Transferred to this staff member."),
    )  # fmt: skip
    served_ahead = models.BooleanField(
        default=False, help_text=_("A covered person called ahead of others who came earlier.")
    )
    barriers = models.JSONField(
        default=list, blank=True, help_text=_("Significant barriers to employment (veterans).")
    )
    job_leads = models.TextField(blank=True)
    quoted_wait_min = models.PositiveSmallIntegerField(null=True, blank=True)
    quoted_wait_max = models.PositiveSmallIntegerField(null=True, blank=True)

    checked_in_at = models.DateTimeField(default=timezone.now)
    called_at = models.DateTimeField(null=True, blank=True)
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    desk = models.CharField(max_length=40, blank=True)
    service_started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    greeted_at = models.DateTimeField(null=True, blank=True)
    greeted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    determined_at = models.DateTimeField(null=True, blank=True)
    determined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    concluded_at = models.DateTimeField(null=True, blank=True)
    concluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    future_reference_at = models.DateTimeField(null=True, blank=True)
    future_reference_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("The visitor's own rating, 1 to 5, if they gave one.")
    )
    notes = models.TextField(blank=True)
    note_for_next_time = models.TextField(blank=True)

    # Set by the check-in services on the instance they return; not stored.
    replayed: bool = False  # the form or idempotency key had already made this visit
    wait_estimate: object = None  # selectors.WaitEstimate, quoted on the ticket

    class Meta:
        ordering = ["-checked_in_at"]
        indexes = [
            models.Index(fields=["office", "service_date", "status"], name="visit_office_day"),
            # Ranges across many offices (the dashboard's month, the export) read by day first.
            models.Index(fields=["service_date", "office"], name="visit_day_office"),
            models.Index(fields=["visitor", "-checked_in_at"], name="visit_visitor_recent"),
            # Staff on duty (who called someone in the last 90 minutes), asked at every check-in.
            models.Index(fields=["office", "called_at"], name="visit_office_called"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["office", "service_date", "ticket_number"], name="visit_unique_ticket"
            ),
            models.UniqueConstraint(
                fields=["office", "service_date", "ticket_code"], name="visit_unique_ticket_code"
            ),
            models.UniqueConstraint(
                fields=["office", "visitor"],
                condition=Q(status__in=[s.value for s in lifecycle.ACTIVE_STATUSES]),
                name="visit_one_active_per_visitor",
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="visit_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=Source.values), name="visit_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome="") | Q(outcome__in=Outcome.values), name="visit_outcome_valid"
            ),
            models.CheckConstraint(condition=Q(ticket_number__gt=0), name="visit_ticket_positive"),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="visit_rating_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[Status.WAITING, Status.LEFT, Status.NO_SHOW])
                | Q(called_at__isnull=False),
                name="visit_called_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.DONE) | (Q(concluded_at__isnull=False) & ~Q(outcome="")),
                name="visit_done_needs_outcome",
            ),
            models.CheckConstraint(
                condition=Q(determined_at__isnull=True) | Q(greeted_at__isnull=False),
                name="visit_stage_determining_after_greeting",
            ),
            models.CheckConstraint(
                condition=Q(responded_at__isnull=True) | Q(determined_at__isnull=False),
                name="visit_stage_responding_after_determining",
            ),
            models.CheckConstraint(
                condition=Q(concluded_at__isnull=True) | Q(responded_at__isnull=False),
                name="visit_stage_concluding_after_responding",
            ),
            models.CheckConstraint(
                condition=Q(future_reference_at__isnull=True) | Q(concluded_at__isnull=False),
                name="visit_stage_future_after_concluding",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_code} on {self.service_date}"

    @property
    def is_active(self) -> bool:
        return self.status in lifecycle.ACTIVE_STATUSES

    @property
    def recorded_stages(self) -> set[Stage]:
        return {stage for stage, (at, _by) in lifecycle.STAGE_FIELDS.items() if getattr(self, at)}

    def allowed_actions(self) -> list[Action]:
        return lifecycle.allowed_actions(self.status)

    # --- Status changes: compare-and-set, so the database settles races -----------------------

    def _apply(self, action: Action, *, extra_filter: Q | None = None, **fields) -> None:
        """Move this visit by ``action`` if it is still where the lifecycle allows.

        The UPDATE's WHERE carries the allowed source statuses: of two concurrent requests only
        one changes the row; the other sees 0 rows and gets a clear TransitionNotAllowed.
        """
        target = lifecycle.check_action(action, self.status)
        fields["status"] = target
        query = Q(pk=self.pk, status__in=list(lifecycle.STATUS_ACTIONS[action].sources))
        if extra_filter is not None:
            query &= extra_filter
        if action == Action.RECALL:
            # A recall must not overwrite a call made by someone else in between.
            query &= Q(called_at=self.called_at)
        changed = Visit.objects.filter(query).update(**fields)
        if changed == 0:
            current = Visit.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            raise TransitionNotAllowed(
                _("This visit has moved on (it is now %(status)s); the screen has been updated.")
                % {"status": str(Status(current).label).lower() if current else _("gone")},
                current=current,
            )
        for name, value in fields.items():
            setattr(self, name, value)

    def mark_called(self, *, by, desk: str = "") -> None:
        self._apply(Action.CALL, called_at=timezone.now(), called_by=by, desk=desk)

    def recall(self, *, by) -> None:
        self._apply(Action.RECALL, called_at=timezone.now(), called_by=by)

    def start_service(self, *, by) -> None:
        self._apply(Action.START_SERVICE, service_started_at=timezone.now())

    def return_to_queue(self) -> None:
        self._apply(
            Action.RETURN_TO_QUEUE, called_at=None, called_by=None, desk="", service_started_at=None
        )

    def mark_left(self, *, at: dt.datetime | None = None) -> None:
        self._apply(Action.MARK_LEFT, ended_at=at or timezone.now())

    def mark_no_show(self, *, at: dt.datetime | None = None) -> None:
        self._apply(Action.MARK_NO_SHOW, ended_at=at or timezone.now())

    def finish(self) -> None:
        lifecycle.check_finish(
            status=self.status, recorded=self.recorded_stages, outcome=self.outcome
        )
        self._apply(
            Action.FINISH,
            extra_filter=Q(concluded_at__isnull=False) & ~Q(outcome=""),
            ended_at=timezone.now(),
        )

    # --- The five stages ----------------------------------------------------------------------

    def record_stage(self, stage: Stage, *, by, outcome: str = "", **details) -> None:
        """Record who completed ``stage`` and when, with the stage's own details.

        Greeting a visitor who has been called starts their service.
        """
        lifecycle.check_stage(
            stage, status=self.status, recorded=self.recorded_stages, outcome=outcome
        )
        at_field, by_field = lifecycle.STAGE_FIELDS[stage]
        fields = {at_field: timezone.now(), by_field: by, **details}
        if stage == Stage.CONCLUDING:
            fields["outcome"] = outcome
        # Once means once: the row changes only while this stage is still unrecorded, so of
        # concurrent records exactly one wins and the others see "moved on".
        once = Q(**{f"{at_field}__isnull": True})
        if self.status == Status.CALLED:
            self._apply(
                Action.START_SERVICE, extra_filter=once, service_started_at=fields[at_field],
                **fields,
            )  # fmt: skip
            return
        changed = Visit.objects.filter(once, pk=self.pk, status=self.status).update(**fields)
        if changed == 0:
            raise TransitionNotAllowed(
                _("This visit has moved on (%(stage)s was already recorded, or it changed "
                  "status); the screen has been updated.") % {"stage": str(stage.label).lower()},
                current=self.status,
            )  # fmt: skip
        for name, value in fields.items():
            setattr(self, name, value)


class ServiceGiven(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="services_given")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    given_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name_plural = _("services given")
        constraints = [
            models.UniqueConstraint(fields=["visit", "service"], name="service_given_once"),
        ]

    def __str__(self) -> str:
        return f"{self.service} on {self.visit}"


class ReferralPartner(models.Model):
    name = models.CharField(max_length=160, unique=True)
    helps_with = models.TextField(help_text=_("What they help with, in plain words."))
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


class Referral(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="referrals")
    partner = models.ForeignKey(ReferralPartner, on_delete=models.PROTECT, related_name="referrals")
    note = models.CharField(max_length=300, blank=True)
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visit", "partner"], name="referral_once_per_visit"),
        ]

    def __str__(self) -> str:
        return f"{self.visit} → {self.partner}"


class RequestState(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class OpenRequest(models.Model):
    """A need raised on a visit and not yet met; it follows the visitor to their next visit."""

    State = RequestState

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="open_requests")
    visitor = models.ForeignKey(Visitor, on_delete=models.PROTECT, related_name="open_requests")
    raised_on = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="requests_raised")
    description = models.CharField(max_length=300)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_on = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests_resolved"
    )
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["office", "created_at"],
                condition=Q(state="open"),
                name="open_request_open",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=RequestState.values), name="open_request_state_valid"
            ),
            models.CheckConstraint(
                condition=(Q(state="open") & Q(resolved_at__isnull=True))
                | (Q(state="resolved") & Q(resolved_at__isnull=False)),
                name="open_request_resolved_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.description


class AppointmentState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    KEPT = "kept", _("Kept")
    MISSED = "missed", _("Missed")
    CANCELLED = "cancelled", _("Cancelled")


class Appointment(models.Model):
    State = AppointmentState

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="appointments")
    visitor = models.ForeignKey(Visitor, on_delete=models.PROTECT, related_name="appointments")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=30)
    purpose = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    booked_on = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments_booked"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["office", "starts_at"], name="appointment_office_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=AppointmentState.values), name="appointment_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0), name="appointment_duration_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} at {self.starts_at:%Y-%m-%d %H:%M}"


class Workshop(models.Model):
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="workshops")
    title = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    capacity = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    location = models.CharField(max_length=160, blank=True)
    is_cancelled = models.BooleanField(default=False)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gt=0), name="workshop_capacity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_at:%Y-%m-%d})"


class WorkshopSignup(models.Model):
    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="signups")
    visitor = models.ForeignKey(Visitor, on_delete=models.PROTECT, related_name="workshop_signups")
    signed_up_on = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    attended = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workshop", "visitor"], name="signup_once"),
        ]

    def __str__(self) -> str:
        return f"{self.visitor} → {self.workshop}"


class ReminderKind(models.TextChoices):
    APPOINTMENT = "appointment", _("Appointment reminder")
    WORKSHOP = "workshop", _("Workshop reminder")
    REFERRAL_FOLLOW_UP = "referral_follow_up", _("Referral follow-up")
    REFERRAL_DETAILS = "referral_details", _("Referral details for the visitor")
    CALLED_NOW = "called_now", _("You're being called")
    QUEUE_POSITION = "queue_position", _("People ahead of you")
    CALL_BACK_DUE = "call_back_due", _("Promised call-back due")
    BROADCAST = "broadcast", _("Message to everyone waiting")
    DAILY_SUMMARY = "daily_summary", _("Daily summary")


class ReminderChannel(models.TextChoices):
    SMS = "sms", _("Text message")
    EMAIL = "email", _("Email")
    CONSOLE = "console", _("Staff console")


class ReminderState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Reminder(models.Model):
    """One message to send, as a row in the outbox: swept when due, never an ETA broker task."""

    Kind = ReminderKind

    Channel = ReminderChannel

    State = ReminderState

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="reminders")
    visitor = models.ForeignKey(
        Visitor, null=True, blank=True, on_delete=models.PROTECT, related_name="reminders"
    )
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=120, unique=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(
        max_length=32, blank=True, help_text=_("Who holds the lease: only they may mark it sent.")
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=120, blank=True)
    context = models.JSONField(default=dict, blank=True)
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="reminders"
    )
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    workshop = models.ForeignKey(
        Workshop, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(state="scheduled"), name="reminder_due_scheduled"
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(state="sending"),
                name="reminder_lease_sending",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ReminderKind.values), name="reminder_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=ReminderChannel.values), name="reminder_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=ReminderState.values), name="reminder_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state="sent") | Q(sent_at__isnull=False),
                name="reminder_sent_has_time",
            ),
            models.CheckConstraint(
                condition=Q(visitor__isnull=False) | Q(recipient_user__isnull=False),
                name="reminder_has_recipient",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} via {self.get_channel_display()} at {self.due_at}"


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
        cls, *, office: Office, token: str, capability: str = "check_in"
    ) -> "KioskLink | None":
        if not token or len(token) > 100:
            return None
        return cls.objects.filter(
            office=office,
            token_hash=cls.hash_token(token),
            capability=capability,
            revoked_at__isnull=True,
        ).first()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class FollowUpState(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done: we spoke")
    CLOSED = "closed", _("Closed without contact")


class FollowUp(models.Model):
    """A follow-up promised at the future-reference stage: a task for one staff member.

    It stays open until a two-way contact happened (a contact logged as *reached*) or someone
    closes it with a reason. Texts and emails support it; they never close it.
    """

    State = FollowUpState

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="follow_ups")
    visitor = models.ForeignKey(Visitor, on_delete=models.PROTECT, related_name="follow_ups")
    promised_on = models.ForeignKey(
        Visit, on_delete=models.PROTECT, related_name="follow_ups_promised"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    due_on = models.DateField()
    note = models.CharField(max_length=300, blank=True, help_text=_("What was promised."))
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    close_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [
            models.Index(
                fields=["office", "assigned_to", "due_on"],
                condition=Q(state="open"),
                name="follow_up_open_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=FollowUpState.values), name="follow_up_state_valid"
            ),
            models.UniqueConstraint(fields=["promised_on"], name="follow_up_once_per_visit"),
            models.CheckConstraint(
                condition=Q(state="open") | Q(closed_at__isnull=False),
                name="follow_up_closed_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state="closed") | ~Q(close_reason=""),
                name="follow_up_closed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Follow up with {self.visitor} by {self.due_on}"


class ContactResult(models.TextChoices):
    REACHED = "reached", _("Reached them")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    NO_ANSWER = "no_answer", _("No answer")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class ContactMethod(models.TextChoices):
    PHONE = "phone", _("Phone call")
    TEXT = "text", _("Text message")
    EMAIL = "email", _("Email")
    IN_PERSON = "in_person", _("In person")


class FollowUpContact(models.Model):
    """One attempt to reach the visitor for a follow-up, and what came of it."""

    Result = ContactResult
    Method = ContactMethod

    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="contacts")
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.PHONE)
    result = models.CharField(max_length=14, choices=Result.choices)
    outcome = models.TextField(blank=True, help_text=_("What came of it."))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(result__in=ContactResult.values), name="contact_result_valid"
            ),
            models.CheckConstraint(
                condition=Q(method__in=ContactMethod.values), name="contact_method_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_result_display()} ({self.at:%Y-%m-%d %H:%M})"


class AuditAction(models.TextChoices):
    VIEW = "view", _("Viewed")
    CHANGE = "change", _("Changed")
    MERGE = "merge", _("Merged")
    EXPORT = "export", _("Exported")
    ERASE = "erase", _("Erased on request")
    ANONYMISE = "anonymise", _("Anonymised (retention)")


class AuditEvent(models.Model):
    """Who viewed or changed a visitor's record, when, and where. Holds ids, never the data.

    ``visitor_id`` is a plain number, not a foreign key, so the trail outlives an erasure.
    """

    Action = AuditAction

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    visitor_id = models.BigIntegerField(db_index=True)
    visit_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    what = models.CharField(max_length=120, help_text=_("The screen or step, e.g. 'profile'."))

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=AuditAction.values), name="audit_action_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} visitor #{self.visitor_id} ({self.what})"


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


# --- Integrations: API tokens and webhooks --------------------------------------------------


class ApiScope(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and write")


API_TOKEN_PREFIX = "fd_"


class ApiToken(models.Model):
    """A credential for one integration: acts for the office admin who made it, limited to its
    offices and scope, and never beyond what that person's memberships allow today.

    The token is shown once; only its SHA-256 is stored (it is 256 random bits, so a slow
    password hash would add nothing). ``prefix`` is its public start, to tell tokens apart.
    """

    Scope = ApiScope

    name = models.CharField(max_length=80, help_text=_("Which system uses it, e.g. Case manager."))
    prefix = models.CharField(max_length=16, editable=False, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.READ)
    offices = models.ManyToManyField(Office, related_name="api_tokens")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["revoked_at", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=ApiScope.values), name="api_token_scope_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, *, name: str, offices, scope: str, created_by) -> tuple["ApiToken", str]:
        """Create a token; return it with its secret, which is stored only as a hash."""
        public = secrets.token_hex(4)
        raw = f"{API_TOKEN_PREFIX}{public}_{secrets.token_urlsafe(32)}"
        token = cls.objects.create(
            name=name, prefix=f"{API_TOKEN_PREFIX}{public}", token_hash=cls.hash_token(raw),
            scope=scope, created_by=created_by,
        )  # fmt: skip
        token.offices.set(offices)
        return token, raw

    @classmethod
    def find_active(cls, raw: str) -> "ApiToken | None":
        if not raw or len(raw) > 100:
            return None
        return (
            cls.objects.select_related("created_by")
            .filter(token_hash=cls.hash_token(raw), revoked_at__isnull=True)
            .first()
        )

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == ApiScope.WRITE


class WebhookEvent(models.TextChoices):
    VISIT_CHECKED_IN = "visit.checked_in", _("A visitor checked in")
    VISIT_CALLED = "visit.called", _("A visitor was called")
    VISIT_CONCLUDED = "visit.concluded", _("A visit was concluded with an outcome")
    REMINDER_FAILED = "reminder.failed", _("A reminder could not be delivered")


def new_webhook_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class WebhookSubscription(models.Model):
    """Where to POST an office's events. The signing secret must be kept readable to sign with,
    so it is shown once, on creation, and never again on any page."""

    Event = WebhookEvent

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(
        max_length=500, validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Where to POST the events: an http or https address."),
    )  # fmt: skip
    events = models.JSONField(default=list, help_text=_("Event names to send."))
    secret = models.CharField(max_length=100, default=new_webhook_secret, editable=False)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["office", "url"]

    def __str__(self) -> str:
        return f"{self.office} → {self.url}"

    def clean(self) -> None:
        unknown = set(self.events) - set(WebhookEvent.values)
        if unknown or not self.events:
            raise ValidationError({"events": _("Choose at least one known event.")})


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event for one subscription, and what happened when it was sent."""

    State = DeliveryState

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    event_id = models.CharField(max_length=40, help_text=_("The same for every subscription."))
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        default=timezone.now,
        help_text=_("When the next attempt is due; while one runs, the end of its lease. A "
                    "pending row past it (a lost task) is queued again by the sweeper."),
    )  # fmt: skip

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_recent"),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="webhook_delivery_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=DeliveryState.values), name="webhook_delivery_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription.url} ({self.state})"
