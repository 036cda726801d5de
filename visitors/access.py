"""Who may reach what: every office-scoped read and write asks here — web views, the API and
the Django admin — so that each rule is written once.

- Staff reach an office through an active membership there; its role says what they may do.
- Visitor records are shared across offices, but staff see a person only where that person has a
  visit, an appointment, a follow-up, a reminder or an open request at the office they work from
  (the one named in the URL). Someone being checked in there now is the exception: the
  kiosk-style match (name and second factor) confirms them by name, without contact data, until
  the check-in gives them a visit there.
- Merging two records needs a membership at every office where either of them has a record.
- In the Django admin, a non-superuser sees and edits only what belongs to the offices they
  administer.

Views call the ``request`` helpers (Http404 or PermissionDenied); the API and the admin call the
querysets and predicates and answer in their own way.
"""

import contextlib
import logging
import re
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, Max, Model, OuterRef, Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from visitors.followups.models import Appointment, FollowUp, FollowUpContact, WorkshopSignup
from visitors.integrations.models import ApiToken, WebhookDelivery
from visitors.messaging.models import Reminder
from visitors.offices.models import Office, StaffMembership, StaffRole
from visitors.people.models import Visitor, VisitorMerge
from visitors.people.recognition import normalise_name, phone_digits, similarity
from visitors.selectors import visitor_match
from visitors.visits.models import OpenRequest, Visit

logger = logging.getLogger(__name__)

MANAGING_ROLES = (StaffRole.MANAGER, StaffRole.ADMIN)
# The most local days one request may read: the dashboard's range, its CSV export, the API.
MAX_RANGE_DAYS = 366
SEARCH_RESULTS = 15


# --- Offices ------------------------------------------------------------------------------------

# A person's active memberships are asked on every staff page (the dashboard link, "is this an
# office admin", the other offices' links): kept in the cache for MEMBERSHIP_SECONDS and
# forgotten as soon as a membership of theirs, or one of their offices, is saved or deleted.
MEMBERSHIP_SECONDS = 30


class Membership(NamedTuple):
    office_id: int
    role: str
    slug: str
    name: str


def memberships_key(user_id) -> str:
    return f"staff-memberships:{user_id}"


def memberships_of(user) -> dict[int, Membership]:
    """``user``'s active memberships by office id (office names in alphabetical order)."""
    if not getattr(user, "is_authenticated", False):
        return {}
    found = None
    with contextlib.suppress(Exception):  # no cache: read the rows
        found = cache.get(memberships_key(user.pk))
    if found is None:
        rows = (
            StaffMembership.objects.filter(user_id=user.pk, is_active=True)
            .order_by("office__name", "office_id")
            .values_list("office_id", "role", "office__slug", "office__name")
        )
        found = {row[0]: Membership(*row) for row in rows}
        with contextlib.suppress(Exception):
            cache.set(memberships_key(user.pk), found, MEMBERSHIP_SECONDS)
    return found


def _forget_memberships(user_ids) -> None:
    try:
        cache.delete_many([memberships_key(pk) for pk in user_ids])
    except Exception:  # noqa: BLE001 — they expire by themselves within MEMBERSHIP_SECONDS
        logger.warning("cache unavailable; cached memberships not forgotten")


@receiver(post_save, sender=StaffMembership, dispatch_uid="access-memberships-saved")
@receiver(post_delete, sender=StaffMembership, dispatch_uid="access-memberships-deleted")
def _membership_changed(sender, instance, **kwargs) -> None:
    _forget_memberships([instance.user_id])


@receiver(post_save, sender=get_user_model(), dispatch_uid="access-memberships-user-saved")
@receiver(post_delete, sender=get_user_model(), dispatch_uid="access-memberships-user-deleted")
def _user_changed(sender, instance, **kwargs) -> None:
    _forget_memberships([instance.pk])


@receiver(post_save, sender=Office, dispatch_uid="access-office-saved")
@receiver(post_delete, sender=Office, dispatch_uid="access-office-deleted")
def _office_changed(sender, instance, **kwargs) -> None:
    if kwargs.get("update_fields") and not {"name", "slug"} & set(kwargs["update_fields"]):
        return
    _forget_memberships(
        StaffMembership.objects.filter(office_id=instance.pk).values_list("user_id", flat=True)
    )


def staff_offices(user) -> QuerySet[Office]:
    """The offices where ``user`` holds an active membership, in any role."""
    return Office.objects.filter(
        Exists(StaffMembership.objects.filter(office=OuterRef("pk"), user=user, is_active=True))
    )


def administered_offices(user) -> QuerySet[Office]:
    """The offices where ``user`` is an office admin now, by membership (a superuser too)."""
    return Office.objects.filter(
        Exists(
            StaffMembership.objects.filter(
                office=OuterRef("pk"), user=user, is_active=True, role=StaffRole.ADMIN
            )
        )
    ).order_by("name")


def managed_offices(user) -> list[Office]:
    """The offices whose dashboard ``user`` may open: as a manager or an office admin there."""
    if user.is_superuser:
        return list(Office.objects.order_by("name"))
    return list(
        Office.objects.filter(
            Exists(
                StaffMembership.objects.filter(
                    office=OuterRef("pk"), user=user, is_active=True, role__in=MANAGING_ROLES
                )
            )
        ).order_by("name")
    )


def can_open_dashboard(user) -> bool:
    return user.is_authenticated and (
        user.is_superuser or any(m.role in MANAGING_ROLES for m in memberships_of(user).values())
    )


def can_see_equal_opportunity(user) -> bool:
    """Equal-opportunity counts are for holders of the permission, and only as counts."""
    return user.has_perm("people.view_eo_aggregates")


def is_office_admin(user, office: Office) -> bool:
    if user.is_superuser:
        return True
    membership = memberships_of(user).get(office.pk)
    return membership is not None and membership.role == StaffRole.ADMIN


def office_for_staff(request: HttpRequest, slug: str) -> Office:
    """The office, if the signed-in user is active staff there; a 404 otherwise."""
    if not request.user.is_authenticated:
        raise Http404
    # The office and the membership in one query: every staff request asks.
    office = (
        Office.objects.filter(slug=slug)
        .annotate(
            is_member=Exists(
                StaffMembership.objects.filter(
                    office=OuterRef("pk"), user=request.user, is_active=True
                )
            )
        )
        .first()
    )
    if office is None or not office.is_member:
        raise Http404
    timezone.activate(office.zone)  # times on staff screens are the office's local times
    return office


def office_for_admin(request: HttpRequest, slug: str) -> Office:
    """The office, if the signed-in user is its admin (or a superuser); else 403/404."""
    office = office_for_staff(request, slug)
    if not is_office_admin(request.user, office):
        raise PermissionDenied(_("Only an office admin can do that."))
    return office


# --- Visits -------------------------------------------------------------------------------------


def office_visits(office: Office) -> QuerySet[Visit]:
    return Visit.objects.filter(office=office)


def visit_for_office(office: Office, pk: int) -> Visit:
    """One of the office's visits; a 404 for another office's."""
    return get_object_or_404(
        office_visits(office).select_related("visitor", "office", "called_by"), pk=pk
    )


def visit_for_staff(request: HttpRequest, slug: str, pk: int) -> tuple[Office, Visit]:
    office = office_for_staff(request, slug)
    return office, visit_for_office(office, pk)


# --- Visitors -----------------------------------------------------------------------------------


def _offices_q(offices, field: str = "office") -> Q:
    if offices is None:  # any office
        return Q()
    if isinstance(offices, Office):
        return Q(**{field: offices})
    return Q(**{f"{field}__in": offices})


def _records_at(offices, person: str) -> Q:
    """A visit, appointment, follow-up, reminder or open request of ``person`` (an OuterRef)
    there, or the record made there before any visit (``Visitor.registered_at``). A reminder
    counts: the office's outbox already shows whom it texts."""
    where = _offices_q(offices)
    # The record made at one of ``offices`` (any office: made at one at all).
    made = (
        Q(registered_at__isnull=False) if offices is None else _offices_q(offices, "registered_at")
    )
    return (
        Q(Exists(Visitor.objects.filter(made, pk=OuterRef(person))))
        | Q(Exists(Visit.objects.filter(where, visitor=OuterRef(person))))
        | Q(Exists(Appointment.objects.filter(where, visitor=OuterRef(person))))
        | Q(Exists(FollowUp.objects.filter(where, visitor=OuterRef(person))))
        | Q(Exists(Reminder.objects.filter(where, visitor=OuterRef(person))))
        | Q(
            Exists(
                OpenRequest.objects.filter(
                    where, visitor=OuterRef(person), state=OpenRequest.State.OPEN
                )
            )
        )
    )


def visible_visitors(offices) -> QuerySet[Visitor]:
    """The visitors staff of ``offices`` (one office or several) may see.

    A merged record (a tombstone) is seen where the record it was merged into is, so that old
    links still resolve.
    """
    return Visitor.objects.filter(_records_at(offices, "pk") | _records_at(offices, "merged_into"))


def visitor_for_office(user, office: Office, pk: int) -> Visitor:
    """A visitor ``user`` may see at ``office``; a 404 otherwise (whether or not they exist)."""
    if not staff_offices(user).filter(pk=office.pk).exists():
        raise Http404
    return get_object_or_404(visible_visitors(office), pk=pk)


def visitor_for_check_in(office: Office, pk: int) -> Visitor | None:
    """A visitor who may be checked in at ``office`` by id, or None.

    One seen here (made here by an integration or an import included), or a record no office
    has (an older one made before any visit); never a tombstone, and never one made at another
    office that has no record here.
    """
    return (
        Visitor.objects.filter(pk=pk, merged_into__isnull=True)
        .filter(_records_at(office, "pk") | ~_records_at(None, "pk"))
        .first()
    )


def merge_offices(*visitors: Visitor) -> set[int]:
    """The ids of the offices where any of ``visitors`` has a record."""
    ids = [v.pk for v in visitors]
    found: set[int] = {v.registered_at_id for v in visitors if v.registered_at_id is not None}
    for model in (Visit, Appointment, FollowUp, Reminder):
        found |= set(model.objects.filter(visitor__in=ids).values_list("office", flat=True))
    found |= set(
        OpenRequest.objects.filter(visitor__in=ids, state=OpenRequest.State.OPEN).values_list(
            "office", flat=True
        )
    )
    return found


def can_merge(user, keep: Visitor, merge: Visitor, *, office: Office, within=None) -> bool:
    """Whether ``user`` may merge ``merge`` into ``keep`` from ``office``.

    Both must be seen at ``office``, and ``user`` must be staff at every office where either has
    a record: a merge moves those offices' records too. ``within`` narrows the offices further
    (an API token reaches only its own).
    """
    pks = {keep.pk, merge.pk}
    if visible_visitors(office).filter(pk__in=pks).count() != len(pks):
        return False
    allowed = None if user.is_superuser else set(staff_offices(user).values_list("pk", flat=True))
    if within is not None:
        covered = set(Office.objects.filter(pk__in=within).values_list("pk", flat=True))
        allowed = covered if allowed is None else allowed & covered
    return allowed is None or merge_offices(keep, merge) <= allowed


def visitor_search(*, office: Office, query: str) -> list[dict]:
    """Ranked visitors seen at ``office`` for a typed name (fuzzy) or at least 4 phone digits."""
    digits = phone_digits(query)
    words = re.sub(r"\d", " ", query).split()
    visible = visible_visitors(office).filter(merged_into__isnull=True)
    scored: dict[int, float] = {}
    if len(digits) >= 4:
        by_phone = (
            Q(phone_last4=digits[-4:]) if len(digits) == 4 else Q(phone__contains=digits[-7:])
        )
        for pk in visible.filter(by_phone).values_list("pk", flat=True)[:SEARCH_RESULTS]:
            scored[pk] = 1.0
    if len(words) == 1:
        # One word: a first or last name, or the start of one.
        key = normalise_name(words[0])
        for pk, first_key, last_key in visible.filter(
            Q(last_key__startswith=key) | Q(first_key__startswith=key)
        ).values_list("pk", "first_key", "last_key")[: SEARCH_RESULTS * 4]:
            scored[pk] = max(similarity(key, first_key), similarity(key, last_key))
    elif words:
        first, last = " ".join(words[:-1]), words[-1]
        candidates = visitor_match(first_name=first, last_name=last, limit=SEARCH_RESULTS * 4)
        seen_here = set(
            visible.filter(pk__in=[c.visitor.pk for c in candidates]).values_list("pk", flat=True)
        )
        for candidate in candidates:
            pk = candidate.visitor.pk
            if pk in seen_here:
                scored[pk] = max(scored.get(pk, 0), candidate.score)
    visitors = Visitor.objects.filter(pk__in=scored).annotate(
        # The last visit here: when they came to another office is that office's business.
        last_visit=Max("visits__checked_in_at", filter=Q(visits__office=office)),
        open_request_count=Count(
            "open_requests",
            filter=Q(open_requests__state=OpenRequest.State.OPEN, open_requests__office=office),
            distinct=True,
        ),
    )
    ranked = sorted(visitors, key=lambda v: (-scored[v.pk], v.last_name, v.pk))
    return [{"visitor": v, "score": round(scored[v.pk], 2)} for v in ranked[:SEARCH_RESULTS]]


# --- The Django admin ---------------------------------------------------------------------------


def admin_queryset(user, queryset: QuerySet) -> QuerySet:
    """``queryset`` narrowed to what ``user`` may see in the Django admin.

    A superuser sees everything; anyone else the rows of the offices they administer (catalogues
    shared by every office — services, referral partners — stay whole).
    """
    if user.is_superuser:
        return queryset
    offices = administered_offices(user)
    model: type[Model] = queryset.model
    if model is Office:
        return queryset.filter(pk__in=offices)
    if model is Visitor:
        return queryset.filter(pk__in=visible_visitors(offices).values("pk"))
    if model is VisitorMerge:
        return queryset.filter(kept__in=visible_visitors(offices).values("pk"))
    if model is ApiToken:
        return queryset.filter(offices__in=offices).distinct()
    if model is get_user_model():
        return queryset.filter(
            Exists(StaffMembership.objects.filter(user=OuterRef("pk"), office__in=offices))
        )
    if model in (WorkshopSignup,):
        return queryset.filter(workshop__office__in=offices)
    if model in (FollowUpContact,):
        return queryset.filter(follow_up__office__in=offices)
    if model in (WebhookDelivery,):
        return queryset.filter(subscription__office__in=offices)
    if any(f.name == "office" and f.many_to_one for f in model._meta.get_fields()):
        return queryset.filter(office__in=offices)
    return queryset
