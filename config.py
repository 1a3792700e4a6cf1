"""Configuration classes; pick one by name with ``eventsys.create_app(name)``."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("EVENTSYS_INSTANCE_PATH") or BASE_DIR / "instance")


class Config:
    """Settings shared by every environment."""

    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'eventsys.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = {"en": "English", "ko": "한국어", "es": "Español"}
    # Login throttling (Flask-Limiter). In memory per process by default; on Redis when REDIS_URL is set,
    # so several app servers share one count.
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    # If Redis stops answering, keep counting in memory rather than failing every login with a 500.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    LOGIN_LIMIT_PER_ACCOUNT = "5 per minute;20 per hour"
    LOGIN_LIMIT_PER_ADDRESS = "20 per minute;100 per hour"
    # How many reverse proxies (nginx, Caddy) stand in front of the app. Their X-Forwarded-For and
    # X-Forwarded-Proto are believed, so throttling counts per real client rather than per proxy.
    # 0 (the default) believes no such header: a client could forge it.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES") or "0")
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "") == "1"
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "eventsys@localhost")
    MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "") == "1"  # SMTPS (port 465) instead of STARTTLS
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT") or "30")
    # Where mail goes: "smtp" (the server above), "file" (.eml files in MAIL_FILE_DIR), "console" (stdout).
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    MAIL_FILE_DIR = os.environ.get("MAIL_FILE_DIR", str(INSTANCE_DIR / "mail"))
    # Links in emails (manage, join, calendar) are absolute URLs starting with this.
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    # Task queue (Huey): Redis when REDIS_URL is set, else SQLite in TASKS_SQLITE_PATH. TASKS_IMMEDIATE runs
    # every task at once in the caller (tests) instead of on the worker.
    TASKS_REDIS_URL = os.environ.get("REDIS_URL")
    TASKS_SQLITE_PATH = os.environ.get("TASKS_SQLITE_PATH", str(INSTANCE_DIR / "huey.db"))
    TASKS_IMMEDIATE = False
    # MOU records: the largest signed document accepted (bytes), where documents are stored (default
    # instance/mou-documents, never under static/), and how many days before an MOU's end date its
    # event's organizers get the renewal reminder.
    MOU_MAX_UPLOAD_BYTES = int(os.environ.get("MOU_MAX_UPLOAD_BYTES") or 20 * 1024 * 1024)
    MOU_DOCUMENTS_DIR = os.environ.get("MOU_DOCUMENTS_DIR")
    MOU_RENEWAL_NOTICE_DAYS = int(os.environ.get("MOU_RENEWAL_NOTICE_DAYS") or 42)
    # Certificates: uploaded signature images and logos (default instance/certificate-images), bulk runs'
    # merged PDFs and ZIPs (default instance/certificates), the largest image accepted, the worker processes
    # of a bulk run, and the issuer named on LinkedIn (default: the event's name).
    CERTIFICATE_IMAGE_DIR = os.environ.get("CERTIFICATE_IMAGE_DIR")
    CERTIFICATE_PDF_DIR = os.environ.get("CERTIFICATE_PDF_DIR")
    CERTIFICATE_MAX_IMAGE_BYTES = int(os.environ.get("CERTIFICATE_MAX_IMAGE_BYTES") or 2 * 1024 * 1024)
    CERTIFICATE_PROCESSES = int(os.environ.get("CERTIFICATE_PROCESSES") or 2)
    CERTIFICATE_ISSUER = os.environ.get("CERTIFICATE_ISSUER")
    # Test-only switches for the concurrency control tests: never change them in a deployment.
    # LOCKING_ENABLED = False turns off eventsys.common.locking.lock_event; only then,
    # RACE_WINDOW_SECONDS makes registration services pause between counting seats and writing.
    LOCKING_ENABLED = True
    RACE_WINDOW_SECONDS = 0.0


class DevelopmentConfig(Config):
    """Local development: SQLite in instance/, a fixed key if none is given."""

    DEBUG = False
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'eventsys.db'}")
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "file")


class TestingConfig(Config):
    """The test suite: SQLite unless TEST_DATABASE_URL points elsewhere."""

    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105 (tests only)
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    RATELIMIT_STORAGE_URI = "memory://"
    SERVER_NAME = None
    MAIL_BACKEND = "memory"  # eventsys.common.mail.outbox; the smtp_server fixture switches to a real server
    BASE_URL = "http://127.0.0.1:5000"
    TASKS_IMMEDIATE = True


class ProductionConfig(Config):
    """Production: everything from the environment; SECRET_KEY is required."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
