"""Django admin for configuration (offices, staff roles, catalogues, partners, workshops) and a
read-mostly view of visitors and visits. Equal-opportunity records have no admin: they are
reported only in aggregate."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

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


class ScopedAdmin(OfficeScoped, admin.ModelAdmin):
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
    fields = ["position", "label_en", "label_es", "is_active", "closed_on", "closed_note"]


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
    list_display = ["title", "office", "starts_at", "capacity", "is_cancelled"]
    list_filter = ["office", "is_cancelled"]
    search_fields = ["title"]
    date_hierarchy = "starts_at"
    inlines = [WorkshopSignupInline]


@admin.register(Visitor)
class VisitorAdmin(ScopedAdmin):
    list_display = ["last_name", "first_name", "preferred_name", "last_seen_at"]
    search_fields = ["last_key", "first_key", "email"]
    readonly_fields = ["first_key", "last_key", "phone_last4", "created_at", "updated_at"]


@admin.register(Visit)
class VisitAdmin(ScopedAdmin):
    list_display = ["ticket_code", "service_date", "office", "visitor", "status", "outcome"]
    list_filter = ["office", "status", "source", "outcome"]
    date_hierarchy = "checked_in_at"
    raw_id_fields = ["visitor", "appointment"]
    list_select_related = ["office", "visitor"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Visits move only through the lifecycle (the console), never by editing a status.
        return False


@admin.register(Appointment)
class AppointmentAdmin(ScopedAdmin):
    list_display = ["starts_at", "office", "visitor", "purpose", "state"]
    list_filter = ["office", "state"]
    raw_id_fields = ["visitor", "booked_on"]
    date_hierarchy = "starts_at"


@admin.register(Reminder)
class ReminderAdmin(ScopedAdmin):
    list_display = ["due_at", "office", "kind", "channel", "state", "attempts"]
    list_filter = ["office", "kind", "channel", "state"]
    raw_id_fields = ["visitor", "visit", "appointment", "workshop"]
    readonly_fields = ["idempotency_key", "attempts", "last_error", "sent_at", "lease_expires_at"]


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

    list_display = ["at", "user", "office", "action", "visitor_id", "visit_id", "what"]
    list_filter = ["action", "office"]
    search_fields = ["=visitor_id", "user__username"]
    date_hierarchy = "at"

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
class StaffUserAdmin(OfficeScoped, UserAdmin):
    inlines = [MembershipForUserInline]


admin.site.site_header = "Frontdesk administration"
admin.site.site_title = "Frontdesk admin"


@admin.register(KioskLink)
class KioskLinkAdmin(ScopedAdmin):
    """Kiosk links: made here, shown once, revoked here."""

    list_display = ["label", "office", "capability", "created_at", "last_seen_at", "revoked_at"]
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
    list_display = ["merged_name", "kept", "merged_by", "merged_at"]
    readonly_fields = [
        "kept",
        "merged_visitor_id",
        "merged_name",
        "moved",
        "merged_by",
        "merged_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedAdmin):
    """Tokens are made and revoked by office admins in the console; here they can be read."""

    list_display = ["name", "prefix", "scope", "created_by", "created_at", "last_used_at",
                    "revoked_at"]  # fmt: skip
    list_filter = ["scope", "offices"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_by"]
    filter_horizontal = ["offices"]

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
    list_display = ["url", "office", "is_active", "created_at"]
    list_filter = ["office", "is_active"]
    search_fields = ["url"]
    inlines = [WebhookDeliveryInline]
