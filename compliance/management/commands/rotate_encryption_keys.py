from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from assistant.models import Inquiry
from compliance.crypto import DecryptionError, rewrap
from compliance.models import AuditEvent
from compliance.services import audit_event_record


class Command(BaseCommand):
    help = (
        "Re-wrap every inquiry's content key with the newest master key (the first of "
        "FIELD_ENCRYPTION_KEYS). Rotate by prepending a new key, running this, then removing "
        "the old key. Content is not re-encrypted: only the small wrapped keys change."
    )

    def handle(self, *args, **options) -> None:
        ids = list(Inquiry.objects.exclude(content_key_wrapped="").values_list("id", flat=True))
        rewrapped = 0
        unreadable = []
        for inquiry_id in tqdm(
            ids, desc="Re-wrapping keys", unit="key", disable=options["verbosity"] == 0
        ):
            with transaction.atomic():
                inquiry = Inquiry.objects.select_for_update().get(pk=inquiry_id)
                if not inquiry.content_key_wrapped:
                    continue
                try:
                    inquiry.content_key_wrapped = rewrap(inquiry.content_key_wrapped)
                except DecryptionError:
                    unreadable.append(str(inquiry_id))
                    continue
                inquiry.save(update_fields=["content_key_wrapped"])
                rewrapped += 1
        audit_event_record(
            actor=None,
            event_type=AuditEvent.Type.KEYS_ROTATED,
            outcome=AuditEvent.Outcome.FAILURE if unreadable else AuditEvent.Outcome.SUCCESS,
            details={"rewrapped": rewrapped, "unreadable": len(unreadable)},
        )
        self.stdout.write(f"re-wrapped {rewrapped} content keys with the newest master key")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} keys open with none of the configured master keys "
                f"(first: {unreadable[0]}); keep the old key until they are resolved"
            )
