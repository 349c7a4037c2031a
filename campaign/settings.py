"""Settings for the campaign service.

Everything that differs between a laptop and production comes from the
environment; `.env.example` lists every variable with its local default. The
local default needs nothing installed: SQLite and mail written to files under
`var/`, and the embedded Redis that `make run` starts.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from campaign.env import env_bool, env_email, env_int, env_list, env_str, env_url

# Lets Django's generic classes be subscripted at run time as the type checker
# sees them, e.g. `class SignatureAdmin(admin.ModelAdmin[Signature])`.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long.")

SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
_site = urlsplit(SITE_URL)
SITE_IS_HTTPS = _site.scheme == "https"
_default_hosts = [host for host in (_site.hostname, "127.0.0.1", "localhost") if host]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ",".join(dict.fromkeys(_default_hosts)))
CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"]

INSTALLED_APPS = [
    "campaign.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "anymail",
    "axes",
    "csp",
    "django_countries",
    "petitions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The security headers come before LocaleMiddleware, so that the redirect
    # it makes of an address without a language carries them too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "campaign.security_headers.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language comes from the address (/fr/...); an address without one is
    # redirected by the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "campaign.esp_webhooks.WebhookAuthenticationRequired",
    # Last, as django-axes requires: it turns a refused login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "campaign.urls"
WSGI_APPLICATION = "campaign.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "campaign.i18n.languages",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database -------------------------------------------------------------------

DATABASE_URL_IS_DEFAULT = not os.environ.get("DATABASE_URL")
_database_url = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
try:
    _database = dj_database_url.parse(_database_url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0))
except ValueError as error:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Django can use: {error}") from None
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file locally. WAL lets readers go on
    # while one writer writes, and IMMEDIATE transactions take the write lock up
    # front, so concurrent writers wait (up to the timeout) instead of failing
    # half-way with "database is locked".
    _database["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    _database["CONN_MAX_AGE"] = 0
    # The end-to-end tests run a worker in another process, which cannot see an
    # in-memory test database.
    _database["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    # SQLite makes the file but not its folder: a fresh checkout has no var/.
    Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
elif _database["ENGINE"] == "django.db.backends.postgresql":
    _database["CONN_HEALTH_CHECKS"] = True
    _database.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: broker and shared cache ------------------------------------------------

REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6380/0", schemes=("redis", "rediss"))
# A Redis outage must slow the site down by at most a moment, never hang it:
# every Redis call made inside a request gives up quickly and falls back.
REDIS_SOCKET_TIMEOUT = 1.0

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "campaign",
        "OPTIONS": {
            "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
        },
    }
}
# Rendered fragments of public pages, per process: they must not depend on
# Redis being up, and a few MB per web process is cheap.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "page-fragments",
    "OPTIONS": {"MAX_ENTRIES": 1000},
}
# How long an edit to a petition's text may take to show on its public page.
PAGE_FRAGMENT_SECONDS = 60
# The whole public petition page is kept this long per web process (and by
# proxies, by Cache-Control), so its count and staff's switches (pause, close)
# show within this time; the count itself is refreshed every 30 s or sooner.
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 15, minimum=0)
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Celery -------------------------------------------------------------------------

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Acknowledge a task only when it has finished, and give it back to the queue if
# the worker running it dies: with idempotent tasks this turns a crash into a
# repeat, never into lost work.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up opens a database connection for every task unless
# told to reuse it; the benchmark measured that as most of a letter's cost.
CELERY_DB_REUSE_MAX = 1000
# No task may run longer than the hard limit, and Redis hands an unacknowledged
# task to another worker only after the visibility timeout, which is far above
# that limit, so a slow task is never run twice at once because of Redis.
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_BROKER_VISIBILITY_TIMEOUT = 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    # Publishing gives up after one quick retry: a request must not wait on a
    # broker that is down (the outbox sweep publishes later), and the worker's
    # own consumer reconnects with its own, patient, retry policy.
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "socket_timeout": REDIS_SOCKET_TIMEOUT * 5,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
}
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_TIMEOUT * 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_SEND_TASK_EVENTS = False
# Recovery of lost work. A task handed to the broker that has not run within
# OUTBOX_LEASE_SECONDS is handed over again (Redis lost it, say); a letter left
# 'sending' for LETTER_SEND_LEASE_SECONDS lost its worker mid-send and is queued
# again. Both sweeps run from beat at the intervals below. The defaults are
# production's; the fault-injection tests shorten them to recover in seconds.
# The send lease must stay well above the longest an ESP call can take.
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 120, minimum=1)
LETTER_SEND_LEASE_SECONDS = env_int("LETTER_SEND_LEASE_SECONDS", 600, minimum=1)
# Supporter email is sent by "drain" tasks (petitions.services.supporter_mail); under a backlog
# up to this many run at once, each in its own worker process.
OUTBOX_DRAIN_SLOTS = env_int("OUTBOX_DRAIN_SLOTS", 2, minimum=1)
OUTBOX_REPUBLISH_INTERVAL_SECONDS = env_int("OUTBOX_REPUBLISH_INTERVAL_SECONDS", 20, minimum=1)
LETTERS_DISPATCH_INTERVAL_SECONDS = env_int("LETTERS_DISPATCH_INTERVAL_SECONDS", 15, minimum=1)
# Makes each recipient's daily digest once its time has come, and hands over lost ones.
DIGESTS_DISPATCH_INTERVAL_SECONDS = env_int("DIGESTS_DISPATCH_INTERVAL_SECONDS", 60, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "outbox-republish": {
        "task": "petitions.tasks.outbox_republish",
        "schedule": timedelta(seconds=OUTBOX_REPUBLISH_INTERVAL_SECONDS),
    },
    "letters-dispatch": {
        "task": "petitions.tasks.letters_dispatch",
        "schedule": timedelta(seconds=LETTERS_DISPATCH_INTERVAL_SECONDS),
    },
    "digests-dispatch": {
        "task": "petitions.tasks.digests_dispatch",
        "schedule": timedelta(seconds=DIGESTS_DISPATCH_INTERVAL_SECONDS),
    },
    "counts-reconcile": {"task": "petitions.tasks.counts_reconcile", "schedule": timedelta(seconds=30)},
    "mailings-resume": {"task": "petitions.tasks.mailings_resume", "schedule": timedelta(seconds=60)},
    "reminders-queue": {"task": "petitions.tasks.reminders_queue", "schedule": timedelta(minutes=10)},
    "privacy-housekeeping": {"task": "petitions.tasks.privacy_housekeeping", "schedule": timedelta(hours=1)},
    "petitions-close-due": {"task": "petitions.tasks.petitions_close_due", "schedule": timedelta(minutes=1)},
}
CELERY_BEAT_SCHEDULE_FILENAME = env_str("CELERY_BEAT_SCHEDULE_FILENAME", str(VAR_DIR / "celerybeat-schedule"))

# Email ---------------------------------------------------------------------------

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
# Where hand-over packs (the PDF and CSV of a petition's signatures) are kept.
HANDOVER_DIR = Path(env_str("HANDOVER_DIR", str(VAR_DIR / "handover")))
# Every ANYMAIL_* variable becomes an entry of Django's ANYMAIL setting, so any
# ESP's keys are a matter of environment: ANYMAIL_RESEND_API_KEY=... becomes
# ANYMAIL["RESEND_API_KEY"].
ANYMAIL: dict[str, Any] = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_") and value != ""
}
if isinstance(ANYMAIL.get("REQUESTS_TIMEOUT"), str):
    # From the environment: "5" (seconds) or "3.05,15" (connect, read).
    try:
        _timeouts = tuple(float(part) for part in ANYMAIL["REQUESTS_TIMEOUT"].split(","))
    except ValueError:
        raise ImproperlyConfigured(
            f"ANYMAIL_REQUESTS_TIMEOUT must be seconds, or 'connect,read' seconds; got {ANYMAIL['REQUESTS_TIMEOUT']!r}."
        ) from None
    if len(_timeouts) not in (1, 2):
        raise ImproperlyConfigured("ANYMAIL_REQUESTS_TIMEOUT takes one or two numbers.")
    ANYMAIL["REQUESTS_TIMEOUT"] = _timeouts[0] if len(_timeouts) == 1 else _timeouts
ANYMAIL.setdefault("REQUESTS_TIMEOUT", (3.05, 15))
# Without ANYMAIL_WEBHOOK_SECRET the ESP webhooks refuse every request
# (campaign.esp_webhooks); this opens them anyway, for trying an ESP locally.
ESP_WEBHOOKS_OPEN = env_bool("ESP_WEBHOOKS_OPEN", False)

DEFAULT_FROM_EMAIL = env_email("DEFAULT_FROM_EMAIL", "campaign@campaign.example.org")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Letters go out From this address with the signer's name as display name.
LETTER_FROM_EMAIL = env_email("LETTER_FROM_EMAIL", "letters@campaign.example.org")
# Reply-To of a letter whose signer did not ask recipients to reply to them.
CAMPAIGN_REPLY_TO = env_email("CAMPAIGN_REPLY_TO", "campaign@campaign.example.org")
# Letters whose signer did not ask to be replied to carry a reply address of
# each recipient at this domain (reply+<petition>-<recipient>-<tag>@REPLY_DOMAIN),
# whose mail the ESP's inbound webhook brings back (anymail/<esp>/inbound/).
# Empty: such letters carry CAMPAIGN_REPLY_TO instead.
REPLY_DOMAIN = env_str("REPLY_DOMAIN", "").strip().lower()
if REPLY_DOMAIN and ("@" in REPLY_DOMAIN or "." not in REPLY_DOMAIN or " " in REPLY_DOMAIN):
    raise ImproperlyConfigured(f"REPLY_DOMAIN must be a mail domain such as replies.example.org; got {REPLY_DOMAIN!r}.")
CAMPAIGN_NAME = env_str("CAMPAIGN_NAME", "Free the Detained")

# Who is responsible for signers' data, shown on the privacy page. In
# production `check --deploy` fails while any is empty (petitions.E002).
# The release delay a newly loaded petition starts with (staff change it per
# petition): letters wait this many minutes after confirming.
LETTER_RELEASE_MINUTES = env_int("LETTER_RELEASE_MINUTES", 15, minimum=0)
# The fewest signatures in 5 minutes sharing a mail domain or a made-up name
# pattern that make a wave, held for review (petitions.services.waves).
WAVE_MIN_SIGNATURES = env_int("WAVE_MIN_SIGNATURES", 40, minimum=2)

PRIVACY_CONTROLLER = env_str("PRIVACY_CONTROLLER", "")  # the organisation, its legal name and address
PRIVACY_CONTACT_EMAIL = env_str("PRIVACY_CONTACT_EMAIL", "")  # where signers write to exercise their rights
PRIVACY_EMAIL_PROVIDER = env_str("PRIVACY_EMAIL_PROVIDER", "")  # the ESP that sends on the controller's behalf
PRIVACY_LEGAL_BASIS = env_str(
    "PRIVACY_LEGAL_BASIS",
    "Your consent, given when you sign (GDPR Article 6(1)(a), and Article 9(2)(a) because a signature"
    " reveals a political opinion). You can withdraw it at any time.",
)
# How the ESP marks a per-recipient field in a batch send (NAME is the field).
ESP_MERGE_FIELD = env_str("ESP_MERGE_FIELD", "{{NAME}}")
if "NAME" not in ESP_MERGE_FIELD:
    raise ImproperlyConfigured("ESP_MERGE_FIELD must contain NAME, e.g. {{NAME}} or %recipient.NAME%.")
# Recipients per ESP batch call (Resend takes at most 100).
MAILING_BATCH_SIZE = env_int("MAILING_BATCH_SIZE", 100, minimum=1)
# Batches of one mailing sent at once, across all workers.
MAILING_PARALLELISM = env_int("MAILING_PARALLELISM", 4, minimum=1)

# Signing -------------------------------------------------------------------------

CONFIRMATION_MAX_AGE = timedelta(days=env_int("CONFIRMATION_MAX_AGE_DAYS", 14, minimum=1))
# A recipient's digest links to the names it counts; the link works this long.
DIGEST_DOWNLOAD_MAX_AGE = timedelta(days=env_int("DIGEST_DOWNLOAD_MAX_AGE_DAYS", 30, minimum=1))
# How long after confirming a signer may still choose to send the letter from their own mail.
OWN_MAIL_CHOICE_MAX_AGE = timedelta(hours=env_int("OWN_MAIL_CHOICE_MAX_AGE_HOURS", 24, minimum=1))
# Repeat signers are told by email that they already signed, but only this many
# times per address, so the form cannot be used to flood someone's inbox.
REPEAT_NOTICE_LIMIT = 3
# Days after signing at which an unconfirmed signer is reminded, once each.
REMINDER_SCHEDULE_DAYS = (1, 3)
# Proxies of ours in front of the app that append to X-Forwarded-For; the
# signer's address is the one they were handed. 0: use REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# Privacy housekeeping -------------------------------------------------------------

# Hashed IP addresses are cleared from signatures after this many days.
IP_HASH_RETENTION_DAYS = env_int("IP_HASH_RETENTION_DAYS", 7, minimum=1)
# Signatures never confirmed are deleted after this many days.
PURGE_UNCONFIRMED_AFTER_DAYS = env_int("PURGE_UNCONFIRMED_AFTER_DAYS", 30, minimum=1)
# Signatures of a closed petition are anonymised this many days after it closed.
ANONYMISE_CLOSED_AFTER_DAYS = env_int("ANONYMISE_CLOSED_AFTER_DAYS", 180, minimum=1)

# Open API (/api/v1/) -------------------------------------------------------------

# Each answer is built at most once per this many seconds per process and may
# be cached by browsers and proxies as long.
API_CACHE_SECONDS = env_int("API_CACHE_SECONDS", 30, minimum=0)
# Requests per client address (django-ninja's throttle syntax: N/s, N/m, N/h).
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "120/m")
# The client address behind our own proxies, as the signing limits read it.
NINJA_NUM_PROXIES = TRUSTED_PROXY_COUNT

# Share images are redrawn (with the current count) at most this often.
SHARE_IMAGE_SECONDS = env_int("SHARE_IMAGE_SECONDS", 300, minimum=1)

# Security ---------------------------------------------------------------------------

SESSION_COOKIE_SECURE = SITE_IS_HTTPS
CSRF_COOKIE_SECURE = SITE_IS_HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 8
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# Only once the domain is submitted to (or meant for) the browsers' preload list.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SAMESITE = "Lax"
# No script of ours reads the CSRF cookie: forms carry the token.
CSRF_COOKIE_HTTPONLY = True
# No page may be framed (the site has no embed route); CSP's frame-ancestors
# below says the same to browsers that ignore X-Frame-Options.
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp). Pages load scripts, styles and images
# only from this site, and no inline script runs: the templates have none, and
# any that crept in would be blocked, so injected markup cannot run script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Staff login throttling (django-axes). After AXES_FAILURE_LIMIT failed logins
# for one username from one address, that pair is refused (429) for the
# cool-off period, even with the right password; another address, or another
# staff member, is not locked out by it. Attempts are counted in the database,
# so the throttle holds while Redis is down or after it was wiped. Successful
# logins are not logged; failures are kept for the cool-off period only.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
# The client's address as the signing rate limits see it: REMOTE_ADDR, or what
# the TRUSTED_PROXY_COUNT proxies in front of the app report.
AXES_CLIENT_IP_CALLABLE = "petitions.views.client_ip"
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalisation -------------------------------------------------------------------

# Languages ------------------------------------------------------------------
# Every public page, email and the staff pages this project adds exist in each
# of these; public addresses carry the language (/fr/p/<slug>/). English is the
# default and the language a petition's own texts are written in.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("ar", "العربية"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# How a count is written in each language's numerals, for the page's script
# (Intl.NumberFormat); Libya, like the rest of the Maghreb, writes Western digits.
NUMBER_LOCALES = {"en": "en-GB", "fr": "fr-FR", "ar": "ar-LY"}
# Our own number formats where Django's differ from those (campaign/formats/).
FORMAT_MODULE_PATH = ["campaign.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Staff's uploads (the organisation's logo, petitions' hero images and their
# resized copies). Served by the app at MEDIA_URL unless a proxy in front
# serves MEDIA_ROOT there itself (faster; see campaign/urls.py).
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
