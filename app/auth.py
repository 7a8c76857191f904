"""Login, logout and the language switch; users come from app_user."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, has_request_context, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from .extensions import db, login_manager

bp = Blueprint("auth", __name__)
LANGUAGES = ("zh_Hans_CN", "en")


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
    return user if user is not None and user.active else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    from schema.org import AppUser

    next_url = request.args.get("next")
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        user = db.session.execute(db.select(AppUser).filter_by(username=username)).scalar_one_or_none()
        if user is None or not user.active or not user.check_password(request.form.get("password") or ""):
            flash("用户名或密码错误", "error")
            return render_template("login.html", next=next_url, username=username), 200
        session.clear()
        login_user(user)
        return redirect(safe_next(next_url))
    if current_user.is_authenticated:
        return redirect(safe_next(next_url))
    return render_template("login.html", next=next_url, username="")


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "POST":
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
