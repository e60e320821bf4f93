from __future__ import annotations

from django.urls import path

from compliance import views

app_name = "compliance"

urlpatterns = [
    path("", views.events, name="events"),
    path("verify/", views.verify, name="verify"),
    path("export/", views.export, name="export"),
    path("statistics/", views.statistics, name="statistics"),
    path("inquiries/<uuid:inquiry_id>/", views.trace, name="trace"),
]
