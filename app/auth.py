"""Login, logout and the language switch; users come from app_user.

A Flask session is a signed cookie the server cannot revoke, so each user has a session_token:
login copies it into the session, the user loader accepts only a session holding the current one,
and logout (or a password change) rotates it, which kills every cookie issued before."""
from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, flash, has_request_context, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from . import security
from .extensions import db, login_manager

bp = Blueprint("auth", __name__)
LANGUAGES = ("zh_Hans_CN", "en")
TOKEN_KEY = "_session_token"
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))
"""Checked against when the username is unknown, so a miss costs as long as a wrong password."""


def safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes to the admin home."""
    if not target:
        return url_for("admin.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("admin.index")
    return target


@login_manager.user_loader
def load_user(user_id: str):
    from schema.org import AppUser

    try:
        user = db.session.get(AppUser, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.active or not user.session_token:
        return None
    return user if hmac.compare_digest(str(session.get(TOKEN_KEY, "")), user.session_token) else None


def rotate_session_token(user_id: int) -> str:
    """A new token for the user, ending every session issued before. A plain UPDATE, not an ORM
    change: the audit trail records data edits, and would otherwise store the token itself."""
    from schema.org import AppUser

    token = secrets.token_urlsafe(32)
    db.session.execute(update(AppUser.__table__).where(AppUser.__table__.c.id == user_id).values(session_token=token))
    return token


def session_token_for(user) -> str:
    """The user's session token, issued at their first login. Two first logins at the same moment get
    the same one (else the later signs the earlier out): the UPDATE fills only an empty token, and
    each login reads back whichever was stored."""
    from schema.org import AppUser

    if user.session_token:
        return user.session_token
    table = AppUser.__table__
    db.session.execute(update(table).where(table.c.id == user.id, table.c.session_token.is_(None))
                       .values(session_token=secrets.token_urlsafe(32)))
    return db.session.execute(select(table.c.session_token).where(table.c.id == user.id)).scalar_one()


@bp.route("/login", methods=["GET", "POST"])
def login():
    from schema.org import AppUser

    next_url = request.args.get("next")
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        address = security.client_address()
        if security.login_refused(username, address):
            flash(gettext("登录失败次数过多,请15分钟后再试"), "error")
            return render_template("login.html", next=next_url, username=username), 429
        user = db.session.execute(db.select(AppUser).filter_by(username=username)).scalar_one_or_none()
        password = request.form.get("password") or ""
        if user is None:
            check_password_hash(_DUMMY_HASH, password)
        if user is None or not user.active or not user.check_password(password):
            security.record_attempt(username, address, succeeded=False)
            flash("用户名或密码错误", "error")
            return render_template("login.html", next=next_url, username=username), 200
        token = session_token_for(user)
        security.record_attempt(username, address, succeeded=True)
        session.clear()
        login_user(user)
        session.permanent = True
        session[TOKEN_KEY] = token
        return redirect(safe_next(next_url))
    if current_user.is_authenticated:
        return redirect(safe_next(next_url))
    return render_template("login.html", next=next_url, username="")


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """Only a POST (with its CSRF token) logs out: a link or an <img> on another page cannot."""
    if request.method == "POST":
        if current_user.is_authenticated:
            rotate_session_token(current_user.id)
            db.session.commit()
        logout_user()
        session.clear()
        flash("您已退出登录", "info")
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>")
def set_language(code: str):
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))


def select_locale() -> str:
    if has_request_context() and session.get("lang") in LANGUAGES:
        return session["lang"]
    return "zh_Hans_CN"


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    app.register_blueprint(bp)
