from __future__ import annotations

from collections.abc import Callable

from django.core.management.base import CommandError
from tqdm import tqdm

from domains.models import Domain


def domain_or_error(slug: str) -> Domain:
    """The domain a command names, or an error listing the known ones."""
    domain = Domain.objects.filter(slug=slug).first()
    if domain is None:
        known = ", ".join(Domain.objects.values_list("slug", flat=True)) or "none; run domains_sync"
        raise CommandError(f"unknown domain {slug!r} (known: {known})")
    return domain


def training_progress(verbose: bool) -> Callable[[int], Callable[[float], None]]:
    """For a training loop: given its number of steps, a callback that advances a progress bar
    by one step and shows the step's loss."""

    def progress(steps: int) -> Callable[[float], None]:
        bar = tqdm(total=steps, desc="Training", unit="step", disable=not verbose)

        def tick(loss: float) -> None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
            if bar.n == steps:
                bar.close()

        return tick

    return progress
