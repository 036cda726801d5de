"""Integrations: API tokens, webhook subscriptions and their deliveries."""

import contextlib
import hashlib
import logging
import secrets

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from frontdesk.cache import Recently, forget, prefetch
from visitors.offices.models import Office


class ApiScope(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and write")


API_TOKEN_PREFIX = "fd_"

logger = logging.getLogger(__name__)

# Every API request looks up its token, and most the office in their path: both are kept in the
# cache for API_CACHE_SECONDS and forgotten as soon as what they were read from changes — the
# token (saved, deleted, or changed by an UPDATE, which is how it is revoked), its offices, its
# maker, or the office — so a revoked token is refused at the very next request.
API_CACHE_SECONDS = 30
TOUCH_SECONDS = 60
_USED_HERE = Recently(TOUCH_SECONDS)


def token_key(token_hash: str) -> str:
    return f"api-token:{token_hash}"


def office_key(slug: str) -> str:
    return f"api-office:{slug}"


def _forget(keys) -> None:
    forget(keys, what="API tokens or offices")


def forget_tokens(hashes) -> None:
    _forget(token_key(h) for h in hashes)


class ApiTokenQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        """As QuerySet.update, and the cached copies of the rows it changes are forgotten (a
        token is revoked with an UPDATE)."""
        hashes = list(self.values_list("token_hash", flat=True))
        updated = super().update(**kwargs)
        forget_tokens(hashes)
        return updated


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

    objects = ApiTokenQuerySet.as_manager()
    office_ids: frozenset[int]  # the pks of its offices, read with it (find_active)

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
    def find_active(cls, raw: str, *, office_slug: str | None = None) -> "ApiToken | None":
        """The active token, with its maker and ``office_ids`` (cached briefly, forgotten on
        any change; a token not found is not remembered). ``office_slug``: the office the
        request names, whose cached copy (``office()``) is read in the same round trip."""
        if not raw or len(raw) > 100:
            return None
        token_hash = cls.hash_token(raw)
        if office_slug:
            prefetch([token_key(token_hash), office_key(office_slug)])
        found = None
        with contextlib.suppress(Exception):  # no cache: read the row
            found = cache.get(token_key(token_hash))
        if found is not None:
            return found
        found = (
            cls.objects.select_related("created_by")
            .defer("created_by__password")  # not to be copied into the cache
            .filter(token_hash=token_hash, revoked_at__isnull=True)
            .first()
        )
        if found is not None:
            found.office_ids = frozenset(found.offices.values_list("pk", flat=True))
            with contextlib.suppress(Exception):
                cache.set(token_key(token_hash), found, API_CACHE_SECONDS)
        return found

    def office(self, slug: str) -> Office | None:
        """The office named ``slug`` if it is one of this token's (cached briefly by slug,
        forgotten when the office is saved or deleted)."""
        if not hasattr(self, "office_ids"):
            self.office_ids = frozenset(self.offices.values_list("pk", flat=True))
        found = None
        with contextlib.suppress(Exception):
            found = cache.get(office_key(slug))
        if found is None or found.slug != slug or found.pk not in self.office_ids:
            found = Office.objects.filter(slug=slug).first()
            if found is not None:
                with contextlib.suppress(Exception):
                    cache.set(office_key(slug), found, API_CACHE_SECONDS)
        return found if found is not None and found.pk in self.office_ids else None

    def touch(self, now) -> None:
        """Record that the token was used, at most once a minute (TOUCH_SECONDS): a mark in the
        cache says it was just done, as the cached copy keeps the time it was read with. Use
        changes nothing the token may do, so the cached copy is not forgotten. This process
        remembers its own mark too, and asks Redis only when that has lapsed."""
        if not _USED_HERE.due(self.token_hash, f"api-token-used:{self.pk}"):
            return
        models.QuerySet.update(ApiToken.objects.filter(pk=self.pk), last_used_at=now)
        self.last_used_at = now

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == ApiScope.WRITE


@receiver(post_save, sender=ApiToken, dispatch_uid="api-token-saved")
@receiver(post_delete, sender=ApiToken, dispatch_uid="api-token-deleted")
def _token_changed(sender, instance, **kwargs) -> None:
    forget_tokens([instance.token_hash])


@receiver(m2m_changed, sender=ApiToken.offices.through, dispatch_uid="api-token-offices")
def _token_offices_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:  # token.offices.…
        forget_tokens([instance.token_hash])
    else:  # office.api_tokens.…
        tokens = ApiToken.objects.filter(pk__in=pk_set) if pk_set else instance.api_tokens.all()
        forget_tokens(tokens.values_list("token_hash", flat=True))


@receiver(pre_save, sender=Office, dispatch_uid="api-office-saving")
def _office_saving(sender, instance, update_fields=None, **kwargs) -> None:
    if instance.pk is None:
        return
    # Under its old slug too, when the slug changes (the cached copy checks it, but only
    # against itself).
    old = Office.objects.filter(pk=instance.pk).values_list("slug", flat=True).first()
    if old and old != instance.slug:
        _forget([office_key(old)])


@receiver(post_save, sender=Office, dispatch_uid="api-office-saved")
@receiver(post_delete, sender=Office, dispatch_uid="api-office-deleted")
def _office_changed(sender, instance, **kwargs) -> None:
    _forget([office_key(instance.slug)])


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="api-token-maker-saved")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="api-token-maker-deleted")
def _maker_changed(sender, instance, update_fields=None, **kwargs) -> None:
    if update_fields and set(update_fields) <= {"last_login"}:
        return  # signing in changes nothing a token depends on
    forget_tokens(
        ApiToken.objects.filter(created_by_id=instance.pk).values_list("token_hash", flat=True)
    )


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
