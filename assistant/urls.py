from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from assistant.exceptions import api_not_found

urlpatterns = [
    path("api/v1/", include("assistant.urls_api")),
    re_path(r"^api/", api_not_found),
    path("admin/", admin.site.urls),
    path("compliance/", include("compliance.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("assistant.urls_portal")),
]
