"""What a visit promised at its future-reference stage: appointments, workshop seats and
follow-ups."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from visitors.offices.models import Office
from visitors.people.models import Visitor
from visitors.visits.models import Visit


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


class FollowUpState(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done: we spoke")
    CLOSED = "closed", _("Closed without contact")


class FollowUpKind(models.TextChoices):
    GENERAL = "general", _("Follow-up")
    HIRE_CHECK_IN = "hire_check_in", _("New-job check-in")


class FollowUp(models.Model):
    """A follow-up promised at the future-reference stage: a task for one staff member.

    It stays open until a two-way contact happened (a contact logged as *reached*) or someone
    closes it with a reason. Texts and emails support it; they never close it.

    A *new-job check-in* is one of the follow-ups a "Got hired!" visit schedules (one per day
    in the office's ``hire_check_in_days``): its two-way contact records whether they are
    still employed, the figure a workforce board reports after exit.
    """

    State = FollowUpState
    Kind = FollowUpKind

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
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.GENERAL)
    check_in_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("For a new-job check-in: days after the hire.")
    )
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
            models.CheckConstraint(
                condition=Q(kind__in=FollowUpKind.values), name="follow_up_kind_valid"
            ),
            # One promised follow-up per visit, and one check-in per day after a hire.
            models.UniqueConstraint(
                fields=["promised_on"],
                condition=Q(kind="general"),
                name="follow_up_once_per_visit",
            ),
            models.UniqueConstraint(
                fields=["promised_on", "check_in_days"],
                condition=Q(kind="hire_check_in"),
                name="hire_check_in_once",
            ),
            models.CheckConstraint(
                condition=Q(kind="general") | Q(check_in_days__isnull=False),
                name="hire_check_in_has_days",
            ),
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

    @property
    def is_hire_check_in(self) -> bool:
        return self.kind == FollowUpKind.HIRE_CHECK_IN


class ContactResult(models.TextChoices):
    REACHED = "reached", _("Reached them")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    NO_ANSWER = "no_answer", _("No answer")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    # A new-job check-in's two-way contact says how the job is going.
    STILL_EMPLOYED = "still_employed", _("Reached them: still employed")
    NOT_EMPLOYED = "not_employed", _("Reached them: no longer employed")


# The results that are a two-way contact: each closes its follow-up as done.
TWO_WAY_RESULTS = (ContactResult.REACHED, ContactResult.STILL_EMPLOYED, ContactResult.NOT_EMPLOYED)
# What a contact for a new-job check-in can be: how the job is going, or no contact yet.
HIRE_CHECK_IN_RESULTS = (
    ContactResult.STILL_EMPLOYED,
    ContactResult.NOT_EMPLOYED,
    ContactResult.NO_ANSWER,
    ContactResult.VOICEMAIL,
    ContactResult.WRONG_NUMBER,
)
GENERAL_RESULTS = (
    ContactResult.REACHED,
    ContactResult.VOICEMAIL,
    ContactResult.NO_ANSWER,
    ContactResult.WRONG_NUMBER,
)


class ContactMethod(models.TextChoices):
    PHONE = "phone", _("Phone call")
    TEXT = "text", _("Text message")
    EMAIL = "email", _("Email")
    IN_PERSON = "in_person", _("In person")


class FollowUpContact(models.Model):
    """One attempt to reach the visitor for a follow-up, and what came of it."""

    Result = ContactResult
    Method = ContactMethod
    TWO_WAY = TWO_WAY_RESULTS

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
