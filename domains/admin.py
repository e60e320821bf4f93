from __future__ import annotations

from django.contrib import admin
from django.db import transaction

from compliance.models import AuditEvent
from compliance.services import audit_event_record
from domains import services
from domains.models import DocumentUpload, Domain, Passage


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "is_active", "index_revision", "updated_at")
    readonly_fields = ("definition_sha256", "index_revision", "updated_at")

    # Every change an administrator makes to a domain is in the audit trail, in the same
    # transaction as the change.
    def save_model(self, request, obj, form, change) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_event_record(
                actor=request.user,
                event_type=AuditEvent.Type.DOMAIN_CHANGED,
                outcome=AuditEvent.Outcome.SUCCESS,
                domain=obj.slug,
                details={
                    "change": "changed" if change else "added",
                    "fields": sorted(form.changed_data),
                },
            )

    def delete_model(self, request, obj) -> None:
        with transaction.atomic():
            slug = obj.slug
            super().delete_model(request, obj)
            audit_event_record(
                actor=request.user,
                event_type=AuditEvent.Type.DOMAIN_CHANGED,
                outcome=AuditEvent.Outcome.SUCCESS,
                domain=slug,
                details={"change": "deleted"},
            )


@admin.register(Passage)
class PassageAdmin(admin.ModelAdmin):
    list_display = ("source_id", "domain", "citation", "source", "updated_at")
    list_filter = ("domain",)
    search_fields = ("source_id", "citation", "text")
    exclude = ("embedding",)


@admin.register(DocumentUpload)
class DocumentUploadAdmin(admin.ModelAdmin):
    """Upload a document; a worker ingests it and the row shows the outcome."""

    list_display = ("file", "domain", "status", "created_at", "finished_at")
    list_filter = ("status", "domain")
    fields = (
        "domain",
        "file",
        "jurisdictions",
        "citation_prefix",
        "effective_date",
        "status",
        "result",
        "error",
        "uploaded_by",
        "created_at",
        "finished_at",
    )
    readonly_fields = ("status", "result", "error", "uploaded_by", "created_at", "finished_at")

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)
        transaction.on_commit(lambda: services.enqueue_upload(obj.pk))
