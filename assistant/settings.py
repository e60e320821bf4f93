"""One settings module, driven by environment variables.

Embedded mode (the default, no variables at all): SQLite under ``var/``, Celery over kombu's
SQLAlchemy transport on a SQLite file, secrets generated once into ``var/secrets/``.

Production (``DEBUG=0``): ``DATABASE_URL`` (PostgreSQL), ``CELERY_BROKER_URL`` (Redis or
RabbitMQ), ``SECRET_KEY``, ``FIELD_ENCRYPTION_KEYS`` and ``ALLOWED_HOSTS`` are required; each
secret may instead be read from a file named by ``<NAME>_FILE``. Missing or insecure values stop
start-up with ``ImproperlyConfigured`` naming the variable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

# Nothing may reach for the network at run time. These must be set before transformers,
# huggingface_hub or tldextract are imported anywhere in the process, and settings are the
# first project code every entry point (manage.py, wsgi, celery) loads.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# An empty URL list makes tldextract (used by Presidio's e-mail and URL recognizers) use the
# public suffix snapshot bundled in the package instead of downloading one.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str | None:
    """A variable's value, or the content of the file named by ``<name>_FILE``."""
    value = os.environ.get(name)
    if value:
        return value
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name} cannot be read: {exc}") from exc
    return default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false).")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# Embedded mode is development and evaluation: no variables needed, DEBUG on.
# Production sets DEBUG=0 and everything below becomes strict.
DEBUG = env_bool("DEBUG", True)

VAR_DIR = Path(env_str("ASSISTANT_VAR_DIR", str(BASE_DIR / "var")))
MODEL_CACHE_DIR = Path(env_str("ASSISTANT_MODEL_DIR", str(VAR_DIR / "models")))
INDEX_DIR = Path(env_str("ASSISTANT_INDEX_DIR", str(VAR_DIR / "indexes")))
# Uploaded documents wait here for a worker to ingest them; never served over HTTP.
MEDIA_ROOT = Path(env_str("ASSISTANT_UPLOAD_DIR", str(VAR_DIR / "media")))
DOCUMENT_UPLOAD_MAX_BYTES = env_int("DOCUMENT_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
# One upload may add at most this many passages (a 49 MB text file made 34,530), and is
# given up after its worker died under it this many times.
DOCUMENT_MAX_PASSAGES = env_int("DOCUMENT_MAX_PASSAGES", 5000)
UPLOAD_MAX_ATTEMPTS = env_int("UPLOAD_MAX_ATTEMPTS", 3)
SECRETS_DIR = VAR_DIR / "secrets"


def embedded_secret(name: str, make: Callable[[], str]) -> str:
    """Generate a secret once into var/secrets so restarts keep using it (embedded mode only)."""
    path = SECRETS_DIR / name
    if path.exists():
        return path.read_text().strip()
    SECRETS_DIR.mkdir(parents=True, exist_ok=True)
    value = make()
    # O_EXCL: two processes starting together must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def require(name: str, value: str | None, hint: str) -> str:
    if not value:
        raise ImproperlyConfigured(
            f"{name} is required when DEBUG is off (set {name} or {name}_FILE). {hint}"
        )
    return value


SECRET_KEY = env_str("SECRET_KEY")
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", [])

if DEBUG:
    SECRET_KEY = SECRET_KEY or embedded_secret("secret-key", lambda: secrets.token_urlsafe(64))
    FIELD_ENCRYPTION_KEYS = FIELD_ENCRYPTION_KEYS or [
        embedded_secret("field-encryption-key", lambda: Fernet.generate_key().decode())
    ]
else:
    require(
        "SECRET_KEY",
        SECRET_KEY,
        "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'",
    )
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure") or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "SECRET_KEY is insecure: use at least 50 random characters, not a 'django-insecure' key."
        )
    require(
        "FIELD_ENCRYPTION_KEYS",
        ",".join(FIELD_ENCRYPTION_KEYS),
        "Comma-separated Fernet keys, newest first. Generate one with: "
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'",
    )

for _position, _key in enumerate(FIELD_ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEYS entry {_position} is not a valid Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from exc

# Audit checkpoints are signed with an Ed25519 key that lives outside the database, so that
# someone who can rewrite the database cannot re-sign a rewritten trail (docs/audit.md).
AUDIT_SIGNING_KEY_FILE = Path(
    env_str("AUDIT_SIGNING_KEY_FILE", str(SECRETS_DIR / "audit-signing-key.pem"))
)
# Public keys of earlier signing keys (PEM, concatenated), still trusted for old checkpoints.
AUDIT_TRUSTED_KEYS_FILE = Path(
    env_str("AUDIT_TRUSTED_KEYS_FILE", str(SECRETS_DIR / "audit-trusted-keys.pem"))
)
# Embedded mode creates the key on first use; production must provide it.
AUDIT_SIGNING_KEY_AUTOCREATE = DEBUG
if not DEBUG and not AUDIT_SIGNING_KEY_FILE.is_file():
    raise ImproperlyConfigured(
        f"AUDIT_SIGNING_KEY_FILE ({AUDIT_SIGNING_KEY_FILE}) does not exist. Create the Ed25519 key "
        "with: python manage.py audit_keys create --path <file> (keep it off the database server)."
    )
AUDIT_CHECKPOINT_SECONDS = env_int("AUDIT_CHECKPOINT_SECONDS", 300)
# Every checkpoint is also appended here, out of the database's reach (another volume, an
# append-only mount); `audit_verify --checkpoints` holds the database to it. Empty: not kept.
AUDIT_WITNESS_FILE = env_str("AUDIT_WITNESS_FILE", "")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG:
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS is required when DEBUG is off.")
    if "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must not contain '*' when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "csp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "compliance",
    "domains",
    "assistant",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it answers a locked-out login with 429.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username and address is refused before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Content Security Policy: scripts only from the service itself or inline with this response's
# nonce, so markup injected into a page cannot run. Inline style attributes stay allowed (the
# templates use them; a style cannot run code).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "assistant.urls"
WSGI_APPLICATION = "assistant.wsgi.application"
ASGI_APPLICATION = "assistant.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "assistant.context_processors.navigation",
                "csp.context_processors.nonce",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if not DEBUG:
    require(
        "DATABASE_URL", DATABASE_URL, "Example: postgres://user:password@db.internal:5432/assistant"
    )
EMBEDDED_DATABASE_PATH = VAR_DIR / "assistant.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{EMBEDDED_DATABASE_PATH}",
        conn_max_age=60 if DATABASE_URL else 0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to the same file: wait for locks instead of failing,
    # and take the write lock at BEGIN so two writers never deadlock upgrading read locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The worker started by integration tests must see the test database, so it is a file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-assistant.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:ask"
LOGOUT_REDIRECT_URL = "login"

# Request bodies: the API refuses questions above INQUIRY_MAX_QUESTION_CHARS with a field error;
# this cap stops oversized bodies before they are parsed at all.
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
INQUIRY_MAX_QUESTION_CHARS = env_int("INQUIRY_MAX_QUESTION_CHARS", 4000)
# A running inquiry whose worker died is reclaimed after this many seconds. Each pipeline step
# renews it, so it must exceed the longest single step (generation).
INQUIRY_LEASE_SECONDS = env_int("INQUIRY_LEASE_SECONDS", 300)
INQUIRY_MAX_ATTEMPTS = env_int("INQUIRY_MAX_ATTEMPTS", 3)
# Longest time GET /api/v1/inquiries/{id}?wait=N may hold a request open.
INQUIRY_MAX_WAIT_SECONDS = env_int("INQUIRY_MAX_WAIT_SECONDS", 60)
# The event stream of an inquiry (GET /api/v1/inquiries/{id}/stream) checks for news this often
# and ends after this long; a client then reconnects or fetches the inquiry.
INQUIRY_STREAM_POLL_SECONDS = float(env_str("INQUIRY_STREAM_POLL_SECONDS", "0.25"))
INQUIRY_STREAM_SECONDS = env_int("INQUIRY_STREAM_SECONDS", 300)
# Event streams and ?wait= polls one user may hold open at once (each holds a server thread).
LONG_REQUESTS_PER_USER = env_int("LONG_REQUESTS_PER_USER", 4)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated request gets 401 with a WWW-Authenticate header.
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["assistant.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("API_THROTTLE_USER", "600/hour"),
        # Creating inquiries runs the models; it has its own, lower budget.
        "inquiries": env_str("API_THROTTLE_INQUIRIES", "120/hour"),
        # Unauthenticated requests (the token endpoint), per client address.
        "anon": env_str("API_THROTTLE_ANON", "60/hour"),
    },
    "EXCEPTION_HANDLER": "assistant.exceptions.api_exception_handler",
    # Trusted reverse proxies in front of the service. Without it DRF would key the throttles
    # on X-Forwarded-For as the client wrote it, which a client can change at every request.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# API tokens (django-rest-knox): stored as digests only, expiring, revocable one by one.
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24 * 30)
KNOX_TOKEN_MODEL = "assistant.ApiToken"  # noqa: S105 (a model name)
# knox's own migrations would create its default token table, which ApiToken replaces.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": env_int("API_TOKEN_LIMIT_PER_USER", 20),
}
# An Idempotency-Key is remembered this long; a retry within it returns the first inquiry.
IDEMPOTENCY_KEY_HOURS = env_int("IDEMPOTENCY_KEY_HOURS", 24)

SPECTACULAR_SETTINGS = {
    "TITLE": "Regulated Assistant API",
    "DESCRIPTION": (
        "Ask questions of small domain models grounded in regulatory text. Every question is "
        "screened for personal data, decided by its jurisdiction's policy and audited."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs describe endpoints, not data, but a production service need not
    # show its attack surface to strangers: public in embedded mode, for signed-in users in
    # production unless API_DOCS_PUBLIC=1.
    "SERVE_PERMISSIONS": [
        "rest_framework.permissions.AllowAny"
        if env_bool("API_DOCS_PUBLIC", DEBUG)
        else "rest_framework.permissions.IsAuthenticated"
    ],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The interactive docs load their assets from the app itself, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "InquiryStatusEnum": "assistant.models.Inquiry.Status",
    },
}

# Celery. Only ids travel through the broker; no results are stored anywhere.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
if not DEBUG:
    require("CELERY_BROKER_URL", CELERY_BROKER_URL, "Example: redis://cache.internal:6379/0")
EMBEDDED_BROKER_PATH = VAR_DIR / "celery-broker.sqlite3"
CELERY_BROKER_URL = CELERY_BROKER_URL or f"sqla+sqlite:///{EMBEDDED_BROKER_PATH}"
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "inquiries")
# Work that must not wait behind minute-long questions has queues of its own: document
# ingestion, and the scheduled upkeep (audit checkpoints above all, which came 18 minutes
# apart instead of 5 when they queued behind questions). Give each a worker (bin/up does).
CELERY_DOCUMENTS_QUEUE = env_str("CELERY_DOCUMENTS_QUEUE", "documents")
CELERY_MAINTENANCE_QUEUE = env_str("CELERY_MAINTENANCE_QUEUE", "maintenance")
CELERY_TASK_ROUTES = {
    "domains.tasks.document_ingest": {"queue": CELERY_DOCUMENTS_QUEUE},
    "compliance.tasks.*": {"queue": CELERY_MAINTENANCE_QUEUE},
    "assistant.tasks.inquiries_requeue_stale": {"queue": CELERY_MAINTENANCE_QUEUE},
    "assistant.tasks.inquiries_purge_expired": {"queue": CELERY_MAINTENANCE_QUEUE},
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must not hang a web request forever when the broker is down.
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}
# Loading the three models in a fresh worker process takes longer than Celery's 4 s default.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 120
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redelivery of an unacknowledged task after a worker dies waits this long (seconds).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": INQUIRY_LEASE_SECONDS + 60}

CELERY_BEAT_SCHEDULE = {
    # Recovers inquiries whose message was lost (a broker restart, a worker killed after ack).
    "requeue-stale-inquiries": {
        "task": "assistant.tasks.inquiries_requeue_stale",
        "schedule": 60.0,
    },
    # Removes inquiry content past its jurisdiction's retention period.
    "purge-expired-content": {
        "task": "assistant.tasks.inquiries_purge_expired",
        "schedule": 900.0,
    },
    # Signs the chain head, bounding what a database rewrite could remove unnoticed.
    "audit-checkpoint": {
        "task": "compliance.tasks.audit_checkpoint",
        "schedule": float(AUDIT_CHECKPOINT_SECONDS),
    },
    "audit-verify": {
        "task": "compliance.tasks.audit_verify",
        "schedule": 86400.0,
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Jurisdiction policies and refusal categories (see docs/policies.md). Loaded and validated at
# start-up; an invalid file stops every process from starting.
POLICY_DIR = Path(env_str("ASSISTANT_POLICY_DIR", str(BASE_DIR / "compliance" / "policies")))
REFUSAL_CATEGORIES_FILE = Path(
    env_str(
        "ASSISTANT_REFUSAL_CATEGORIES", str(BASE_DIR / "compliance" / "refusal_categories.yaml")
    )
)
# Where the in-process model backend runs, for data residency: policies list the regions their
# data may be processed in. "on-premises" means the deployer's own machines, which every shipped
# policy allows; a worker in a cloud region should say which (e.g. US, EU).
LOCAL_MODEL_REGION = env_str("ASSISTANT_LOCAL_MODEL_REGION", "on-premises")

# Models (see docs/models.md): the embedded defaults are the offline PyPI packages.
ASSISTANT_WARM_MODELS = env_bool("ASSISTANT_WARM_MODELS", True)
TORCH_THREADS = env_int("TORCH_THREADS", 0)
# llama.cpp threads per worker process, for generating and for reading the prompt (measured with
# generation_benchmark, docs/models.md); more answers at once come from more worker processes.
LLAMA_CPP_THREADS = env_int("LLAMA_CPP_THREADS", 1)
LLAMA_CPP_PROMPT_THREADS = env_int("LLAMA_CPP_PROMPT_THREADS", LLAMA_CPP_THREADS)
# Tokens of context per loaded llama.cpp model: the longest prompt plus its answer.
LLAMA_CPP_CONTEXT = env_int("LLAMA_CPP_CONTEXT", 4096)

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    # Plain HTTP is redirected to HTTPS, except the health check a load balancer makes inside.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^api/v1/health$"]
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
# Sessions end after this many idle seconds: every request moves the expiry forward.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# The cache holds throttling and lockout counters, which every web process must share: a
# database table (created by `migrate`) unless CACHE_URL names a Redis server.
CACHE_URL = env_str("CACHE_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "assistant_cache",
        }
    )
}

# Failed logins (portal and API token) per username and address: after AXES_FAILURE_LIMIT, the
# pair is locked out for AXES_COOLOFF_TIME. Counters live in the cache only, and the username is
# keyed by its HMAC, so a mistyped username never lands in a table.
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "assistant.authentication.username_for_lockout"
AXES_CLIENT_IP_CALLABLE = "assistant.authentication.client_address"
AXES_LOCKOUT_CALLABLE = "assistant.authentication.locked_out_response"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Presidio's decision-process logger prints the analysed text; never enable it.
        "presidio-analyzer": {"level": "ERROR"},
        "decision_process": {"level": "CRITICAL", "propagate": False},
        "django.db.backends": {"level": "INFO"},
        "faiss.loader": {"level": "WARNING"},
        # django-axes logs every login's counter reset at INFO.
        "axes": {"level": "WARNING"},
        # The openai backend's HTTP client logs each request's URL at INFO; a worker's log has
        # no use for one line per answer.
        "httpx": {"level": "WARNING"},
    },
}
