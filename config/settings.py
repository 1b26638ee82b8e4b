"""The one settings file. Every value that differs between installs comes from an environment variable,
parsed strictly (config/env.py); docs/configuration.md lists every variable."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config import env

BASE_DIR = Path(__file__).resolve().parent.parent

# Under pytest the default is "test" (fast password hashing, tasks run in-line), so a bare `pytest`
# behaves like `make test`.
YANGLAO_ENV = env.choice(
    "YANGLAO_ENV", "test" if "pytest" in sys.modules else "development", ("development", "test", "production")
)
PRODUCTION = YANGLAO_ENV == "production"
DATA_DIR = Path(env.string("YANGLAO_DATA_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env.boolean("YANGLAO_DEBUG", YANGLAO_ENV == "development")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("YANGLAO_DEBUG=true is refused when YANGLAO_ENV=production.")

# --- secrets -------------------------------------------------------------------------------------
_SECRET_VARS = ("YANGLAO_SECRET_KEY", "YANGLAO_PII_KEY", "YANGLAO_PII_HASH_KEY")
if PRODUCTION:
    missing = [name for name in _SECRET_VARS if env.raw(name) is None]
    if missing:
        raise ImproperlyConfigured(
            "YANGLAO_ENV=production refuses generated secrets: set " + ", ".join(missing) + "."
        )
    _generated: dict[str, str] = {}
else:
    _generated = env.generated_secrets(DATA_DIR / "secrets.json")

SECRET_KEY = env.string("YANGLAO_SECRET_KEY", _generated.get("secret_key", ""))
if PRODUCTION and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("YANGLAO_SECRET_KEY is too short: use at least 50 random characters.")
# Old secret keys keep sessions and signed links valid while the key is changed.
SECRET_KEY_FALLBACKS = env.csv_list("YANGLAO_SECRET_KEY_FALLBACKS", [])
PII_KEYS = env.pii_keys("YANGLAO_PII_KEY", env.string("YANGLAO_PII_KEY", _generated.get("pii_key", "")))
PII_HASH_KEY = env.string("YANGLAO_PII_HASH_KEY", _generated.get("pii_hash_key", "")).encode()
if len(PII_HASH_KEY) < 32:
    raise ImproperlyConfigured("YANGLAO_PII_HASH_KEY is too short: use at least 32 random characters.")

# --- hosts and HTTPS -----------------------------------------------------------------------------
ALLOWED_HOSTS = env.csv_list(
    "YANGLAO_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("YANGLAO_ALLOWED_HOSTS must name the platform's host names in production.")
CSRF_TRUSTED_ORIGINS = env.csv_list("YANGLAO_CSRF_TRUSTED_ORIGINS", [])
if env.boolean("YANGLAO_BEHIND_PROXY", PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.boolean("YANGLAO_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env.integer("YANGLAO_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = env.boolean("YANGLAO_HSTS_PRELOAD", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health$"]
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.integer("YANGLAO_SESSION_HOURS", 8, minimum=1, maximum=720) * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# --- applications --------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "yanglao.core",
    "yanglao.regions",
    "yanglao.accounts",
    "yanglao.notifications",
    "yanglao.registry",
    "yanglao.assessments",
    "yanglao.benefits",
    "yanglao.providers",
    "yanglao.facilities",
    "yanglao.orders",
    "yanglao.monitoring",
    "yanglao.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "yanglao.core.middleware.RequestContextMiddleware",
    "yanglao.core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "yanglao.accounts.context_processors.navigation",
            ],
        },
    },
]

# --- database ------------------------------------------------------------------------------------
DATABASE_URL = env.url("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "yanglao.sqlite3"),
            # WAL lets the web server, the worker and the scheduler read while one of them writes;
            # IMMEDIATE transactions take the write lock up front instead of failing half-way.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts ------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["yanglao.accounts.backends.LockoutModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "analytics:home"
LOGOUT_REDIRECT_URL = "accounts:login"
LOGIN_MAX_FAILURES = env.integer("YANGLAO_LOGIN_MAX_FAILURES", 5, minimum=1, maximum=100)
LOGIN_LOCK_MINUTES = env.integer("YANGLAO_LOGIN_LOCK_MINUTES", 15, minimum=1, maximum=24 * 60)
API_TOKEN_DEFAULT_DAYS = env.integer("YANGLAO_API_TOKEN_DAYS", 90, minimum=1, maximum=3650)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if YANGLAO_ENV == "test":
    # Hashing cost is irrelevant to what the tests check and dominates their run time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- language and time ---------------------------------------------------------------------------
LANGUAGE_CODE = env.choice("YANGLAO_LANGUAGE", "zh-hans", ("zh-hans", "en"))
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "yanglao" / "locale"]
TIME_ZONE = env.time_zone("YANGLAO_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- static files --------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
if not PRODUCTION:
    # whitenoise warns on every start when the folder is missing; collectstatic fills it in production.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "yanglao" / "static"]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DATA_DIR / "media"},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_ROOT = DATA_DIR / "media"

# --- live updates, jobs, telemetry ---------------------------------------------------------------
REDIS_URL = env.url("REDIS_URL", ("redis", "rediss"))
MQTT_URL = env.url("MQTT_URL", ("mqtt", "mqtts"))
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
if YANGLAO_ENV == "test":
    # Tests run tasks in-line; the database backend and its worker have tests of their own.
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
WORKER_HEARTBEAT_SECONDS = env.integer("YANGLAO_WORKER_HEARTBEAT_SECONDS", 30, minimum=5, maximum=3600)

# --- notifications (yanglao/notifications, docs/notifications.md) --------------------------------
# "log" writes each message to the log (the embedded default); "http" POSTs it to the city's messaging
# platform, which delivers SMS, voice calls, push and e-mail.
YANGLAO_NOTIFY_GATEWAY = env.choice("YANGLAO_NOTIFY_GATEWAY", "log", ("log", "http"))
YANGLAO_NOTIFY_HTTP_URL = env.url("YANGLAO_NOTIFY_HTTP_URL", ("http", "https")) or ""
YANGLAO_NOTIFY_HTTP_TOKEN = env.string("YANGLAO_NOTIFY_HTTP_TOKEN", "")
YANGLAO_NOTIFY_HTTP_TIMEOUT = env.integer("YANGLAO_NOTIFY_HTTP_TIMEOUT", 5, minimum=1, maximum=120)
if YANGLAO_NOTIFY_GATEWAY == "http" and not YANGLAO_NOTIFY_HTTP_URL:
    raise ImproperlyConfigured(
        "YANGLAO_NOTIFY_GATEWAY=http needs YANGLAO_NOTIFY_HTTP_URL: the http:// or https:// address "
        "notifications are POSTed to, e.g. https://sms-gateway.intranet/v1/messages."
    )

# --- domain data ---------------------------------------------------------------------------------
# The map's tile layer: an intranet tile server's URL template ({z}/{x}/{y}); empty = a plain background
# with the points and region labels only (the platform never reaches the internet for tiles).
MAP_TILE_URL = env.string("YANGLAO_MAP_TILE_URL", "")
MAP_ATTRIBUTION = env.string("YANGLAO_MAP_ATTRIBUTION", "")
if MAP_TILE_URL and not all(part in MAP_TILE_URL for part in ("{z}", "{x}", "{y}")):
    raise ImproperlyConfigured(
        "YANGLAO_MAP_TILE_URL must be a tile URL template with {z}, {x} and {y}, e.g. https://tiles.intranet/{z}/{x}/{y}.png"
    )
# Extra directories of assessment instrument definitions (*.yaml), beside the shipped ones.
YANGLAO_INSTRUMENT_DIRS = env.csv_list("YANGLAO_INSTRUMENT_DIRS", [])

# --- logging -------------------------------------------------------------------------------------
LOG_LEVEL = env.choice("YANGLAO_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

NINJA_PAGINATION_PER_PAGE = 50

# whitenoise serves files with a synchronous iterator; under ASGI Django wraps it and warns on every
# static file. The files are small and cached by browsers, so the warning is noise here.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
