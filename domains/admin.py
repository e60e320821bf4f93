from __future__ import annotations

from django.contrib import admin

from domains.models import Domain, Passage


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "is_active", "index_revision", "updated_at")
    readonly_fields = ("definition_sha256", "index_revision", "updated_at")


@admin.register(Passage)
class PassageAdmin(admin.ModelAdmin):
    list_display = ("source_id", "domain", "citation", "source", "updated_at")
    list_filter = ("domain",)
    search_fields = ("source_id", "citation", "text")
    exclude = ("embedding",)
