"""Signed-in staff without a database read of their user row on every request.

Every staff request — above all the consoles' polls — loads the signed-in user. The user row
changes rarely (a name, a password, deactivation), so ``CachedModelBackend`` keeps it in the
cache for ``USER_SECONDS`` and forgets it as soon as the row is saved or deleted, in this
process or any other (the cache is Redis in production). Everything else is Django's
``ModelBackend``: the session's password hash is still checked against the (cached) user on
every request, so a changed password still ends other sessions at once, and so does
deactivation (the save forgets the cached row).
"""

import contextlib
import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

logger = logging.getLogger(__name__)

USER_SECONDS = 30


def _key(user_id) -> str:
    return f"auth-user:{user_id}"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            user = cache.get(_key(user_id))
        except Exception:  # noqa: BLE001 — no cache: read the row
            user = None
        if user is not None:
            return user if self.user_can_authenticate(user) else None
        user = super().get_user(user_id)
        if user is not None:
            with contextlib.suppress(Exception):
                cache.set(_key(user_id), user, USER_SECONDS)
        return user


@receiver(post_save, sender=get_user_model())
@receiver(post_delete, sender=get_user_model())
def _forget(sender, instance, **kwargs) -> None:
    try:
        cache.delete(_key(instance.pk))
    except Exception:  # noqa: BLE001 — it expires by itself within USER_SECONDS
        logger.warning("cache unavailable; cached user %s not forgotten", instance.pk)
