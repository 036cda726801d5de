from django.urls import include, path

from visitors.views import desk, kiosk, status

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
    ],
    "status",
)
desk_patterns = (
    [
        path("<slug:slug>/visitors/", desk.visitors, name="visitors"),
        path("<slug:slug>/visitors/merge/", desk.visitor_merge, name="merge"),
        path("<slug:slug>/check-in/", desk.check_in, name="check_in"),
    ],
    "desk",
)

urlpatterns = [
    path("kiosk/", include(kiosk_patterns)),
    path("status/", include(status_patterns)),
    path("desk/", include(desk_patterns)),
]
