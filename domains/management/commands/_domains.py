from __future__ import annotations

from django.core.management.base import CommandError

from domains.models import Domain


def domain_or_error(slug: str) -> Domain:
    """The domain a command names, or an error listing the known ones."""
    domain = Domain.objects.filter(slug=slug).first()
    if domain is None:
        known = ", ".join(Domain.objects.values_list("slug", flat=True)) or "none; run domains_sync"
        raise CommandError(f"unknown domain {slug!r} (known: {known})")
    return domain
