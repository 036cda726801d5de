"""Online booking: appointment types, staff availability and the seats of each slot.

A booking is a ``followups.Appointment`` (which the console already lists and reminds of) plus
a ``BookingSeat`` that holds its place. The seat table is what makes double booking impossible:
a slot's seats are numbered 1..capacity, and a unique constraint lets one appointment hold each
number — per staff member for a staff-led type (so one person is not booked twice at the same
time, across types too), per type for a group session without staff.
"""

import datetime as dt
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from visitors.followups.models import Appointment
from visitors.offices.models import Office, ReasonForVisit, is_english_only, text_for


class AppointmentType(models.Model):
    """What can be booked at an office, for how long, with whom and how far ahead."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="appointment_types")
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_es = models.CharField(_("name (Spanish)"), max_length=120, blank=True)
    reason = models.ForeignKey(
        ReasonForVisit,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The reason for visit the appointment counts as when they check in."),
    )
    duration_minutes = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    capacity_per_slot = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_(
            "People per slot for each staff member (or in all, for a group session without staff)."
        ),
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        help_text=_(
            "Who can take it, in their available hours. None: a group session held "
            "whenever the office is open."
        ),
    )
    book_ahead_days = models.PositiveSmallIntegerField(
        default=14,
        validators=[MaxValueValidator(90)],
        help_text=_("How many days ahead people can book."),
    )
    same_day_cutoff_minutes = models.PositiveSmallIntegerField(
        default=60, help_text=_("A slot can be booked until this many minutes before it starts.")
    )
    is_active = models.BooleanField(default=True)
    bookable_online = models.BooleanField(
        default=True, help_text=_("Offered on the office's public page (the desk can always book).")
    )

    class Meta:
        ordering = ["office", "name_en"]
        constraints = [
            models.UniqueConstraint(fields=["office", "name_en"], name="appointment_type_name"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0), name="appointment_type_duration_positive"
            ),
            models.CheckConstraint(
                condition=Q(capacity_per_slot__gt=0), name="appointment_type_capacity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_en} ({self.office})"

    def name_for(self, language: str) -> str:
        return text_for(language, self.name_en, self.name_es)

    def name_is_english_only(self, language: str) -> bool:
        return is_english_only(language, self.name_en, self.name_es)


class StaffAvailability(models.Model):
    """A staff member's weekly hours for appointments at an office (office local time)."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="availability")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    weekday = models.PositiveSmallIntegerField(
        choices=[
            (n, day)
            for n, day in enumerate(
                [
                    _("Monday"),
                    _("Tuesday"),
                    _("Wednesday"),
                    _("Thursday"),
                    _("Friday"),
                    _("Saturday"),
                    _("Sunday"),
                ]
            )
        ],
    )
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["office", "user", "weekday", "starts"]
        verbose_name_plural = _("staff availability")
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="availability_weekday"),
            models.CheckConstraint(
                condition=Q(starts__lt=models.F("ends")), name="availability_starts_before_ends"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"


class AvailabilityException(models.Model):
    """One day that differs from the weekly hours: time off (all day when no hours are given),
    or extra hours (``available``). Without a user it is the whole office's."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: everyone at the office."),
    )
    date = models.DateField()
    starts = models.TimeField(null=True, blank=True)
    ends = models.TimeField(null=True, blank=True)
    available = models.BooleanField(
        default=False, help_text=_("Ticked: extra hours that day. Unticked: time off.")
    )
    note = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["office", "date", "starts"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(starts__isnull=True) & Q(ends__isnull=True))
                | Q(starts__lt=models.F("ends")),
                name="exception_hours_in_order",
            ),
            models.CheckConstraint(
                condition=Q(available=False) | Q(starts__isnull=False),
                name="exception_extra_hours_given",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or _('Everyone')} {self.date}"

    def clean(self) -> None:
        if (self.starts is None) != (self.ends is None):
            raise ValidationError(_("Give both times, or neither for the whole day."))
        if self.available and self.starts is None:
            raise ValidationError(_("Extra hours need a start and an end."))


class BookingSeat(models.Model):
    """One place in one slot, held by one appointment; deleted when it is cancelled."""

    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="seats"
    )
    starts_at = models.DateTimeField()
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    seat_number = models.PositiveSmallIntegerField()
    appointment = models.OneToOneField(Appointment, on_delete=models.CASCADE, related_name="seat")

    class Meta:
        indexes = [models.Index(fields=["appointment_type", "starts_at"], name="seat_type_time")]
        constraints = [
            # A staff member's seats at one time are numbered 1..capacity whatever the type:
            # one person is not booked into more places than that at the same moment.
            models.UniqueConstraint(
                fields=["staff", "starts_at", "seat_number"],
                condition=Q(staff__isnull=False),
                name="seat_once_per_staff",
            ),
            models.UniqueConstraint(
                fields=["appointment_type", "starts_at", "seat_number"],
                condition=Q(staff__isnull=True),
                name="seat_once_per_session",
            ),
            models.CheckConstraint(condition=Q(seat_number__gt=0), name="seat_number_positive"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.appointment_type.name_en} {self.starts_at:%Y-%m-%d %H:%M} #{self.seat_number}"
        )


def new_manage_token() -> str:
    return secrets.token_urlsafe(32)  # 43 characters


class MadeBy(models.TextChoices):
    ONLINE = "online", _("Online")
    DESK = "desk", _("At the desk")


class Booking(models.Model):
    """How an appointment was booked, and the token of its cancel/move link."""

    MadeBy = MadeBy

    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="booking"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="bookings"
    )
    manage_token = models.CharField(max_length=64, unique=True, default=new_manage_token)
    phone = models.CharField(max_length=20, blank=True, help_text=_("E.164"))
    made_by = models.CharField(max_length=6, choices=MadeBy.choices)
    form_token = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False,
        help_text=_("The desk form's one-time token: a double-clicked Book makes one booking."),
    )  # fmt: skip
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], name="booking_created")]
        constraints = [
            models.CheckConstraint(condition=Q(made_by__in=MadeBy.values), name="booking_made_by"),
        ]

    def __str__(self) -> str:
        return f"Booking {self.pk} ({self.get_made_by_display()})"

    @property
    def ends_at(self) -> dt.datetime:
        appointment = self.appointment
        return appointment.starts_at + dt.timedelta(minutes=appointment.duration_minutes)
