from __future__ import annotations

from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def _cache_table(sender, using: str = "default", **kwargs) -> None:
    # Throttling and login lockout counters live in the database cache unless CACHE_URL is
    # set; creating its table here means `migrate` is all a deployment runs.
    call_command("createcachetable", database=using, verbosity=0)


class AssistantConfig(AppConfig):
    name = "assistant"
    verbose_name = "Assistant"

    def ready(self) -> None:
        post_migrate.connect(_cache_table, sender=self, dispatch_uid="assistant.cache_table")
