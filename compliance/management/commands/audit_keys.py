from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from compliance.audit_chain import key_id, public_keys_pem
from compliance.services import audit_checkpoint_create
from compliance.signing import SigningKeyError, key_create, signing_key


class Command(BaseCommand):
    help = (
        "Manage the Ed25519 key that signs audit checkpoints. 'create' writes a new key file, "
        "'show' prints the public key to publish (verifiers compare its id), 'rotate' retires the "
        "current key (its public key stays trusted for old checkpoints) and signs with a new one."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["create", "show", "rotate"])
        parser.add_argument(
            "--path",
            type=Path,
            help="key file for 'create' (default: AUDIT_SIGNING_KEY_FILE)",
        )

    def handle(self, *args, **options) -> None:
        try:
            getattr(self, options["action"])(options)
        except (SigningKeyError, FileExistsError, OSError) as exc:
            raise CommandError(str(exc)) from None

    def create(self, options) -> None:
        path = options["path"] or Path(settings.AUDIT_SIGNING_KEY_FILE)
        if path.exists():
            raise CommandError(f"{path}: a key already exists; it is never overwritten")
        key = key_create(path)
        self.stdout.write(f"created {path} (key id {key_id(key.public_key())}); public key:")
        self.stdout.write(public_keys_pem([key.public_key()]).decode())

    def show(self, options) -> None:
        public = signing_key().public_key()
        self.stdout.write(f"key id {key_id(public)}")
        self.stdout.write(public_keys_pem([public]).decode())

    def rotate(self, options) -> None:
        current = Path(settings.AUDIT_SIGNING_KEY_FILE)
        old = signing_key()
        # Sign the head with the old key first, so the switch-over point is itself signed.
        audit_checkpoint_create()
        trusted = Path(settings.AUDIT_TRUSTED_KEYS_FILE)
        trusted.parent.mkdir(parents=True, exist_ok=True)
        with trusted.open("ab") as handle:
            handle.write(public_keys_pem([old.public_key()]))
        retired = current.with_name(f"{current.name}.retired-{key_id(old.public_key())}")
        current.rename(retired)
        new = key_create(current)
        self.stdout.write(
            f"retired key {key_id(old.public_key())} (moved to {retired}; its public key is in "
            f"{trusted}); now signing with {key_id(new.public_key())}"
        )
