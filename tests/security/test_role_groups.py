"""The four roles as Django groups, kept in step with office memberships."""

import pytest

from tests.factories import MembershipFactory, UserFactory
from visitors.offices.models import StaffMembership, StaffRole

pytestmark = pytest.mark.django_db


def _groups(user):
    return sorted(user.groups.values_list("name", flat=True))


def test_a_membership_puts_staff_in_their_role_s_group_and_out_again(office, other_office):
    user = UserFactory(username="pat")
    here = MembershipFactory(user=user, office=office, role=StaffRole.FRONT_DESK)
    assert _groups(user) == ["Front desk"]
    MembershipFactory(user=user, office=other_office, role=StaffRole.MANAGER)
    assert _groups(user) == ["Front desk", "Manager"]
    here.role = StaffRole.COUNSELLOR
    here.save()
    assert _groups(user) == ["Counsellor", "Manager"]
    StaffMembership.objects.filter(pk=here.pk).first().delete()
    assert _groups(user) == ["Manager"]
    user.memberships.update(is_active=False)  # a bulk update sends no signal…
    user.memberships.first().save()  # …the next save of a membership puts it right
    assert _groups(user) == []


def test_the_groups_carry_the_permissions_of_the_role(office):
    desk = UserFactory(username="desk")
    MembershipFactory(user=desk, office=office, role=StaffRole.FRONT_DESK)
    admin = UserFactory(username="offadmin")
    MembershipFactory(user=admin, office=office, role=StaffRole.ADMIN)
    assert desk.has_perm("visits.change_visit")
    assert not desk.has_perm("followups.add_followup")
    assert not desk.has_perm("people.view_auditevent")
    assert admin.has_perm("people.view_auditevent") and admin.has_perm("offices.add_kiosklink")
    assert not admin.has_perm("people.view_eo_aggregates")  # only when given on purpose
    assert not admin.has_perm("people.delete_visitor")  # erasure goes through its own page
