"""Django admin for configuration (offices, staff roles, catalogues, partners, workshops) and a
read-mostly view of visitors and visits. Equal-opportunity records have no admin: they are
reported only in aggregate.

Times are the office's, as on the console: each list shows a row's times in its own office's
zone, labelled (an admin of several offices sees each row as its office's clock shows it); a
form shows and reads times in its object's office's zone. Where there is no one office — a
visitor, an API token, a new row before its office is chosen — pages use the zone of the
offices the user administers when they share one, else UTC, and say which.
"""

import datetime as dt
import zoneinfo

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from visitors import access
from visitors.followups.models import (
    Appointment,
    FollowUp,
    FollowUpContact,
    Workshop,
    WorkshopSignup,
)
from visitors.integrations.models import ApiToken, WebhookDelivery, WebhookSubscription
from visitors.messaging.models import Reminder
from visitors.offices.models import (
    KioskLink,
    Office,
    ReasonForVisit,
    ReferralPartner,
    Service,
    StaffMembership,
)
from visitors.people.models import AuditEvent, Visitor, VisitorMerge
from visitors.visits.models import Visit


class OfficeScoped:
    """Rows, choices and objects of the offices the user administers (every office for a
    superuser), as visitors.access says: an office admin given ``is_staff`` to make kiosk links
    sees nothing of another office's, and cannot pick another office on a form."""

    def get_queryset(self, request):
        return access.admin_queryset(request.user, super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return self._scoped(super().formfield_for_foreignkey(db_field, request, **kwargs), request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return self._scoped(super().formfield_for_manytomany(db_field, request, **kwargs), request)

    @staticmethod
    def _scoped(field, request):
        if field is not None and getattr(field, "queryset", None) is not None:
            field.queryset = access.admin_queryset(request.user, field.queryset)
        return field


def admin_zone(user) -> zoneinfo.ZoneInfo:
    """The zone of the offices ``user`` administers when they share one, else UTC."""
    offices = access.admin_queryset(user, Office.objects.all())
    zones = list(offices.values_list("time_zone", flat=True).distinct().order_by()[:2])
    return zoneinfo.ZoneInfo(zones[0]) if len(zones) == 1 else zoneinfo.ZoneInfo("UTC")


def in_zone(value: dt.datetime | None, zone: dt.tzinfo) -> str:
    """``value`` as a clock in ``zone`` shows it, with the zone's abbreviation (CST, MDT…)."""
    if value is None:
        return admin.site.empty_value_display
    local = timezone.localtime(value, zone)
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} {local.tzname()}"


def _office_of(obj) -> Office | None:
    """The office a row belongs to: itself, or its ``office`` (None for a shared row)."""
    return obj if isinstance(obj, Office) else getattr(obj, "office", None)


def local_time(field_name: str, description: str):
    """A list column: the row's ``field_name`` in its office's zone (the page's zone for a row
    with no office), labelled with the zone, and sortable."""

    @admin.display(description=description, ordering=field_name)
    def column(self, obj) -> str:
        office = _office_of(obj)
        zone = office.zone if office else timezone.get_current_timezone()
        return in_zone(getattr(obj, field_name), zone)

    return column


def _zone_note(office: Office | None, zone: zoneinfo.ZoneInfo, *, choosing: bool) -> str:
    if office is not None:
        return _("Times on this page are %(office)s's local times (%(zone)s).") % {
            "office": office.name,
            "zone": office.time_zone,
        }
    if choosing:
        return _(
            "Times you enter are read as local times of the office you choose; until one is "
            "chosen, times are shown in %(zone)s."
        ) % {"zone": zone.key}
    return _("Times on this page are in %(zone)s.") % {"zone": zone.key}


class InOfficeZone:
    """Activate the right zone for a page (see the module's docstring) and say it on forms."""

    change_form_template = "admin/zone_change_form.html"

    def changelist_view(self, request, extra_context=None):
        timezone.activate(admin_zone(request.user))
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        office = self._form_office(request, object_id)
        zone = office.zone if office else admin_zone(request.user)
        timezone.activate(zone)
        note = _zone_note(office, zone, choosing=object_id is None and self._has_office())
        extra_context = {**(extra_context or {}), "zone_note": note}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        office = self._form_office(request, object_id)
        timezone.activate(office.zone if office else admin_zone(request.user))
        return super().history_view(request, object_id, extra_context)

    def _has_office(self) -> bool:
        return any(f.name == "office" and f.many_to_one for f in self.model._meta.get_fields())

    def _form_office(self, request, object_id) -> Office | None:
        """The office a form's times belong to: the one chosen on a posted form (a form that
        moves a row to another office is read in the new office's zone), else its row's."""
        posted = request.POST.get("office", "") if request.method == "POST" else ""
        if self._has_office() and posted.isdecimal():
            offices = access.admin_queryset(request.user, Office.objects.all())
            if (chosen := offices.filter(pk=posted).first()) is not None:
                return chosen
        if object_id is None:
            return None
        obj = self.get_object(request, unquote(object_id))
        return None if obj is None else _office_of(obj)


class ScopedAdmin(InOfficeZone, OfficeScoped, admin.ModelAdmin):
    pass


class ScopedInline(OfficeScoped, admin.TabularInline):
    pass


class StaffMembershipInline(ScopedInline):
    model = StaffMembership
    extra = 0
    autocomplete_fields = ["user"]


class ReasonInline(ScopedInline):
    model = ReasonForVisit
    extra = 0
    fields = [
        "position",
        "label_en",
        "label_es",
        "is_active",
        "closed_on",
        "closed_note",
        "closed_note_es",
        "remote_join",
    ]


@admin.register(Office)
class OfficeAdmin(ScopedAdmin):
    list_display = ["name", "slug", "time_zone", "wait_target_minutes", "second_factor"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StaffMembershipInline, ReasonInline]


@admin.register(StaffMembership)
class StaffMembershipAdmin(ScopedAdmin):
    list_display = ["user", "office", "role", "is_active"]
    list_filter = ["office", "role", "is_active"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user", "office"]


@admin.register(ReasonForVisit)
class ReasonForVisitAdmin(ScopedAdmin):
    list_display = ["label_en", "label_es", "office", "position", "is_active", "closed_on"]
    list_filter = ["office", "is_active"]
    list_editable = ["position", "is_active"]
    search_fields = ["label_en", "label_es"]


@admin.register(Service)
class ServiceAdmin(ScopedAdmin):
    list_display = ["name", "reporting_code", "staff_assisted", "position", "is_active"]
    list_filter = ["staff_assisted", "is_active"]
    list_editable = ["position", "is_active"]
    search_fields = ["name", "reporting_code"]


@admin.register(ReferralPartner)
class ReferralPartnerAdmin(ScopedAdmin):
    list_display = ["name", "phone", "website", "is_veterans_specialist", "is_active"]
    list_filter = ["is_veterans_specialist", "is_active"]
    search_fields = ["name", "helps_with"]


class WorkshopSignupInline(ScopedInline):
    model = WorkshopSignup
    extra = 0
    raw_id_fields = ["visitor", "signed_up_on"]


@admin.register(Workshop)
class WorkshopAdmin(ScopedAdmin):
    list_display = ["title", "office", "starts", "capacity", "is_cancelled"]
    list_filter = ["office", "is_cancelled"]
    search_fields = ["title"]
    date_hierarchy = "starts_at"
    inlines = [WorkshopSignupInline]
    starts = local_time("starts_at", "starts at")


@admin.register(Visitor)
class VisitorAdmin(ScopedAdmin):
    list_display = ["last_name", "first_name", "preferred_name", "last_seen"]
    search_fields = ["last_key", "first_key", "email"]
    readonly_fields = ["first_key", "last_key", "phone_last4", "created_at", "updated_at"]
    last_seen = local_time("last_seen_at", "last seen")  # a visitor is every office's


@admin.register(Visit)
class VisitAdmin(ScopedAdmin):
    list_display = ["ticket_code", "service_date", "checked_in", "office", "visitor", "status",
                    "outcome"]  # fmt: skip
    list_filter = ["office", "status", "source", "outcome"]
    date_hierarchy = "service_date"  # the office's local day, whatever the zone
    raw_id_fields = ["visitor", "appointment"]
    list_select_related = ["office", "visitor"]
    checked_in = local_time("checked_in_at", "checked in")

    def has_change_permission(self, request, obj=None) -> bool:
        # Visits move only through the lifecycle (the console), never by editing a status.
        return False


@admin.register(Appointment)
class AppointmentAdmin(ScopedAdmin):
    list_display = ["starts", "office", "visitor", "purpose", "state"]
    list_filter = ["office", "state"]
    raw_id_fields = ["visitor", "booked_on"]
    date_hierarchy = "starts_at"
    starts = local_time("starts_at", "starts at")


@admin.register(Reminder)
class ReminderAdmin(ScopedAdmin):
    list_display = ["due", "office", "kind", "channel", "state", "sent", "attempts"]
    list_filter = ["office", "kind", "channel", "state"]
    raw_id_fields = ["visitor", "visit", "appointment", "workshop"]
    readonly_fields = ["idempotency_key", "attempts", "last_error", "sent_at", "lease_expires_at"]
    list_select_related = ["office"]
    due = local_time("due_at", "due at")
    sent = local_time("sent_at", "sent at")


class FollowUpContactInline(ScopedInline):
    model = FollowUpContact
    extra = 0
    readonly_fields = ["at", "by", "method", "result", "outcome"]
    can_delete = False


@admin.register(FollowUp)
class FollowUpAdmin(ScopedAdmin):
    list_display = ["due_on", "office", "visitor", "assigned_to", "state"]
    list_filter = ["office", "state"]
    raw_id_fields = ["visitor", "promised_on", "assigned_to", "closed_by"]
    readonly_fields = ["created_at", "closed_at"]
    inlines = [FollowUpContactInline]


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedAdmin):
    """Read-only: the trail of who viewed or changed a visitor's record."""

    list_display = ["when", "user", "office", "action", "visitor_id", "visit_id", "what"]
    list_filter = ["action", "office"]
    search_fields = ["=visitor_id", "user__username"]
    date_hierarchy = "at"
    list_select_related = ["user", "office"]
    when = local_time("at", "at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MembershipForUserInline(ScopedInline):
    model = StaffMembership
    extra = 0
    fk_name = "user"


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(InOfficeZone, OfficeScoped, UserAdmin):
    list_display = [*UserAdmin.list_display, "last_signed_in"]
    inlines = [MembershipForUserInline]
    last_signed_in = local_time("last_login", "last signed in")


admin.site.site_header = "Frontdesk administration"
admin.site.site_title = "Frontdesk admin"


@admin.register(KioskLink)
class KioskLinkAdmin(ScopedAdmin):
    """Kiosk links: made here, shown once, revoked here."""

    list_display = ["label", "office", "capability", "paired", "last_seen", "revoked"]
    list_filter = ["office", "capability"]
    fields = [
        "office",
        "label",
        "capability",
        "created_by",
        "created_at",
        "last_seen_at",
        "revoked_at",
    ]
    readonly_fields = ["created_by", "created_at", "last_seen_at"]
    actions = ["revoke"]
    list_select_related = ["office"]
    paired = local_time("created_at", "paired")
    last_seen = local_time("last_seen_at", "last seen")
    revoked = local_time("revoked_at", "revoked")

    def save_model(self, request, obj, form, change):
        if not access.admin_queryset(request.user, Office.objects).contains(obj.office):
            raise PermissionDenied  # the form offers only their offices; this is the backstop
        if change:
            super().save_model(request, obj, form, change)
            return
        link, token = KioskLink.issue(
            office=obj.office, label=obj.label, created_by=request.user, capability=obj.capability
        )
        obj.pk = link.pk
        obj.token_hash = link.token_hash
        opener = "display:open" if link.capability == "display" else "kiosk:open"
        url = request.build_absolute_uri(reverse(opener, args=[link.office.slug, token]))
        messages.warning(
            request,
            format_html(
                "Open this link once on the device: <code>{}</code> — it is shown only now.",
                url,
            ),
        )

    @admin.action(description="Revoke the selected kiosk links")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(request, f"Revoked {count} kiosk link(s).")


@admin.register(VisitorMerge)
class VisitorMergeAdmin(ScopedAdmin):
    list_display = ["merged_name", "kept", "merged_by", "merged"]
    readonly_fields = [
        "kept",
        "merged_visitor_id",
        "merged_name",
        "moved",
        "merged_by",
        "merged_at",
    ]

    merged = local_time("merged_at", "merged at")

    def has_add_permission(self, request):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedAdmin):
    """Tokens are made and revoked by office admins in the console; here they can be read."""

    list_display = ["name", "prefix", "scope", "created_by", "created", "last_used", "revoked"]
    list_filter = ["scope", "offices"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_by"]
    filter_horizontal = ["offices"]
    created = local_time("created_at", "created at")  # a token may serve several offices
    last_used = local_time("last_used_at", "last used")
    revoked = local_time("revoked_at", "revoked")

    def has_add_permission(self, request) -> bool:
        return False  # the secret is shown once, where it is made: /desk/<office>/integrations/


class WebhookDeliveryInline(ScopedInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    fields = ["created_at", "event", "state", "attempts", "response_status", "error"]
    readonly_fields = fields
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ScopedAdmin):
    list_display = ["url", "office", "is_active", "created"]
    list_filter = ["office", "is_active"]
    search_fields = ["url"]
    inlines = [WebhookDeliveryInline]
    created = local_time("created_at", "created at")
