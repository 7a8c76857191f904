"""The schema drives the admin: a throwaway model gets a full view from its spec alone."""
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, mapped_column

from app import create_app
from app.extensions import db
from admin_views import build_views
from schema import REGISTRY
from schema.spec import AdminSpec, Choice, SpecError, col, money, roles

from .conftest import Browser


class ThrowawayBase(DeclarativeBase):
    metadata = MetaData()  # kept out of the real schema and its migrations


class Colour(Choice):
    red = "red", "红色"
    blue = "blue", "蓝色"


class Gadget(ThrowawayBase):
    __tablename__ = "gadget"
    __admin__ = AdminSpec(
        menu="小工具", category="测试",
        list=("name", "colour", "price", "made_on"), search=("name",), filters=("colour", "made_on", "name"),
        roles=roles(create={"admin"}, edit={"admin"}),
    )
    id = mapped_column(Integer, primary_key=True)
    name = col("名称", String(50))
    colour = col("颜色", choices=Colour)
    price = money("单价")
    made_on = col("生产日期", __import__("sqlalchemy").Date)


@pytest.fixture
def gadget_app(app, users):
    test_app = create_app(dict(app.config), registry=REGISTRY + (Gadget,))
    with test_app.app_context():
        ThrowawayBase.metadata.create_all(db.engine)
        db.session.add_all([
            Gadget(name="扳手", colour="red", price=Decimal("12.50"), made_on=date(2026, 3, 1)),
            Gadget(name="螺丝刀", colour="blue", price=Decimal("8.00"), made_on=date(2026, 5, 9)),
        ])
        db.session.commit()
    yield test_app
    with test_app.app_context():
        db.session.remove()
        ThrowawayBase.metadata.drop_all(db.engine)


def test_throwaway_model_gets_view_labels_search_filters_and_export(gadget_app):
    b = Browser(gadget_app).login("admin")
    html = b.get("/admin/gadget/").get_data(as_text=True)
    for text in ("小工具", "测试", "名称", "颜色", "单价", "生产日期", "红色", "12.50", "2026-03-01"):
        assert text in html, text
    assert "螺丝刀" not in b.get("/admin/gadget/?search=扳").get_data(as_text=True)
    view = next(v for v in gadget_app.extensions["propdesk_admin"]._views if getattr(v, "endpoint", "") == "gadget")
    with gadget_app.test_request_context():
        names = {(str(f.name), str(f.operation())) for f in view._filters}
    assert ("颜色", "等于") in names and ("生产日期", "之间") in names and ("名称", "包含") in names
    colour_filter = next(f for f in view._filters if str(f.name) == "颜色")
    assert dict(colour_filter.options) == {"red": "红色", "blue": "蓝色"}
    ws = openpyxl.load_workbook(io.BytesIO(b.get("/admin/gadget/export/xlsx/").data)).active
    assert [c.value for c in ws[1]] == ["名称", "颜色", "单价", "生产日期"]
    assert ws.max_row == 3
    assert b.get("/admin/gadget/new/").status_code == 200
    assert Browser(gadget_app).login("frontdesk").get("/admin/gadget/new/").status_code == 403


def test_unknown_column_in_a_spec_fails_at_start_up(app):
    class Broken(ThrowawayBase):
        __tablename__ = "broken"
        __admin__ = AdminSpec(menu="坏的", category="测试", list=("name", "no_such_column"))
        id = mapped_column(Integer, primary_key=True)
        name = col("名称", String(50))

    with app.app_context(), pytest.raises(SpecError, match="no_such_column"):
        build_views((Broken,))


def test_every_registered_spec_is_valid(app):
    with app.app_context():
        views = build_views()
    assert [v.endpoint for v in views] == [m.__tablename__ for m in REGISTRY]
