"""What the benchmark measures PropDesk against, in one small Flask app on the same database:

- /stock/<table>/: a stock Flask-Admin ModelView of the model with the same columns, search
  columns, filter columns and default sort as PropDesk's view; every other setting left default;
- /floor/<key>: the floor, one prepared SQLAlchemy Core statement per case rendered through a bare
  Jinja table (no count, no layout): the least any page showing those rows could do.

Also the bench's inputs drawn from the data (search terms) and the one aggregate arrears query.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, abort, render_template_string
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla import filters as sqla_filters
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import aliased

from app import clock
from app.extensions import db
from schema import REGISTRY

FLOOR_PAGE = """<!doctype html><meta charset="utf-8"><table>
{% for row in rows %}<tr>{% for v in row %}<td>{{ v if v is not none else '' }}</td>{% endfor %}</tr>
{% endfor %}</table>"""

FILTERS = {  # view -> (choice column, value) for the filter case
    "charge": ("status", "unpaid"), "payment": ("method", "wechat"), "work_order": ("status", "done"),
    "call_log": ("status", "pending"), "owner": ("kind", "company"), "unit": ("status", "vacant"),
}
PAGE_500 = 499  # Flask-Admin pages count from 0


def create_reference_app(url: str) -> Flask:
    app = Flask("propdesk_bench_reference")
    app.config.update(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="bench", SQLALCHEMY_ENGINE_OPTIONS={})
    db.init_app(app)
    from flask_babel import Babel

    Babel(app, default_locale="zh_Hans_CN")
    admin = Admin(app, name="stock", url="/stock", endpoint="stock")
    by_table = {m.__tablename__: m for m in REGISTRY}
    for table in ("charge", "payment", "work_order", "call_log", "owner", "unit"):
        model = by_table[table]
        spec = model.__admin__
        view = type(f"Stock{model.__name__}", (ModelView,), {
            "column_list": list(spec.list), "column_searchable_list": list(spec.search),
            "column_filters": list(spec.filters), "column_default_sort": list(spec.sort_order()),
            "can_export": True, "export_types": ["xlsx", "csv"], "column_export_list": list(spec.export or spec.list),
        })
        admin.add_view(view(model, db.session, endpoint=f"stock_{table}", url=f"/stock/{table}"))
    app.floor = {}

    @app.route("/floor/<key>")
    def floor(key):
        stmt = app.floor.get(key)
        if stmt is None:
            abort(404)
        with db.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return render_template_string(FLOOR_PAGE, rows=rows)

    return app


def _stock_view(refs, table):
    return next(v for v in refs.extensions["admin"][0]._views if getattr(v, "endpoint", "") == f"stock_{table}")


def _filter_arg(view, column, cls) -> str:
    for arg, (_i, flt) in view._filter_args.items():
        if type(flt) is cls and getattr(flt.column, "key", None) == column:
            return arg
    raise LookupError(f"{view.endpoint}: no {cls.__name__} on {column}")


def _sort_index(view, column) -> int:
    return [name for name, _label in view._list_columns].index(column)


def floor_statement(model, sort=None, where=None, page=0, page_size=20):
    """The list's rows in one Core select: its columns, related records' titles, the same order."""
    spec = model.__admin__
    table = model.__table__
    mapper = inspect(model)
    columns, joins = [], []
    for name in spec.list:
        if name in mapper.column_attrs:
            columns.append(table.c[name])
            continue
        rel = mapper.relationships[name]
        target = rel.mapper.class_
        alias = aliased(target)
        joins.append((alias, getattr(model, rel.key)))
        tspec = getattr(target, "__admin__", None)
        for j in (tspec.title_joins if tspec else ()):
            inner_rel = inspect(target).relationships[j]
            inner = aliased(inner_rel.mapper.class_)
            joins.append((inner, getattr(alias, j)))
            columns.append(getattr(inner, inner_rel.mapper.class_.__admin__.title))
        columns.append(getattr(alias, tspec.title if tspec else "id"))
    stmt = select(*columns).select_from(model)
    for alias, rel in joins:
        stmt = stmt.outerjoin(alias, rel.of_type(alias))
    order = []
    if sort is not None:
        order.append(sort)
    else:
        for path, desc in spec.sort_order():
            if "." in path:
                rel_name, col_name = path.split(".")
                target = mapper.relationships[rel_name].mapper.class_
                alias = aliased(target)
                stmt = stmt.outerjoin(alias, getattr(model, rel_name).of_type(alias))
                column = getattr(alias, col_name)
            else:
                column = getattr(model, path)
            order.append(column.desc() if desc else column)
    if where is not None:
        stmt = stmt.where(where)
    stmt = stmt.order_by(*order)
    return stmt.limit(page_size).offset(page * page_size) if page_size else stmt


def search_clause(model, term: str):
    """The condition PropDesk's list search applies for one term: the floor reads the same rows."""
    from app.fulltext import search_condition

    return search_condition(model, term)


def search_term_for(session, model) -> str:
    """A realistic term for the view: a name or number taken from a row in the middle of the table."""
    spec = model.__admin__
    column = getattr(model, spec.search[0])
    total = session.scalar(select(func.max(model.id)))
    value = session.scalar(select(column).where(model.id >= total // 2, column.is_not(None)).order_by(model.id).limit(1))
    return str(value)


def cases_for(view, refs) -> list[dict]:
    """The five cases for one view: the URL of each variant and the floor's prepared statement."""
    model = view.model
    table = model.__tablename__
    stock = _stock_view(refs, table)
    choice_col, value = FILTERS[table]
    default_sort = {p for p, _ in model.__admin__.sort_order()}
    sort_col = next(c for c in view.column_sortable_list if isinstance(c, str) and c not in default_sort
                    and c in stock._sortable_columns)
    term = search_term_for(db.session, model)
    ours_base, stock_base = f"/admin/{table}/", f"/stock/{table}/"
    ours_flt = _filter_arg(view, choice_col, sqla_filters.FilterEqual)
    stock_flt = _filter_arg(stock, choice_col, sqla_filters.FilterEqual)
    specs = [
        ("page1", "", "", floor_statement(model)),
        ("filter", f"?flt0_{ours_flt}={value}", f"?flt0_{stock_flt}={value}",
         floor_statement(model, where=getattr(model, choice_col) == value)),
        ("sort", f"?sort={_sort_index(view, sort_col)}", f"?sort={_sort_index(stock, sort_col)}",
         floor_statement(model, sort=getattr(model, sort_col))),
        ("search", f"?search={term}", f"?search={term}", floor_statement(model, where=search_clause(model, term))),
        ("page500", f"?page={PAGE_500}", f"?page={PAGE_500}", floor_statement(model, page=PAGE_500)),
    ]
    out = []
    for name, ours_q, stock_q, stmt in specs:
        key = f"{table}-{name}"
        refs.floor[key] = stmt
        out.append({"case": name, "ours": ours_base + ours_q, "stock": stock_base + stock_q, "floor": f"/floor/{key}",
                    "term": term if name == "search" else None})
    return out


def search_terms(session) -> list[str]:
    """Terms clerks type into the fee list's search: full names, surnames with a given-name
    character, given names alone (a substring), periods, and names that match nothing."""
    from schema.ledger import Charge

    total = session.scalar(select(func.max(Charge.id))) or 1
    names = [session.scalar(select(Charge.payer_name).where(Charge.id >= total * i // 23).order_by(Charge.id).limit(1))
             for i in range(1, 22)]
    names = [n for n in names if n]
    periods = sorted({p for p in session.scalars(select(Charge.period).distinct().limit(40)) if p})
    full = names[:12]
    prefix = [n[:2] for n in names[12:16] if len(n) >= 3]
    given = [n[1:] for n in names[16:21] if len(n) >= 3]
    return full + prefix + given + periods[:4] + ["无此人名", "ZZZ9"]


def global_terms(session) -> list[str]:
    from schema.ledger import Payment
    from schema.people import Owner
    from schema.property import Unit
    from schema.work_orders import WorkOrder

    total = session.scalar(select(func.max(Owner.id))) or 1
    owners = [session.get(Owner, max(1, total * i // 7)) for i in range(1, 6)]
    owners = [o for o in owners if o is not None]
    unit = session.get(Unit, max(1, (session.scalar(select(func.max(Unit.id))) or 1) // 3))
    receipt = session.scalar(select(Payment.receipt_no).order_by(Payment.id.desc()).limit(1))
    order = session.scalar(select(WorkOrder.number).order_by(WorkOrder.id.desc()).limit(1))
    terms = [o.phone[-4:] for o in owners if o.phone] + [owners[0].phone, owners[1].name, owners[2].name]
    terms += [o.id_number[-4:] for o in owners[:2] if o.id_number]
    if unit is not None:
        terms += [str(unit), f"{unit.building.name.rstrip('栋')}-{unit.room_no}"]
    return terms + [t for t in (receipt, order) if t]


def arrears_aggregate(session, page_size: int = 50):
    """The arrears page's numbers in one statement: per unit the balance, overdue and aging
    buckets of its non-void charges, the first page by overdue, with the payer count and
    totals over all payers as window aggregates."""
    today = clock.today()
    bounds = [today - timedelta(days=d) for d in (30, 60, 90, 180)]
    sql = text("""
        WITH per AS (
          SELECT unit_id,
                 SUM(amount - amount_paid) AS total,
                 SUM(CASE WHEN due_date < :today THEN amount - amount_paid ELSE 0 END) AS overdue,
                 SUM(CASE WHEN due_date >= :today THEN amount - amount_paid ELSE 0 END) AS not_due,
                 SUM(CASE WHEN due_date < :today AND due_date >= :b30 THEN amount - amount_paid ELSE 0 END) AS d1_30,
                 SUM(CASE WHEN due_date < :b30 AND due_date >= :b60 THEN amount - amount_paid ELSE 0 END) AS d31_60,
                 SUM(CASE WHEN due_date < :b60 AND due_date >= :b90 THEN amount - amount_paid ELSE 0 END) AS d61_90,
                 SUM(CASE WHEN due_date < :b90 AND due_date >= :b180 THEN amount - amount_paid ELSE 0 END) AS d91_180,
                 SUM(CASE WHEN due_date < :b180 THEN amount - amount_paid ELSE 0 END) AS d180_plus
          FROM charge WHERE status <> 'void' AND unit_id IS NOT NULL
          GROUP BY unit_id
          HAVING SUM(amount - amount_paid) > 0.005)
        SELECT per.*, COUNT(*) OVER () AS payers, SUM(overdue) OVER () AS all_overdue,
               SUM(total) OVER () AS all_total
        FROM per ORDER BY overdue DESC LIMIT :limit""")
    return session.execute(sql, {"today": today, "b30": bounds[0], "b60": bounds[1], "b90": bounds[2],
                                 "b180": bounds[3], "limit": page_size}).all()


__all__ = ["create_reference_app", "cases_for", "search_terms", "global_terms", "arrears_aggregate",
           "floor_statement", "search_clause"]
