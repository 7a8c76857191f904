"""The generator: one Flask-Admin ModelView per registered model, configured from its AdminSpec alone.

Everything here is derived; an entity never needs view code to get its list, forms, filters,
search, sorting, links, export and permissions.
"""
from __future__ import annotations

from datetime import date, datetime

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_admin import expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.form import rules
from flask_admin.helpers import get_redirect_target, is_form_submitted
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField
from wtforms.validators import Optional, ValidationError

from app import clock, scoping
from app.audit import audit_context
from app.validators import Required

from schema.spec import AdminSpec, info_of, sortable_columns, title_path

from . import export as exporting
from .formatting import display, field_kind, fmt_date, html_changes
from .listing import FastListMixin
from .rendering import FastRenderMixin

STALE_MESSAGE = "该记录已被他人修改(您编辑的是旧版本),为避免覆盖,本次修改未保存。请刷新页面查看最新内容后重新修改。"
INTEGRITY_MESSAGE = "保存失败:与已有记录重复(如编号、证件号已存在),或仍被其他记录引用。"

VIEW_PERMISSIONS = {
    "index_view": "read",
    "details_view": "read",
    "create_view": "create",
    "edit_view": "edit",
    "delete_view": "delete",
    "export": "export",
}
"""Which permission each exposed route needs; a route not listed here (or in a view's
`extra_permissions`) is refused for everyone: deny by default. (Flask-Admin's inline list edit,
`ajax_update`, is not listed: no list here is editable in place, so nobody may post to it.)"""



LIST_ROUTES = ("index_view", "export", "action_view", "confirm_view")
"""Routes that read the list's filters and sort from the query string (check_list_args)."""


def _relationships(model):
    return inspect(model).relationships


def _many_to_one(model, name) -> bool:
    rels = _relationships(model)
    return name in rels and rels[name].direction.name == "MANYTOONE"


def _target(model, name):
    return _relationships(model)[name].mapper.class_


_title_path = title_path


def _link(view, context, obj, name):
    related = getattr(obj, name)
    if related is None:
        return ""
    endpoint = type(related).__tablename__
    if not getattr(type(related), "__admin__", None) or not allowed(type(related).__admin__, "read"):
        return str(related)
    return Markup(f'<a href="{escape(url_for(endpoint + ".details_view", id=related.id))}">{escape(str(related))}</a>')


MAX_ID = 2**31 - 1


def parse_id(raw) -> int:
    """A record id from user input: digits within the database's integer range, else ValueError."""
    text = str(raw).strip()
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise ValueError(f"invalid id {raw!r}")
    return int(text)


def parse_ids(values) -> list[int]:
    """Ids from a list of strings (empty items skipped); anything else answers 400."""
    try:
        return [parse_id(v) for v in values if str(v).strip()]
    except ValueError:
        abort(400)


def allowed(spec: AdminSpec, perm: str) -> bool:
    """Does the current user's role hold `perm` (a permission or `action:<name>`) on this entity?"""
    if not getattr(current_user, "is_authenticated", False):
        return False
    user_roles = current_user.roles
    if perm.startswith("action:"):
        name = perm.split(":", 1)[1]
        if name == "delete":
            return spec.roles.allows("delete", user_roles)
        return bool(frozenset(spec.actions.get(name, ())) & user_roles)
    return spec.roles.allows(perm, user_roles)


class LiteralLike(sqla_filters.FilterLike):
    """包含: the typed text matched as it is (stock Flask-Admin reads % and _ as wildcards, and a leading
    = or ^ as "equals" / "starts with", so "包含 _" listed every row)."""

    def apply(self, query, value, alias=None):
        from app.search import ESCAPE, escape_like

        return query.filter(self.get_column(alias).ilike(f"%{escape_like(value)}%", escape=ESCAPE))


class LiteralNotLike(sqla_filters.FilterNotLike):
    """不包含, literally (see LiteralLike)."""

    def apply(self, query, value, alias=None):
        from app.search import ESCAPE, escape_like

        return query.filter(~self.get_column(alias).ilike(f"%{escape_like(value)}%", escape=ESCAPE))


class FilterConverter(sqla_filters.FilterConverter):
    """Text filters in the stock order (saved URLs keep their indexes), contains/not contains literal."""

    strings = (LiteralLike, LiteralNotLike) + sqla_filters.FilterConverter.strings[2:]


def _date_filters(column, label):
    return [sqla_filters.DateBetweenFilter(column, label), sqla_filters.DateGreaterFilter(column, label),
            sqla_filters.DateSmallerFilter(column, label), sqla_filters.FilterEmpty(column, label)]


def _datetime_filters(column, label):
    return [sqla_filters.DateTimeBetweenFilter(column, label), sqla_filters.DateTimeGreaterFilter(column, label),
            sqla_filters.DateTimeSmallerFilter(column, label), sqla_filters.FilterEmpty(column, label)]


class RenderedByHiddenTag(rules.Field):
    """Keeps a hidden field in a rules-based form without rendering it a second time: the form's
    hidden_tag() already has it (twice, a browser posts it twice)."""

    def __call__(self, form, form_opts=None, field_args=None):
        return ""


def _ajax_picked(target) -> bool:
    """Records of a large table are picked by typing (an ajax lookup), not from a full select."""
    spec = getattr(target, "__admin__", None)
    return bool(spec and spec.large)


class ScopedAjaxLoader(QueryAjaxModelLoader):
    """An ajax picker (units, owners...) that offers and accepts only rows in the user's estates."""

    def get_query(self):
        return scoping.scope_query(super().get_query(), self.model)

    def get_one(self, pk):
        try:
            return scoping.get_visible(self.model, parse_id(pk))
        except ValueError:
            return None


def _choice_filters(column, label, choices):
    options = [(code, _l(label)) for code, label in choices.choices()]
    return [sqla_filters.FilterEqual(column, label, options=options),
            sqla_filters.FilterNotEqual(column, label, options=options)]


class SchemaView(FastRenderMixin, FastListMixin, ModelView):
    """A list/create/edit/details/export view whose every option comes from `model.__admin__`."""

    details_template = "admin/schema_details.html"
    list_template = "admin/schema_list.html"
    can_view_details = True
    export_types = ["xlsx", "csv"]
    column_display_pk = False
    column_auto_select_related = False
    simple_list_pager = False
    filter_converter = FilterConverter()
    extra_permissions: dict = {}
    """Exposed routes a subclass adds, mapped to the permission they need."""

    def __init__(self, model, db):
        spec: AdminSpec = model.__admin__
        self.spec = spec
        mapper = inspect(model)
        self.column_list = list(spec.list)
        self.column_searchable_list = list(spec.search)
        self.column_export_list = list(spec.export or spec.list)
        self.column_details_list = list(spec.details or self._default_details(mapper))
        create = [n for n in (spec.form or self._default_form(mapper)) if n not in spec.inline]
        edit_only = [n for n in (spec.edit or ()) if n not in create and n not in spec.inline]
        self.form_columns = create + edit_only
        if edit_only:  # recorded only once the record exists (e.g. an event's actual cost)
            self.form_create_rules = create + list(spec.inline) + [RenderedByHiddenTag("row_version")]
        if spec.edit is not None:
            self.form_edit_rules = list(spec.edit) + [RenderedByHiddenTag("row_version")]  # names its inline lists
        self.inline_models = [self._inline(model, name) for name in spec.inline]
        self.column_default_sort = list(spec.sort_order())
        self.page_size = spec.page_size
        self.column_labels = self._labels(model)
        self.column_descriptions = {
            c.key: info_of(c)["help"] for c in mapper.column_attrs if info_of(c).get("help")}
        self.column_filters = self._filters(model)
        self.column_sortable_list = self._sortable(model)
        self.column_formatters = self._formatters(model)
        self.column_formatters_detail = self.column_formatters
        self.column_type_formatters = {
            **ModelView.column_type_formatters, date: lambda v, x, n=None: fmt_date(x),
            datetime: lambda v, x, n=None: fmt_date(x)}
        self.column_type_formatters[type(None)] = lambda *a: ""
        self.column_type_formatters_detail = self.column_type_formatters
        self.form_choices = {
            c.key: [(code, _l(label)) for code, label in info_of(c)["choices"].choices()]
            for c in mapper.column_attrs if info_of(c).get("choices")}
        self.form_args = self._form_args(model)
        self.form_ajax_refs = self._ajax_refs(model)
        super().__init__(model, db, name=_l(spec.menu), category=_l(spec.category),
                         endpoint=model.__tablename__)

    # -- derivation from the spec ------------------------------------------------------
    @staticmethod
    def _default_details(mapper):
        """Every column in declaration order, a foreign key shown as its related record in its place."""
        rel_at = {next(iter(r.local_columns)).key: r.key for r in mapper.relationships if r.direction.name == "MANYTOONE"}
        out = ["id"]
        for c in mapper.column_attrs:
            key = c.columns[0].key
            if c.key in ("id", "version") or (key.endswith("_id") and key not in rel_at) or c.columns[0].computed is not None:
                continue
            out.append(rel_at.get(key, c.key))
        return out

    @staticmethod
    def _default_form(mapper):
        skip = {"id", "version"}
        cols = [c.key for c in mapper.column_attrs if c.key not in skip and not c.columns[0].foreign_keys
                and c.columns[0].computed is None]
        rels = [r.key for r in mapper.relationships if r.direction.name == "MANYTOONE"]
        return rels + cols

    @staticmethod
    def _inline(model, name):
        """(child model, options) for Flask-Admin's inline forms, labelled from the child's spec."""
        child = _target(model, name)
        cspec = child.__admin__
        cmapper = inspect(child)
        fields = [n for n in (cspec.form or ()) if n in cmapper.column_attrs]
        labels = {n: _l(info_of(cmapper.column_attrs[n])["label"]) for n in fields}
        args = {}
        for n in fields:
            column = cmapper.column_attrs[n].columns[0]
            validators = list(info_of(cmapper.column_attrs[n]).get("validators") or ())
            if not column.nullable and column.default is None:
                validators.insert(0, Required("请填写%(label)s", info_of(cmapper.column_attrs[n])["label"]))
            else:
                validators.insert(0, Optional())
            args[n] = {"label": labels[n], "validators": validators}
        return (child, {"form_columns": ["id"] + fields, "column_labels": labels, "form_args": args,
                        "form_label": _l(cspec.menu)})

    def _labels(self, model):
        mapper = inspect(model)
        labels = {"id": _l("编号")}
        for c in mapper.column_attrs:
            if info_of(c).get("label"):
                labels[c.key] = _l(info_of(c)["label"])
        for r in mapper.relationships:
            if r.direction.name == "MANYTOMANY" and "label" in r.info:
                labels[r.key] = _l(r.info["label"])
            if r.direction.name == "MANYTOONE":
                labels[r.key] = _l(r.info.get("label", r.key))
                path = _title_path(model, r.key)
                if path:
                    labels[path] = labels[r.key]
        return labels

    def _filters(self, model):
        mapper = inspect(model)
        out = []
        for name in self.spec.filters:
            if name in mapper.relationships:
                out.append(_title_path(model, name) or name)
                continue
            column = mapper.column_attrs[name].columns[0]
            label = self.column_labels[name]
            kind = field_kind(model, name)
            if kind == "choice":
                out.extend(_choice_filters(column, label, info_of(mapper.column_attrs[name])["choices"]))
            elif kind == "date":
                out.extend(_date_filters(column, label))
            elif kind == "datetime":
                out.extend(_datetime_filters(column, label))
            else:
                out.append(name)
        return out

    def _sortable(self, model):
        return sortable_columns(model)

    def _formatters(self, model):
        mapper = inspect(model)
        out = {}
        for name in set(self.column_list) | set(self.column_details_list):
            kind = field_kind(model, name)
            if kind == "relation" and _many_to_one(model, name):
                out[name] = _link
            elif kind == "relation" and _relationships(model)[name].direction.name == "MANYTOMANY":
                out[name] = lambda v, c, o, n: "、".join(str(r) for r in getattr(o, n))
            elif kind == "changes":
                out[name] = html_changes
            elif kind in ("choice", "money"):
                out[name] = lambda v, c, o, n: display(type(o), n, getattr(o, n))
            elif kind == "bool" and name in mapper.column_attrs:
                out[name] = lambda v, c, o, n: display(type(o), n, getattr(o, n))
        return out

    def _form_args(self, model):
        mapper = inspect(model)
        out = {}
        for c in mapper.column_attrs:
            info = info_of(c)
            column = c.columns[0]
            validators = list(info.get("validators") or ())
            required = not column.nullable and column.default is None and not column.primary_key
            if required and info.get("choices") is None and field_kind(model, c.key) != "bool":
                validators.insert(0, Required("请填写%(label)s", info.get("label", c.key)))
            elif field_kind(model, c.key) not in ("bool",):
                validators.insert(0, Optional())
            out[c.key] = {"label": _l(info.get("label", c.key)), "validators": validators}
            if info.get("help"):
                out[c.key]["description"] = info["help"]
        for r in mapper.relationships:
            if r.direction.name == "MANYTOONE":
                local = next(iter(r.local_columns))
                args = {"label": _l(r.info.get("label", r.key))}
                if not _ajax_picked(r.mapper.class_):  # ajax pickers are scoped by ScopedAjaxLoader
                    args["query_factory"] = self._picker_query(r.mapper.class_)
                if not local.nullable:
                    args["validators"] = [Required("请选择%(label)s", r.info.get("label", r.key))]
                else:
                    args["blank_text"] = _l("(无)")
                out[r.key] = args
            elif r.direction.name == "MANYTOMANY" and "label" in r.info:  # a staff account's estates
                out[r.key] = {"label": _l(r.info["label"]), "query_factory": self._picker_query(r.mapper.class_)}
        return out

    def _picker_query(self, target):
        """The choices of a related-record select: the rows of `target` the user may see."""
        return lambda: scoping.scope_query(self.db_session.query(target), target)

    def _create_ajax_loader(self, name, options):
        return ScopedAjaxLoader(name, self.session, _target(self.model, name), **options)

    def _ajax_refs(self, model):
        refs = {}
        for name in self.form_columns:
            if _many_to_one(model, name):
                target = _target(model, name)
                tspec = getattr(target, "__admin__", None)
                if _ajax_picked(target):
                    fields = list(tspec.search) or [tspec.title]
                    refs[name] = {"fields": fields, "page_size": 10, "placeholder": _l("输入关键字搜索")}
        return refs

    # -- permissions -------------------------------------------------------------------
    def allowed(self, perm: str) -> bool:
        return allowed(self.spec, perm)

    @property
    def can_create(self):
        return self.allowed("create")

    @property
    def can_edit(self):
        return self.allowed("edit")

    @property
    def can_delete(self):
        return self.allowed("delete")

    @property
    def can_export(self):
        return self.allowed("export")

    def is_accessible(self):
        return getattr(current_user, "is_authenticated", False) and self.allowed("read")

    def is_visible(self):
        return self.is_accessible()

    def is_action_allowed(self, name):
        return self.allowed(f"action:{name}")

    def _handle_view(self, name, **kwargs):
        if not getattr(current_user, "is_authenticated", False):
            return redirect(url_for("auth.login", next=request.full_path))
        if name == "action_view":
            perm = f"action:{request.form.get('action', '')}"
        elif name == "confirm_view":
            perm = f"action:{kwargs.get('action_name', '')}"
        elif name == "ajax_lookup":
            perm = "create" if self.allowed("create") else "edit"
        else:
            perm = {**VIEW_PERMISSIONS, **self.extra_permissions}.get(name)
        if perm is None or not self.allowed(perm):
            abort(403)
        if name in LIST_ROUTES:
            self.check_list_args()
        self._require_record_in_scope()
        return None

    def _require_record_in_scope(self) -> None:
        """Every route of this view that names its records (`?id=`, `?ids=`: details, edit, delete,
        print, receipt, download, confirm pages) answers 404 for a record the user may not see, before
        the route runs. Garbage ids are left to the route, which answers "not found" or 400."""
        if request.values.get("id"):
            try:
                record_id = parse_id(request.values["id"])
            except ValueError:
                return
            if self.get_one(record_id) is None:
                abort(404)
        if request.values.get("ids"):
            try:
                ids = [parse_id(v) for v in request.values["ids"].split(",") if v.strip()]
            except ValueError:
                return
            self.require_visible(ids)

    def handle_action(self, return_view=None):
        """Actions receive integer ids only; anything else is refused with a message, not a 500."""
        form = self.action_form()
        url = get_redirect_target() or self.get_url(".index_view")
        if not self.validate_form(form):
            flash("操作未执行:表单已过期,请刷新后重试。", "error")
            return redirect(url)
        try:
            ids = [parse_id(v) for v in request.form.getlist("rowid")]
        except ValueError:
            flash("操作未执行:所选记录编号无效。", "error")
            return redirect(url)
        handler = self._actions_data.get(form.action.data)
        if handler is None or not self.is_action_allowed(form.action.data):
            abort(403)
        self.require_visible(ids)
        if request.form.get("all_filtered") == "1":  # every row the list's filters match (query string)
            g.all_filtered = True
            ids = [i for (i,) in self.db_session.execute(select(self.filtered_ids().c.id))]
        if not ids:
            flash("请先勾选要操作的记录。", "error")
            return redirect(url)
        return handler[0](ids) or redirect(url)

    # -- queries -----------------------------------------------------------------------
    def _eager(self, columns):
        options = []
        for name in columns:
            if _many_to_one(self.model, name):
                rel = getattr(self.model, name)
                target = _target(self.model, name)
                opt = joinedload(rel)
                nested = [joinedload(rel).joinedload(getattr(target, j))
                          for j in (getattr(target, "__admin__", None) and target.__admin__.title_joins or ())]
                options.extend(nested or [opt])
        return options

    @property
    def db_session(self):
        return self.session.session if hasattr(self.session, "Model") else self.session

    def get_one(self, id):
        """The record if this user may see it (its estate is theirs): integer ids only, garbage in the
        URL is 'not found', never a database error."""
        try:
            record_id = parse_id(id)
        except (TypeError, ValueError):
            return None
        record = self.db_session.get(self.model, record_id)
        if record is None or scoping.current_estates() is None:
            return record
        return record if self.scope(self.db_session.query(self.model.id)).filter(
            self.model.id == record_id).first() else None

    def require_visible(self, ids) -> None:
        """Ids posted to an action or confirm page must all be rows this user may see: else 404."""
        wanted = set(ids)
        if not wanted:
            return
        found = {i for (i,) in self.scope(self.db_session.query(self.model.id)).filter(self.model.id.in_(wanted))}
        if found != wanted:
            abort(404)

    def record_sections(self, model) -> list[dict]:
        """Tables under the details (e.g. a payer's open charges): [{title, headers, rows}]; by default
        the inline children the spec declares."""
        sections = []
        for name in self.spec.inline:
            child = _target(self.model, name)
            columns = [n for n in child.__admin__.list if n in inspect(child).column_attrs]
            sections.append({
                "title": gettext(child.__admin__.menu),
                "headers": [gettext(info_of(inspect(child).column_attrs[n])["label"]) for n in columns],
                "rows": [[display(child, n, getattr(row, n)) for n in columns] for row in getattr(model, name)]})
        return sections

    def list_summary(self) -> str | None:
        """A line above the list computed from the current filters (rates, totals)."""
        return None

    def filtered_ids(self):
        """A subquery of the ids the list shows under the current search and filters."""
        view_args = self._get_list_extra_args()
        _, query = self.get_list(0, None, False, view_args.search, view_args.filters, execute=False, page_size=0)
        return query.with_entities(self.model.id).order_by(None).subquery()

    def filter_url(self, column: str, kind: type, value: str = "1", **args) -> str:
        """The list URL with one declared filter applied (e.g. 离开时间 为空 → 在楼内)."""
        target = getattr(self.model, column).property.columns[0]
        for index, flt in enumerate(self._filters or ()):
            if isinstance(flt, kind) and getattr(flt, "column", None) is target:
                return url_for(f"{self.endpoint}.index_view", **{f"flt0_{self.get_filter_arg(index, flt)}": value}, **args)
        raise LookupError(f"{self.endpoint}: no {kind.__name__} filter on {column}")

    def list_links(self) -> list[tuple[str, str]]:
        """Buttons above the list for tools that act on more than the ticked rows."""
        return []

    def apply_rule(self, ids, rule, done_text):
        """Run a rule on each selected record, each in its own transaction; refusals become messages.
        On all filtered rows it is one transaction: any refusal undoes the whole batch."""
        if g.get("all_filtered"):
            return self._apply_rule_atomically(ids, rule, done_text)
        ok = 0
        for record in self.get_query().filter(self.model.id.in_(ids)).all():
            try:
                rule(record)
                self.db_session.commit()
                ok += 1
            except ValueError as exc:
                self.db_session.rollback()
                flash(f"{record}:{exc}", "error")
        if ok:
            flash(f"{done_text} {ok} 条", "success")

    def _apply_rule_atomically(self, ids, rule, done_text):
        records = self.get_query().filter(self.model.id.in_(ids)).all()
        refused = []
        with audit_context(self.db_session, note=gettext("全部筛选结果 %(n)s 条", n=len(records))):
            for record in records:
                try:
                    rule(record)
                except ValueError as exc:
                    refused.append(f"{record}:{exc}")
        if refused:
            self.db_session.rollback()
            flash(gettext("操作未执行(全部撤销),%(n)s 条不符合条件:", n=len(refused)) + ";".join(refused[:10]), "error")
            return
        self.db_session.commit()
        flash(f"{done_text} {len(records)} 条", "success")

    # -- actions that ask for a reason ---------------------------------------------------
    confirm_actions: dict = {}
    """Action name -> (Chinese title, method taking (records, form) and returning a message), and
    optionally a third item False when no reason is needed (the page then only asks its fields).
    `confirm_action(name, ids)` sends the user to that page first."""

    def init_actions(self):
        """Every confirm action is also a batch action in the list (labelled by its title) unless the view
        declares its own @action of that name."""
        super().init_actions()
        for name, (title, *_rest) in self.confirm_actions.items():
            if name not in self._actions_data:
                self._actions.append((name, _l(title)))
                self._actions_data[name] = (lambda ids, name=name: self.confirm_action(name, ids), _l(title), None)

    def confirm_action(self, name, ids):
        back = get_redirect_target() or self.get_url(".index_view")
        if g.get("all_filtered"):  # the confirm page re-selects the same rows from the list's own filters
            return redirect(url_for(".confirm_view", action_name=name, url=back, all="1",
                                    **{k: v for k, v in request.args.items() if k not in ("url", "all", "ids")}))
        return redirect(url_for(".confirm_view", action_name=name, ids=",".join(str(i) for i in ids), url=back))

    def confirm_fields(self, name) -> list[dict]:
        """Extra inputs for a confirm page: [{name, label, type, value}]; a reason is always asked."""
        return []

    @expose("/confirm/<action_name>/", methods=("GET", "POST"))
    def confirm_view(self, action_name):
        name = action_name
        title, method, *rest = self.confirm_actions.get(name, (None, None))
        if method is None:
            abort(404)
        reason_required = rest[0] if rest else True
        back = get_redirect_target() or self.get_url(".index_view")
        ids = parse_ids((request.values.get("ids") or "").split(","))
        everything = request.args.get("all") == "1"
        if everything:
            records = self.get_query().filter(self.model.id.in_(select(self.filtered_ids().c.id))).all()
            ids = [r.id for r in records]
        else:
            self.require_visible(ids)
            records = self.get_query().filter(self.model.id.in_(ids)).all() if ids else []
        if not records:
            flash(gettext("请先勾选要操作的记录。"), "error")
            return redirect(back)
        error = None
        idle = [str(r) for r in records if not self.action_applies(name, r)]
        if idle and request.method == "GET":
            error = gettext("以下记录当前状态不能执行此操作:") + "、".join(idle)
        if request.method == "POST":
            reason = (request.form.get("reason") or "").strip()
            if reason_required and not reason:
                error = gettext("请填写原因")
            else:
                try:
                    message = getattr(self, method)(records, request.form)
                    self.db_session.commit()
                    message, category = message if isinstance(message, tuple) else (message, "success")
                    flash(message, category)
                    return redirect(back)
                except ValueError as exc:
                    self.db_session.rollback()
                    error = str(exc)
        return self.render("admin/confirm_action.html", title=title, records=records, error=error, everything=everything,
                           reason_required=reason_required,
                           fields=self.confirm_fields(name), back=back, ids=",".join(map(str, ids)))

    def action_applies(self, name: str, model) -> bool:
        """Whether a confirm action makes sense for this record now (its details page offers it)."""
        return True

    def record_links(self, model) -> list[tuple[str, str]]:
        """Buttons on the details page: the confirm actions this user may run on this record, then its history."""
        from schema.org import AuditLog

        here = url_for(".details_view", id=model.id)
        links = [(gettext(title), url_for(".confirm_view", action_name=name, ids=model.id, url=here))
                 for name, (title, *_rest) in self.confirm_actions.items()
                 if self.allowed(f"action:{name}") and self.action_applies(name, model)]
        unit_id = model.id if self.model.__tablename__ == "unit" else getattr(model, "unit_id", None)
        if unit_id:
            links.insert(0, (gettext("一户一档"), url_for("household.index", unit=unit_id)))
        if allowed(AuditLog.__admin__, "read"):
            links.append((gettext("修改历史"), url_for("audit_log.index_view", table=self.model.__tablename__, record=model.id)))
        return links

    def get_query(self):
        return self.scope(super().get_query()).options(*self._eager(self.column_list))

    # -- forms -------------------------------------------------------------------------
    def _show_missing_fields_warning(self, text):
        """Fields left out of `spec.edit` are locked on purpose, not forgotten."""

    def scaffold_form(self):
        form = super().scaffold_form()
        form.row_version = HiddenField()
        return form

    def create_form(self, obj=None):
        """A new record starts with one empty line per inline list (a slip has at least one item), and
        related records named in the query string (?unit=12 from the household page) are preselected."""
        form = super().create_form(obj)
        if request.method == "GET":
            for name in self.spec.inline:
                if not getattr(form, name).entries:
                    getattr(form, name).append_entry()
            for name in self.form_columns:
                if name in request.args and _many_to_one(self.model, name) and hasattr(form, name):
                    try:
                        related = self.db_session.get(_target(self.model, name), parse_id(request.args[name]))
                    except ValueError:
                        related = None
                    if related is not None:
                        getattr(form, name).data = related
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if request.method == "GET" and obj is not None and hasattr(obj, "version"):
            form.row_version.data = obj.version
        return form

    def _saved_values(self) -> dict:
        """On an edit, the record's stored values: cross-field rules see fields the edit form locks too."""
        if request.endpoint != f"{self.endpoint}.edit_view":
            return {}
        model = self.get_one(request.args.get("id", ""))
        if model is None:
            return {}
        mapper = inspect(self.model)
        values = {c.key: getattr(model, c.key) for c in mapper.column_attrs}
        values.update({r.key: getattr(model, r.key) for r in mapper.relationships if r.direction.name == "MANYTOONE"})
        return values

    def validate_form(self, form):
        from app.validators import check_form_inputs, localize_errors

        ok = super().validate_form(form)
        localize_errors(form)
        if not is_form_submitted() or not hasattr(form, "row_version"):
            return ok
        ok = check_form_inputs(form, self.model) and ok
        # cross-field rules see only values that passed their own field's checks (NaN never reaches them)
        data = {**self._saved_values(), **{f.name: f.data for f in form if not f.errors}}
        rules = getattr(self.model, "check", None)
        for field_name, message in (rules(data) if rules else {}).items():
            field = getattr(form, field_name, None)
            if field is None:
                flash(message, "error")
            else:
                field.errors = list(field.errors or []) + [message]
            ok = False
        return ok

    build_from_form = None
    """A method (form) -> new record, for entities created through a domain rule (numbering,
    checklists, allocation) rather than by populating the model; its refusals become messages."""

    def create_model(self, form):
        if self.build_from_form is None:
            return super().create_model(form)
        try:
            record = self.build_from_form(form)
            self.db_session.commit()
        except ValueError as exc:
            self.db_session.rollback()
            flash(str(exc), "error")
            return False
        return record

    @staticmethod
    def locked(model) -> str | None:
        """Why a record may no longer be changed (an issued slip), or None; see Entity.locked_reason."""
        reason = getattr(model, "locked_reason", None)
        return reason() if reason else None

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        model = self.get_one(request.args.get("id", ""))
        if model is not None and self.locked(model):
            flash(self.locked(model), "error")
            return redirect(self.get_url(".details_view", id=model.id))
        return super().edit_view()

    def on_model_change(self, form, model, is_created):
        reason = self.locked(model)
        if reason:
            raise ValidationError(reason)
        super().on_model_change(form, model, is_created)

    def delete_model(self, model):
        """Every delete path (the form, the batch action) refuses a locked or still-referenced record."""
        from app import deletion

        if self.locked(model):
            flash(self.locked(model), "error")
            return False
        blocks = deletion.impact(model, self.db_session)["blocks"]
        if blocks:
            flash(f"{model}:" + gettext("删除未执行:%(reasons)s", reasons="；".join(
                f"{label}:{reason}" for label, _count, reason in blocks)), "error")
            return False
        return super().delete_model(model)

    # -- delete preview (app/deletion.py) ---------------------------------------------------
    delete_preview_always = True
    """True: a POST without confirm=1 always opens the preview; False: it deletes at once when nothing
    else references the record (the list's button has already asked "are you sure?")."""

    def _delete_preview_url(self, model, back):
        return self.get_url(".delete_view", id=model.id, url=back)

    @expose("/delete/", methods=("GET", "POST"))
    def delete_view(self):
        """Before anything is deleted, show what else the delete deletes or unlinks and what blocks it.
        GET ?id= and the list's delete button (a POST without confirm=1) lead to the preview; its
        确认删除 (confirm=1) counts again with the record locked and deletes through Flask-Admin in one
        transaction, or refuses with a message when something blocks."""
        from urllib.parse import urlsplit

        from app import deletion

        back = get_redirect_target() or self.get_url(".index_view")
        model = self.get_one(request.values.get("id", ""))
        if model is None:
            flash(gettext("记录不存在或已被删除。"), "error")
            return redirect(back)
        if self.locked(model):
            flash(self.locked(model), "error")
            return redirect(back)
        confirmed = request.method == "POST" and request.form.get("confirm") == "1"
        if confirmed:  # no new reference can arrive between the counts and the delete
            self.db_session.refresh(model, with_for_update=True)
        impact = deletion.impact(model, self.db_session)
        if request.method == "POST":
            if not confirmed and (self.delete_preview_always or not deletion.is_empty(impact)):
                self.db_session.rollback()
                return redirect(self._delete_preview_url(model, back))
            if impact["blocks"]:
                self.db_session.rollback()
                flash(gettext("删除未执行:%(reasons)s", reasons="；".join(
                    f"{label}:{reason}" for label, _count, reason in impact["blocks"])), "error")
                return redirect(self._delete_preview_url(model, back))
            return super().delete_view()
        after = back
        if urlsplit(back).path == urlsplit(self.get_url(".details_view")).path:
            after = self.get_url(".index_view")  # the record's own page is gone after the delete
        return self.render("admin/delete_preview.html", record=model, impact=impact, back=back, after=after,
                           details_url=self.get_url(".details_view", id=model.id))

    def update_model(self, form, model):
        if self.locked(model):
            flash(self.locked(model), "error")
            return False
        posted = (form.row_version.data or "").strip() if hasattr(form, "row_version") else ""
        if posted and posted != str(getattr(model, "version", posted)):
            flash(STALE_MESSAGE, "error")
            return False
        return super().update_model(form, model)

    def handle_view_exception(self, exc):
        if isinstance(exc, StaleDataError):
            flash(STALE_MESSAGE, "error")
            return True
        if isinstance(exc, IntegrityError):
            flash(INTEGRITY_MESSAGE, "error")
            return True
        return super().handle_view_exception(exc)

    def get_save_return_url(self, model, is_created=False):
        return self.get_url(".details_view", id=model.id)

    # -- export ------------------------------------------------------------------------
    def export_rows(self):
        """The rows the list shows under the current search, filters and sort — all pages."""
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        _, query = self.get_list(0, sort[0] if sort else None, view_args.sort_desc, view_args.search,
                                 view_args.filters, execute=False, page_size=0, query=self.plain_query())
        return exporting.export_values(self.model, list(self.column_export_list), self.db_session, query,
                                       for_csv=request.view_args.get("export_type") == "csv",
                                       batch=current_app.config.get("EXPORT_BATCH", 2000))

    @expose("/export/<export_type>/")
    def export(self, export_type):
        if export_type not in self.export_types:
            abort(404)
        columns = list(self.column_export_list)
        labels = [str(self.column_labels.get(c, c)) for c in columns]
        filename = f"{_l(self.spec.menu)}_{clock.today():%Y%m%d}.{export_type}"
        if export_type == "csv":
            return exporting.csv_response(self.model, columns, labels, self.export_rows, filename)
        return exporting.xlsx_response(self.model, columns, labels, self.export_rows, filename, str(_l(self.spec.menu)))

