"""The booking pages' forms. The chosen slot travels as a Unix time (``at``), validated again
against the free slots by the service whenever it is used."""

import datetime as dt
import secrets

from django import forms
from django.utils.translation import gettext_lazy as _

from visitors import verification


def parse_at(raw: str | None) -> dt.datetime | None:
    """A slot's start from its Unix time in a link or a form, or None."""
    if not raw or not raw.isdecimal() or len(raw) > 12:
        return None
    try:
        return dt.datetime.fromtimestamp(int(raw), tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_day(raw: str | None) -> dt.date | None:
    if not raw or len(raw) != 10:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


class NameForm(forms.Form):
    first_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )


class DetailsForm(NameForm):
    """Online: who is coming and the mobile number the code goes to."""

    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text=_("We text a code to it, then your confirmation and reminders."),
    )
    consent = forms.BooleanField(
        label=_("Text me the code, my confirmation and reminders about this booking."),
        required=True,
        error_messages={
            "required": _("We can book online only with texts. Tick the box, or call the office.")
        },
    )

    def clean_phone(self) -> str:
        number = verification.normalise(self.cleaned_data["phone"])
        if number is None:
            raise forms.ValidationError(_("Enter a mobile number we can text, with its area code."))
        return number


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the text"),
        max_length=12,
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 12}
        ),
    )


class DeskForm(NameForm):
    """At the desk: staff book for someone in front of them or on the phone; no code."""

    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    consent_sms = forms.BooleanField(
        label=_("They agree to a confirmation and reminders by text"), required=False
    )
    # One per form shown: the same form sent twice (a double click) makes one booking.
    form_token = forms.CharField(
        max_length=64, required=False, widget=forms.HiddenInput,
        initial=lambda: secrets.token_urlsafe(24),
    )  # fmt: skip

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"].strip()
        if not raw:
            return ""
        number = verification.normalise(raw)
        if number is None:
            raise forms.ValidationError(_("Enter a mobile number with its area code, or none."))
        return number
