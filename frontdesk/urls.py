from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django_ratelimit.decorators import ratelimit

from frontdesk import two_factor, views
from frontdesk.ratelimits import rate
from visitors import api

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path(
        "accounts/login/",
        ratelimit(key="ip", rate=rate("RATELIMIT_LOGIN"), method="POST", block=True)(
            auth_views.LoginView.as_view()
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", two_factor.setup, name="two_factor"),
    path("accounts/two-factor/verify/", two_factor.verify, name="two_factor_verify"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.api.urls),
    re_path(r"^api/v1/(?P<rest>[\s\S]*)\Z", api.not_found),
    path("", include("visitors.urls")),
]
