from __future__ import annotations

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class DomainsConfig(AppConfig):
    name = "domains"
    verbose_name = "Domains and corpora"

    def ready(self) -> None:
        from compliance.policy import PolicyError, policies
        from domains.catalog import catalog_slugs

        # Policies name domains; the catalog knows which exist. Checked here, where both are
        # loaded, so that compliance never imports the domains app.
        try:
            policies().check_domains(catalog_slugs())
        except PolicyError as exc:
            raise ImproperlyConfigured(f"Invalid policy: {exc}") from exc
