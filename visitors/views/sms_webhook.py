"""Inbound text messages from Twilio: opt-out, opt-in and help keywords.

Twilio posts every text sent to our number here, signed with our auth token in
``X-Twilio-Signature``; a request without a valid signature (or any request while no token is
configured) gets a bare 403. The sender is matched to visitors by phone number: the indexed
``phone_last4`` narrows the search, then the whole number's digits are compared, less a leading
US country code, so "(555) 301-0001" on file matches "+15553010001" from Twilio.

The first word of the text, in any case and with accents stripped, is the keyword:

- STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, PARAR, ALTO, BAJA withdraw consent to texts on
  every matching visitor and cancel their scheduled text reminders. We reply with nothing:
  Twilio itself sends the carrier's opt-out confirmation (and blocks our texts to the number
  until it opts in again, which the SMS backend sees as a permanent error).
- START, UNSTOP, YES, ALTA, COMENZAR give consent back, with a confirmation.
- HELP, INFO, AYUDA answer with the office's name, how to reach it and how to stop texts, even
  to a number we do not know.

Replies are in Spanish for a Spanish keyword, otherwise in the visitor's preferred language.

Any other text is a message to the office: it gets no automatic reply and lands in the sender's
thread in the office's inbox (``visitors.conversations``), where a person answers it. Its words
are kept there like a staff note; the log names only the number's last four digits.
"""

import logging
import re
import unicodedata

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from frontdesk.ratelimits import rate
from visitors import conversations
from visitors.messaging.models import Reminder, ReminderChannel, ReminderState
from visitors.offices.models import Language
from visitors.people.models import Visitor
from visitors.visits.models import Visit

logger = logging.getLogger(__name__)

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "PARAR", "ALTO", "BAJA"}
START_WORDS = {"START", "UNSTOP", "YES", "ALTA", "COMENZAR"}
HELP_WORDS = {"HELP", "INFO", "AYUDA"}
SPANISH_WORDS = {"PARAR", "ALTO", "BAJA", "ALTA", "COMENZAR", "AYUDA"}

_FIRST_WORD = re.compile(r"[A-Z0-9]+")


def keyword(body: str) -> str:
    """The first word of ``body``, upper-case and without accents ("¡Parar!" → "PARAR")."""
    head = body.strip()[:40]  # a keyword is short: never fold a whole long message
    folded = unicodedata.normalize("NFKD", head).upper()
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = plain.split(maxsplit=1)
    match = _FIRST_WORD.search(words[0]) if words else None
    return match.group() if match else ""


def _twiml(text: str = "") -> HttpResponse:
    reply = MessagingResponse()
    if text:
        reply.message(text)
    return HttpResponse(str(reply), content_type="text/xml")


def _signature_valid(request: HttpRequest) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    validator = RequestValidator(token)
    return validator.validate(request.build_absolute_uri(), request.POST.dict(), signature)


def _reply_language(word: str, visitors: list[Visitor]) -> str:
    if word in SPANISH_WORDS:
        return Language.SPANISH
    if visitors and visitors[0].preferred_language in Language.values:
        return visitors[0].preferred_language
    return Language.ENGLISH


def _stop(visitors: list[Visitor]) -> None:
    now = timezone.now()
    ids = [visitor.pk for visitor in visitors]
    with transaction.atomic():
        Visitor.objects.filter(pk__in=ids).update(
            consent_sms=False, consent_updated_at=now, updated_at=now
        )
        Reminder.objects.filter(
            visitor__in=ids, channel=ReminderChannel.SMS, state=ReminderState.SCHEDULED
        ).update(state=ReminderState.CANCELLED, last_error="STOP received")


def _start(visitors: list[Visitor], language: str) -> str:
    now = timezone.now()
    Visitor.objects.filter(pk__in=[visitor.pk for visitor in visitors]).update(
        consent_sms=True, consent_updated_at=now, updated_at=now
    )
    with translation.override(language):
        return _("You will get text messages about your visits again. Reply STOP to stop texts.")


def _help(visitors: list[Visitor], language: str) -> str:
    visit = (
        Visit.objects.filter(visitor__in=[visitor.pk for visitor in visitors])
        .select_related("office")
        .order_by("-checked_in_at")
        .first()
        if visitors
        else None
    )
    office = visit.office if visit else None
    with translation.override(language):
        if office and office.phone:
            return _(
                "%(office)s: texts about your visit. For help call %(phone)s. "
                "Msg&data rates may apply. Reply STOP to stop texts."
            ) % {"office": office.name, "phone": office.phone}
        if office:
            return _(
                "%(office)s: texts about your visit. For help, ask at the front desk. "
                "Msg&data rates may apply. Reply STOP to stop texts."
            ) % {"office": office.name}
        return _(
            "Job center texts about your visit. For help, ask at the front desk. "
            "Msg&data rates may apply. Reply STOP to stop texts."
        )


@csrf_exempt
@require_POST
@ratelimit(key="ip", rate=rate("RATELIMIT_SMS_WEBHOOK"), block=True)
def inbound(request: HttpRequest) -> HttpResponse:
    if not _signature_valid(request):
        return HttpResponseForbidden()
    sender = request.POST.get("From", "")
    word = keyword(request.POST.get("Body", ""))
    visitors = conversations.visitors_with_phone(sender)
    if word in STOP_WORDS:
        if visitors:
            _stop(visitors)
        logger.info("SMS opt-out (%s) from …%s: %d visitor(s)", word, sender[-4:], len(visitors))
        return _twiml()
    if word in START_WORDS:
        logger.info("SMS opt-in (%s) from …%s: %d visitor(s)", word, sender[-4:], len(visitors))
        if not visitors:
            return _twiml()  # nobody to give consent back to
        return _twiml(_start(visitors, _reply_language(word, visitors)))
    if word in HELP_WORDS:
        return _twiml(_help(visitors, _reply_language(word, visitors)))
    message = conversations.inbound_receive(
        sender=sender, to=request.POST.get("To", ""), body=request.POST.get("Body", ""),
        message_sid=request.POST.get("MessageSid", ""),
    )  # fmt: skip
    logger.info(
        "SMS without a keyword from …%s (%d visitor(s)): %s; body not logged",
        sender[-4:],
        len(visitors),
        f"kept in thread {message.conversation_id}" if message else "no thread",
    )
    return _twiml()
