"""Visits: the queue's tickets, their lifecycle and five stages, what was done, what is still
open.

Invariants the database can hold are declared as constraints (unique ticket per office and day,
one active visit per visitor and office, valid statuses, a concluded outcome before done), so
that no code path, admin action or race can break them."""

import datetime as dt
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from visitors.offices.models import Office, ReasonForVisit, ReferralPartner, Service
from visitors.people.models import Visitor
from visitors.visits import lifecycle
from visitors.visits.lifecycle import Action, Outcome, Stage, Status, TransitionNotAllowed


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
    REMOTE = "remote", _("Joined from a phone")


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
        "followups.Appointment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
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
    # Database defaults too: bulk loaders (generate_history's COPY) name only the columns they fill.
    on_the_way = models.BooleanField(
        default=False,
        db_default=False,
        help_text=_("Joined from a phone and not arrived yet: keeps the place, is not called "
                    "next unless the office says so."),
    )  # fmt: skip
    arrived_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When someone who joined from a phone arrived.")
    )
    arrived_by = models.CharField(
        max_length=12,
        blank=True,
        default="",
        db_default="",
        help_text=_("How they said so: lobby code, kiosk or staff."),
    )
    travel_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("How long they said it takes them to get here.")
    )
    head_in_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When they were texted that it is time to head in.")
    )
    released_at = models.DateTimeField(
        null=True, blank=True,
        help_text=_("Called while on the way and not here within the grace time: place given up."),
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
    placed_back_at = models.DateTimeField(
        null=True, blank=True,
        help_text=_("When staff last gave this visitor their place back after Left or No-show."),
    )  # fmt: skip
    placed_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

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
    new_visitor: bool = False  # its visitor record was made in this very check-in

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

    def place_back(self, *, by, day: dt.date, **fields) -> None:
        """Back in line at their place; only on the visit's own office day."""
        if self.service_date != day:
            raise TransitionNotAllowed(
                _("Only today's visits get their place back; check them in again instead."),
                current=self.status,
            )
        self._apply(
            Action.PLACE_BACK,
            extra_filter=Q(service_date=day),
            ended_at=None,
            called_at=None,
            called_by=None,
            desk="",
            service_started_at=None,
            placed_back_at=timezone.now(),
            placed_back_by=by,
            **fields,
        )

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


def new_flow_key() -> str:
    """A kiosk flow's key: 256 random bits, URL-safe, always 43 characters."""
    return secrets.token_urlsafe(32)


class KioskFlow(models.Model):
    """A check-in under way on a kiosk tablet: what the visitor has told it so far.

    Between screens the tablet holds only ``key``, random and as long for everyone, so nothing
    on it says who the visitor is or whether they have been here before. A flow belongs to the
    kiosk link that started it and lapses ``TTL`` after its last step (the sweeper deletes it
    later). It lives in the database, not the cache: the kiosk and its count of second-factor
    attempts keep working while Redis is down, and no old form resets the count.
    """

    TTL = dt.timedelta(minutes=20)

    key = models.CharField(max_length=64, unique=True, default=new_flow_key, editable=False)
    link = models.ForeignKey("offices.KioskLink", on_delete=models.CASCADE, related_name="+")
    # The check-in's idempotency token (Visit.checkin_token): a repeated last step makes one visit.
    checkin_token = models.CharField(max_length=64, default=new_flow_key, editable=False)
    data = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"Kiosk flow {self.pk}"

    @classmethod
    def start(cls, *, link, data: dict, save: bool = True) -> "KioskFlow":
        """A new flow; with ``save=False`` not written yet: its first ``save_data`` inserts it,
        with whatever the request found meanwhile (one INSERT instead of three statements)."""
        flow = cls(link=link, data=data, expires_at=timezone.now() + cls.TTL)
        if save:
            flow.save(force_insert=True)
        return flow

    @classmethod
    def find(cls, *, link, key: str) -> "KioskFlow | None":
        """The link's unexpired flow with this key, or None."""
        if not key or len(key) > 64:
            return None
        return cls.objects.filter(link=link, key=key, expires_at__gt=timezone.now()).first()

    def save_data(self) -> None:
        """Keep ``data`` and give the flow another ``TTL`` from now."""
        self.expires_at = timezone.now() + self.TTL
        if self._state.adding:
            self.save(force_insert=True)
        else:
            self.save(update_fields=["data", "expires_at"])

    def claim_attempt(self, *, limit: int) -> bool:
        """Take one of the flow's ``limit`` second-factor attempts; False once all are taken."""
        if self._state.adding:
            # Not written yet, so its key has not left this request: no one else can take one.
            if self.attempts >= limit:
                return False
            self.attempts += 1
            return True
        taken = KioskFlow.objects.filter(pk=self.pk, attempts__lt=limit).update(
            attempts=models.F("attempts") + 1
        )
        self.refresh_from_db(fields=["attempts"])
        return taken == 1
