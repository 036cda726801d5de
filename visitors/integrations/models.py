"""Integrations: API tokens, webhook subscriptions and their deliveries."""

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from visitors.offices.models import Office


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
