"""Configuration from the environment, with defaults safe for a first `make run`."""
import os
import secrets
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _secret_key() -> str:
    """A stable key per checkout so sessions survive restarts without configuration."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = ROOT / "instance" / "secret_key"
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def _int_env(name: str, default: int) -> int:
    """A whole number from the environment; a missing or malformed value gives the default."""
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


class Config:
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'propdesk.db'}"
    )
    UPLOAD_FOLDER = os.environ.get("PROPDESK_UPLOAD_FOLDER", str(ROOT / "instance" / "uploads"))
    MAX_UPLOAD_BYTES = int(os.environ.get("PROPDESK_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    MAX_CONTENT_LENGTH = MAX_UPLOAD_BYTES + 1024 * 1024
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    ESTATE_NAME = os.environ.get("PROPDESK_ESTATE_NAME", "物业客服管理台")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("PROPDESK_SECURE_COOKIES", "0") == "1"
    PROPDESK_PRODUCTION = os.environ.get("PROPDESK_ENV", "").lower() == "production"
    """In production (and not debug/testing) the session cookie is Secure even without PROPDESK_SECURE_COOKIES."""
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=max(1, _int_env("PROPDESK_SESSION_IDLE_MINUTES", 8 * 60)))
    SESSION_REFRESH_EACH_REQUEST = True
    """Each request renews the signed session's age: the lifetime is an idle timeout."""
    PROPDESK_TRUSTED_PROXIES = max(0, _int_env("PROPDESK_TRUSTED_PROXIES", 0))
    """How many reverse proxies' X-Forwarded-For/-Proto to believe (ProxyFix); 0 trusts none."""
    WTF_CSRF_TIME_LIMIT = None
    FLASK_ADMIN_SWATCH = "default"
    FLASK_ADMIN_RAISE_ON_VIEW_EXCEPTION = False
    EXPORT_BATCH = 2000


class TestConfig(Config):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("PROPDESK_TEST_DATABASE_URL", "sqlite://")
