"""Template context for every page."""

from django.utils.functional import SimpleLazyObject

from visitors.access import can_open_dashboard as allowed


def navigation(request) -> dict:
    """Whether to offer the dashboard link: asked only when a page shows it."""

    def can_open_dashboard() -> bool:
        return allowed(request.user)

    return {"can_open_dashboard": SimpleLazyObject(can_open_dashboard)}
