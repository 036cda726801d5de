"""The visit workspace: one screen, the five stages in order, each recorded with who and when."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from visitors import privacy, services
from visitors.access import visit_for_staff
from visitors.forms import (
    ConcludingForm,
    DeterminingForm,
    FutureReferenceForm,
    RespondingForm,
    TransferForm,
)
from visitors.visits.lifecycle import STAGE_ORDER, Stage, TransitionNotAllowed
from visitors.visits.models import OpenRequest, Visit

FORMS = {
    # The reasons chosen at check-in start ticked: recording the stage keeps them unless
    # the staff member unticks one.
    Stage.DETERMINING: lambda visit, data: DeterminingForm(
        data, office=visit.office, initial={"reasons": list(visit.reasons.all())}
    ),
    Stage.RESPONDING: lambda visit, data: RespondingForm(data),
    Stage.CONCLUDING: lambda visit, data: ConcludingForm(data),
    Stage.FUTURE_REFERENCE: lambda visit, data: FutureReferenceForm(data, visit=visit),
}


def _greeting_line(visit: Visit) -> str:
    """The line to say: by name, with what they came about last time and what is still open."""
    visitor = visit.visitor
    previous = (
        Visit.objects.filter(visitor=visitor, checked_in_at__lt=visit.checked_in_at)
        .prefetch_related("reasons")
        .order_by("-checked_in_at")
        .first()
    )
    if previous is None:
        return _("Welcome, %(name)s — I'm glad you came in. How can I help today?") % {
            "name": visitor.display_name
        }
    about = ", ".join(r.label_en.lower() for r in previous.reasons.all()) or _("your last visit")
    line = _("Welcome back, %(name)s — last time you came about %(about)s.") % {
        "name": visitor.display_name,
        "about": about,
    }
    if previous.note_for_next_time:
        line += " " + previous.note_for_next_time
    return line


def _context(visit: Visit, forms: dict | None = None) -> dict:
    forms = forms or {}
    recorded = visit.recorded_stages
    current = next((s for s in STAGE_ORDER if s not in recorded), None)
    stage_forms = {stage.value: forms.get(stage) or FORMS[stage](visit, None) for stage in FORMS}
    return {
        "office": visit.office,
        "visit": visit,
        "visitor": visit.visitor,
        "greeting_line": _greeting_line(visit),
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
    referrals = list(visit.referrals.select_related("partner"))
    if request.method == "POST":
        if services.visit_send_referrals(visit=visit, by=request.user):
            messages.success(request, _("The referral details are on their way."))
        else:
            messages.warning(request, _("Nothing to send: no referral, or no consent to write."))
        return redirect("desk:visit", slug=office.slug, pk=visit.pk)
    return render(
        request, "desk/referrals.html", {"office": office, "visit": visit, "referrals": referrals}
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
