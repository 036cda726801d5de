from django.urls import include, path

from visitors.views import (
    console,
    dashboard,
    desk,
    display,
    follow_up,
    inbox,
    integrations,
    kiosk,
    pairing,
    public,
    sms_webhook,
    status,
    workspace,
)

kiosk_patterns = (
    [
        path("<slug:slug>/", kiosk.kiosk_home, name="home"),
        path("<slug:slug>/step/", kiosk.kiosk_step, name="step"),
        path("<slug:slug>/open/<str:token>/", kiosk.kiosk_open, name="open"),
    ],
    "kiosk",
)
status_patterns = (
    [
        path("<str:token>/", status.status_page, name="page"),
        path("<str:token>/leave/", status.status_leave, name="leave"),
        path("<str:token>/rate/", status.status_rate, name="rate"),
        path("<str:token>/here/", status.status_here, name="here"),
    ],
    "status",
)
desk_patterns = (
    [
        path("", console.desk_home, name="home"),
        path("<slug:slug>/", console.console, name="console"),
        path("<slug:slug>/queue/", console.queue, name="queue"),
        path("<slug:slug>/call-next/", console.call_next, name="call_next"),
        path("<slug:slug>/broadcast/", console.broadcast, name="broadcast"),
        path(
            "<slug:slug>/messages/<int:pk>/take-down/",
            console.message_take_down,
            name="message_take_down",
        ),
        path("<slug:slug>/reasons/close/", console.reason_close, name="reason_close"),
        path("<slug:slug>/visitors/<int:pk>/", desk.visitor_profile, name="visitor"),
        path(
            "<slug:slug>/visitors/<int:pk>/visits/<int:visit>/",
            desk.visitor_visit,
            name="visitor_visit",
        ),
        path(
            "<slug:slug>/visitors/<int:pk>/export.json",
            desk.visitor_export,
            name="visitor_export",
        ),
        path("<slug:slug>/visitors/<int:pk>/erase/", desk.visitor_erase, name="visitor_erase"),
        path(
            "<slug:slug>/requests/<int:pk>/resolve/", desk.request_resolve, name="request_resolve"
        ),
        path(
            "<slug:slug>/visits/<int:pk>/transfer/", console.visit_transfer, name="visit_transfer"
        ),
        path("<slug:slug>/visits/<int:pk>/", workspace.visit_workspace, name="visit"),
        path(
            "<slug:slug>/visits/<int:pk>/stage/<str:stage>/",
            workspace.visit_stage,
            name="visit_stage",
        ),
        path("<slug:slug>/visits/<int:pk>/finish/", workspace.visit_finish, name="visit_finish"),
        path(
            "<slug:slug>/visits/<int:pk>/referrals/",
            workspace.visit_referrals,
            name="visit_referrals",
        ),
        path(
            "<slug:slug>/visits/<int:pk>/<str:action>/",
            console.visit_action,
            name="visit_action",
        ),
        path("<slug:slug>/visitors/", desk.visitors, name="visitors"),
        path("<slug:slug>/visitors/merge/", desk.visitor_merge, name="merge"),
        path("<slug:slug>/check-in/", desk.check_in, name="check_in"),
        path("<slug:slug>/follow-ups/", follow_up.follow_ups, name="follow_ups"),
        path("<slug:slug>/follow-ups/<int:pk>/", follow_up.follow_up, name="follow_up"),
        path(
            "<slug:slug>/follow-ups/<int:pk>/contact/",
            follow_up.follow_up_contact,
            name="follow_up_contact",
        ),
        path(
            "<slug:slug>/follow-ups/<int:pk>/close/",
            follow_up.follow_up_close,
            name="follow_up_close",
        ),
        path("<slug:slug>/reminders/", follow_up.reminders, name="reminders"),
        path("<slug:slug>/inbox/", inbox.inbox, name="inbox"),
        path("<slug:slug>/inbox/<int:pk>/", inbox.inbox_thread, name="inbox_thread"),
        path("<slug:slug>/inbox/<int:pk>/reply/", inbox.inbox_reply, name="inbox_reply"),
        path("<slug:slug>/inbox/<int:pk>/attach/", inbox.inbox_attach, name="inbox_attach"),
        path("<slug:slug>/inbox/<int:pk>/answered/", inbox.inbox_answered, name="inbox_answered"),
        path("<slug:slug>/devices/", pairing.devices, name="devices"),
        path("<slug:slug>/integrations/", integrations.integrations, name="integrations"),
        path(
            "<slug:slug>/integrations/tokens/<int:pk>/revoke/",
            integrations.token_revoke,
            name="token_revoke",
        ),
        path(
            "<slug:slug>/integrations/webhooks/<int:pk>/",
            integrations.webhook_log,
            name="webhook_log",
        ),
        path(
            "<slug:slug>/integrations/webhooks/<int:pk>/delete/",
            integrations.webhook_delete,
            name="webhook_delete",
        ),
        path("<slug:slug>/devices/<int:pk>/revoke/", pairing.device_revoke, name="device_revoke"),
        path(
            "<slug:slug>/reminders/<int:pk>/<str:action>/",
            follow_up.reminder_action,
            name="reminder_action",
        ),
    ],
    "desk",
)

display_patterns = (
    [
        path("<slug:slug>/", display.board, name="board"),
        path("<slug:slug>/open/<str:token>/", display.display_open, name="open"),
    ],
    "display",
)

public_patterns = (
    [
        path("<slug:slug>/", public.office_page, name="office"),
        path("<slug:slug>/poster/", public.poster, name="poster"),
        path("<slug:slug>/join/", public.join, name="join"),
    ],
    "public",
)

dashboard_patterns = (
    [
        path("", dashboard.day, name="day"),
        path("range/", dashboard.range_view, name="range"),
        path("report/", dashboard.day, name="report"),
        path("export.csv", dashboard.export, name="export"),
    ],
    "dashboard",
)

urlpatterns = [
    path("dashboard/", include(dashboard_patterns)),
    path("display/", include(display_patterns)),
    path("kiosk/", include(kiosk_patterns)),
    path("status/", include(status_patterns)),
    path("o/", include(public_patterns)),
    path("", include("visitors.booking.urls")),
    path("desk/", include(desk_patterns)),
    path("sms/inbound/", sms_webhook.inbound, name="sms_inbound"),
    path("pair/", pairing.pair, name="pair"),
]
