from __future__ import annotations

from django.core.management.base import CommandError

from compliance.policy import policies


def entities_for_jurisdiction(code: str | None) -> list[str] | None:
    """The entity types a jurisdiction's policy redacts in any domain; None (every type) when
    no jurisdiction is given."""
    if code is None:
        return None
    policy = policies().get(code)
    if policy is None:
        raise CommandError(
            f"unknown jurisdiction {code!r} (known: {', '.join(policies().codes())})"
        )
    return policy.all_entities()
