"""Helpers every part of the API shares: paths, pages, and models turned into answers."""

from typing import Annotated
from urllib.parse import urlencode

from ninja import Path, Query

from visitors.api.errors import ApiError
from visitors.api.schemas import MAX_ID
from visitors.visits import lifecycle

OfficeSlug = Annotated[
    str, Path(description="The office's slug.", max_length=60, pattern=r"^[-a-zA-Z0-9_]+$")
]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(description="Items per page (1–100).", ge=1, le=100)]
Offset = Annotated[int, Query(description="Items to skip.", ge=0, le=10_000_000)]
DEFAULT_LIMIT = 50


def page(request, items, *, limit: int, offset: int, serialise) -> dict:
    """One page of ``items`` (a queryset or a list) with its count and neighbours' URLs."""
    count = items.count() if hasattr(items, "count") and not isinstance(items, list) else len(items)
    rows = list(items[offset : offset + limit])

    def link(new_offset: int) -> str:
        params = request.GET.copy()
        params["limit"], params["offset"] = str(limit), str(new_offset)
        query = urlencode(sorted(params.items()))
        return request.build_absolute_uri(f"{request.path}?{query}")

    return {
        "count": count,
        "next": link(offset + limit) if offset + limit < count else None,
        "previous": link(max(0, offset - limit)) if offset > 0 else None,
        "results": [serialise(row) for row in rows],
    }


def visit_out(visit, *, reasons=None) -> dict:
    """A visit (with ``reasons`` prefetched, or given) as VisitOut."""
    return {
        "id": visit.pk,
        "ticket_code": visit.ticket_code,
        "status": visit.status,
        "source": visit.source,
        "service_date": visit.service_date,
        "visitor_id": visit.visitor_id,
        "priority": visit.priority,
        "served_ahead": visit.served_ahead,
        "identity_flag": visit.identity_flag,
        "reasons": [
            {"id": r.pk, "label_en": r.label_en, "label_es": r.label_es}
            for r in (visit.reasons.all() if reasons is None else reasons)
        ],
        "reason_other": visit.reason_other,
        "checked_in_at": visit.checked_in_at,
        "called_at": visit.called_at,
        "desk": visit.desk,
        "service_started_at": visit.service_started_at,
        "ended_at": visit.ended_at,
        "outcome": visit.outcome or None,
        "allowed_actions": [a.value for a in lifecycle.allowed_actions(visit.status)],
    }


def visitor_out(visitor) -> dict:
    return {
        "id": visitor.pk,
        "first_name": visitor.first_name,
        "last_name": visitor.last_name,
        "preferred_name": visitor.preferred_name,
        "display_name": visitor.display_name,
        "phone": visitor.phone,
        "email": visitor.email,
        "birth_date": visitor.birth_date,
        "preferred_language": visitor.preferred_language,
        "consent_sms": visitor.consent_sms,
        "consent_email": visitor.consent_email,
        "priority_category": visitor.priority_category,
        "first_seen_at": visitor.first_seen_at,
        "last_seen_at": visitor.last_seen_at,
        "merged_into_id": visitor.merged_into_id,
        "anonymised": visitor.anonymised_at is not None,
    }


def refuse(status: int, message: str, **kwargs):
    raise ApiError(status, message, **kwargs)
