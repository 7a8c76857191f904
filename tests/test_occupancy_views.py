"""Move-in and inspection through the panel: refused while a document is missing, completed after
the upload; the checklist page, failed items → work orders, owner signature."""
import io
from decimal import Decimal

from app import movein
from app.extensions import db
from schema.occupancy import Inspection, MoveIn
from schema.work_orders import WorkOrder

from . import factories
from .test_documents import PDF


def ready_move_in(app, documents=("id_copy", "movein_notice")):
    """Everything done but the documents not listed (and the fee collected)."""
    with app.app_context():
        own = factories.ownership(unit=factories.unit(status="vacant", handover_date=None))
        for code in documents:
            factories.document(owner=own.owner, unit=own.unit, doc_type=code, title=code)
        m = factories.move_in(unit=own.unit, owner=own.owner, registration_form_signed=True, agreements_signed=True,
                              keys_count=3, handbook_given=True, drawings_given=True, water_reading=Decimal("12.5"),
                              electricity_reading=Decimal("300"), gas_reading=Decimal("8"), readings_confirmed=True)
        db.session.flush()
        movein.collect_move_in_fee(m, Decimal("223.75"), "wechat")
        db.session.commit()
        return m.id, own.owner_id, own.unit_id


def test_move_in_is_refused_until_the_missing_document_is_uploaded(login, app):
    mid, owner_id, unit_id = ready_move_in(app)
    b = login("frontdesk")
    html = b.post("/admin/move_in/action/", {"action": "complete", "rowid": mid}, follow_redirects=True).get_data(as_text=True)
    assert "缺少资料:房屋买卖契约" in html
    details = b.get(f"/admin/move_in/details/?id={mid}").get_data(as_text=True)
    assert "上传房屋买卖契约" in details and "缺少" in details
    form = b.get(f"/admin/document/new/?owner={owner_id}&unit={unit_id}&doc_type=purchase_contract").get_data(as_text=True)
    assert 'value="房屋买卖契约"' in form
    resp = b.post(f"/admin/document/new/?url=/admin/move_in/details/?id={mid}", {
        "doc_type": "purchase_contract", "title": "房屋买卖契约", "owner": owner_id, "unit": unit_id,
        "upload": (io.BytesIO(PDF), "契约.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 302 and f"/admin/move_in/details/?id={mid}" in resp.location
    b.post("/admin/move_in/action/", {"action": "complete", "rowid": mid})
    with app.app_context():
        m = db.session.get(MoveIn, mid)
        assert m.status == "completed" and m.unit.status == "occupied" and m.unit.handover_date is not None


def test_proxy_move_in_needs_proxy_fields(login, app):
    with app.app_context():
        own = factories.ownership()
        db.session.commit()
        unit_id, owner_id = own.unit_id, own.owner_id
    html = login("frontdesk").post("/admin/move_in/new/", {
        "unit": unit_id, "owner": owner_id, "handler_kind": "proxy", "handled_at": "2026-11-27 09:00:00",
        "keys_count": "2"}).get_data(as_text=True)
    assert "委托办理须填写受托人姓名" in html


def test_inspection_checklist_failed_item_to_work_order_then_sign(login, app):
    with app.app_context():
        unit = factories.unit()
        factories.department(name="工程维修部")
        db.session.commit()
        unit_id = unit.id
    b = login("frontdesk")
    resp = b.post("/admin/inspection/new/", {"unit": unit_id, "inspected_at": "2026-11-27 14:00:00", "inspector": "王工"})
    assert resp.status_code == 302 and "/admin/inspection/items/" in resp.location
    with app.app_context():
        insp = db.session.query(Inspection).one()
        items = [(i.id, i.room, i.item) for i in insp.items]
        iid = insp.id
    assert len(items) >= 30
    data = {"id": iid}
    for item_id, room, name in items:
        data[f"passed_{item_id}"] = "1"
    bad = items[0][0]
    data[f"passed_{bad}"] = "0"
    html = b.post(f"/admin/inspection/items/?id={iid}", data).get_data(as_text=True)
    assert "不合格项目须填写问题描述" in html
    data[f"desc_{bad}"] = "墙面有裂缝"
    assert b.post(f"/admin/inspection/items/?id={iid}", data).status_code == 302
    html = b.post("/admin/inspection/action/", {"action": "sign", "rowid": iid}, follow_redirects=True).get_data(as_text=True)
    assert "业主不能签字确认" in html
    b.post("/admin/inspection/action/", {"action": "work_orders", "rowid": iid})
    with app.app_context():
        order = db.session.query(WorkOrder).one()
        assert order.source == "inspection" and "墙面有裂缝" in order.description
        assert db.session.get(Inspection, iid).status == "rectifying"
    details = b.get(f"/admin/inspection/details/?id={iid}").get_data(as_text=True)
    assert order.number in details
