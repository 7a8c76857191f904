"""Defence in depth on every response, and login throttling that every worker sees.

Headers: a Content-Security-Policy whose scripts are this origin's files or inline blocks carrying
the request's nonce (`nonce="{{ csp_nonce() }}"`), so injected markup cannot run script; no framing,
no MIME sniffing, no caching of pages (static assets may be cached). A header a view set itself
(downloads, documents) is left as it is.

Throttling: after MAX_FAILURES failed logins within WINDOW for a username, or from a client address,
further attempts are refused for LOCKOUT, whatever the password. Attempts live in login_attempt
(schema/security.py), so the count holds across gunicorn workers and hosts. A success resets the
username's count (as django-axes does); the address keeps counting, so one valid account cannot
be used to reset a password-spraying run.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Flask, g, has_app_context, request
from sqlalchemy import delete, func, select

from . import clock
from .extensions import db

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
KEEP = timedelta(days=1)
STATIC_ENDPOINTS = ("static", "admin.static")


def csp_nonce() -> str:
    """This request's nonce: the same in the CSP header and in every template that asks for it."""
    if not has_app_context():
        return ""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: str) -> str:
    """Inline style *attributes* stay allowed (style-src-attr): our templates and the form widgets
    (select2, progress bars) set them; inline <style> and <script> need the nonce."""
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def _is_static() -> bool:
    return request.endpoint in STATIC_ENDPOINTS or request.path.startswith(("/static/", "/admin/static/"))


def secure_headers(response):
    """after_request: add the headers a view has not set deliberately."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not _is_static():
        headers.setdefault("Cache-Control", "no-store")
    return response


# -- login throttling ------------------------------------------------------------------------

def client_address() -> str:
    """request.remote_addr: the peer, or (PROPDESK_TRUSTED_PROXIES set) what ProxyFix read from them."""
    return (request.remote_addr or "")[:64]


def _key(username: str) -> str:
    return (username or "").strip().lower()[:50]


def _tripped(criteria, now) -> bool:
    """The latest MAX_FAILURES failures fall within WINDOW and the newest is under LOCKOUT old."""
    from schema.security import LoginAttempt

    times = db.session.scalars(select(LoginAttempt.at).where(
        LoginAttempt.succeeded.is_(False), LoginAttempt.at > now - WINDOW - LOCKOUT, *criteria)
        .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc()).limit(MAX_FAILURES)).all()
    return len(times) == MAX_FAILURES and times[0] - times[-1] <= WINDOW and now < times[0] + LOCKOUT


def login_refused(username: str, address: str) -> bool:
    """True while the username or the address is locked out."""
    from schema.security import LoginAttempt

    now, name = clock.now(), _key(username)
    last_success = select(func.coalesce(func.max(LoginAttempt.id), 0)).where(
        LoginAttempt.username == name, LoginAttempt.succeeded.is_(True)).scalar_subquery()
    return (_tripped((LoginAttempt.username == name, LoginAttempt.id > last_success), now)
            or _tripped((LoginAttempt.address == address,), now))


def record_attempt(username: str, address: str, succeeded: bool) -> None:
    """Store one attempt (committed at once: a failed login writes nothing else) and prune old rows."""
    from schema.security import LoginAttempt

    now = clock.now()
    db.session.add(LoginAttempt(at=now, username=_key(username), address=address, succeeded=succeeded))
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP))
    db.session.commit()


def init_app(app: Flask) -> None:
    if app.config.get("PROPDESK_PRODUCTION") and not (app.debug or app.testing):
        app.config["SESSION_COOKIE_SECURE"] = True
    proxies = int(app.config.get("PROPDESK_TRUSTED_PROXIES") or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(secure_headers)
