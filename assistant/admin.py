from __future__ import annotations

from django.contrib import admin

from assistant.models import Inquiry


@admin.register(Inquiry)
class InquiryAdmin(admin.ModelAdmin):
    """Metadata only: the admin never shows or edits inquiry content."""

    list_display = ("id", "user", "domain", "jurisdiction", "status", "grounding", "created_at")
    list_filter = ("status", "domain", "jurisdiction", "grounding")
    fields = (
        "id",
        "user",
        "domain",
        "jurisdiction",
        "status",
        "question_entities",
        "answer_entities",
        "grounding",
        "model_id",
        "model_version",
        "timings",
        "failure_reason",
        "attempts",
        "created_at",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
