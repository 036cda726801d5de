"""The outbox of texts and emails to visitors and staff."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from visitors.followups.models import Appointment, Workshop
from visitors.offices.models import Office
from visitors.people.models import Visitor
from visitors.visits.models import Visit


class ReminderKind(models.TextChoices):
    APPOINTMENT = "appointment", _("Appointment reminder")
    WORKSHOP = "workshop", _("Workshop reminder")
    REFERRAL_FOLLOW_UP = "referral_follow_up", _("Referral follow-up")
    REFERRAL_DETAILS = "referral_details", _("Referral details for the visitor")
    CALLED_NOW = "called_now", _("You're being called")
    QUEUE_POSITION = "queue_position", _("People ahead of you")
    CALL_BACK_DUE = "call_back_due", _("Promised call-back due")
    BROADCAST = "broadcast", _("Message to everyone waiting")
    CHECKED_IN = "checked_in", _("Your ticket and status link")
    HIRED = "hired", _("Congratulations on the new job")
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
    provider_attempted_at = models.DateTimeField(
        null=True, blank=True,
        help_text=_("When a worker last handed this text to the provider: a row left sending "
                    "after that is checked with the provider before it is sent again."),
    )  # fmt: skip
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


class OfficeMessage(models.Model):
    """A message to everyone waiting ("we're running 20 minutes late"): shown on the status
    pages and the lobby display until it expires, and texted to those who agreed."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="messages")
    text_en = models.CharField(_("message (English)"), max_length=300)
    text_es = models.CharField(_("message (Spanish)"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["office", "expires_at"], name="office_message_live")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="office_message_expires"
            ),
        ]

    def __str__(self) -> str:
        return self.text_en

    def text_for(self, language: str) -> str:
        return self.text_es if language == "es" and self.text_es else self.text_en
