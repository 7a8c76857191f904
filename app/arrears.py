"""Arrears (欠费) by payer: per unit for the fee clerk, per lease for the leasing clerk.

Every figure comes from SQL aggregates, one statement per call: non-void charges are grouped
by payer with SUM(CASE ...) per ageing bucket, and the latest dunning per payer is picked by a
window function joined once. Dates are never computed in SQL: the bucket boundary dates are
derived here from `today` and bound as parameters, so SQLite and PostgreSQL give the same answer.

Age of a charge = today - due_date in days:  <= 0 未到期, 1–30, 31–60, 61–90, 91–180, > 180.
A charge's balance is amount - amount_paid; void charges count nowhere.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Boolean, Date, Numeric, and_, case, func, or_, select, type_coerce
from sqlalchemy.sql import Select

from app import clock
from app.extensions import db
from schema import Building, Charge, Dunning, LeasableAsset, Lease, Unit
from schema.ledger import ChargeStatus

BUCKETS: list[tuple[str, str]] = [
    ("not_due", "未到期"),
    ("d1_30", "1–30天"),
    ("d31_60", "31–60天"),
    ("d61_90", "61–90天"),
    ("d91_180", "91–180天"),
    ("d180_plus", "180天以上"),
]
BUCKET_KEYS: tuple[str, ...] = tuple(key for key, _ in BUCKETS)
BUCKET_LABELS: dict[str, str] = dict(BUCKETS)
# Upper age (days, inclusive) of each overdue bucket but the last; not_due is age <= 0.
_AGE_LIMITS = (("d1_30", 30), ("d31_60", 60), ("d61_90", 90), ("d91_180", 180))

PAYERS = ("unit", "lease")
ORDERS = ("overdue", "age", "total", "name")
MONEY_KEYS: tuple[str, ...] = ("total_owed", "overdue") + BUCKET_KEYS

MONEY = Numeric(12, 2)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# "Greater than zero" for money means "at least a cent": comparing against half a cent keeps
# SQLite (which sums Numeric columns as floats) from listing a payer who owes 1e-17 yuan.
_EPS = Decimal("0.005")


def bucket_bounds(today: date) -> dict[str, tuple[date | None, date | None]]:
    """Bucket key -> (lo, hi): a charge is in the bucket when lo <= due_date < hi (None = open)."""
    bounds: dict[str, tuple[date | None, date | None]] = {"not_due": (today, None)}
    hi = today
    for key, max_age in _AGE_LIMITS:
        lo = today - timedelta(days=max_age)
        bounds[key] = (lo, hi)
        hi = lo
    bounds["d180_plus"] = (None, hi)
    return bounds


def _between(column, lo: date | None, hi: date | None):
    parts = []
    if lo is not None:
        parts.append(column >= lo)
    if hi is not None:
        parts.append(column < hi)
    return and_(*parts)


def _money_sum(expr):
    return type_coerce(func.sum(expr), MONEY)


def _check(by: str, order: str | None = None, bucket: str | None = None) -> None:
    if by not in PAYERS:
        raise ValueError(f"by must be one of {PAYERS}, not {by!r}")
    if order is not None and order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    if bucket is not None and bucket not in BUCKET_KEYS:
        raise ValueError(f"bucket must be one of {BUCKET_KEYS}, not {bucket!r}")


def _aggregate(by: str, today: date, *, payer_id=None, building_id=None, asset_kind=None,
               min_overdue=None, bucket=None):
    """One row per payer with an open balance: the GROUP BY over the charge table."""
    key = Charge.unit_id if by == "unit" else Charge.lease_id
    balance = Charge.amount - Charge.amount_paid
    bounds = bucket_bounds(today)

    total = _money_sum(balance)
    overdue = _money_sum(case((Charge.due_date < today, balance), else_=0))
    per_bucket = {k: _money_sum(case((_between(Charge.due_date, *bounds[k]), balance), else_=0))
                  for k in BUCKET_KEYS}
    open_charge = balance > _EPS

    stmt = (
        select(
            key.label("payer_id"),
            func.max(Charge.payer_name).label("payer_name"),
            total.label("total_owed"),
            overdue.label("overdue"),
            *(expr.label(k) for k, expr in per_bucket.items()),
            type_coerce(func.min(case((open_charge, Charge.due_date))), Date).label("oldest_due"),
            func.count(case((open_charge, Charge.id))).label("charge_count"),
        )
        .where(Charge.status != ChargeStatus.void.value, key.is_not(None))
        .group_by(key)
        .having(total > _EPS)
    )
    if payer_id is not None:
        stmt = stmt.where(key == payer_id)
    if building_id is not None:
        stmt = stmt.where(key.in_(select(Unit.id).where(Unit.building_id == building_id)))
    if asset_kind is not None:
        stmt = stmt.where(key.in_(select(Lease.id).join(LeasableAsset, LeasableAsset.id == Lease.asset_id)
                                  .where(LeasableAsset.kind == str(asset_kind))))
    if min_overdue is not None:
        stmt = stmt.having(overdue > Decimal(str(min_overdue)) - _EPS)
    if bucket is not None:
        stmt = stmt.having(per_bucket[bucket] > _EPS)
    return stmt.subquery("arrears")


def _payer_select(by: str, today: date | None = None, *, payer_id=None, building_id=None, asset_kind=None,
                  min_overdue=None, bucket=None, search: str | None = None, with_dunning: bool = True) -> Select:
    _check(by, bucket=bucket)
    if building_id is not None and by != "unit":
        raise ValueError("building_id filters units (by='unit')")
    if asset_kind is not None and by != "lease":
        raise ValueError("asset_kind filters leases (by='lease')")
    today = today or clock.today()
    agg = _aggregate(by, today, payer_id=payer_id, building_id=building_id, asset_kind=asset_kind,
                     min_overdue=min_overdue, bucket=bucket)
    pid = agg.c.payer_id
    figures = [agg.c[k] for k in MONEY_KEYS] + [agg.c.oldest_due, agg.c.charge_count]

    if by == "unit":
        stmt = (select(pid.label("unit_id"), agg.c.payer_name, Building.id.label("building_id"),
                       Building.name.label("building_name"), Unit.room_no, *figures)
                .select_from(agg)
                .join(Unit, Unit.id == pid)
                .join(Building, Building.id == Unit.building_id))
        searched = (agg.c.payer_name, Unit.room_no)
    else:
        stmt = (select(pid.label("lease_id"), agg.c.payer_name, Lease.contract_no, Lease.tenant_name,
                       LeasableAsset.id.label("asset_id"), LeasableAsset.code.label("asset_code"),
                       LeasableAsset.kind.label("asset_kind"), *figures)
                .select_from(agg)
                .join(Lease, Lease.id == pid)
                .join(LeasableAsset, LeasableAsset.id == Lease.asset_id))
        searched = (agg.c.payer_name, Lease.contract_no, Lease.tenant_name, LeasableAsset.code)

    search = (search or "").strip()
    if search:
        stmt = stmt.where(or_(*(c.icontains(search, autoescape=True) for c in searched)))

    if with_dunning:
        dkey = Dunning.unit_id if by == "unit" else Dunning.lease_id
        rank = func.row_number().over(partition_by=dkey, order_by=(Dunning.at.desc(), Dunning.id.desc()))
        last = (select(dkey.label("payer_id"), Dunning.at, Dunning.promised_date, rank.label("rn"))
                .where(dkey.is_not(None))
                .subquery("last_dunning"))
        broken = case((and_(last.c.promised_date < today, agg.c.overdue > _EPS), True), else_=False)
        stmt = (stmt.outerjoin(last, and_(last.c.payer_id == pid, last.c.rn == 1))
                .add_columns(last.c.at.label("last_dunning_at"),
                             last.c.promised_date.label("last_promised_date"),
                             type_coerce(broken, Boolean).label("broken_promise")))
    return stmt


def arrears_query(by: str, today: date | None = None, *, order: str = "overdue", desc: bool = True,
                  **filters) -> Select:
    """The page's select: one row per payer with an open balance, sorted.

    by: "unit" or "lease". Filters: building_id (units), asset_kind (leases), min_overdue,
    bucket (a BUCKETS key: payers with a balance in it), search (payer name, room / contract no,
    tenant, asset code). order: "overdue", "total", "name", or "age" (by oldest_due; desc puts the
    oldest debt first). Ties break on the payer id.
    """
    _check(by, order=order)
    stmt = _payer_select(by, today, **filters)
    cols = stmt.selected_columns
    pid = cols["unit_id" if by == "unit" else "lease_id"]
    if order == "age":
        # oldest first when desc: the earliest due date is the largest age
        primary = cols.oldest_due.asc() if desc else cols.oldest_due.desc()
    else:
        column = {"overdue": cols.overdue, "total": cols.total_owed, "name": cols.payer_name}[order]
        primary = column.desc() if desc else column.asc()
    return stmt.order_by(primary, pid.asc())


def _row_dict(by: str, mapping, today: date) -> dict:
    row = dict(mapping)
    for k in MONEY_KEYS:
        row[k] = Decimal(row[k] or 0).quantize(CENT)
    row["charge_count"] = int(row["charge_count"] or 0)
    row["broken_promise"] = bool(row.get("broken_promise"))
    row["payer_id"] = row["unit_id" if by == "unit" else "lease_id"]
    row["has_arrears"] = row["overdue"] > 0
    oldest = row.get("oldest_due")
    row["oldest_age_days"] = (today - oldest).days if oldest else None
    return row


def arrears_rows(by: str, today: date | None = None, *, limit: int | None = None, offset: int | None = None,
                 order: str = "overdue", desc: bool = True, **filters) -> list[dict]:
    """Execute arrears_query (one statement) and return dicts with Decimal money.

    Each dict: the payer columns (unit_id, building_id, building_name, room_no | lease_id,
    contract_no, tenant_name, asset_id, asset_code, asset_kind), payer_name, payer_id,
    total_owed, overdue, one key per bucket, oldest_due, oldest_age_days, charge_count (charges
    with a balance), last_dunning_at, last_promised_date, broken_promise, has_arrears.
    """
    today = today or clock.today()
    stmt = arrears_query(by, today, order=order, desc=desc, **filters)
    if limit is not None:
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    return [_row_dict(by, r, today) for r in db.session.execute(stmt).mappings()]


def arrears_count(by: str, today: date | None = None, *, order=None, desc=None, **filters) -> int:
    """How many payers arrears_rows lists with these filters (order/desc accepted and ignored)."""
    today = today or clock.today()
    sub = _payer_select(by, today, with_dunning=False, **filters).subquery()
    return db.session.execute(select(func.count()).select_from(sub)).scalar_one()


def arrears_totals(by: str, today: date | None = None, *, order=None, desc=None, **filters) -> dict:
    """Sums over every listed payer: total_owed, overdue, each bucket, and `payers` (their count).

    One aggregate statement over the same filtered per-payer set as arrears_rows, so the bar chart,
    the list and the export agree. `buckets` repeats the bucket sums as [(key, label, amount)].
    """
    today = today or clock.today()
    sub = _payer_select(by, today, with_dunning=False, **filters).subquery()
    stmt = select(func.count().label("payers"),
                  *(type_coerce(func.coalesce(func.sum(sub.c[k]), 0), MONEY).label(k) for k in MONEY_KEYS))
    row = db.session.execute(stmt).mappings().one()
    out = {"payers": int(row["payers"] or 0)}
    out.update({k: Decimal(row[k] or 0).quantize(CENT) for k in MONEY_KEYS})
    out["buckets"] = [(k, label, out[k]) for k, label in BUCKETS]
    return out


def arrears_page(by: str, today: date | None = None, *, limit: int, offset: int = 0, order: str = "overdue",
                 desc: bool = True, **filters) -> tuple[list[dict], dict]:
    """One page of arrears_rows and the arrears_totals of all listed payers, in one statement: the
    totals ride on the page's rows as window aggregates, so the charges are grouped once, not twice."""
    today = today or clock.today()
    stmt = arrears_query(by, today, order=order, desc=desc, **filters)
    cols = stmt.selected_columns
    stmt = stmt.add_columns(func.count().over().label("all_payers"),
                            *(func.sum(cols[k]).over().label(f"all_{k}") for k in MONEY_KEYS))
    found = db.session.execute(stmt.limit(limit).offset(offset or None)).mappings().all()
    if not found:
        return [], arrears_totals(by, today, **filters)
    first = found[0]
    totals = {"payers": int(first["all_payers"])}
    totals.update({k: Decimal(first[f"all_{k}"] or 0).quantize(CENT) for k in MONEY_KEYS})
    totals["buckets"] = [(k, label, totals[k]) for k, label in BUCKETS]
    rows = [_row_dict(by, {k: v for k, v in r.items() if not k.startswith("all_")}, today) for r in found]
    return rows, totals


def _for_payer(by: str, payer_id: int, today: date | None) -> dict:
    today = today or clock.today()
    stmt = _payer_select(by, today, payer_id=payer_id)
    found = db.session.execute(stmt).mappings().first()
    if found is not None:
        return _row_dict(by, found, today)
    empty = {k: None for k in stmt.selected_columns.keys()}
    empty.update({k: ZERO for k in MONEY_KEYS}, charge_count=0, broken_promise=False)
    empty["unit_id" if by == "unit" else "lease_id"] = payer_id
    return _row_dict(by, empty, today)


def arrears_for_unit(unit_id: int, today: date | None = None) -> dict:
    """One unit's figures as in arrears_rows(by="unit"); zeros and has_arrears False when nothing is owed."""
    return _for_payer("unit", unit_id, today)


def arrears_for_lease(lease_id: int, today: date | None = None) -> dict:
    """One lease's figures as in arrears_rows(by="lease"); zeros and has_arrears False when nothing is owed."""
    return _for_payer("lease", lease_id, today)
