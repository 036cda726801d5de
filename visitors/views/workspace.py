"""The visit workspace: one screen, the five stages in order, each recorded with who and when."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from visitors import hires, privacy, services
from visitors.access import visit_for_staff
from visitors.forms import (
    ConcludingForm,
    DeterminingForm,
    FutureReferenceForm,
    RespondingForm,
    TransferForm,
)
from visitors.visits.lifecycle import STAGE_ORDER, Outcome, Stage, TransitionNotAllowed
from visitors.visits.models import OpenRequest, Visit


def _their_words(visit: Visit) -> str:
    """What the visitor already wrote (the kiosk's "other" box) and any words on the visit."""
    words = visit.visitor_words.strip()
    other = visit.reason_other.strip()
    if not other or other in words:
        return words
    return f"{other}\n{words}" if words else other


FORMS = {
    # The reasons chosen at check-in start ticked, and what they typed starts as "in their
    # words": recording the stage keeps both unless the staff member changes them.
    Stage.DETERMINING: lambda visit, data: DeterminingForm(
        data,
        office=visit.office,
        initial={"reasons": list(visit.reasons.all()), "visitor_words": _their_words(visit)},
    ),
    Stage.RESPONDING: lambda visit, data: RespondingForm(data),
    Stage.CONCLUDING: lambda visit, data: ConcludingForm(data, visitor=visit.visitor),
    Stage.FUTURE_REFERENCE: lambda visit, data: FutureReferenceForm(data, visit=visit),
}


@dataclass(frozen=True)
class Line:
    """A line staff say to the visitor: in the visitor's language, and what it means in the
    staff member's language when the two differ."""

    text: str
    language: str
    meaning: str = ""


@dataclass(frozen=True)
class Greeting:
    line: Line
    note: str = ""  # the note for the next greeting, left by whoever served them last time
    english_only: tuple[str, ...] = ()  # reasons in the line with no label in their language


def _line(say: Callable[[str], str], *, language: str) -> Line:
    """``say(language)`` in the visitor's ``language``, with its meaning for staff."""
    staff_language = translation.get_language() or "en"
    with translation.override(language):
        text = say(language)
    if staff_language.split("-")[0] == language:
        return Line(text, language)
    return Line(text, language, meaning=say(staff_language))


def _greeting(visit: Visit) -> Greeting:
    """The line to say: by name, with what they came about last time; the note left for this
    greeting is for staff, so it goes beside the line, never into it."""
    visitor = visit.visitor
    language = visitor.preferred_language
    previous = (
        Visit.objects.filter(visitor=visitor, checked_in_at__lt=visit.checked_in_at)
        .prefetch_related("reasons")
        .order_by("-checked_in_at")
        .first()
    )
    reasons = list(previous.reasons.all()) if previous else []

    def say(in_language: str) -> str:
        name = visitor.display_name
        if previous is None:
            return _("Welcome, %(name)s — I'm glad you came in. How can I help today?") % {
                "name": name
            }
        if not reasons:
            return _("Welcome back, %(name)s — good to see you again. How can I help today?") % {
                "name": name
            }
        about = get_text_list([r.label_for(in_language) for r in reasons], _("and"))
        return _("Welcome back, %(name)s — last time you came about %(about)s.") % {
            "name": name,
            "about": about,
        }

    return Greeting(
        line=_line(say, language=language),
        note=previous.note_for_next_time if previous else "",
        english_only=tuple(r.label_en for r in reasons if r.label_is_english_only(language)),
    )


@dataclass(frozen=True)
class Hired:
    """The moment to congratulate: the line to say, what the office offers next (in the
    visitor's language where it has that version) and the check-ins and text it set going."""

    line: Line
    offer: str
    offer_english_only: bool
    follow_through: hires.FollowThrough


def _hired(visit: Visit) -> Hired | None:
    if visit.outcome != Outcome.HIRED:
        return None
    visitor = visit.visitor
    language = visitor.preferred_language

    def say(_language: str) -> str:
        return _("Congratulations on the new job, %(name)s! That is wonderful news.") % {
            "name": visitor.display_name
        }

    return Hired(
        line=_line(say, language=language),
        offer=hires.offer_for(visit.office, language),
        offer_english_only=hires.offer_is_english_only(visit.office, language),
        follow_through=hires.follow_through_of(visit),
    )


def _referral_rows(visit: Visit) -> list[dict]:
    """The visit's referrals with each partner's description in the visitor's language."""
    language = visit.visitor.preferred_language
    return [
        {
            "partner": r.partner,
            "helps_with": r.partner.helps_with_for(language),
            "english_only": r.partner.helps_with_is_english_only(language),
        }
        for r in visit.referrals.select_related("partner")
    ]


def _context(visit: Visit, forms: dict | None = None) -> dict:
    forms = forms or {}
    recorded = visit.recorded_stages
    current = next((s for s in STAGE_ORDER if s not in recorded), None)
    stage_forms = {stage.value: forms.get(stage) or FORMS[stage](visit, None) for stage in FORMS}
    language = visit.visitor.preferred_language
    return {
        "office": visit.office,
        "visit": visit,
        "visitor": visit.visitor,
        "greeting": _greeting(visit),
        "anything_else": _line(
            lambda _language: _("Is there anything else I can do for you today?"),
            language=language,
        ),
        "referral_rows": _referral_rows(visit) if Stage.RESPONDING in recorded else [],
        "hired": _hired(visit) if Stage.CONCLUDING in recorded else None,
        "recorded": {s.value for s in recorded},
        "current": current.value if current else "",
        "stages": STAGE_ORDER,
        "forms": stage_forms,
        "open_requests": OpenRequest.objects.filter(
            visitor=visit.visitor, state=OpenRequest.State.OPEN
        ),
        "is_covered": visit.visitor.is_covered_person,
        "transfer_form": TransferForm(office=visit.office),
    }


@login_required
@require_GET
def visit_workspace(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office, visit = visit_for_staff(request, slug, pk)
    privacy.audit(user=request.user, visitor_id=visit.visitor_id, visit_id=visit.pk,
                  action="view", what="visit workspace", office=office)  # fmt: skip
    return render(request, "desk/workspace.html", _context(visit))


@login_required
@require_POST
def visit_stage(request: HttpRequest, slug: str, pk: int, stage: str) -> HttpResponse:
    office, visit = visit_for_staff(request, slug, pk)
    try:
        stage = Stage(stage)
    except ValueError:
        raise Http404 from None
    template = "desk/workspace.html#stages" if request.htmx else "desk/workspace.html"
    data = {}
    if stage in FORMS:
        form = FORMS[stage](visit, request.POST)
        if not form.is_valid():
            return render(request, template, _context(visit, {stage: form}), status=422)
        data = form.cleaned_data
    try:
        services.visit_stage_record(visit=visit, stage=stage, by=request.user, data=data)
    except (TransitionNotAllowed, services.WorkshopFull) as refused:
        if request.htmx:
            visit.refresh_from_db()
            context = _context(visit) | {"refusal": str(refused)}
            return render(request, template, context, status=422)
        messages.warning(request, str(refused))
    if request.htmx:
        visit.refresh_from_db()
        return render(request, template, _context(visit))
    return redirect("desk:visit", slug=office.slug, pk=visit.pk)


@login_required
@require_http_methods(["GET", "POST"])
def visit_referrals(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The referral details: a page to print and hand over, or sent to the visitor (outbox)."""
    office, visit = visit_for_staff(request, slug, pk)
    if request.method == "POST":
        if services.visit_send_referrals(visit=visit, by=request.user):
            messages.success(request, _("The referral details are on their way."))
        else:
            messages.warning(request, _("Nothing to send: no referral, or no consent to write."))
        return redirect("desk:visit", slug=office.slug, pk=visit.pk)
    return render(
        request,
        "desk/referrals.html",
        {
            "office": office,
            "visit": visit,
            "visitor": visit.visitor,
            "referral_rows": _referral_rows(visit),
        },
    )


@login_required
@require_POST
def visit_finish(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office, visit = visit_for_staff(request, slug, pk)
    try:
        services.visit_finish(visit=visit, by=request.user)
    except TransitionNotAllowed as refused:
        messages.warning(request, str(refused))
        return redirect("desk:visit", slug=office.slug, pk=visit.pk)
    messages.success(request, _("%(ticket)s is done.") % {"ticket": visit.ticket_code})
    return redirect("desk:console", slug=office.slug)
