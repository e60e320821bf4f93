"""Settings are checked in a fresh interpreter, as a production process would load them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz" + "Q" * 10


def load_settings(tmp_path, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG"}
    }
    key_file = tmp_path / "audit-signing-key.pem"
    if not key_file.exists():
        key_file.write_bytes(
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    clean.update(
        {
            "DJANGO_SETTINGS_MODULE": "assistant.settings",
            "ASSISTANT_VAR_DIR": str(tmp_path),
            "AUDIT_SIGNING_KEY_FILE": str(key_file),
            **env,
        }
    )
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": GOOD_SECRET,
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "assistant.example.org",
    "DATABASE_URL": "postgres://app@db.internal:5432/assistant",
    "CELERY_BROKER_URL": "redis://cache.internal:6379/0",
}


def test_embedded_defaults_need_no_variables(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        f"sqla+sqlite:///{tmp_path}/celery-broker.sqlite3",
    ]
    assert (tmp_path / "secrets" / "field-encryption-key").exists()


def test_production_settings_load_with_every_variable_set(tmp_path):
    result = load_settings(tmp_path, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "redis://cache.internal:6379/0",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is required when DEBUG is off"),
        ({"SECRET_KEY": "django-insecure-" + "x" * 60}, "SECRET_KEY is insecure"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is insecure"),
        ({"FIELD_ENCRYPTION_KEYS": ""}, "FIELD_ENCRYPTION_KEYS is required when DEBUG is off"),
        (
            {"FIELD_ENCRYPTION_KEYS": "not-a-key"},
            "FIELD_ENCRYPTION_KEYS entry 1 is not a valid Fernet key",
        ),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS must not contain '*'"),
        (
            {"AUDIT_SIGNING_KEY_FILE": "/nonexistent/audit-key.pem"},
            "AUDIT_SIGNING_KEY_FILE (/nonexistent/audit-key.pem) does not exist",
        ),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is required when DEBUG is off"),
        ({"DATABASE_URL": ""}, "DATABASE_URL is required when DEBUG is off"),
        ({"CELERY_BROKER_URL": ""}, "CELERY_BROKER_URL is required when DEBUG is off"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
    ],
)
def test_production_refuses_missing_or_insecure_values_by_name(tmp_path, change, message):
    result = load_settings(tmp_path, **{**PRODUCTION, **change})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
    assert not (tmp_path / "secrets").exists()


def test_secrets_can_come_from_files(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(GOOD_SECRET + "\n")
    env = {**PRODUCTION, "SECRET_KEY": "", "SECRET_KEY_FILE": str(secret_file)}
    assert load_settings(tmp_path, **env).returncode == 0
    env["SECRET_KEY_FILE"] = str(tmp_path / "missing")
    result = load_settings(tmp_path, **env)
    assert "SECRET_KEY_FILE=" in result.stderr and "cannot be read" in result.stderr


def run_manage(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``manage.py`` in a fresh interpreter with the environment ``load_settings`` builds."""
    load_settings(tmp_path, **env)  # writes the signing key
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; no deployment has it.
    leave_out = {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in leave_out}
    clean.update(
        {
            "ASSISTANT_VAR_DIR": str(tmp_path),
            "AUDIT_SIGNING_KEY_FILE": str(tmp_path / "audit-signing-key.pem"),
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deployment_check_is_clean_with_the_documented_production_variables(tmp_path):
    result = run_manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **PRODUCTION,
        BEHIND_TLS_PROXY="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_keeps_the_api_docs_for_signed_in_users_unless_told(tmp_path):
    show = (
        "from django.conf import settings; "
        "print(settings.SPECTACULAR_SETTINGS['SERVE_PERMISSIONS'][0].rsplit('.', 1)[1])"
    )
    private = run_manage(tmp_path, "shell", "-v", "0", "-c", show, **PRODUCTION)
    assert private.stdout.split() == ["IsAuthenticated"], private.stderr
    public = run_manage(tmp_path, "shell", "-v", "0", "-c", show, **PRODUCTION, API_DOCS_PUBLIC="1")
    assert public.stdout.split() == ["AllowAny"], public.stderr
