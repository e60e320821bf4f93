from __future__ import annotations

from django.urls import path

from assistant import views

app_name = "portal"

urlpatterns = [
    path("", views.ask, name="ask"),
]
