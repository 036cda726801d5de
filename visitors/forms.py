"""Forms for every input: the kiosk's steps, the front-desk lookup and merge."""

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from visitors import reminders
from visitors.followups.models import (
    GENERAL_RESULTS,
    HIRE_CHECK_IN_RESULTS,
    ContactMethod,
    Workshop,
)
from visitors.identify import Answer
from visitors.messaging.models import ReminderChannel
from visitors.offices.models import (
    Language,
    ReasonForVisit,
    ReferralPartner,
    Service,
    active_reasons,
)
from visitors.people.models import PriorityCategory
from visitors.people.recognition import phone_digits
from visitors.visits.lifecycle import Outcome

NAME_MAX = 100


class NameField(forms.CharField):
    """A name of 1–100 characters in any script, kept as typed (outer spaces aside)."""

    def __init__(self, *, required=True, **kwargs):
        super().__init__(
            max_length=NAME_MAX,
            required=required,
            error_messages={
                "required": _("Please type your name here."),
                "max_length": _("That is too long: at most %(limit_value)d characters."),
            },
            widget=forms.TextInput(
                attrs={"autocomplete": "off", "autocapitalize": "words", "spellcheck": "false"}
            ),
            **kwargs,
        )

    def clean(self, value):
        value = super().clean(value)
        if value and not any(ch.isalnum() for ch in value):
            raise forms.ValidationError(_("Please type your name with letters."))
        return value


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=Language.choices)


class NameForm(forms.Form):
    first_name = NameField(label=_("First name"))
    last_name = NameField(label=_("Last name"))
    preferred_name = NameField(label=_("Name you go by (optional)"), required=False)


class SecondFactorForm(forms.Form):
    """Either the last 4 digits of a phone number or a birth month and day, per office."""

    phone_last4 = forms.CharField(
        label=_("Last 4 digits of your phone number"),
        required=False,
        max_length=4,
        validators=[RegexValidator(r"^\d{4}$", _("Please type exactly 4 digits."))],
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "pattern": r"\d{4}"}
        ),
    )
    birth_month = forms.TypedChoiceField(
        label=_("Birth month"),
        required=False,
        coerce=int,
        choices=[("", "—")] + [(m, m) for m in range(1, 13)],
    )
    birth_day = forms.TypedChoiceField(
        label=_("Birth day"),
        required=False,
        coerce=int,
        choices=[("", "—")] + [(d, d) for d in range(1, 32)],
    )

    def __init__(self, *args, factor: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.factor = factor

    def answer(self):
        """The cleaned answer, as recognition takes it (only the factor asked)."""
        data = self.cleaned_data
        if self.factor == "phone_last4":
            return Answer.of(phone_last4=data.get("phone_last4") or "")
        return Answer.of(birth_month=data.get("birth_month"), birth_day=data.get("birth_day"))

    def clean(self):
        data = super().clean()
        if self.factor == "phone_last4":
            if not data.get("phone_last4") and "phone_last4" not in self.errors:
                self.add_error("phone_last4", _("Please type exactly 4 digits."))
        elif not (data.get("birth_month") and data.get("birth_day")):
            self.add_error("birth_day", _("Please choose your birth month and day."))
        return data


class _ChoicesWhenDrawn(forms.models.ModelChoiceIterator):
    """The field's choices, its queryset read when they are drawn (Django's iterator reads
    it when made, with the form)."""

    def __init__(self, field):
        self.field = field

    @property
    def queryset(self):
        return self.field.queryset


class OfferedReasonsField(forms.ModelMultipleChoiceField):
    """Reasons checked against a list the caller already has (``offered``: a callable, for the
    office's active reasons from the cache), not a query per form; the same answers and errors
    as the model field's, the chosen ones in the list's order."""

    offered = None
    # A callable making the queryset (for drawing the choices, or checking without
    # ``offered``), called the first time it is asked for: a form only validated — the API's,
    # a kiosk step's — then compiles no query it does not run.
    queryset_for = None

    def _get_queryset(self):
        if self._queryset is None and self.queryset_for is not None:
            self._queryset = self.queryset_for()
        return self._queryset

    queryset = property(_get_queryset, forms.ModelMultipleChoiceField._set_queryset)
    iterator = _ChoicesWhenDrawn

    def _check_values(self, value):
        if self.offered is None:
            return super()._check_values(value)
        by_pk = {str(reason.pk): reason for reason in self.offered()}
        for pk in value:
            if str(pk) in by_pk:
                continue
            try:
                int(pk)
            except (TypeError, ValueError):
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                ) from None
            raise forms.ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": pk},
            )
        chosen = {str(pk) for pk in value}
        return [reason for key, reason in by_pk.items() if key in chosen]


class ReasonsForm(forms.Form):
    reasons = OfferedReasonsField(
        queryset=None,  # made per form, when first needed
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    other = forms.CharField(
        label=_("Something else"),
        required=False,
        max_length=200,
        error_messages={
            "max_length": _("Please keep it short: at most %(limit_value)d characters.")
        },
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, office, day, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["reasons"]
        field.queryset_for = lambda: ReasonForVisit.objects.filter(
            office=office, is_active=True
        ).exclude(closed_on=day)
        field.widget.choices = field.choices  # this form's field's, drawn from its queryset
        field.offered = lambda: [
            reason for reason in active_reasons(office) if reason.closed_on != day
        ]

    def clean(self):
        data = super().clean()
        if not data.get("reasons") and not data.get("other") and not self.errors:
            raise forms.ValidationError(_("Please choose at least one reason, or tell us below."))
        return data


class ContactForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number (optional)"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    email = forms.EmailField(
        label=_("Email (optional)"),
        required=False,
        max_length=254,
        error_messages={"invalid": _("Please check the email address.")},
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    notify_when_called = forms.BooleanField(label=_("Text me when I'm called"), required=False)
    notify_when_ahead = forms.BooleanField(required=False)
    ahead_count = forms.TypedChoiceField(
        coerce=int, choices=[(n, n) for n in range(1, 11)], initial=3, required=False
    )
    consent_reminders = forms.BooleanField(
        label=_("Send me reminders about appointments and workshops"), required=False
    )
    priority_category = forms.ChoiceField(
        choices=[
            (PriorityCategory.NONE, _("No")),
            (PriorityCategory.COVERED_VETERAN, _("Yes, I served")),
            (PriorityCategory.ELIGIBLE_SPOUSE, _("Yes, I am the spouse of someone who served")),
        ],
        initial=PriorityCategory.NONE,
        required=False,
        widget=forms.RadioSelect,
    )

    def clean_priority_category(self):
        return self.cleaned_data["priority_category"] or PriorityCategory.NONE

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if phone and not 10 <= len(phone_digits(phone)) <= 15:
            raise forms.ValidationError(_("Please type the whole number, with the area code."))
        if phone and set(phone) - set("0123456789+-() ."):
            raise forms.ValidationError(_("Please use only digits for the phone number."))
        return phone

    def clean(self):
        data = super().clean()
        wants_text = data.get("notify_when_called") or data.get("notify_when_ahead")
        if wants_text and not data.get("phone") and "phone" not in self.errors:
            self.add_error("phone", _("Type your mobile number so we can text you."))
        if data.get("consent_reminders") and not (data.get("phone") or data.get("email")):
            self.add_error("email", _("Type a mobile number or an email for reminders."))
        return data


class VisitorSearchForm(forms.Form):
    q = forms.CharField(max_length=NAME_MAX * 2 + 1, required=False, strip=True)


class MergeForm(forms.Form):
    keep = forms.IntegerField(min_value=1)
    merge = forms.IntegerField(min_value=1)


# --- The visit workspace's five stages ---------------------------------------------------------

BARRIERS = [
    ("disability", _("Disability")),
    ("homeless", _("Homeless or at risk")),
    ("recently_released", _("Recently released from prison")),
    ("no_diploma", _("No high-school diploma")),
    ("low_income", _("Low income")),
    ("long_unemployed", _("Unemployed 27 weeks or more")),
    ("age_18_24", _("Aged 18–24")),
]


class DeterminingForm(forms.Form):
    reasons = forms.ModelMultipleChoiceField(
        queryset=ReasonForVisit.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    visitor_words = forms.CharField(
        label=_("What they need, in their words"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip

    def __init__(self, *args, office, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reasons"].queryset = ReasonForVisit.objects.filter(office=office)

    def clean(self):
        data = super().clean()
        if not data.get("reasons") and not data.get("visitor_words") and not self.errors:
            raise forms.ValidationError(_("Choose a reason or write down what they need."))
        return data


class RespondingForm(forms.Form):
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.filter(is_active=True), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    partners = forms.ModelMultipleChoiceField(
        label=_("Referred to"), queryset=ReferralPartner.objects.filter(is_active=True),
        required=False, widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    job_leads = forms.CharField(
        label=_("Job leads handed over"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    barriers = forms.MultipleChoiceField(
        label=_("Significant barriers to employment (veterans)"), choices=BARRIERS,
        required=False, widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip

    def clean(self):
        data = super().clean()
        done = data.get("services") or data.get("partners") or data.get("job_leads")
        if not done and not self.errors:
            raise forms.ValidationError(
                _("Record what was done: a service, a referral or a job lead.")
            )
        return data


class ConcludingForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=Outcome.choices, widget=forms.RadioSelect,
        error_messages={"required": _("Choose an outcome to conclude the visit.")},
    )  # fmt: skip
    notes = forms.CharField(required=False, max_length=4000, widget=forms.Textarea({"rows": 2}))
    still_open = forms.CharField(
        label=_("Anything still open? It follows them to their next visit"),
        required=False, max_length=300,
    )  # fmt: skip
    text_congratulations = forms.BooleanField(
        label=_("Text them congratulations"), required=False,
        help_text=_("If they got hired: a text with what the office offers next."),
    )  # fmt: skip

    def __init__(self, *args, visitor=None, **kwargs):
        """With ``visitor`` (the workspace), the congratulation is offered, ticked, only to
        someone who agreed to be written to, by the channel they agreed to; without (the API),
        it is sent only when asked for."""
        super().__init__(*args, **kwargs)
        if visitor is None:
            return
        channel = reminders.channel_for(visitor)
        if channel is None:
            del self.fields["text_congratulations"]
            return
        field = self.fields["text_congratulations"]
        field.initial = True
        if channel == ReminderChannel.EMAIL:
            field.label = _("Email them congratulations")
            field.help_text = _("If they got hired: an email with what the office offers next.")


class FutureReferenceForm(forms.Form):
    appointment_at = forms.DateTimeField(
        label=_("Next appointment"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )  # fmt: skip
    appointment_purpose = forms.CharField(required=False, max_length=200)
    workshop = forms.ModelChoiceField(queryset=Workshop.objects.none(), required=False)
    follow_up_on = forms.DateField(
        label=_("Follow up on"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    follow_up_note = forms.CharField(required=False, max_length=300)
    note_for_next_time = forms.CharField(
        label=_("Note for the next greeting"), required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip

    def __init__(self, *args, visit, **kwargs):
        super().__init__(*args, **kwargs)
        self.visit = visit
        self.fields["workshop"].queryset = Workshop.objects.filter(
            office=visit.office, starts_at__gte=timezone.now(), is_cancelled=False
        )

    def clean(self):
        data = super().clean()
        now = timezone.now()
        if data.get("appointment_at") and data["appointment_at"] <= now:
            self.add_error("appointment_at", _("Choose a time in the future."))
        if data.get("appointment_at") and not data.get("appointment_purpose"):
            self.add_error("appointment_purpose", _("Say what the appointment is for."))
        if data.get("follow_up_on") and data["follow_up_on"] < self.visit.office.local_date():
            self.add_error("follow_up_on", _("Choose today or a later day."))
        promised = data.get("appointment_at") or data.get("follow_up_on")
        if self.visit.outcome == Outcome.FOLLOW_UP and not promised and not self.errors:
            raise forms.ValidationError(
                _("Follow-up needed: book an appointment or schedule a follow-up.")
            )
        return data


class DeskForm(forms.Form):
    """The desk a staff member calls visitors to (kept for their session)."""

    desk = forms.CharField(label=_("Desk"), required=False)

    def clean_desk(self) -> str:
        return self.cleaned_data["desk"][:40]


class CallbackForm(forms.Form):
    """Outside opening hours the kiosk takes a call-back request (no check-in): bilingual
    labels, because the visitor has not chosen a language yet."""

    name = forms.CharField(
        label="Your name · Su nombre", max_length=80,
        error_messages={"required": "Please type your name. · Escriba su nombre."},
    )  # fmt: skip
    phone = forms.CharField(
        label="Your phone number · Su teléfono", max_length=32,
        error_messages={"required": "Please type a phone number with its area code. · "
                                    "Escriba un número de teléfono con su código de área."},
    )  # fmt: skip
    words = forms.CharField(
        label="What do you need? (optional) · ¿Qué necesita? (opcional)", max_length=300,
        required=False,
    )  # fmt: skip

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Please type your name. · Escriba su nombre.")
        return name

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if set(phone) - set("0123456789+-() .") or not 10 <= len(phone_digits(phone)) <= 15:
            raise forms.ValidationError(
                "Please type a phone number with its area code. · "
                "Escriba un número de teléfono con su código de área."
            )
        return phone


class BroadcastForm(forms.Form):
    message = forms.CharField(
        label=_("Message to everyone waiting"), min_length=3, max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("We're running 20 minutes behind.")}),
    )  # fmt: skip
    message_es = forms.CharField(
        label=_("The same in Spanish (optional)"), required=False, max_length=300,
        widget=forms.TextInput(attrs={"lang": "es", "placeholder": "Vamos 20 minutos atrasados."}),
    )  # fmt: skip
    minutes = forms.TypedChoiceField(
        label=_("Show it for"), coerce=int, initial=60, required=False, empty_value=60,
        choices=[(30, _("30 minutes")), (60, _("1 hour")), (120, _("2 hours")),
                 (240, _("4 hours"))],
    )  # fmt: skip


class CloseReasonForm(forms.Form):
    reason = forms.ModelChoiceField(queryset=ReasonForVisit.objects.none())
    note = forms.CharField(required=False, max_length=200)
    note_es = forms.CharField(required=False, max_length=200)

    def __init__(self, *args, office, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = ReasonForVisit.objects.filter(office=office)


class StaffChoiceField(forms.ModelChoiceField):
    """Staff by the name people know them by (the user name only when no name is set)."""

    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class TransferForm(forms.Form):
    to_staff = StaffChoiceField(
        label=_("Hand over to"), queryset=None, required=False, empty_label=_("(keep)")
    )
    reasons = forms.ModelMultipleChoiceField(
        queryset=ReasonForVisit.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip

    def __init__(self, *args, office, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_staff"].queryset = (
            get_user_model()
            .objects.filter(memberships__office=office, memberships__is_active=True)
            .order_by("first_name", "username")
        )
        self.fields["reasons"].queryset = ReasonForVisit.objects.filter(office=office)

    def clean(self):
        data = super().clean()
        if not data.get("to_staff") and not data.get("reasons") and not self.errors:
            raise forms.ValidationError(_("Choose a staff member or a reason."))
        return data


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("How it was resolved"), max_length=1000, widget=forms.Textarea({"rows": 2})
    )


class FollowUpContactForm(forms.Form):
    method = forms.ChoiceField(label=_("How"), choices=ContactMethod.choices)
    result = forms.ChoiceField(
        label=_("Result"), choices=[(r.value, r.label) for r in GENERAL_RESULTS]
    )
    outcome = forms.CharField(
        label=_("What came of it"), required=False, max_length=2000,
        widget=forms.Textarea({"rows": 2}),
    )  # fmt: skip

    def __init__(self, *args, follow_up=None, **kwargs):
        """A new-job check-in asks how the job is going: still employed or not are its
        two-way results; "no answer" and the like keep it open."""
        super().__init__(*args, **kwargs)
        if follow_up is not None and follow_up.is_hire_check_in:
            self.fields["result"].choices = [(r.value, r.label) for r in HIRE_CHECK_IN_RESULTS]
            self.fields["result"].label = _("How is the new job going?")


class FollowUpCloseForm(forms.Form):
    reason = forms.CharField(
        label=_("Why close it without speaking to them"), max_length=300,
        help_text=_("For example: moved away, found a job and said so by email."),
    )  # fmt: skip

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say why the follow-up is closed."))
        return reason


# --- Joining the line from a phone (the office's public page) -------------------------------------


class RemoteJoinForm(forms.Form):
    """Name, what they need, how far away they are, and the mobile number a code will prove."""

    first_name = NameField(label=_("First name"))
    last_name = NameField(label=_("Last name"))
    reasons = forms.ModelMultipleChoiceField(
        label=_("What do you need today?"),
        queryset=ReasonForVisit.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    other = forms.CharField(
        label=_("Something else, in your own words (optional)"),
        required=False,
        max_length=200,
        error_messages={
            "max_length": _("Please keep it short: at most %(limit_value)d characters.")
        },
    )
    travel_minutes = forms.TypedChoiceField(
        label=_("How long will it take you to get here?"),
        coerce=int,
        choices=[
            (10, _("About 10 minutes")),
            (20, _("About 20 minutes")),
            (30, _("About 30 minutes")),
            (45, _("About 45 minutes")),
            (60, _("An hour or more")),
        ],
        initial=20,
        help_text=_("We text you when it is time to head in."),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        error_messages={"required": _("We need a mobile number to text you a code.")},
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    consent = forms.BooleanField(
        label=_("Text me a code now, and texts about my place in line today."),
        error_messages={"required": _("We can only keep your place if we may text you.")},
    )

    def __init__(self, *args, reasons, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reasons"].queryset = reasons

    def clean_phone(self):
        from visitors.verification import normalise

        phone = self.cleaned_data["phone"].strip()
        number = normalise(phone) if not set(phone) - set("0123456789+-() .") else None
        if number is None:
            raise forms.ValidationError(
                _("Please type the whole mobile number, with the area code.")
            )
        return number

    def clean(self):
        data = super().clean()
        if not data.get("reasons") and not data.get("other") and "reasons" not in self.errors:
            self.add_error("reasons", _("Please choose at least one reason, or tell us below."))
        return data


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code we texted you"),
        max_length=12,
        error_messages={"required": _("Type the code from the text.")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": r"[0-9 ]*"}
        ),
    )


class KioskArrivedForm(forms.Form):
    """The kiosk's "I joined from my phone": bilingual, as the visitor chose no language."""

    ticket = forms.CharField(
        label="Your ticket number (in our text) · Su número de turno (en el mensaje)",
        max_length=8,
        error_messages={"required": "Please type your ticket number. · Escriba su número."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    phone_last4 = forms.CharField(
        label="Last 4 digits of your phone · Últimos 4 dígitos de su teléfono",
        max_length=4,
        validators=[
            RegexValidator(r"^\d{4}$", "Please type exactly 4 digits. · Escriba 4 dígitos.")
        ],
        error_messages={"required": "Please type exactly 4 digits. · Escriba 4 dígitos."},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "pattern": r"\d{4}"}
        ),
    )
