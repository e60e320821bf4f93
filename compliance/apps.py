from __future__ import annotations

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from compliance import signals  # noqa: F401  (connects the login receivers)
        from compliance.policy import PolicyError, policies

        # Every process (web, worker, command) validates the policies before doing anything, so
        # none ever runs on a half-loaded or malformed set.
        try:
            policies()
        except PolicyError as exc:
            raise ImproperlyConfigured(f"Invalid policy: {exc}") from exc
