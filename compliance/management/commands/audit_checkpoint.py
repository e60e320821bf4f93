from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from compliance.services import audit_checkpoint_create
from compliance.signing import SigningKeyError


class Command(BaseCommand):
    help = "Sign the audit chain's head now (the worker's beat does it every AUDIT_CHECKPOINT_SECONDS)."

    def handle(self, *args, **options) -> None:
        try:
            checkpoint = audit_checkpoint_create()
        except SigningKeyError as exc:
            raise CommandError(str(exc)) from None
        if checkpoint is None:
            self.stdout.write("nothing new to sign: the last checkpoint covers the chain head")
        else:
            self.stdout.write(
                f"checkpoint #{checkpoint.number} signs event #{checkpoint.seq} "
                f"({checkpoint.hash}) with key {checkpoint.key_id}"
            )
