"""一户一档: one page per unit with everything the office holds on that household.

A header (the unit, its owners and residents with phones, what it owes by age), one-click actions
prefilled for the unit, then a card per entity the user may read: its latest rows, each linking to
its details page, and 全部(N) opening the entity's list filtered to this unit. The data comes from
app.household in a fixed number of statements; this module only lays it out.
"""
from __future__ import annotations

from flask import abort, current_app, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app import arrears as arrears_rules, scoping
from app.household import household
from schema.complaints import CallLog, Complaint
from schema.documents import Document
from schema.dunning import Dunning
from schema.ledger import Payment
from schema.property import Unit
from schema.release import ReleaseSlip
from schema.spec import label_of
from schema.work_orders import WorkOrder

from .formatting import display, fmt_date, money
from .generic import allowed, parse_id
from .pages import RolePage

ROWS = 5
"""Rows per card; the rest are one click away (全部(N))."""

TEXT_CUT = 30

STATUS_BADGES = {"vacant": "badge-secondary", "occupied": "badge-success", "custody": "badge-info",
                 "renovating": "badge-warning"}


class Cut(str):
    """A long text shortened for a card cell; `full` keeps the whole text for its tooltip."""

    full: str


def _cut(text, size=TEXT_CUT) -> str:
    full = " ".join(str(text or "").split())
    cell = Cut(full if len(full) <= size else full[: size - 1] + "…")
    cell.full = full
    return cell


def _field(name, cut=False):
    """A column shown as the schema formats it, headed by its schema label."""
    def cell(row):
        value = display(type(row), name, getattr(row, name))
        return _cut(value) if cut else value
    return name, cell


def _related(name, cut=False):
    """A many-to-one shown by its name (loaded with the row by app.household)."""
    def cell(row):
        value = str(getattr(row, name) or "")
        return _cut(value) if cut else value
    return name, cell


def _title(name, fallback="#{id}"):
    """The column naming the row (its link text); rows without one (a draft slip) read as #id."""
    def cell(row):
        value = getattr(row, name)
        if value in (None, ""):
            return fallback.format(id=row.id)
        return display(type(row), name, value)
    return name, cell


def _balance(row):
    return money(row.balance)


def _permit_status(row):
    """A permit's status, flagged 有违规 when a check found a violation."""
    status = display(type(row), "status", row.status)
    return f"{status} · {gettext(label_of(type(row), 'violation'))}" if row.violation else status


CARDS: tuple[dict, ...] = (
    {"key": "charges", "title": _l("未缴费用"),
     "columns": (_title("period"), _field("kind"), _field("due_date"), (_l("欠费"), _balance), _field("status"))},
    {"key": "payments", "columns": (_title("receipt_no"), _field("paid_at"), _field("amount"), _field("method"),
                                    _field("status"))},
    {"key": "dunnings", "columns": (_title("at"), _field("method"), _related("staff"), _field("result", cut=True),
                                    _field("promised_date"))},
    {"key": "work_orders", "columns": (_title("number"), _field("status"), _field("created_at"),
                                       _field("description", cut=True), _related("department", cut=True))},
    {"key": "followups", "columns": (_title("planned_date"), _field("method"), _field("staff"), _field("status"),
                                     _field("result"))},
    {"key": "complaints", "columns": (_title("number"), _field("received_at"), _field("complainant"),
                                      _field("category"), _field("status"))},
    {"key": "calls", "columns": (_title("at"), _field("caller"), _field("phone"), _field("content", cut=True),
                                 _field("status"))},
    {"key": "release_slips", "columns": (_title("number"), _field("created_at"), _field("applicant"),
                                         _field("reason", cut=True), _field("status"))},
    {"key": "renovation_permits", "columns": (_title("number"), _field("contractor", cut=True), _field("planned_start"),
                                              _field("planned_end"), ("status", _permit_status))},
    {"key": "worker_passes", "list": "renovation_permit",
     "columns": (_title("pass_no"), _field("name"), _field("phone"), _field("valid_from"), _field("valid_to"))},
    {"key": "custodies", "columns": (_title("start_date"), _field("end_date"), _field("water_start"),
                                     _field("electricity_start"))},
    {"key": "custody_patrols", "list": "custody",
     "columns": (_title("at"), _field("kind"), _field("patroller"), _field("findings", cut=True),
                 _field("owner_notified"))},
    {"key": "service_orders", "columns": (_title("number"), _related("item"), _field("agreed_time"), _field("fee"),
                                          _field("status"))},
    {"key": "visitors", "columns": (_title("time_in"), _field("name"), _field("purpose", cut=True),
                                    _field("time_out"))},
    {"key": "move_ins", "columns": (_title("handled_at"), _related("owner"), _field("handler_kind"),
                                    _field("status"))},
    {"key": "inspections", "columns": (_title("inspected_at"), _field("inspector"), _field("status"),
                                       _field("signed_at"))},
    {"key": "documents", "columns": (_title("title"), _field("doc_type"), _field("received_on"),
                                     _field("filename", cut=True))},
)
"""The cards in page order: a section key of app.household, its columns (schema field name or Chinese
header, and how a row shows it; the first links to the row), an optional title (default the entity's
menu name) and `list`: the list 全部(N) opens when the entity's own list cannot filter by unit."""

ACTIONS: tuple[tuple[str, type, str, tuple], ...] = (
    (_l("新建来电"), CallLog, "call_log.create_view", ()),
    (_l("新建维修工单"), WorkOrder, "work_order.create_view", ()),
    (_l("新建投诉"), Complaint, "complaint.create_view", ()),
    (_l("新建放行条"), ReleaseSlip, "release_slip.create_view", ()),
    (_l("新建催收记录"), Dunning, "dunning.create_view", ()),
    (_l("收款"), Payment, "payment.create_view", ()),
    (_l("上传资料"), Document, "document.create_view", ("owner",)),
)
"""(label, entity, create endpoint, extra prefills): each shown only to roles that may create it,
opened with ?unit=<id> (and the primary owner when the form takes one) and back here on cancel."""


def _header(model, name) -> str:
    """A column header: the schema label of a field, or a header of its own (a lazy string)."""
    return gettext(label_of(model, name)) if isinstance(name, str) else str(name)


class HouseholdView(RolePage):
    in_menu = False
    @property
    def roles(self):
        """Whoever may read units may open a unit's file; each section shows only tables the role may read."""
        return Unit.__admin__.roles.read

    # -- links ---------------------------------------------------------------------------
    @staticmethod
    def _views() -> dict:
        admin = current_app.extensions["propdesk_admin"]
        return {getattr(v, "endpoint", None): v for v in admin._views}

    @staticmethod
    def unit_list_url(view, unit) -> str:
        """`view`'s list filtered to this unit: by the unit's id when the view declares an equality
        filter on its unit_id column, else by Flask-Admin's relation filter on the unit's title column
        (the room number, which other buildings may share), else the whole list.

        (SchemaView.filter_url builds a relative `.index_view` URL, valid only inside that view's own
        request; from here the view's endpoint is named in full, as admin_views.home does.)"""
        endpoint = f"{view.endpoint}.index_view"
        unit_fk = getattr(getattr(view.model, "unit_id", None), "property", None)
        targets = ((unit_fk.columns[0], str(unit.id)),) if unit_fk is not None else ()
        targets += ((Unit.__table__.c.room_no, unit.room_no),)
        for column, value in targets:
            for index, flt in enumerate(view._filters or ()):
                if type(flt) is FilterEqual and getattr(flt, "column", None) is column:
                    return url_for(endpoint, **{f"flt0_{view.get_filter_arg(index, flt)}": value})
        return url_for(endpoint)

    def actions(self, unit, owner=None) -> list[tuple[str, str]]:
        here = request.full_path.rstrip("?")
        out = []
        for label, model, endpoint, extra in ACTIONS:
            if not allowed(model.__admin__, "create"):
                continue
            args = {"unit": unit.id, "url": here}
            if "owner" in extra and owner is not None:
                args["owner"] = owner.id
            out.append((str(label), url_for(endpoint, **args)))
        return out

    def cards(self, unit, sections: dict) -> list[dict]:
        views = self._views()
        out = []
        for card in CARDS:
            section = sections.get(card["key"])
            if section is None:
                continue
            model = section.model
            endpoint = model.__tablename__
            list_view = views.get(card.get("list", endpoint))
            rows = []
            for row in section.rows:
                cells = [cell(row) for _name, cell in card["columns"]]
                rows.append({"url": url_for(f"{endpoint}.details_view", id=row.id), "cells": cells})
            out.append({
                "key": card["key"],
                "title": str(card["title"]) if "title" in card else gettext(model.__admin__.menu),
                "headers": [_header(model, name) for name, _cell in card["columns"]],
                "rows": rows, "total": section.total,
                "all_url": self.unit_list_url(list_view, unit) if list_view is not None else None,
            })
        return out

    def people(self, unit, sections: dict) -> dict:
        """Owners and residents for the header, each linking to its record."""
        views = self._views()
        out = {}
        owners = sections.get("owners")
        if owners is not None:
            out["owners"] = {
                "rows": [{"name": s.owner.name, "phone": s.owner.phone, "primary": s.is_primary,
                          "share": display(type(s), "share", s.share) if s.share is not None else "",
                          "url": url_for("owner.details_view", id=s.owner.id)} for s in owners.rows],
                "total": owners.total, "all_url": self.unit_list_url(views["ownership"], unit)}
        residents = sections.get("residents")
        if residents is not None:
            out["residents"] = {
                "rows": [{"name": r.name, "phone": r.phone or "", "relation": display(type(r), "relation", r.relation),
                          "moved_out": fmt_date(r.move_out_date) if r.move_out_date else "",
                          "url": url_for("resident.details_view", id=r.id)} for r in residents.rows],
                "total": residents.total, "all_url": self.unit_list_url(views["resident"], unit)}
        return out

    # -- page ----------------------------------------------------------------------------
    @expose("/")
    def index(self):
        try:
            unit_id = parse_id(request.args.get("unit", ""))
        except ValueError:
            abort(404)
        if not scoping.visible(Unit, unit_id):  # another estate's unit: not found
            abort(404)
        data = household(unit_id, limit=ROWS, can_read=lambda model: allowed(model.__admin__, "read"))
        if data is None:
            abort(404)
        unit, sections = data["unit"], data["sections"]
        owners = sections.get("owners")
        primary = next((s.owner for s in owners.rows if s.is_primary), None) if owners else None
        estate = unit.building.estate if unit.building else None
        facts = [(gettext(label_of(Unit, name)), display(Unit, name, getattr(unit, name)))
                 for name in ("floor", "usage", "area", "fee_rate", "handover_date")]
        facts = [(gettext("项目"), estate.name if estate else ""),
                 (gettext(label_of(Unit, "building")), unit.building.name if unit.building else ""),
                 (gettext(label_of(Unit, "room_no")), unit.room_no)] + facts
        return self.render(
            "admin/household.html", unit=unit,
            status=display(Unit, "status", unit.status), status_badge=STATUS_BADGES.get(unit.status, "badge-light"),
            facts=facts, people=self.people(unit, sections), arrears=data["arrears"],
            buckets=arrears_rules.BUCKETS, money=money, actions=self.actions(unit, primary),
            cards=self.cards(unit, sections), unit_url=url_for("unit.details_view", id=unit.id))
