"""The outbox of texts and emails to visitors and staff."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from visitors.followups.models import Appointment, FollowUp, Workshop
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
    REPLY = "reply", _("Reply from staff")
    REPLY_RECEIVED = "reply_received", _("A visitor replied to your text")
    APPOINTMENT_ARRIVED = "appointment_arrived", _("Your appointment has arrived")
    HEAD_IN = "head_in", _("Time to head in")
    PLACE_RELEASED = "place_released", _("Place given up (not here when called)")
    BOOKING_CONFIRMED = "booking_confirmed", _("Booking confirmed")
    BOOKING_CHANGED = "booking_changed", _("Booking moved or cancelled")


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
            # For recovery's "sending, lease run out". Not usable by the compare-and-sets on one
            # row (id, state "sending", claim: they do not imply a lease), which PostgreSQL
            # otherwise ran through it — scanning every row being sent, for each of them —
            # whenever its statistics were taken with few rows sending.
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(state="sending", lease_expires_at__isnull=False),
                name="reminder_lease_held",
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


class Conversation(models.Model):
    """A thread of text messages between an office and one person, or one unknown number.

    Every inbound text that is not a keyword (STOP, START, HELP) lands in one. Which thread:

    - A number on file for a visitor: that visitor's thread at the office of the latest text we
      sent to the number (``Reminder.office``), else at the office of their latest visit. Several
      records with the number (family members sharing a phone): the one that was texted last.
    - A number on no visitor's file (an *unknown sender*): the thread this number wrote to
      before (also one an admin has since attached to a person: it stays theirs), else the office
      whose own phone number the text was sent to, else the only office when there is one. Else
      the thread has no office: office admins see it in their inbox and attach it to a person
      at their office, which moves it there. Until then nobody can reply: we do not know whom
      we would text, nor whether they agreed to texts.

    A visitor's thread is seen only by the staff of its office. ``key`` makes one thread per
    office and person (or number) even when two texts arrive at once.
    """

    office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.PROTECT, related_name="conversations"
    )
    visitor = models.ForeignKey(
        Visitor, null=True, blank=True, on_delete=models.PROTECT, related_name="conversations"
    )
    phone = models.CharField(max_length=32, blank=True, help_text=_("The number as it wrote."))
    number = models.CharField(
        max_length=32, blank=True, db_index=True, help_text=_("Its national digits, to match.")
    )
    key = models.CharField(max_length=80, unique=True, editable=False)
    last_message_at = models.DateTimeField(default=timezone.now)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    awaiting_reply_since = models.DateTimeField(
        null=True, blank=True,
        help_text=_("The first text since staff last answered: the thread needs a person."),
    )  # fmt: skip
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_message_at", "-pk"]
        indexes = [
            models.Index(fields=["office", "-last_message_at"], name="conversation_office_latest"),
            models.Index(
                fields=["office", "awaiting_reply_since"],
                condition=Q(awaiting_reply_since__isnull=False),
                name="conversation_awaiting",
            ),
        ]

    def __str__(self) -> str:
        return f"Texts with {self.visitor or self.phone}"

    @staticmethod
    def key_for(*, office_id: int | None, visitor_id: int | None, number: str) -> str:
        where = office_id or "-"
        return f"{where}:v{visitor_id}" if visitor_id else f"{where}:n{number}"


class MessageDirection(models.TextChoices):
    INBOUND = "in", _("From the visitor")
    OUTBOUND = "out", _("From staff")


class ConversationMessage(models.Model):
    """One text in a thread: the visitor's words as they arrived, or a staff reply (sent through
    the outbox: ``reminder`` is the row that carries it, with its delivery state)."""

    Direction = MessageDirection

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(max_length=3, choices=Direction.choices)
    body = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reminder = models.OneToOneField(
        Reminder, null=True, blank=True, on_delete=models.SET_NULL, related_name="message"
    )
    follow_up = models.ForeignKey(
        FollowUp, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    provider_message_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction__in=MessageDirection.values), name="message_direction_valid"
            ),
            # Twilio posts a text again when we answer slowly: keep it once.
            models.UniqueConstraint(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="message_provider_id_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} at {self.created_at:%Y-%m-%d %H:%M}"


class ConversationRead(models.Model):
    """When one staff member last opened a thread: what came in after that is unread for them."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="conversation_read_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} read {self.conversation} at {self.read_at}"
