from __future__ import annotations

from django.urls import path

from assistant import views

app_name = "portal"

urlpatterns = [
    path("", views.ask, name="ask"),
    path("conversations/<uuid:conversation_id>", views.ask, name="conversation"),
    path(
        "conversations/<uuid:conversation_id>/delete",
        views.conversation_remove,
        name="conversation-delete",
    ),
]
