"""Convenience and commissioned services: an order booked from the published catalogue (FWyyyymmdd-nnnn),
scheduled by the supervisor, accepted by the owner, then charged into the ledger with a receipt; rules
called directly, then the whole order through the test client, refusals shown on the page."""
import re
from datetime import datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.services import (
    ServiceError,
    book_order,
    cancel,
    charge,
    parse_fee,
    record_acceptance,
    registered_owner,
    schedule,
)
from schema.ledger import Charge, Payment, PaymentAllocation
from schema.org import AppUser, AuditLog
from schema.services import ServiceOrder

from . import factories

NOW = clock.now()
SOON = NOW + timedelta(hours=2)


def staff(role, username=None):
    user = AppUser(username=username or f"{role}-{factories.mobile()}", display_name=f"测试{role}", role=role,
                   password_hash="x", active=True)
    db.session.add(user)
    db.session.flush()
    return user


def owned_unit(name="王业主"):
    own = factories.ownership(owner=factories.owner(name=name))
    return own.unit, own.owner


def booking(item=None, unit=None, **kw):
    if unit is None:
        unit, _owner = owned_unit()
    return book_order(**{"item": item or factories.service_item(price=Decimal("80.00")), "unit": unit,
                         "contact": "王业主", "phone": "13800138000", "area": "厨房", "agreed_time": SOON,
                         "expected_result": "油烟机清洗干净", "user": "desk", **kw})


def accepted_order(**kw):
    order = booking(**kw)
    schedule(order, staff="李师傅", at=SOON, user="boss")
    record_acceptance(order, accepted=True, note="干净", user="desk", at=SOON + timedelta(hours=1))
    return order


def audit_actions(record_id):
    return list(db.session.execute(select(AuditLog.action).where(AuditLog.table_name == "service_order",
                                                                 AuditLog.record_id == record_id)).scalars())


# == rules: booking ==============================================================================
def test_booking_numbers_the_order_and_takes_the_items_price(ctx):
    unit, owner = owned_unit()
    order = booking(unit=unit)
    other = booking(unit=unit, fee="120")
    assert re.fullmatch(rf"FW{clock.today():%Y%m%d}-0001", order.number)
    assert other.number.endswith("-0002")
    assert order.status == "booked" and order.booked_by == "desk" and order.booked_at is not None
    assert order.fee == Decimal("80.00") and other.fee == Decimal("120.00")
    assert order.owner is owner and order.agreement == "oral"
    assert "预约服务" in audit_actions(order.id)


def test_a_free_service_may_be_booked_at_zero(ctx):
    assert booking(fee="0").fee == Decimal("0.00")


def test_unpublished_items_cannot_be_booked(ctx):
    item = factories.service_item(name="管道疏通", published=False)
    with pytest.raises(ServiceError, match="服务项目“管道疏通”未公布,不能预约"):
        booking(item=item)
    assert db.session.query(ServiceOrder).count() == 0


@pytest.mark.parametrize(("field", "value", "message"), [
    ("item", None, "请选择服务项目"), ("unit", None, "请选择房屋"), ("contact", "  ", "请填写联系人"),
    ("area", "", "请填写服务区域"), ("agreed_time", None, "请填写约定时间"), ("expected_result", None, "请填写预期效果"),
    ("fee", "-1", "约定费用不能为负数"), ("fee", "八十", "约定费用格式不正确"), ("fee", "1e15", "约定费用过大"),
    ("agreement", "email", "约定方式不正确"),
])
def test_booking_refusals(ctx, field, value, message):
    unit, _owner = owned_unit()
    kw = {"item": factories.service_item(), "unit": unit, "contact": "王业主", "area": "厨房", "agreed_time": SOON,
          "expected_result": "清洗干净", "user": "desk", field: value}
    with pytest.raises(ServiceError, match=message):
        book_order(**kw)
    assert db.session.query(ServiceOrder).count() == 0


def test_the_owner_must_be_the_units(ctx):
    unit, _owner = owned_unit()
    stranger = factories.owner(name="路人甲")
    with pytest.raises(ServiceError, match="路人甲 不是该房屋的登记业主"):
        booking(unit=unit, owner=stranger)


def test_registered_owner_prefers_the_primary_one(ctx):
    unit = factories.unit()
    factories.ownership(unit=unit, owner=factories.owner(name="次要"), is_primary=False)
    factories.ownership(unit=unit, owner=factories.owner(name="主要"), is_primary=True)
    db.session.flush()
    db.session.refresh(unit)
    assert registered_owner(unit).name == "主要"
    assert registered_owner(factories.unit()) is None


def test_parse_fee(ctx):
    assert parse_fee("") is None and parse_fee(None) is None
    assert parse_fee("1,200.455") == Decimal("1200.46") and parse_fee(Decimal(5)) == Decimal("5.00")


# == rules: schedule, acceptance =================================================================
def test_schedule_names_staff_and_time(ctx):
    order = booking()
    boss = staff("supervisor", "boss")
    with pytest.raises(ServiceError, match="请填写服务人员"):
        schedule(order, staff=" ", at=SOON, user=boss)
    with pytest.raises(ServiceError, match="请填写安排的服务时间"):
        schedule(order, staff="李师傅", at=None, user=boss)
    with pytest.raises(ServiceError, match="安排的服务时间不能早于预约时间"):
        schedule(order, staff="李师傅", at=order.booked_at - timedelta(days=1), user=boss)
    with pytest.raises(ServiceError, match="您的角色无权安排服务订单"):
        schedule(order, staff="李师傅", at=SOON, user=staff("frontdesk"))
    assert order.status == "booked"
    schedule(order, staff="李师傅", at=SOON, user=boss)
    assert (order.status, order.staff, order.scheduled_at, order.scheduled_by) == ("scheduled", "李师傅", SOON, "boss")
    with pytest.raises(ServiceError, match="订单处于“已安排”,不能安排"):
        schedule(order, staff="张师傅", at=SOON, user=boss)
    schedule_maint = booking()
    schedule(schedule_maint, staff="赵师傅", at=SOON, user=staff("maintenance"))
    assert schedule_maint.status == "scheduled"


def test_rejected_work_is_rescheduled_then_accepted(ctx):
    order = booking()
    with pytest.raises(ServiceError, match="订单处于“已预约”,不能登记验收"):
        record_acceptance(order, accepted=True, note="", user="desk")
    schedule(order, staff="李师傅", at=SOON, user="boss")
    with pytest.raises(ServiceError, match="验收不合格须填写验收意见"):
        record_acceptance(order, accepted=False, note=" ", user="desk", at=SOON)
    record_acceptance(order, accepted=False, note="油污未清干净", user="desk", at=SOON + timedelta(hours=1))
    assert (order.status, order.accepted, order.acceptance_note) == ("rejected", False, "油污未清干净")
    with pytest.raises(ServiceError, match="业主验收前不能收费"):
        charge(order, method="cash", clerk=None)
    schedule(order, staff="张师傅", at=SOON + timedelta(days=1), user="boss")
    assert order.status == "scheduled" and order.accepted is None and order.staff == "张师傅"
    record_acceptance(order, accepted=True, note="", user="desk", at=SOON + timedelta(days=1, hours=1))
    assert order.status == "accepted" and order.accepted is True and order.done_at is not None
    actions = audit_actions(order.id)
    for name in ("安排服务", "验收不合格", "重新安排服务", "业主验收"):
        assert name in actions


# == rules: charging and cancelling ==============================================================
def test_charge_before_acceptance_is_refused(ctx):
    order = booking()
    with pytest.raises(ServiceError, match="业主验收前不能收费"):
        charge(order, method="cash", clerk=None)
    schedule(order, staff="李师傅", at=SOON, user="boss")
    with pytest.raises(ServiceError, match="业主验收前不能收费"):
        charge(order, method="cash", clerk=None)
    assert db.session.query(Payment).count() == 0 and order.payment is None


def test_charge_goes_into_the_ledger_once(ctx):
    order = accepted_order()
    clerk = staff("leasing", "cashier")
    payment = charge(order, method="wechat", clerk=clerk)
    assert re.fullmatch(rf"SK{clock.today():%Y%m%d}-\d{{4}}", payment.receipt_no)
    assert order.payment is payment and order.status == "charged"
    assert payment.amount == Decimal("80.00") and payment.method == "wechat" and payment.clerk is clerk
    assert payment.unit is order.unit and payment.payer_name == "王业主"
    fee = db.session.execute(select(Charge)).scalar_one()
    assert fee.kind == "service_fee" and fee.status == "paid" and fee.amount == Decimal("80.00")
    assert order.number in fee.period
    assert db.session.execute(select(PaymentAllocation)).scalar_one().charge is fee
    assert "收取便民服务费" in audit_actions(order.id)
    with pytest.raises(ServiceError, match=f"该订单已收费,收据号 {payment.receipt_no}"):
        charge(order, method="cash", clerk=clerk)
    with pytest.raises(ServiceError, match="订单已收费,不能取消"):
        cancel(order, reason="业主反悔", user="desk")
    assert db.session.query(Payment).count() == 1


def test_a_unit_without_a_registered_owner_pays_in_the_contacts_name(ctx):
    nobody = accepted_order(unit=factories.unit())
    assert nobody.owner is None
    payment = charge(nobody, method="cash", clerk=None)
    assert payment.payer_name == nobody.contact and payment.owner is None and nobody.status == "charged"


def test_charge_refusals(ctx):
    free = accepted_order(fee="0")
    with pytest.raises(ServiceError, match="约定费用为0"):
        charge(free, method="cash", clerk=None)
    assert free.status == "accepted"
    order = accepted_order()
    with pytest.raises(ServiceError, match="您的角色无权收费服务订单"):
        charge(order, method="cash", clerk=staff("maintenance"))
    with pytest.raises(ValueError, match="收款方式不正确"):
        charge(order, method="bitcoin", clerk=None)
    assert db.session.query(Payment).count() == 0


def test_cancel_before_charging_with_a_reason(ctx):
    order = booking(note="下午方便")
    with pytest.raises(ServiceError, match="请填写取消原因"):
        cancel(order, reason="  ", user="desk")
    cancel(order, reason="业主临时出差", user="desk")
    assert order.status == "cancelled" and order.note == "下午方便\n取消原因:业主临时出差"
    assert "取消服务订单" in audit_actions(order.id)
    with pytest.raises(ServiceError, match="订单处于“已取消”,不能取消"):
        cancel(order, reason="再取消", user="desk")
    with pytest.raises(ServiceError, match="订单处于“已取消”,不能安排"):
        schedule(order, staff="李师傅", at=SOON, user="boss")
    with pytest.raises(ServiceError, match="订单已取消,不能收费"):
        charge(order, method="cash", clerk=None)
    accepted = accepted_order()
    cancel(accepted, reason="协商免单", user="desk")
    assert accepted.status == "cancelled"


# == screens =====================================================================================
def text_of(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def record_links(html: str) -> str:
    return html.split('class="my-2 record-links"', 1)[1].split("</div>", 1)[0]


def link(html: str, label: str) -> str:
    m = re.search(r'href="([^"]+)"[^>]*>\s*' + re.escape(label) + r"\s*<", html)
    assert m, f"no link {label!r}"
    return unescape(m.group(1))


def list_link(html: str, label: str) -> str:
    m = re.search(r'<a class="nav-link" href="([^"]+)">' + re.escape(label) + "<", html)
    assert m, f"no list link {label!r}"
    return unescape(m.group(1))


def confirm(b, action, rid, **fields):
    return b.post(f"/admin/service_order/confirm/{action}/?ids={rid}", {"ids": rid, **fields})


def local(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M")


def catalogue(app):
    with app.app_context():
        unit, owner = owned_unit()
        item = factories.service_item(name="油烟机清洗", price=Decimal("120.00"))
        hidden = factories.service_item(name="空调加氟", price=Decimal("200.00"), published=False)
        db.session.commit()
        return unit.id, owner.id, item.id, hidden.id


def order_form(unit_id, item_id, **kw):
    return {"item": item_id, "unit": unit_id, "owner": "", "contact": "王业主", "phone": "13800138000",
            "area": "厨房", "agreed_time": SOON.strftime("%Y-%m-%d %H:%M:%S"), "fee": "",
            "expected_result": "油烟机内外清洗干净", "agreement": "oral", "note": "", **kw}


def test_service_order_from_booking_to_receipt(login, app):
    unit_id, owner_id, item_id, _hidden = catalogue(app)
    desk, boss = login("frontdesk"), login("supervisor")
    resp = desk.post("/admin/service_order/new/", order_form(unit_id, item_id))
    assert resp.status_code == 302, text_of(resp)[-2000:]
    with app.app_context():
        order = db.session.query(ServiceOrder).one()
        assert re.fullmatch(rf"FW{clock.today():%Y%m%d}-\d{{4}}", order.number)
        assert order.status == "booked" and order.booked_by == "frontdesk"
        assert order.fee == Decimal("120.00") and order.owner_id == owner_id
        oid, number = order.id, order.number
    details = f"/admin/service_order/details/?id={oid}"
    assert resp.location.endswith(details)
    page = text_of(desk.get(details))
    assert "安排服务" not in record_links(page) and "取消订单" in record_links(page)
    # charging before the owner's acceptance is refused
    html = text_of(confirm(desk, "charge", oid, method="cash"))
    assert 'id="confirm-error"' in html and "业主验收前不能收费" in html
    # the supervisor schedules; the front desk may not
    assert confirm(desk, "schedule", oid, staff="李师傅", at=local(SOON)).status_code == 403
    html = text_of(confirm(boss, "schedule", oid, staff="李师傅", at="明天上午"))
    assert "时间格式不正确" in html
    assert confirm(boss, "schedule", oid, staff="李师傅", at=local(SOON)).status_code == 302
    page = text_of(desk.get(details))
    assert "业主验收" in record_links(page) and "李师傅" in page
    # the owner accepts; then the fee is collected
    html = text_of(confirm(desk, "accept", oid, accepted="0", note=""))
    assert "验收不合格须填写验收意见" in html
    assert confirm(desk, "accept", oid, accepted="1", note="清洗干净").status_code == 302
    assert "收取服务费" in record_links(text_of(desk.get(details)))
    resp = confirm(desk, "charge", oid, method="alipay")
    assert resp.status_code == 302, text_of(resp)[-2000:]
    with app.app_context():
        order = db.session.get(ServiceOrder, oid)
        payment = db.session.query(Payment).one()
        fee = db.session.query(Charge).one()
        assert order.status == "charged" and order.payment_id == payment.id and order.accepted is True
        assert payment.amount == Decimal("120.00") and payment.method == "alipay" and payment.clerk.username == "frontdesk"
        assert fee.kind == "service_fee" and fee.status == "paid" and number in fee.period
        receipt, pid = payment.receipt_no, payment.id
    assert f"已收取便民服务费 120.00 元,收据号 {receipt}" in text_of(desk.get(resp.location))
    page = text_of(desk.get(details))
    assert receipt in page
    assert "收取服务费" not in record_links(page) and "取消订单" not in record_links(page)
    receipt_url = link(record_links(page), f"打印收据 {receipt}")
    assert receipt_url == f"/admin/payment/receipt/?id={pid}"
    printed = desk.get(receipt_url)
    assert printed.status_code == 200 and receipt in text_of(printed)
    assert link(record_links(page), "收款详情") == f"/admin/payment/details/?id={pid}"
    # charged twice is refused; a charged order is no longer edited
    html = text_of(confirm(desk, "charge", oid, method="cash"))
    assert "该订单已收费" in html
    resp = desk.get(f"/admin/service_order/edit/?id={oid}")
    assert resp.status_code == 302 and "订单已收费,不能修改" in text_of(desk.get(resp.location))
    with app.app_context():
        assert db.session.query(Payment).count() == 1


def test_picker_offers_published_items_only(login, app):
    unit_id, _owner_id, _item_id, hidden_id = catalogue(app)
    desk = login("frontdesk")
    form = text_of(desk.get("/admin/service_order/new/"))
    assert "油烟机清洗" in form and "空调加氟" not in form
    assert re.search(r'<input[^>]*id="fee"[^>]*value=""', form) and "留空则按服务项目的收费标准" in form
    resp = desk.post("/admin/service_order/new/", order_form(unit_id, hidden_id))
    assert resp.status_code == 200 and "该服务项目未公布,不能预约" in text_of(resp)
    with app.app_context():
        assert db.session.query(ServiceOrder).count() == 0


def test_booking_refusal_is_a_message(login, app):
    unit_id, _owner_id, item_id, _hidden = catalogue(app)
    desk = login("frontdesk")
    with app.app_context():
        stranger = factories.owner(name="路人乙")
        db.session.commit()
        stranger_id = stranger.id
    resp = desk.post("/admin/service_order/new/", order_form(unit_id, item_id, owner=stranger_id, fee="50"))
    assert resp.status_code == 200 and "路人乙 不是该房屋的登记业主" in text_of(resp)
    resp = desk.post("/admin/service_order/new/", order_form(unit_id, item_id, fee="-3"))
    assert resp.status_code == 200
    with app.app_context():
        assert db.session.query(ServiceOrder).count() == 0
    resp = desk.post("/admin/service_order/new/", order_form(unit_id, item_id, fee="0"))
    assert resp.status_code == 302
    with app.app_context():
        order = db.session.query(ServiceOrder).one()
        assert order.fee == Decimal("0.00")
        oid = order.id
    assert confirm(desk, "schedule", oid).status_code == 403
    boss = login("supervisor")
    assert confirm(boss, "schedule", oid, staff="李师傅", at=local(SOON)).status_code == 302
    assert confirm(desk, "accept", oid, accepted="1", note="").status_code == 302
    page = text_of(desk.get(f"/admin/service_order/details/?id={oid}"))
    assert "收取服务费" not in record_links(page)
    html = text_of(confirm(desk, "charge", oid, method="cash"))
    assert "约定费用为0" in html


def test_cancel_needs_a_reason(login, app):
    with app.app_context():
        order = factories.service_order()
        db.session.commit()
        oid = order.id
    desk = login("frontdesk")
    html = text_of(confirm(desk, "cancel", oid, reason=""))
    assert "请填写原因" in html
    assert confirm(desk, "cancel", oid, reason="业主不需要了").status_code == 302
    with app.app_context():
        order = db.session.get(ServiceOrder, oid)
        assert order.status == "cancelled" and "业主不需要了" in order.note


def test_order_list_links_by_stage(login, app):
    with app.app_context():
        factories.service_order(number="FW20261127-0901", status="booked")
        factories.service_order(number="FW20261127-0902", status="accepted")
        db.session.commit()
    b = login("frontdesk")
    html = text_of(b.get("/admin/service_order/"))
    waiting = text_of(b.get(list_link(html, "待收费")))
    assert "FW20261127-0902" in waiting and "FW20261127-0901" not in waiting
    waiting = text_of(b.get(list_link(html, "待安排")))
    assert "FW20261127-0901" in waiting and "FW20261127-0902" not in waiting
