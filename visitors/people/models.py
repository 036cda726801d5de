"""Visitors: their records, the keys that recognise them, merges, equal-opportunity data, and the
audit trail of who saw or changed them."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from frontdesk import db
from visitors.offices.models import Language, Office
from visitors.people.recognition import normalise_name, phone_digits, visitor_keys


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
    # The office that made the record before any visit (an integration's POST, an import with
    # --office): it alone sees it, and checks it in by id, until the person has records
    # elsewhere too. Null for a record made by a check-in (its visit says where) and for older
    # records.
    registered_at = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("The office that made this record before any visit."),
    )  # fmt: skip
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
        adding = self._state.adding
        if adding and self.pk is None and not args and not kwargs:
            db.insert(self)  # a new record (every newcomer's check-in): one INSERT, as save()'s
        else:
            super().save(*args, **kwargs)
        # The key rows carry the names' keys and the second factors (phone digits, birthday).
        if adding:
            db.insert_rows(VisitorNameKey.rows_for(self))  # none to replace
        elif update_fields is None or VisitorNameKey.SOURCE_FIELDS & set(update_fields):
            VisitorNameKey.rebuild([self])

    def fill_search_keys(self) -> None:
        """Derive the stored search fields; bulk_create skips save(), so its callers call this."""
        # A normalised name can be longer than the name (ß -> ss, ligatures spelt out); the key
        # is for prefix search, so its first 100 characters are enough.
        self.first_key = normalise_name(self.first_name)[:100]
        self.last_key = normalise_name(self.last_name)[:100]
        self.phone_last4 = phone_digits(self.phone)[-4:]

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.first_name

    @property
    def is_covered_person(self) -> bool:
        """Covered veterans and eligible spouses are served ahead of others."""
        return self.priority_category != PriorityCategory.NONE


class VisitorNameKey(models.Model):
    """A blocking key for recognising a visitor by name (see visitors.people.recognition).

    Each row also carries the visitor's second factors — the last 4 phone digits and the birth
    month and day — so that "everyone sharing a name key *and* the answer given" is one short
    index range per key (``(key, phone_last4)``, ``(key, birth_month_day)``), however common
    the name. They are copies: ``rebuild`` (called by ``Visitor.save`` whenever a name, the
    phone or the birth date may have changed, and by every bulk writer) keeps them in step, so
    change those fields through ``save()``, never ``QuerySet.update()``.
    """

    # The Visitor fields the rows are made from.
    SOURCE_FIELDS = frozenset({"first_name", "last_name", "phone", "birth_date"})

    # No index of its own: the unique (visitor, key) index below serves lookups by visitor.
    visitor = models.ForeignKey(
        Visitor, on_delete=models.CASCADE, related_name="name_keys", db_index=False
    )
    key = models.CharField(max_length=64)
    phone_last4 = models.CharField(max_length=4, blank=True, default="")
    birth_month_day = models.PositiveSmallIntegerField(null=True, blank=True)  # 412: 12 April

    class Meta:
        indexes = [
            models.Index(fields=["key", "visitor"], name="visitor_name_key"),
            models.Index(fields=["key", "phone_last4", "visitor"], name="visitor_name_key_phone"),
            models.Index(
                fields=["key", "birth_month_day", "visitor"], name="visitor_name_key_birthday"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["visitor", "key"], name="visitor_name_key_once"),
        ]

    def __str__(self) -> str:
        return self.key

    @staticmethod
    def month_day(birth_date) -> int | None:
        """A birth date as stored on key rows (month × 100 + day), or None."""
        if isinstance(birth_date, str):  # assigned from text and not yet read back
            birth_date = dt.date.fromisoformat(birth_date) if birth_date else None
        return birth_date.month * 100 + birth_date.day if birth_date else None

    @classmethod
    def values_for(cls, visitor, keys=None) -> list[tuple[str, str, int | None]]:
        """``(key, phone_last4, birth_month_day)`` of each key row of ``visitor``; ``keys``
        are its names' keys when the caller has them already (a bulk import caches them)."""
        phone_last4 = phone_digits(visitor.phone)[-4:]
        month_day = cls.month_day(visitor.birth_date)
        if keys is None:
            keys = sorted(visitor_keys(visitor.first_name, visitor.last_name))
        return [(key, phone_last4, month_day) for key in keys]

    @classmethod
    def rows_for(cls, visitor, keys=None) -> list["VisitorNameKey"]:
        """The key rows of one visitor (it must have its pk), unsaved."""
        return [
            cls(visitor_id=visitor.pk, key=key, phone_last4=last4, birth_month_day=month_day)
            for key, last4, month_day in cls.values_for(visitor, keys)
        ]

    @classmethod
    def rebuild(cls, visitors) -> None:
        """Replace the keys of ``visitors`` (also after bulk_create, which skips save())."""
        visitors = list(visitors)
        VisitorNameKey.objects.filter(visitor__in=[v.pk for v in visitors]).delete()
        VisitorNameKey.objects.bulk_create(
            [row for v in visitors for row in cls.rows_for(v)], batch_size=2000
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


class VerificationPurpose(models.TextChoices):
    JOIN = "join", _("Join the line from a phone")
    BOOK = "book", _("Book a time online")


class PhoneVerification(models.Model):
    """A one-time code sent by text to prove a number before a place or a booking is taken.

    Holds the number (E.164) and a keyed hash of the code, never the code itself. The
    ``token`` travels in the visitor's form between steps; a verified token is good for one
    place or one booking (``used_at``) within ``VERIFY_VALID_MINUTES`` of being proved.
    """

    Purpose = VerificationPurpose

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    phone = models.CharField(max_length=20, db_index=True)
    code_hash = models.CharField(max_length=64)
    token = models.CharField(max_length=64, unique=True)
    language = models.CharField(max_length=5, choices=Language.choices, default=Language.ENGLISH)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose__in=VerificationPurpose.values),
                name="phone_verification_purpose_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} …{self.phone[-4:]}"
