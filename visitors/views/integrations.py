"""Integrations, for office admins: API tokens and webhook subscriptions, and each webhook's
delivery log.

A token's secret and a webhook's signing secret appear once, in the page that answers their
creation (never cached, never in a redirect or a message), and on no page after.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.core.validators import URLValidator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from visitors import access, webhooks
from visitors.access import office_for_admin
from visitors.integrations.models import ApiScope, ApiToken, WebhookEvent, WebhookSubscription
from visitors.offices.models import Office

PAGE_SIZE = 50


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Which system will use it"), max_length=80,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Case management")}),
    )  # fmt: skip
    scope = forms.ChoiceField(
        label=gettext_lazy("It may"), choices=ApiScope.choices, initial=ApiScope.READ,
        widget=forms.RadioSelect,
    )  # fmt: skip
    offices = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Offices"), queryset=Office.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # A token may cover only offices where its maker is an office admin now.
        self.fields["offices"].queryset = access.administered_offices(user)


class WebhookForm(forms.Form):
    url = forms.URLField(
        label=gettext_lazy("Send to (https address)"), max_length=500, assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
    )  # fmt: skip
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"), choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            webhooks.check_destination(url)
        except webhooks.DestinationRefused as refused:
            raise forms.ValidationError(str(refused), code="destination") from None
        except OSError:
            pass  # a name that does not resolve yet: every send checks it again
        return url


def _page(request, office, *, token_form=None, webhook_form=None, shown=None, status=200):
    tokens = (
        ApiToken.objects.filter(offices=office)
        .select_related("created_by")
        .prefetch_related("offices")
        .order_by("revoked_at", "-created_at")
    )
    return render(
        request, "integrations/integrations.html",
        {"office": office, "tokens": tokens, "webhooks": office.webhooks.order_by("url"),
         "token_form": token_form or TokenForm(user=request.user, initial={"offices": [office]}),
         "webhook_form": webhook_form or WebhookForm(), "shown": shown or {},
         "events": WebhookEvent.choices},
        status=status,
    )  # fmt: skip


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def integrations(request: HttpRequest, slug: str) -> HttpResponse:
    """The office's tokens and webhooks; make a token or a webhook (its secret shown once)."""
    office = office_for_admin(request, slug)
    if request.method == "GET":
        return _page(request, office)
    if request.POST.get("make") == "webhook":
        form = WebhookForm(request.POST)
        if not form.is_valid():
            return _page(request, office, webhook_form=form, status=422)
        webhook = WebhookSubscription.objects.create(
            office=office, url=form.cleaned_data["url"], created_by=request.user,
            events=[e for e in WebhookEvent.values if e in form.cleaned_data["events"]],
        )  # fmt: skip
        return _page(request, office, shown={"webhook": webhook, "secret": webhook.secret})
    form = TokenForm(request.POST, user=request.user)
    if not form.is_valid():
        return _page(request, office, token_form=form, status=422)
    with transaction.atomic():
        token, raw = ApiToken.issue(
            name=form.cleaned_data["name"], offices=form.cleaned_data["offices"],
            scope=form.cleaned_data["scope"], created_by=request.user,
        )  # fmt: skip
    return _page(request, office, shown={"token": token, "secret": raw})


@login_required
@require_POST
def token_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Any admin of an office a token covers may revoke it (a leak is everyone's problem)."""
    office = office_for_admin(request, slug)
    token = get_object_or_404(ApiToken, pk=pk, offices=office)
    if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=request.user
    ):
        messages.success(request, _("Revoked: %(name)s stops working now.") % {"name": token})
    return redirect("desk:integrations", slug=office.slug)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office = office_for_admin(request, slug)
    webhook = get_object_or_404(WebhookSubscription, pk=pk, office=office)
    webhook.delete()
    messages.success(request, _("Webhook removed: nothing more is sent to %(url)s.")
                     % {"url": webhook.url})  # fmt: skip
    return redirect("desk:integrations", slug=office.slug)


@login_required
@require_GET
def webhook_log(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """One webhook's deliveries, latest first: status, attempts, the answer's HTTP status."""
    office = office_for_admin(request, slug)
    webhook = get_object_or_404(WebhookSubscription, pk=pk, office=office)
    page = Paginator(webhook.deliveries.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "integrations/webhook_log.html",
                  {"office": office, "webhook": webhook, "page": page})  # fmt: skip
