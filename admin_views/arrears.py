"""Arrears pages: per unit (fee clerk, by building) and per lease (leasing clerk), with aging
buckets, a bar chart, one-click dunning, and an xlsx export with the same numbers."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import request
from flask_admin import expose
from flask_login import current_user

from app import arrears, clock
from app.extensions import db
from schema.leasing import AssetKind

from . import export as exporting
from .pages import RolePage

ROLES = frozenset({"admin", "manager", "supervisor", "leasing"})
DUNNING_ROLES = frozenset({"admin", "leasing"})
PAGE_SIZE = 50


class ArrearsView(RolePage):
    """One view class, two payers: `by` is "unit" or "lease"."""

    roles = ROLES

    def __init__(self, by: str, **kw):
        self.by = by
        super().__init__(**kw)


    def filters(self) -> dict:
        """The page's filters from the query string; garbage is ignored, never an error."""
        args = request.args
        out = {"search": (args.get("search") or "").strip()[:100] or None}
        if args.get("bucket") in arrears.BUCKET_KEYS:
            out["bucket"] = args["bucket"]
        try:
            if args.get("min_overdue"):
                out["min_overdue"] = Decimal(args["min_overdue"])
        except InvalidOperation:
            pass
        if self.by == "unit":
            out["building_id"] = args.get("building_id", type=int)
        elif args.get("asset_kind") in [k.value for k in AssetKind]:
            out["asset_kind"] = args["asset_kind"]
        return {k: v for k, v in out.items() if v is not None}

    def ordering(self) -> tuple[str, bool]:
        order = request.args.get("order") if request.args.get("order") in arrears.ORDERS else "overdue"
        return order, request.args.get("asc") != "1"

    @expose("/")
    def index(self):
        filters = self.filters()
        order, desc = self.ordering()
        page = max(request.args.get("page", 0, type=int), 0)
        today = clock.today()
        rows, totals = arrears.arrears_page(self.by, today, limit=PAGE_SIZE, offset=page * PAGE_SIZE,
                                            order=order, desc=desc, **filters)
        pages = max((totals["payers"] + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        from schema.property import Building

        buildings = db.session.query(Building).order_by(Building.name).all() if self.by == "unit" else []
        peak = max([amount for _k, _l, amount in totals["buckets"]] + [Decimal("0.01")])
        args = {k: v for k, v in request.args.items() if k != "page"}
        return self.render("admin/arrears.html", rows=rows, totals=totals, by=self.by, page=page, pages=pages,
                           order=order, desc=desc, buckets=arrears.BUCKETS, peak=peak, today=today,
                           buildings=buildings, asset_kinds=AssetKind.choices(), args=args,
                           can_dun=bool(current_user.roles & DUNNING_ROLES))

    @expose("/export/")
    def export(self):
        filters = self.filters()
        order, desc = self.ordering()
        rows = arrears.arrears_rows(self.by, clock.today(), order=order, desc=desc, **filters)
        who = ["楼栋", "房号", "业主"] if self.by == "unit" else ["合同编号", "承租人", "资源"]
        labels = who + ["欠费合计", "逾期金额"] + [label for _k, label in arrears.BUCKETS] + \
            ["最早应缴日期", "最近催收", "约定缴费日期", "逾期未兑现承诺"]
        kinds = ["text"] * 3 + ["money"] * (2 + len(arrears.BUCKETS)) + ["date", "datetime", "date", "text"]

        def values():
            for r in rows:
                head = [exporting.neutralise(v or "") for v in (
                    (r["building_name"], r["room_no"], r["payer_name"]) if self.by == "unit"
                    else (r["contract_no"], r["payer_name"], r["asset_code"]))]
                yield head + [r["total_owed"], r["overdue"]] + [r[k] for k in arrears.BUCKET_KEYS] + \
                    [r["oldest_due"], r["last_dunning_at"], r["last_promised_date"], "是" if r["broken_promise"] else ""]

        name = "物业费欠费" if self.by == "unit" else "租金欠费"
        return exporting.table_xlsx_response(labels, kinds, values(), f"{name}_{clock.today():%Y%m%d}.xlsx", name)
