"""An optional second factor (TOTP, django-otp) for managers and office admins.

A manager turns it on at /accounts/two-factor/ by scanning a QR code into an authenticator app
and typing one code. From then on, after the password, every staff page asks for a code first
(``require_second_factor`` middleware) until the session is verified. Turning it on ends the
user's other sessions (``end_other_sessions``), so none signed in before it goes on without a code.
"""

from base64 import b32encode
from importlib import import_module

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_ratelimit.decorators import ratelimit

from frontdesk.ratelimits import rate
from visitors.access import can_open_dashboard

DEVICE_NAME = "Authenticator app"
NO_DEVICE_KEY = "frontdesk_no_second_factor"


def may_use_second_factor(user) -> bool:
    return can_open_dashboard(user)


def require_second_factor(get_response):
    """Send a signed-in user who has a confirmed device, but has not typed a code in this
    session, to the code page first."""

    open_paths = ("/accounts/two-factor/verify/", "/accounts/logout/", "/static/", "/healthz")

    def middleware(request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.session.get(NO_DEVICE_KEY)
            and not request.path.startswith(open_paths)
            and not user.is_verified()
        ):
            if user_has_device(user, confirmed=True):
                verify = reverse("two_factor_verify")
                return redirect(f"{verify}?next={request.get_full_path()}")
            # Sessions from before sign-in noted it (see below): ask once, then remember.
            request.session[NO_DEVICE_KEY] = True
        return get_response(request)

    return middleware


@receiver(user_logged_in)
def note_second_factor_at_sign_in(sender, request, user, **kwargs) -> None:
    """Ask once, at sign-in, whether this user has a device, so pages need not ask."""
    if request is not None and hasattr(request, "session"):
        request.session[NO_DEVICE_KEY] = not user_has_device(user, confirmed=True)


def end_other_sessions(request: HttpRequest) -> int:
    """End every session of the signed-in user but this one; return how many ended.

    Enrolment calls it: a session signed in before the second factor existed never typed a code
    (and noted at sign-in that it need not), so it must sign in again. A password change needs
    no call: Django's password-change views (the only ones Frontdesk has are the admin's) call
    ``update_session_auth_hash``, and every other session then fails the session hash check on
    its next request and is flushed (tests/security/test_two_factor.py holds both).

    The sessions are found by reading every unexpired one, not from a user-to-session record
    kept at sign-in: enrolment is rare (once per manager), a session ends after
    SESSION_COOKIE_AGE (eight hours) unused so few are live, and such a record would miss
    exactly the sessions this is for: those signed in before the record existed.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore
    user_id, keep = str(request.user.pk), request.session.session_key
    live = store.get_model_class().objects.filter(expire_date__gt=timezone.now())
    others = [
        session.session_key
        for session in live.exclude(session_key=keep).iterator()
        if store().decode(session.session_data).get(SESSION_KEY) == user_id
    ]
    for key in others:
        store().delete(key)  # through the store, so a cached_db copy goes too
    return len(others)


def _code(request) -> str:
    return "".join(ch for ch in request.POST.get("code", "") if ch.isdigit())[:8]


@login_required
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Turn the second factor on (scan, then type a code) or off (type a code)."""
    if not may_use_second_factor(request.user):
        raise PermissionDenied(_("The second factor is for managers and office admins."))
    confirmed = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    if confirmed:
        if request.method == "POST" and confirmed.verify_token(_code(request)):
            TOTPDevice.objects.filter(user=request.user).delete()
            request.session[NO_DEVICE_KEY] = True
            messages.success(request, _("Second factor turned off."))
            return redirect("two_factor")
        error = _("That code is not right.") if request.method == "POST" else ""
        context = {"confirmed": True, "error": error}
        return render(request, "registration/two_factor.html", context,
                      status=422 if error else 200)  # fmt: skip
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name=DEVICE_NAME, confirmed=False)
    if request.method == "POST":
        if device.verify_token(_code(request)):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            request.session[NO_DEVICE_KEY] = False
            end_other_sessions(request)
            messages.success(request, _("Second factor on: sign-ins will ask for a code."))
            return redirect("two_factor")
        error = _("That code is not right. Check the time on your phone and try again.")
    else:
        error = ""
    qr = segno.make(device.config_url, error="m").svg_inline(scale=4, title=_("QR code"))
    secret = b32encode(device.bin_key).decode()
    return render(request, "registration/two_factor.html",
                  {"confirmed": False, "qr": qr, "secret": secret, "error": error},
                  status=422 if error else 200)  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit(key="user", rate=rate("RATELIMIT_LOGIN"), method="POST", block=True)
def verify(request: HttpRequest) -> HttpResponse:
    """Ask for the code from the authenticator app after the password."""
    landing = resolve_url(settings.LOGIN_REDIRECT_URL)
    target = request.GET.get("next") or request.POST.get("next") or landing
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = landing
    if request.user.is_verified():
        return redirect(target)
    error = ""
    if request.method == "POST":
        code = _code(request)
        for device in TOTPDevice.objects.filter(user=request.user, confirmed=True):
            if device.verify_token(code):
                otp_login(request, device)
                return redirect(target)
        error = _("That code is not right.")
    return render(request, "registration/two_factor_verify.html",
                  {"next": target, "error": error}, status=422 if error else 200)  # fmt: skip
