from __future__ import annotations

from django.contrib import admin

from compliance.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "event_type",
        "outcome",
        "actor",
        "domain",
        "jurisdiction",
        "inquiry_id",
    )
    list_filter = ("event_type", "outcome", "domain", "jurisdiction")
    search_fields = ("inquiry_id",)
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    # The trail is append-only: nobody edits or deletes events through the admin.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
