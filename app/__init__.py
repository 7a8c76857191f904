"""PropDesk app factory: configuration, extensions, auth, the generated admin, CLI."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, redirect, render_template, url_for
from flask_babel import get_locale, gettext
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .config import Config


def create_app(config: type | dict | None = None, registry: tuple | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    register_extensions(app)
    register_pages(app)
    from admin_views import init_app as init_admin

    init_admin(app, registry) if registry else init_admin(app)
    from . import cli

    cli.init_app(app)
    return app


def register_extensions(app: Flask) -> None:
    from . import auth, fulltext, scoping, security
    from .audit import init_audit
    from .extensions import babel, csrf, db, migrate

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, directory=str(Path(app.root_path).parent / "migrations"),
                     include_object=_not_fulltext)
    if not getattr(db.metadata, "_fulltext_registered", False):
        fulltext.register(db.metadata)
        db.metadata._fulltext_registered = True
    babel.init_app(app, locale_selector=auth.select_locale,
                   default_translation_directories=str(Path(app.root_path) / "translations"))
    csrf.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    scoping.init_app(app)
    init_audit()


def _not_fulltext(obj, name, type_, reflected, compare_to):
    """Autogenerate leaves the search indexes (FTS5 tables, trigram indexes) to app/fulltext.py."""
    from .fulltext import is_fulltext_table

    return not (reflected and name and (is_fulltext_table(name) or name.endswith("_trgm")))


def _saved_views():
    """The saved views the current user may open (navbar menu 我的视图)."""
    from flask_login import current_user

    from .saved_views import visible_views

    return visible_views(current_user) if current_user.is_authenticated else []


def register_pages(app: Flask) -> None:
    from schema.spec import ROLE_LABELS

    app.jinja_env.globals.update(role_label=lambda r: gettext(ROLE_LABELS.get(r, r)),
                                 role_choices=lambda: list(ROLE_LABELS.items()),
                                 current_locale=lambda: str(get_locale()), saved_views=_saved_views)

    @app.route("/")
    def root():
        return redirect(url_for("admin.index"))

    errors = {400: ("请求无效", "提交的内容无法处理,请检查后重试。"),
              403: ("无权访问", "您的角色没有执行此操作的权限。"),
              404: ("未找到", "您要找的记录或页面不存在。"),
              413: ("文件过大", "上传的文件超过了大小上限。"),
              500: ("系统错误", "服务器出现错误,操作未完成,数据未被修改。")}
    for code, (title, message) in errors.items():
        app.register_error_handler(code, _error_page(code, title, message))

    from flask_wtf.csrf import CSRFError

    app.register_error_handler(CSRFError, _error_page(400, "页面已过期", "安全校验失败(CSRF),请刷新页面后重新提交。"))


def _error_page(code: int, title: str, message: str):
    def handler(error):
        return render_template("error.html", code=code, title=title, message=message), code
    return handler


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, and use WAL so readers never block the writer."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
