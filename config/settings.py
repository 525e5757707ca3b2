"""Settings for the education information platform, read from the environment.

Every value that differs between a laptop demo, CI and production comes from an environment
variable; the defaults give a working embedded SQLite demo under ``var/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("EDU_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


DEBUG = _env_bool("DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# The repository's demo keys: public, so only for the demo and the tests (see docs/deployment.md).
DEMO_SECRET_KEY = "insecure-demo-key-change-me-in-production-0123456789"  # noqa: S105 (public demo key)
DEMO_FIELD_ENCRYPTION_KEY = "ZGVtby1rZXktZm9yLWxvY2FsLXVzZS1vbmx5LTMyYnk="
DEMO_FIELD_INDEX_KEY = "ZGVtby1ibGluZC1pbmRleC1rZXktbG9jYWwtb25seSE="
SECRET_KEY = os.environ.get("SECRET_KEY", DEMO_SECRET_KEY)

# Field encryption keys for personal data (ID numbers, phones): "keyid:base64key,keyid:base64key".
# The first key encrypts; all of them decrypt, so keys can rotate.
FIELD_ENCRYPTION_KEYS = os.environ.get("FIELD_ENCRYPTION_KEYS", f"demo1:{DEMO_FIELD_ENCRYPTION_KEY}")
# Key (base64) of the HMAC blind index that finds and de-duplicates encrypted values. Independent of
# the encryption keys so that rotating those changes no index; it must stay fixed for the life of the
# data. The default is a demo key: set your own in production.
FIELD_INDEX_KEY = os.environ.get("FIELD_INDEX_KEY", DEMO_FIELD_INDEX_KEY)

# Which kind of installation this is: "production" or "demo" (the laptop demo, CI and the tests).
# Unset, it is a demo only while the site answers to local host names alone: a server reachable by
# a real name (ALLOWED_HOSTS) is production even if EDU_ENV was forgotten, so it cannot run on the
# public demo keys by omission.
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "testserver", "::1", "[::1]"}
EDU_ENV = os.environ.get("EDU_ENV", "").strip().lower() or (
    "demo" if set(ALLOWED_HOSTS) <= _LOCAL_HOSTS else "production"
)
if EDU_ENV not in {"production", "demo"}:
    raise ImproperlyConfigured(f"EDU_ENV 只能是 production 或 demo，而不是「{EDU_ENV}」 / EDU_ENV must be production or demo")
IS_PRODUCTION = EDU_ENV == "production"


def _demo_values_in_use() -> list[str]:
    found = []
    if SECRET_KEY == DEMO_SECRET_KEY or SECRET_KEY.startswith("insecure-") or len(SECRET_KEY) < 50:
        found.append("SECRET_KEY")
    if DEMO_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEYS:
        found.append("FIELD_ENCRYPTION_KEYS")
    if FIELD_INDEX_KEY == DEMO_FIELD_INDEX_KEY:
        found.append("FIELD_INDEX_KEY")
    return found


if IS_PRODUCTION:
    # Refused here, while the settings load, so that every process — web server, worker, every
    # manage.py command — stops before it could sign a session or seal an ID number with a public key.
    if _demo_values := _demo_values_in_use():
        names = "、".join(_demo_values)
        raise ImproperlyConfigured(
            f"生产环境（EDU_ENV=production）不能使用仓库自带的演示密钥：请设置 {names}（见 docs/deployment.md）。 / "
            f"Refusing to start in production with the repository's demo values of {', '.join(_demo_values)}: "
            "set them in the environment (see docs/deployment.md)."
        )
    if DEBUG:
        raise ImproperlyConfigured(
            "生产环境（EDU_ENV=production）不能开启 DEBUG：请设置 DEBUG=0。 / "
            "Refusing to start in production with DEBUG on: set DEBUG=0."
        )

# How long after a year-end promotion it can still be undone exactly.
PROMOTION_UNDO_DAYS = int(os.environ.get("PROMOTION_UNDO_DAYS", "30"))

# A running import whose worker has not reported for this long is taken as interrupted (its worker
# died) and marked failed, with a retry offered. The worker reports at every phase and progress step.
IMPORT_STALE_SECONDS = int(os.environ.get("IMPORT_STALE_SECONDS", str(15 * 60)))
# Uploaded files (they hold ID numbers) are kept sealed, and dropped this long after their job ended
# (a clean dry run's file, kept to be committed with one click; an interrupted job's, for a retry).
UPLOAD_RETENTION_HOURS = float(os.environ.get("UPLOAD_RETENTION_HOURS", "24"))

# A list export longer than this many rows is built by the worker, with a progress page and a
# download link, not inside the request (core/exports.py).
EXPORT_BACKGROUND_ROWS = int(os.environ.get("EXPORT_BACKGROUND_ROWS", "50000"))

# Notifications of waiting work (web/inbox.py), off by default: NOTIFY_EMAIL mails the users concerned
# through Django's mail (EMAIL_HOST, EMAIL_PORT, DEFAULT_FROM_EMAIL); NOTIFY_SMS calls the function
# named by NOTIFY_SMS_SENDER ("module.function", given phone= and text=), e.g. a gateway's client.
NOTIFY_EMAIL = _env_bool("NOTIFY_EMAIL", False)
NOTIFY_SMS = _env_bool("NOTIFY_SMS", False)
NOTIFY_SMS_SENDER = os.environ.get("NOTIFY_SMS_SENDER", "")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@localhost")

# Background jobs (imports, exports): django-tasks with its database backend; run
# ``manage.py db_worker`` beside the web server. TASKS_BACKEND=immediate runs jobs inline.
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if os.environ.get("TASKS_BACKEND") == "immediate"
            else "django_tasks_db.DatabaseBackend"
        ),
    }
}

# Pages whose figures cannot change — a snapshot's pages and 基表, the public portal — are kept in
# this cache (stats/page_cache.py; live figures never are). PAGE_CACHE=database (default): a table
# every process and server shares, made by ``migrate``; locmem: per process (one process only, or
# tests); off: no caching.
PAGE_CACHE = os.environ.get("PAGE_CACHE", "database").strip().lower()
CACHES = {
    "default": {
        "database": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "eduplatform_cache",
                     "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("PAGE_CACHE_ENTRIES", "20000")),
                                 "CULL_FREQUENCY": 4}},
        "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "eduplatform-pages",
                   "OPTIONS": {"MAX_ENTRIES": 2000}},
        "off": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }.get(PAGE_CACHE) or {}
}
if not CACHES["default"]:
    raise ImproperlyConfigured(f"PAGE_CACHE 只能是 database、locmem 或 off，而不是「{PAGE_CACHE}」")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "oauth2_provider",
    "ninja",  # /api/v1/docs from its own static files (Swagger UI), not a CDN
    "eduplatform.core",
    "eduplatform.standards",
    "eduplatform.history",
    "eduplatform.orgs",
    "eduplatform.accounts",
    "eduplatform.students",
    "eduplatform.imports",
    "eduplatform.staff",
    "eduplatform.facilities",
    "eduplatform.assets",
    "eduplatform.stats",
    "eduplatform.funding",
    "eduplatform.reporting",
    "eduplatform.exchange",
    "eduplatform.nodes",
    "eduplatform.quality",
    "eduplatform.portal",
    "eduplatform.web",
    "eduplatform.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "eduplatform.core.request_context.RequestContextMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "eduplatform.accounts.middleware.IdleSessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "eduplatform.exchange.calllog.ApiCallLogMiddleware",  # one ApiCallLog row per /api/v1/ call
    # Last, so its process_exception is the first to see a view's DataError (the 400 safety net).
    "eduplatform.core.input_guard.InputGuardMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "eduplatform.web.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'eduplatform.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and os.environ.get("PG_JIT", "off") != "on":
    # PostgreSQL's JIT compiles a plan whose *estimated* cost is high: a refresh of one school,
    # estimated from the whole roll-up's statistics, spent 170 ms compiling a statement that ran in
    # 1 ms (docs/statistics.md). The platform's queries are small by design; PG_JIT=on restores it.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the demo server read while a background job writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "eduplatform.accounts.passwords.ComplexityPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout: django-axes locks an (account, source address) pair after repeated failures, so a
# stranger typing wrong passwords locks only their own address out of that account (issue 17).
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.5"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False
# Never the address alone: a whole school often shares one NAT address, and locking it would shut
# every clerk of the school out after one colleague mistyped.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Idle-session timeout (seconds without a request) and an absolute cap on a session's age.
SESSION_IDLE_TIMEOUT = int(os.environ.get("SESSION_IDLE_TIMEOUT", str(30 * 60)))
# How often the idle clock's time stamp is written back (seconds): at most one session save per
# interval instead of one per request, so a GET (or an htmx poll) writes nothing. A session is
# therefore logged out after between SESSION_IDLE_TIMEOUT − this and SESSION_IDLE_TIMEOUT seconds idle.
SESSION_ACTIVITY_INTERVAL = int(os.environ.get("SESSION_ACTIVITY_INTERVAL", "60"))
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(12 * 3600)))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Behind TLS (always in production): cookies only over HTTPS, HTTP redirected to HTTPS, and HSTS so
# browsers never try plain HTTP again. SECURE_PROXY_SSL_HEADER=1 when a proxy terminates TLS and
# sets X-Forwarded-Proto (otherwise every request looks like HTTP and redirects for ever).
SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", IS_PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", IS_PRODUCTION)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600 if IS_PRODUCTION else 0)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", IS_PRODUCTION)
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", IS_PRODUCTION)
if _env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
# Grouping only where a template asks for it (|intcomma): years, codes and ids stay as they are.
USE_THOUSAND_SEPARATOR = False
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing root
STATICFILES_DIRS = [BASE_DIR / "var" / "vendor"]
# Production static files (STATIC_MANIFEST=1, the default in production and under `make serve`):
# hashed names from `collectstatic` (cached for a year, immutable) with .gz and .br copies made once,
# served from STATIC_ROOT only. Off (demo, tests): files straight from the app folders, no build step.
STATIC_MANIFEST = _env_bool("STATIC_MANIFEST", IS_PRODUCTION)

DATA_DIR = BASE_DIR / "data"
TRUST_X_FORWARDED_FOR = _env_bool("TRUST_X_FORWARDED_FOR", False)
# Serve static files straight from the app folders too, so tests and a fresh demo need no collectstatic.
# Never with the manifest: finder files carry no compressed copies and would shadow the collected ones
# (tabler.min.css went out uncompressed, 635 KB, that way).
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST

# Uploaded files (a school's evidence for a data-quality issue) live under var/media, outside any URL:
# they are sent only by views that check the reader's scope (quality:attachment). Set MEDIA_ROOT to
# a disk that is backed up with the database.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "eduplatform.ops.storage.ProductionStaticStorage" if STATIC_MANIFEST
                    else "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Open API clients (exchange/): OAuth2 client credentials through django-oauth-toolkit. Tokens are
# short-lived bearer tokens; secrets are stored hashed and shown once at registration or rotation.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 — a model name
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105 — a model name
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105 — a model name
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "SCOPES": {"api": "开放接口"},
    "DEFAULT_SCOPES": ["api"],
    # RFC 9700 (OAuth 2.0 Security BCP): only the client-credentials grant is used (exchange/clients.py);
    # tokens are stored as their SHA-256 only (exchange/auth.py looks them up by checksum) and are
    # accepted in the Authorization header only.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
# A batch upsert carries up to 10,000 records (about 6 MB of JSON with Chinese names and addresses);
# Django's default 2.5 MB would refuse it before the API could answer per record.
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024

# --- issue 17: read replica (hot standby) for the analysis pages, read-your-writes ---
# REPLICA_DATABASE_URL names a PostgreSQL streaming replica of DATABASE_URL. Unset (the default),
# there is no "replica" alias, no router and no middleware: every query goes to the primary as before.
# Set, the views marked @reads_from_replica (statistics, pivots, their exports, the public portal)
# read from it, except for a user whose last write it has not replayed yet (eduplatform/core/db_router.py,
# docs/scale.md).
REPLICA_RETRY_SECONDS = float(os.environ.get("REPLICA_RETRY_SECONDS", "30"))
REPLICA_READ_YOUR_WRITES_SECONDS = int(os.environ.get("REPLICA_READ_YOUR_WRITES_SECONDS", "3600"))
if os.environ.get("REPLICA_DATABASE_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["REPLICA_DATABASE_URL"], conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")))
    if {DATABASES["default"]["ENGINE"], DATABASES["replica"]["ENGINE"]} != {"django.db.backends.postgresql"}:
        raise ImproperlyConfigured("只读副本（REPLICA_DATABASE_URL）须是 PostgreSQL 主库的流复制备库 / "
                                   "REPLICA_DATABASE_URL must name a streaming replica of a PostgreSQL DATABASE_URL")
    # A replica that does not answer is skipped quickly (the pages read the primary meanwhile).
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = int(os.environ.get("REPLICA_CONNECT_TIMEOUT", "2"))
    if os.environ.get("PG_JIT", "off") != "on":
        DATABASES["replica"]["OPTIONS"]["options"] = "-c jit=off"
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # a test run has no second database to create
    DATABASE_ROUTERS = ["eduplatform.core.db_router.ReplicaRouter"]
    # After authentication (it asks whether the user is logged in), before everything that may answer early.
    MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                      "eduplatform.core.db_router.ReadYourWritesMiddleware")

# --- issue 16: quality scores kept daily for this many days, then one day per month ---
QUALITY_SCORE_DAILY_DAYS = int(os.environ.get("QUALITY_SCORE_DAILY_DAYS", "120"))
# A scan runs its database-bound rules on a second connection beside those that decrypt ID
# numbers in the process (quality/engine.py); 0 runs them one after the other.
QUALITY_SCAN_SIDE_BY_SIDE = _env_bool("QUALITY_SCAN_SIDE_BY_SIDE", True)

# --- issue 17: tamper-evident audit (docs/audit.md) ---
# Months an audit partition is kept in the database before it is archived to a file (at least 6).
AUDIT_RETENTION_MONTHS = max(6, int(os.environ.get("AUDIT_RETENTION_MONTHS", "6")))
AUDIT_ARCHIVE_DIR = Path(os.environ.get("AUDIT_ARCHIVE_DIR", str(VAR_DIR / "audit-archive")))
AUDIT_PARTITIONS_AHEAD = 12  # monthly partitions kept ready ahead of time
# The role the application connects as in production (owns nothing; `manage.py audit_db_role`).
AUDIT_APP_DB_ROLE = os.environ.get("AUDIT_APP_DB_ROLE", "")
# Every attachment a signed-in user downloads is audited (before the input guard, which stays last).
MIDDLEWARE.insert(MIDDLEWARE.index("eduplatform.core.input_guard.InputGuardMiddleware"),
                  "eduplatform.history.middleware.DownloadAuditMiddleware")

# --- issue 17: personal data ---
# "aes": AES-GCM / HMAC-SHA-256; "sm" (国密): the current key in FIELD_ENCRYPTION_KEYS must be an
# "<id>:sm4:<base64>" key and the blind index is HMAC-SM3 (docs/personal-data.md).
FIELD_CRYPTO_SUITE = os.environ.get("FIELD_CRYPTO_SUITE", "aes")

# --- issue 17: web hardening (docs/hardening.md) ---
# Scripts only from our own static files: no inline script, no eval, no on*= handlers (a test renders
# every page and fails on one). Styles keep 'unsafe-inline' for style *attributes* only in browsers
# that know style-src-attr (ECharts and Tabler set element styles, htmx its indicator); <style>
# elements must come from files. base-uri and form-action stop an injected <base> or <form> from
# sending a page's links or a form's data elsewhere.
CONTENT_SECURITY_POLICY["DIRECTIVES"].update({
    "script-src": ["'self'"],
    "style-src-elem": ["'self'"],
    "style-src-attr": ["'unsafe-inline'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "connect-src": ["'self'"],
    "font-src": ["'self'", "data:"],
})
# Pages may not be opened by another site's window and keep a handle on it (Django's default, set here
# so the decision is visible and tested).
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Uploads: the largest request body a file upload may have (imports take files up to 40 MB); a bigger
# multipart request is refused (413) before Django streams it to a temporary file. Files over 2.5 MB
# go to a temporary file, not memory, while they arrive.
UPLOAD_MAX_REQUEST_BYTES = int(os.environ.get("UPLOAD_MAX_REQUEST_BYTES", str(48 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- issue 17: production deployment (ops) ---
# Health (/healthz, /readyz), Prometheus metrics (/metrics), structured logs with request ids and the
# scheduler: eduplatform/ops, docs/operations.md. The middleware goes first so that it answers the
# probes before host checks, HTTPS redirects and sessions, and times every other request whole.
INSTALLED_APPS += ["eduplatform.ops"]
MIDDLEWARE.insert(0, "eduplatform.ops.middleware.OpsMiddleware")
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json" if IS_PRODUCTION else "text").strip().lower()
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT 只能是 json 或 text，而不是「{LOG_FORMAT}」")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING").strip().upper()
from eduplatform.ops.logs import logging_config  # noqa: E402 — needs LOG_FORMAT and LOG_LEVEL above

LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)
# One log line per request (eduplatform.access): on with JSON logs unless OPS_ACCESS_LOG=0.
OPS_ACCESS_LOG = _env_bool("OPS_ACCESS_LOG", LOG_FORMAT == "json")
# /metrics: a bearer token for the monitoring server, and/or addresses allowed without one (CIDR).
OPS_METRICS_TOKEN = os.environ.get("OPS_METRICS_TOKEN", "")
import ipaddress  # noqa: E402

OPS_METRICS_ALLOW = [ipaddress.ip_network(n.strip(), strict=False)
                     for n in os.environ.get("OPS_METRICS_ALLOW", "127.0.0.1/32,::1/128").split(",") if n.strip()]
# /readyz fails when no heartbeat job finished for this long (the scheduler queues one every
# OPS_HEARTBEAT_SECONDS; the worker runs it).
OPS_HEARTBEAT_SECONDS = int(os.environ.get("OPS_HEARTBEAT_SECONDS", "30"))
OPS_WORKER_STALE_SECONDS = int(os.environ.get("OPS_WORKER_STALE_SECONDS", "180"))
# The scheduler (manage.py run_scheduler, eduplatform/ops/schedule.py).
OPS_SCHEDULER_STATE = os.environ.get("OPS_SCHEDULER_STATE", str(VAR_DIR / "scheduler-state.json"))
OPS_QUALITY_SCAN_REGION = os.environ.get("OPS_QUALITY_SCAN_REGION", "440000000000")
SNAPSHOT_USER = os.environ.get("SNAPSHOT_USER", "")
CENSUS_DATES = [d.strip() for d in os.environ.get("CENSUS_DATES", "09-01").split(",") if d.strip()]
import datetime as _dt  # noqa: E402

OPS_SNAPSHOT_TIME = _dt.time.fromisoformat(os.environ.get("OPS_SNAPSHOT_TIME", "23:30"))

# --- issue 17: authentication and 三员分立 ---
# TOTP second factor (django-otp): required for 三员 and province users, optional for others
# (eduplatform/accounts/twofactor.py); the gate middleware lets a user reach nothing else before the
# code step and an imposed password change. See docs/security.md.
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp"]
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "django_otp.middleware.OTPMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("eduplatform.accounts.middleware.IdleSessionTimeoutMiddleware") + 1,
                  "eduplatform.accounts.middleware.AccountGateMiddleware")
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "广东省教育信息平台")
OTP_TOTP_THROTTLE_FACTOR = 1  # seconds, doubled after each wrong code (django-otp's throttling)
# Ours reads Django's list too (plus a Chinese one, and decorated forms), with a Chinese message.
AUTH_PASSWORD_VALIDATORS = [
    v for v in AUTH_PASSWORD_VALIDATORS if v["NAME"] != "django.contrib.auth.password_validation.CommonPasswordValidator"
] + [
    {"NAME": "eduplatform.accounts.passwords.CommonPasswordValidator"},
    {"NAME": "eduplatform.accounts.passwords.SequencePasswordValidator"},
]
# 长期未使用账号封存: `manage.py seal_dormant_accounts` seals person accounts without a login for this
# many days; the security administrator unseals them.
ACCOUNT_DORMANT_DAYS = int(os.environ.get("ACCOUNT_DORMANT_DAYS", "90"))
