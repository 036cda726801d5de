"""Django groups that mirror the four staff roles.

Each role is a group with the model permissions that role's work needs (what the Django admin
and ``user.has_perm`` go by); ``StaffMembership`` says at which office. Views check both: the
role (through the membership, which is per office) and the office. A user's role groups are
kept equal to the roles of their active memberships whenever a membership changes.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from visitors.offices.models import StaffMembership, StaffRole

# The apps whose models the roles' permissions are about.
ROLE_APPS = ("offices", "people", "visits", "followups", "messaging", "integrations")
GROUP_NAMES = {
    StaffRole.FRONT_DESK: "Front desk",
    StaffRole.COUNSELLOR: "Counsellor",
    StaffRole.MANAGER: "Manager",
    StaffRole.ADMIN: "Office admin",
}
_DESK = ["view_visit", "add_visit", "change_visit", "view_visitor", "add_visitor",
         "change_visitor", "view_appointment", "view_reminder", "change_reminder",
         "view_openrequest"]  # fmt: skip
_SERVE = [*_DESK, "add_servicegiven", "add_referral", "add_openrequest", "change_openrequest",
          "add_appointment", "change_appointment", "add_workshopsignup", "view_followup",
          "add_followup", "change_followup", "add_followupcontact"]  # fmt: skip
PERMISSIONS = {
    StaffRole.FRONT_DESK: _DESK,
    StaffRole.COUNSELLOR: _SERVE,
    StaffRole.MANAGER: [*_SERVE, "view_workshop", "view_referralpartner", "view_service"],
    StaffRole.ADMIN: [
        *_SERVE,
        "view_workshop",
        "view_referralpartner",
        "view_service",
        "view_kiosklink",
        "add_kiosklink",
        "change_kiosklink",
        "view_auditevent",
        "view_staffmembership",
    ],  # fmt: skip
}


def ensure_groups() -> dict[str, Group]:
    """Create the role groups with their permissions (idempotent)."""
    groups = {}
    for role, name in GROUP_NAMES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label__in=ROLE_APPS, codename__in=PERMISSIONS[role]
            )
        )
        groups[role] = group
    return groups


def sync_user_groups(user) -> None:
    roles = set(
        StaffMembership.objects.filter(user=user, is_active=True).values_list("role", flat=True)
    )
    groups = {g.name: g for g in Group.objects.filter(name__in=GROUP_NAMES.values())}
    if len(groups) < len(GROUP_NAMES):
        groups = {GROUP_NAMES[r]: g for r, g in ensure_groups().items()}
    wanted = [groups[GROUP_NAMES[r]] for r in roles]
    user.groups.remove(*[g for g in groups.values() if g not in wanted])
    user.groups.add(*wanted)


@receiver(post_save, sender=StaffMembership)
@receiver(post_delete, sender=StaffMembership)
def _membership_changed(sender, instance, **kwargs) -> None:
    sync_user_groups(instance.user)


def after_migrate(sender, using="default", **kwargs) -> None:
    """Create the role groups and put existing staff in them (idempotent)."""
    if using != "default":
        return
    ensure_groups()
    users = {m.user for m in StaffMembership.objects.select_related("user")}
    for user in users:
        sync_user_groups(user)
