"""The clerk's screens: payments with allocation and receipts, voids with reasons, month billing,
lease signing, dunning from an arrears row, and the arrears pages."""
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import openpyxl

from app import clock
from app.extensions import db
from schema import Charge, Dunning, Lease, Payment
from schema.org import AuditLog

from . import factories


def unit_with_debts(app, amounts=(Decimal("100.00"), Decimal("200.00"), Decimal("300.00"))):
    """A unit with an owner and three overdue monthly fees, oldest first."""
    with app.app_context():
        own = factories.ownership()
        today = clock.today()
        for i, amount in enumerate(amounts):
            factories.charge(unit=own.unit, owner=own.owner, payer_name=own.owner.name, amount=amount,
                             period=f"P{i}", due_date=today - timedelta(days=90 - 30 * i))
        db.session.commit()
        return own.unit.id, own.owner.id, own.owner.name


def test_payment_form_lists_open_charges_and_allocates_oldest_first(login, app):
    unit_id, owner_id, name = unit_with_debts(app)
    b = login("leasing")
    page = b.get(f"/admin/payment/new/?unit={unit_id}").get_data(as_text=True)
    assert "该缴费人的未缴费用" in page and name in page
    resp = b.post(f"/admin/payment/new/?unit={unit_id}", {"unit": unit_id, "owner": owner_id, "payer_name": name,
                                                          "amount": "250.00", "method": "wechat",
                                                          "paid_at": "2026-11-27 10:00:00"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    with app.app_context():
        pay = db.session.query(Payment).one()
        assert re.fullmatch(r"SK20261127-\d{4}", pay.receipt_no)
        charges = db.session.query(Charge).order_by(Charge.due_date).all()
        assert [(c.amount_paid, c.status) for c in charges] == [
            (Decimal("100.00"), "paid"), (Decimal("150.00"), "partial"), (Decimal("0.00"), "unpaid")]
        pid = pay.id
    receipt = b.get(f"/admin/payment/receipt/?id={pid}").get_data(as_text=True)
    assert "贰佰伍拾元整" in receipt and "微信" in receipt and "物业管理费" in receipt
    assert "@page { size: A5" in receipt


def test_payment_can_target_picked_charges(login, app):
    unit_id, owner_id, name = unit_with_debts(app)
    with app.app_context():
        newest = db.session.query(Charge).order_by(Charge.due_date.desc()).first().id
    b = login("leasing")
    b.post(f"/admin/payment/new/?unit={unit_id}", {"unit": unit_id, "owner": owner_id, "payer_name": name,
                                                   "amount": "300.00", "method": "cash",
                                                   "paid_at": "2026-11-27 10:00:00", "pick": str(newest)})
    with app.app_context():
        assert db.session.get(Charge, newest).status == "paid"
        assert db.session.query(Charge).filter_by(status="unpaid").count() == 2


def test_bad_payment_amount_is_a_message(login, app):
    unit_id, owner_id, name = unit_with_debts(app)
    html = login("leasing").post(f"/admin/payment/new/?unit={unit_id}", {
        "unit": unit_id, "owner": owner_id, "payer_name": name, "amount": "-5", "method": "cash",
        "paid_at": "2026-11-27 10:00:00"}).get_data(as_text=True)
    assert "必须大于0" in html
    with app.app_context():
        assert db.session.query(Payment).count() == 0


def test_void_charge_asks_for_a_reason_and_audits_it(login, app):
    unit_with_debts(app)
    with app.app_context():
        cid = db.session.query(Charge).order_by(Charge.id).first().id
    b = login("leasing")
    resp = b.post("/admin/charge/action/", {"action": "void", "rowid": cid})
    assert resp.status_code == 302 and "/admin/charge/confirm/void/" in resp.location
    page = b.get(resp.location).get_data(as_text=True)
    assert "作废应收费用" in page
    html = b.post(f"/admin/charge/confirm/void/?ids={cid}", {"ids": cid, "reason": ""}).get_data(as_text=True)
    assert "请填写原因" in html
    assert b.post(f"/admin/charge/confirm/void/?ids={cid}", {"ids": cid, "reason": "重复计费"}).status_code == 302
    with app.app_context():
        charge = db.session.get(Charge, cid)
        assert charge.status == "void" and charge.void_reason == "重复计费"
        row = db.session.query(AuditLog).filter_by(table_name="charge", record_id=cid, action="作废").one()
        assert row.note == "重复计费" and row.username == "leasing"
    assert login("frontdesk").post(f"/admin/charge/confirm/void/?ids={cid}", {"ids": cid, "reason": "x"}).status_code == 403


def test_financial_rows_cannot_be_deleted_by_anyone(login, app):
    unit_with_debts(app)
    with app.app_context():
        cid = db.session.query(Charge).first().id
    b = login("admin")
    assert b.post("/admin/charge/delete/", {"id": cid}).status_code == 403
    assert b.post("/admin/charge/action/", {"action": "delete", "rowid": cid}).status_code == 403


def test_month_billing_page_is_idempotent(login, app):
    with app.app_context():
        factories.ownership(unit=factories.unit(area=Decimal("100.00"), fee_rate=Decimal("2.50")))
        factories.ownership(unit=factories.unit(area=Decimal("100.00"), fee_rate=Decimal("2.50"), status="custody"))
        factories.unit(status="vacant")
        db.session.commit()
    b = login("leasing")
    assert "月度计费" in b.get("/admin/charge/").get_data(as_text=True)
    assert b.post("/admin/charge/bill/", {"month": "2026-11"}).status_code == 302
    assert b.post("/admin/charge/bill/", {"month": "2026-11"}).status_code == 302
    with app.app_context():
        amounts = sorted(c.amount for c in db.session.query(Charge).all())
        assert amounts == [Decimal("175.00"), Decimal("250.00")]
    assert "月份格式" in b.post("/admin/charge/bill/", {"month": "2026-13"}).get_data(as_text=True)
    assert login("frontdesk").get("/admin/charge/bill/").status_code == 403


def test_signing_a_lease_generates_rent_and_overlap_is_refused(login, app):
    with app.app_context():
        first = factories.lease(start_date=date(2026, 1, 1), end_date=date(2026, 6, 30))
        second = factories.lease(asset=first.asset, start_date=date(2026, 6, 1), end_date=date(2026, 12, 31))
        db.session.commit()
        ids = first.id, second.id
    b = login("leasing")
    b.post("/admin/lease/action/", {"action": "sign", "rowid": ids[0]})
    html = b.post("/admin/lease/action/", {"action": "sign", "rowid": ids[1]}, follow_redirects=True).get_data(as_text=True)
    assert "该资源在此期间已出租" in html
    with app.app_context():
        lease = db.session.get(Lease, ids[0])
        assert lease.status in ("signed", "active")
        assert db.session.query(Charge).filter_by(lease_id=ids[0], kind="rent").count() == 6
        assert db.session.get(Lease, ids[1]).status == "negotiating"


def test_dunning_opens_prefilled_from_an_arrears_row(login, app):
    unit_id, _owner_id, name = unit_with_debts(app)
    b = login("leasing")
    arrears = b.get("/admin/arrears_unit/").get_data(as_text=True)
    assert name in arrears and "电话催收" in arrears
    link = re.search(r'href="(/admin/dunning/new/\?[^"]*method=phone[^"]*)"', arrears).group(1).replace("&amp;", "&")
    form = b.get(link).get_data(as_text=True)
    assert f'value="{name}"' in form
    promised = (clock.today() + timedelta(days=5)).isoformat()
    resp = b.post(link, {"unit": unit_id, "payer_name": name, "method": "phone",
                         "at": clock.now().strftime("%Y-%m-%d %H:%M:%S"), "reached_person": name,
                         "identity_confirmed": "y", "result": "答应五天内缴清", "promised_date": promised})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    with app.app_context():
        d = db.session.query(Dunning).one()
        assert d.staff.username == "leasing" and len(d.charges) == 3 and d.method == "phone"
    details = b.get(f"/admin/unit/details/?id={unit_id}").get_data(as_text=True)
    assert "未缴费用" in details and "催收记录" in details and "答应五天内缴清" in details


def test_arrears_pages_roles_filters_and_export_agree(login, app):
    unit_with_debts(app)
    assert login("frontdesk").get("/admin/arrears_unit/").status_code == 403
    b = login("supervisor")
    page = b.get("/admin/arrears_unit/").get_data(as_text=True)
    assert 'id="aging-chart"' in page and "600.00" in page
    assert "电话催收" not in page  # supervisors read arrears; clerks chase them
    for garbage in ("?bucket=zzz", "?min_overdue=abc", "?building_id=x", "?order=drop&asc=q", "?page=-3"):
        assert b.get("/admin/arrears_unit/" + garbage).status_code == 200
    only = b.get("/admin/arrears_unit/?bucket=d1_30").get_data(as_text=True)
    assert "600.00" in only
    ws = openpyxl.load_workbook(io.BytesIO(b.get("/admin/arrears_unit/export/").data)).active
    header = [c.value for c in ws[1]]
    row = [c.value for c in ws[2]]
    assert header[3:5] == ["欠费合计", "逾期金额"] and row[3] == 600.0
    assert b.get("/admin/arrears_lease/").status_code == 200


def test_signed_lease_terms_and_paid_amounts_are_locked(login, app):
    with app.app_context():
        lease = factories.lease(status="active", rent=Decimal("800.00"))
        own = factories.ownership()
        pay = factories.payment(unit=own.unit, amount=Decimal("100.00"))
        db.session.commit()
        lease_id, asset_id, pay_id = lease.id, lease.asset_id, pay.id
    b = login("leasing")
    html = b.post(f"/admin/lease/edit/?id={lease_id}", {
        "asset": asset_id, "contract_no": "ZL-X", "tenant_name": "刘强", "tenant_phone": "13800138000",
        "start_date": "2026-01-01", "end_date": "2026-12-31", "rent": "500.00", "billing_cycle": "month",
        "deposit": "0", "venue_fee": "0", "row_version": 1}).get_data(as_text=True)
    assert "已签约的合同不能修改" in html
    form = b.get(f"/admin/payment/edit/?id={pay_id}").get_data(as_text=True)
    assert 'name="amount"' not in form and 'name="note"' in form
    with app.app_context():
        assert db.session.get(Lease, lease_id).rent == Decimal("800.00")
