"""The front desk's screens through the test client: calls, complaints, release slips, visitors and the
printed work order; each step a confirm action with its refusals shown on the page, never a 500."""
import re
from datetime import datetime, timedelta
from decimal import Decimal
from html import unescape

from flask_admin.contrib.sqla import filters as sqla_filters

from app import clock
from app.extensions import db
from schema.complaints import CallLog, Complaint
from schema.org import AuditLog
from schema.release import ReleaseItem, ReleaseSlip
from schema.visitors import Visitor
from schema.work_orders import WorkOrder

from . import factories


# -- helpers ---------------------------------------------------------------------------------
def text_of(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def link(html: str, label: str) -> str:
    """The href of the first <a> whose text is `label`."""
    m = re.search(r'href="([^"]+)"[^>]*>\s*' + re.escape(label) + r"\s*<", html)
    assert m, f"no link {label!r}"
    return unescape(m.group(1))


def record_links(html: str) -> str:
    """The buttons block of a details page."""
    return html.split('class="my-2 record-links"', 1)[1].split("</div>", 1)[0]


def view_of(app, endpoint):
    admin = app.extensions["propdesk_admin"]
    return next(v for v in admin._views if getattr(v, "endpoint", None) == endpoint)


def filter_arg(app, endpoint, column, kind) -> str:
    """The list URL argument (flt0_<n>) of one declared filter."""
    view = view_of(app, endpoint)
    target = getattr(view.model, column).property.columns[0]
    for index, flt in enumerate(view._filters):
        if type(flt) is kind and getattr(flt, "column", None) is target:
            return f"flt0_{view.get_filter_arg(index, flt)}"
    raise LookupError(column)


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")


def local(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M")


def overdue_unit(app, amount=Decimal("345.60")):
    """A unit with its owner and one overdue fee."""
    with app.app_context():
        own = factories.ownership()
        factories.charge(unit=own.unit, owner=own.owner, payer_name=own.owner.name, amount=amount,
                         period="2026-01", due_date=clock.today() - timedelta(days=40))
        db.session.commit()
        return own.unit.id, own.owner.id_number, own.owner.name, own.owner.phone


def paid_up_unit(app):
    with app.app_context():
        own = factories.ownership()
        db.session.commit()
        return own.unit.id, own.owner.id_number, own.owner.name, own.owner.phone


# -- call log --------------------------------------------------------------------------------
def call_form(unit_id, **kw):
    return {"at": stamp(clock.now()), "caller": "王五", "identity": "owner", "unit": unit_id,
            "phone": "13800138000", "content": "厨房水管漏水", "answer": "", "callback": "", "note": "", **kw}


def test_unanswered_call_needs_a_callback_then_is_pending(login, app):
    with app.app_context():
        unit = factories.unit()
        db.session.commit()
        unit_id = unit.id
    b = login("frontdesk")
    resp = b.post("/admin/call_log/new/", call_form(unit_id))
    assert resp.status_code == 200
    assert "未能当场答复的来电须留下回复联系方式" in text_of(resp)
    with app.app_context():
        assert db.session.query(CallLog).count() == 0
    resp = b.post("/admin/call_log/new/", call_form(unit_id, callback="13800138000"))
    assert resp.status_code == 302, text_of(resp)[-1500:]
    with app.app_context():
        call = db.session.query(CallLog).one()
        assert call.status == "pending" and call.answered is False and call.taken_by == "frontdesk"
        assert call.callback == "13800138000" and call.unit_id == unit_id


def test_maintenance_cannot_log_calls(login, app):
    with app.app_context():
        unit = factories.unit()
        db.session.commit()
        unit_id = unit.id
    crew = login("maintenance")
    assert crew.get("/admin/call_log/new/").status_code == 403
    assert crew.post("/admin/call_log/new/", call_form(unit_id, callback="13800138000")).status_code == 403
    with app.app_context():
        assert db.session.query(CallLog).count() == 0


def test_call_becomes_a_work_order(login, app):
    with app.app_context():
        call = factories.call_log(unit=factories.unit())
        dept = factories.department()
        db.session.commit()
        cid, dept_id = call.id, dept.id
    b = login("frontdesk")
    page = text_of(b.get(f"/admin/call_log/details/?id={cid}"))
    assert "转维修工单" in page and "转投诉" in page and "回访完成" in page
    resp = b.post(f"/admin/call_log/confirm/to_work_order/?ids={cid}",
                  {"ids": cid, "category": "leak", "department_id": dept_id})
    assert resp.status_code == 302, text_of(resp)[-1500:]
    with app.app_context():
        call = db.session.get(CallLog, cid)
        order = db.session.query(WorkOrder).one()
        assert call.work_order_id == order.id and call.status == "referred"
        assert order.source == "call" and order.number.startswith("WX") and order.category == "leak"
        assert order.department_id == dept_id and order.description == "厨房水管漏水"
        number = order.number
    assert f"已转维修工单:{number}" in text_of(b.get(resp.location))
    details = text_of(b.get(f"/admin/call_log/details/?id={cid}"))
    assert "转维修工单" not in record_links(details) and "转投诉" in record_links(details)


def test_call_becomes_a_complaint(login, app):
    with app.app_context():
        call = factories.call_log(unit=factories.unit())
        db.session.commit()
        cid = call.id
    b = login("frontdesk")
    resp = b.post(f"/admin/call_log/confirm/to_complaint/?ids={cid}", {"ids": cid, "category": ""},
                  follow_redirects=True)
    assert resp.status_code == 200
    with app.app_context():
        complaint = db.session.query(Complaint).one()
        assert complaint.call_log_id == cid and complaint.number.startswith("TS")
        assert complaint.status == "registered" and complaint.channel == "phone"
        assert db.session.get(CallLog, cid).status == "referred"
        number = complaint.number
    assert f"已转投诉:{number}" in text_of(resp)
    assert number in text_of(b.get(f"/admin/call_log/details/?id={cid}"))


def test_call_followup_needs_a_result_then_closes(login, app):
    with app.app_context():
        call = factories.call_log()
        db.session.commit()
        cid = call.id
    b = login("frontdesk")
    resp = b.post(f"/admin/call_log/confirm/followup/?ids={cid}", {"ids": cid, "result": "  "})
    assert resp.status_code == 200 and "请填写回访结果" in text_of(resp)
    with app.app_context():
        assert db.session.get(CallLog, cid).status == "pending"
    resp = b.post(f"/admin/call_log/confirm/followup/?ids={cid}", {"ids": cid, "result": "已电话告知维修时间"})
    assert resp.status_code == 302
    with app.app_context():
        call = db.session.get(CallLog, cid)
        assert call.status == "closed" and call.followup_by == "frontdesk"
        assert call.followup_result == "已电话告知维修时间" and call.followup_at is not None


# -- complaints ------------------------------------------------------------------------------
def complaint_form(unit_id=None, **kw):
    return {"channel": "visit", "complainant": "李四", "phone": "13800138000", "unit": unit_id or "",
            "content": "楼道垃圾三天没清", "kind": "", "category": "", "note": "", **kw}


def test_category_must_belong_to_the_kind(login, app):
    b = login("frontdesk")
    resp = b.post("/admin/complaint/new/", complaint_form(kind="communication", category="cleaning"))
    assert resp.status_code == 200
    assert "保洁不属于沟通性投诉" in text_of(resp)
    with app.app_context():
        assert db.session.query(Complaint).count() == 0


def test_communication_complaint_runs_through_the_procedure(login, app):
    unit_id, _id_number, _name, _phone = overdue_unit(app)
    with app.app_context():
        dept = factories.department(supervisor_name="陈主管")
        db.session.commit()
        dept_id = dept.id
    desk, boss = login("frontdesk"), login("supervisor")
    resp = desk.post("/admin/complaint/new/", complaint_form(unit_id))
    assert resp.status_code == 302, text_of(resp)[-1500:]
    with app.app_context():
        c = db.session.query(Complaint).one()
        assert re.fullmatch(rf"TS{clock.today():%Y%m%d}-\d{{4}}", c.number)
        assert c.status == "registered" and c.created_by == "frontdesk" and c.kind is None
        cid = c.id
    assert desk.post(f"/admin/complaint/confirm/classify/?ids={cid}", {"ids": cid, "category": "help"}).status_code == 302
    with app.app_context():
        c = db.session.get(Complaint, cid)
        assert (c.status, c.kind, c.category, c.classified_by) == ("classified", "communication", "help", "frontdesk")
    # a communication complaint goes to a department only once the complainant's identity is checked
    html = text_of(desk.post(f"/admin/complaint/confirm/assign/?ids={cid}", {"ids": cid, "department_id": dept_id}))
    assert "沟通性投诉须先核实投诉人身份" in html
    with app.app_context():
        assert db.session.get(Complaint, cid).status == "classified"
    details = text_of(desk.get(f"/admin/complaint/details/?id={cid}"))
    assert "身份核实与缴费情况" in details and "345.60" in details and "未核实" in details
    html = text_of(desk.post(f"/admin/complaint/confirm/verify/?ids={cid}", {"ids": cid, "note": ""}))
    assert "请填写身份核实情况" in html
    assert desk.post(f"/admin/complaint/confirm/verify/?ids={cid}",
                     {"ids": cid, "note": "核对业主姓名与房号"}).status_code == 302
    assert desk.post(f"/admin/complaint/confirm/assign/?ids={cid}",
                     {"ids": cid, "department_id": dept_id, "supervisor": ""}).status_code == 302
    with app.app_context():
        c = db.session.get(Complaint, cid)
        assert c.status == "assigned" and c.identity_checked and c.department_id == dept_id
        assert c.supervisor_name == "陈主管"
    # the supervisor leads the on-site handling; the front desk may not record it
    at = local(clock.now() + timedelta(minutes=1))
    onsite = {"ids": cid, "at": at, "handling": "与保洁主管到现场清理"}
    assert desk.post(f"/admin/complaint/confirm/on_site/?ids={cid}", onsite).status_code == 403
    assert desk.get(f"/admin/complaint/confirm/on_site/?ids={cid}").status_code == 403
    assert "现场处理" not in record_links(text_of(desk.get(f"/admin/complaint/details/?id={cid}")))
    assert boss.post(f"/admin/complaint/confirm/on_site/?ids={cid}", onsite).status_code == 302
    with app.app_context():
        c = db.session.get(Complaint, cid)
        assert c.status == "on_site" and c.onsite_at == datetime.fromisoformat(at)
    resp = desk.post(f"/admin/complaint/confirm/followup/?ids={cid}",
                     {"ids": cid, "satisfied": "1", "result": "投诉人表示满意",
                      "at": local(clock.now() + timedelta(minutes=2))})
    assert resp.status_code == 302
    with app.app_context():
        c = db.session.get(Complaint, cid)
        assert c.status == "visited" and c.satisfied is True and c.followup_by == "frontdesk"


def test_escalation_needs_a_supervisor_and_a_reason(login, app):
    with app.app_context():
        c = factories.complaint(kind="communication", category="venting", status="classified")
        db.session.commit()
        cid = c.id
    form = {"ids": cid, "category": "maintenance", "reason": "电梯多次故障未修,并非情绪发泄"}
    desk, boss = login("frontdesk"), login("supervisor")
    assert desk.post(f"/admin/complaint/confirm/escalate/?ids={cid}", form).status_code == 403
    assert "升级为有效投诉" not in record_links(text_of(desk.get(f"/admin/complaint/details/?id={cid}")))
    assert "升级为有效投诉" in record_links(text_of(boss.get(f"/admin/complaint/details/?id={cid}")))
    html = text_of(boss.post(f"/admin/complaint/confirm/escalate/?ids={cid}", {**form, "reason": " "}))
    assert 'id="confirm-error"' in html and "请填写原因" in html
    with app.app_context():
        assert db.session.get(Complaint, cid).kind == "communication"
    assert boss.post(f"/admin/complaint/confirm/escalate/?ids={cid}", form).status_code == 302
    with app.app_context():
        c = db.session.get(Complaint, cid)
        assert (c.kind, c.category, c.escalated, c.escalated_from, c.status) == (
            "valid", "maintenance", True, "venting", "classified")
        assert c.escalated_by == "supervisor" and c.escalation_reason == form["reason"]
        row = db.session.query(AuditLog).filter_by(table_name="complaint", record_id=cid,
                                                   action="升级为有效投诉").one()
        assert row.note == form["reason"] and row.username == "supervisor"
    details = text_of(boss.get(f"/admin/complaint/details/?id={cid}"))
    assert "升级记录" in details and "发泄型" in details and form["reason"] in details


def test_complaint_list_counts_by_kind_and_category_for_the_filtered_period(login, app):
    with app.app_context():
        for kind, category, when, status in [
                ("valid", "cleaning", datetime(2026, 11, 20, 9, 0), "classified"),
                ("valid", "cleaning", datetime(2026, 11, 21, 9, 0), "on_site"),
                ("communication", "help", datetime(2026, 11, 22, 9, 0), "classified"),
                ("valid", "vehicle", datetime(2026, 10, 5, 9, 0), "visited"),
                (None, None, datetime(2026, 10, 6, 9, 0), "registered")]:
            factories.complaint(kind=kind, category=category, received_at=when, status=status,
                                number=f"TS{when:%Y%m%d}-0001")
        db.session.commit()
    b = login("frontdesk")
    page = text_of(b.get("/admin/complaint/"))
    assert "当前筛选:共 5 条;有效投诉 3(保洁 2、车辆管理 1);沟通性投诉 1(求助型 1);未定性 1" in page
    arg = filter_arg(app, "complaint", "received_at", sqla_filters.DateTimeGreaterFilter)
    since = text_of(b.get(f"/admin/complaint/?{arg}=2026-11-01+00:00:00"))
    assert "当前筛选:共 3 条;有效投诉 2(保洁 2);沟通性投诉 1(求助型 1)" in since
    assert "TS20261005-0001" not in since and "TS20261120-0001" in since
    queue = text_of(b.get(link(page, "待回访")))
    assert "TS20261121-0001" in queue
    assert not {"TS20261120-0001", "TS20261122-0001", "TS20261005-0001", "TS20261006-0001"} & set(
        re.findall(r"TS\d{8}-\d{4}", queue))
    assert "当前筛选:共 1 条;有效投诉 1(保洁 1)" in queue


# -- release slips ---------------------------------------------------------------------------
LOCKED = "放行条已开具,不能再修改;如有错误请作废后重开"


def slip_form(unit_id, id_number, items=(("旧沙发", "2", "件"),), **kw):
    form = {"unit": unit_id, "applicant": "张三", "id_number": id_number, "phone": "13800138000",
            "relation": "owner", "reason": "搬家", "note": "", **kw}
    for i, (description, quantity, measure) in enumerate(items):
        form.update({f"items-{i}-description": description, f"items-{i}-quantity": quantity,
                     f"items-{i}-measure": measure})
    return form


def new_slip(app, unit_id, id_number=None, **kw):
    with app.app_context():
        slip = factories.release_slip(unit=db.session.get(factories.Unit, unit_id),
                                      id_number=id_number or factories.resident_id(), **kw)
        db.session.commit()
        return slip.id


def test_slip_form_rejects_a_bad_id_number(login, app):
    unit_id, id_number, _name, _phone = paid_up_unit(app)
    bad = id_number[:17] + ("0" if id_number[17] != "0" else "1")
    resp = login("frontdesk").post("/admin/release_slip/new/", slip_form(unit_id, bad))
    assert resp.status_code == 200
    assert "身份证号码校验位不正确,请核对" in text_of(resp)
    with app.app_context():
        assert db.session.query(ReleaseSlip).count() == 0 and db.session.query(ReleaseItem).count() == 0


def test_slip_form_needs_at_least_one_item(login, app):
    unit_id, id_number, _name, _phone = paid_up_unit(app)
    html = text_of(login("frontdesk").post("/admin/release_slip/new/", slip_form(unit_id, id_number, items=())))
    with app.app_context():
        assert db.session.query(ReleaseSlip).count() == 0
    assert "请至少登记一件放行物品" in html


def test_slip_form_saves_a_draft_with_its_items(login, app):
    unit_id, id_number, _name, _phone = paid_up_unit(app)
    form = slip_form(unit_id, id_number.lower(),
                     items=(("旧沙发", "2", "件"), ("纸箱", "10", "个")))
    resp = login("frontdesk").post("/admin/release_slip/new/", form)
    assert resp.status_code == 302, text_of(resp)[-1500:]
    with app.app_context():
        slip = db.session.query(ReleaseSlip).one()
        assert slip.status == "draft" and slip.number is None and slip.created_by == "frontdesk"
        assert sorted((i.description, i.quantity, i.measure) for i in slip.items) == [
            ("旧沙发", 2, "件"), ("纸箱", 10, "个")]


def test_a_draft_slip_can_be_edited_with_its_items(login, app):
    unit_id, id_number, _name, _phone = paid_up_unit(app)
    sid = new_slip(app, unit_id, id_number)
    with app.app_context():
        slip = db.session.get(ReleaseSlip, sid)
        item_id, version = slip.items[0].id, slip.version
    b = login("frontdesk")
    assert 'name="items-0-description"' in text_of(b.get(f"/admin/release_slip/edit/?id={sid}"))
    form = slip_form(unit_id, id_number, items=(("旧沙发", "3", "件"), ("纸箱", "5", "个")), row_version=version)
    form["items-0-id"] = item_id
    resp = b.post(f"/admin/release_slip/edit/?id={sid}", form)
    assert resp.status_code == 302 and resp.location.endswith(f"/admin/release_slip/details/?id={sid}")
    with app.app_context():
        slip = db.session.get(ReleaseSlip, sid)
        assert slip.status == "draft"
        assert sorted((i.id == item_id, i.description, i.quantity, i.measure) for i in slip.items) == [
            (False, "纸箱", 5, "个"), (True, "旧沙发", 3, "件")]




def test_removing_the_last_item_of_a_draft_is_refused(login, app):
    unit_id, id_number, _name, _phone = paid_up_unit(app)
    sid = new_slip(app, unit_id, id_number)
    with app.app_context():
        slip = db.session.get(ReleaseSlip, sid)
        item_id, version = slip.items[0].id, slip.version
    form = slip_form(unit_id, id_number, row_version=version)
    form.update({"items-0-id": item_id, "del-items-0": "y"})
    html = text_of(login("frontdesk").post(f"/admin/release_slip/edit/?id={sid}", form))
    with app.app_context():
        assert db.session.query(ReleaseItem).filter_by(slip_id=sid).count() == 1
    assert "请至少登记一件放行物品" in html


def test_arrears_refuse_a_slip_until_a_supervisor_overrides(login, app):
    unit_id, id_number, _name, _phone = overdue_unit(app)
    sid = new_slip(app, unit_id, id_number)
    desk, boss = login("frontdesk"), login("supervisor")
    details = text_of(desk.get(f"/admin/release_slip/details/?id={sid}"))
    assert "开具放行条" in record_links(details) and "欠费放行审批" not in record_links(details)
    assert "345.60" in details and "业主本人" in details
    resp = desk.post(f"/admin/release_slip/confirm/issue/?ids={sid}", {"ids": sid, "id_checked": "1"},
                     follow_redirects=True)
    html = text_of(resp)
    assert resp.status_code == 200 and "欠费 345.60 元,不能开具放行条" in html and "因欠费被拒开" in html
    with app.app_context():
        slip = db.session.get(ReleaseSlip, sid)
        assert slip.status == "refused" and slip.number is None and "欠费" in slip.refused_reason
        row = db.session.query(AuditLog).filter_by(table_name="release_slip", record_id=sid, action="拒开放行条").one()
        assert "欠费" in row.note and row.username == "frontdesk"
    # only a supervisor may let a unit in arrears have its slip, and only in writing
    assert desk.get(f"/admin/release_slip/confirm/override/?ids={sid}").status_code == 403
    assert desk.post(f"/admin/release_slip/confirm/override/?ids={sid}", {"ids": sid, "reason": "x"}).status_code == 403
    assert "欠费放行审批" in record_links(text_of(boss.get(f"/admin/release_slip/details/?id={sid}")))
    html = text_of(boss.post(f"/admin/release_slip/confirm/override/?ids={sid}", {"ids": sid, "reason": ""}))
    assert "请填写原因" in html
    with app.app_context():
        assert db.session.get(ReleaseSlip, sid).override_by is None
    resp = boss.post(f"/admin/release_slip/confirm/override/?ids={sid}", {"ids": sid, "reason": "业主已承诺本周缴清"})
    assert resp.status_code == 302
    with app.app_context():
        slip = db.session.get(ReleaseSlip, sid)
        assert slip.override_by == "supervisor" and slip.override_reason == "业主已承诺本周缴清"
    # the ID must be seen before issuing
    html = text_of(desk.post(f"/admin/release_slip/confirm/issue/?ids={sid}", {"ids": sid, "id_checked": ""}))
    assert "开具前须查验申请人身份证件" in html
    resp = desk.post(f"/admin/release_slip/confirm/issue/?ids={sid}", {"ids": sid, "id_checked": "1"},
                     follow_redirects=True)
    with app.app_context():
        slip = db.session.get(ReleaseSlip, sid)
        assert slip.status == "issued" and slip.issued_by == "frontdesk"
        assert re.fullmatch(rf"FX{clock.today():%Y%m%d}-\d{{4}}", slip.number)
        assert slip.arrears_at_issue == Decimal("345.60") and slip.applicant_is_owner is True
        number = slip.number
    assert f"已开具放行条 {number}" in text_of(resp)
    links = record_links(text_of(desk.get(f"/admin/release_slip/details/?id={sid}")))
    assert "开具放行条" not in links and "打印放行条" in links and "已放行" in links


def test_non_owner_needs_the_owners_phone_confirmation(login, app):
    unit_id, _id_number, owner_name, owner_phone = paid_up_unit(app)
    sid = new_slip(app, unit_id, applicant="搬家公司王师傅", relation="agent")
    desk = login("frontdesk")
    details = text_of(desk.get(f"/admin/release_slip/details/?id={sid}"))
    assert "非业主,须电话联系业主确认" in details and "业主电话确认" in record_links(details)
    html = text_of(desk.post(f"/admin/release_slip/confirm/issue/?ids={sid}", {"ids": sid, "id_checked": "1"}))
    assert "电话联系业主" in html
    with app.app_context():
        slip = db.session.get(ReleaseSlip, sid)
        assert slip.status == "draft" and slip.number is None
    page = text_of(desk.get(f"/admin/release_slip/confirm/confirm_owner/?ids={sid}"))
    assert f'value="{owner_name}"' in page and f'value="{owner_phone}"' in page
    html = text_of(desk.post(f"/admin/release_slip/confirm/confirm_owner/?ids={sid}",
                             {"ids": sid, "confirmed_by": "路人甲", "phone": owner_phone, "at": ""}))
    assert "不是该房屋登记的业主" in html
    at = local(clock.now())
    assert desk.post(f"/admin/release_slip/confirm/confirm_owner/?ids={sid}",
                     {"ids": sid, "confirmed_by": owner_name, "phone": owner_phone, "at": at}).status_code == 302
    assert desk.post(f"/admin/release_slip/confirm/issue/?ids={sid}", {"ids": sid, "id_checked": "1"}).status_code == 302
    with app.app_context():
        slip = db.session.get(ReleaseSlip, sid)
        assert slip.owner_confirmed and slip.owner_confirmed_by == owner_name
        assert slip.owner_confirmed_at == datetime.fromisoformat(at)
        assert slip.status == "issued" and slip.applicant_is_owner is False
        row = db.session.query(AuditLog).filter_by(table_name="release_slip", record_id=sid,
                                                   action="业主电话确认").first()
        assert row is not None and owner_name in row.note


def issued_slip(app, desk):
    unit_id, id_number, _name, _phone = paid_up_unit(app)
    sid = new_slip(app, unit_id, id_number, applicant="张三",
                   items=[("旧沙发", 2), ("冰箱(海尔)", 1)])
    assert desk.post(f"/admin/release_slip/confirm/issue/?ids={sid}", {"ids": sid, "id_checked": "1"}).status_code == 302
    with app.app_context():
        slip = db.session.get(ReleaseSlip, sid)
        assert slip.status == "issued"
        return sid, slip.number, str(slip.unit), slip.version, [i.id for i in slip.items]


def test_an_issued_slip_and_its_items_cannot_be_edited(login, app):
    desk = login("frontdesk")
    sid, number, _unit, version, item_ids = issued_slip(app, desk)
    with app.app_context():
        unit_id = db.session.get(ReleaseSlip, sid).unit_id
    resp = desk.get(f"/admin/release_slip/edit/?id={sid}")
    assert resp.status_code == 302 and f"/admin/release_slip/details/?id={sid}" in resp.location
    assert LOCKED in text_of(desk.get(resp.location))
    form = slip_form(unit_id, factories.resident_id(), items=(("钢琴", "1", "台"),), applicant="李四",
                     row_version=version)
    form.update({"items-0-id": item_ids[0]})
    resp = desk.post(f"/admin/release_slip/edit/?id={sid}", form)
    assert resp.status_code == 302 and LOCKED in text_of(desk.get(resp.location))
    # through the items' own screens
    resp = desk.get(f"/admin/release_item/edit/?id={item_ids[0]}")
    assert resp.status_code == 302 and LOCKED in text_of(desk.get(resp.location))
    resp = desk.post(f"/admin/release_item/edit/?id={item_ids[0]}",
                     {"description": "钢琴", "quantity": "9", "measure": "台", "row_version": 1})
    assert resp.status_code == 302 and LOCKED in text_of(desk.get(resp.location))
    resp = desk.post("/admin/release_item/delete/", {"id": item_ids[1], "url": "/admin/release_item/"})
    assert resp.status_code == 302 and LOCKED in text_of(desk.get(resp.location))
    # items are added only inside their slip's form: the standalone create is refused for everyone
    resp = desk.post(f"/admin/release_item/new/?slip={sid}",
                     {"slip": sid, "description": "钢琴", "quantity": "1", "measure": "台"})
    assert resp.status_code == 403
    with app.app_context():
        slip = db.session.get(ReleaseSlip, sid)
        assert slip.applicant == "张三" and slip.number == number and slip.version == version
        assert sorted((i.description, i.quantity) for i in slip.items) == [("冰箱(海尔)", 1), ("旧沙发", 2)]
        assert db.session.query(ReleaseItem).count() == 2


def test_print_page_of_an_issued_slip(login, app):
    desk = login("frontdesk")
    sid, number, unit, _version, _items = issued_slip(app, desk)
    resp = desk.get(f"/admin/release_slip/print/?ids={sid}")
    assert resp.status_code == 200
    html = text_of(resp)
    for text in (number, unit, "张三", "旧沙发", "冰箱(海尔)", "2 件", "物品放行条", "开具人:测试frontdesk",
                 "申请人签字", "门岗签字", "@page { size: A5"):
        assert text in html, text
    draft = new_slip(app, paid_up_unit(app)[0])
    resp = desk.get(f"/admin/release_slip/print/?ids={draft}")
    assert resp.status_code == 302
    assert "只有已开具的放行条可以打印" in text_of(desk.get(resp.location))
    assert "打印放行条" not in record_links(text_of(desk.get(f"/admin/release_slip/details/?id={draft}")))
    assert login("maintenance").get(f"/admin/release_slip/print/?ids={sid}").status_code == 403


def test_guard_releases_and_void_needs_a_reason(login, app):
    desk, boss = login("frontdesk"), login("supervisor")
    sid, _number, _unit, _version, _items = issued_slip(app, desk)
    html = text_of(desk.post(f"/admin/release_slip/confirm/release/?ids={sid}", {"ids": sid, "guard": "", "at": ""}))
    assert "请填写放行门岗" in html
    at = local(clock.now())
    assert desk.post(f"/admin/release_slip/confirm/release/?ids={sid}",
                     {"ids": sid, "guard": "门岗老刘", "at": at}).status_code == 302
    with app.app_context():
        slip = db.session.get(ReleaseSlip, sid)
        assert slip.status == "released" and slip.guard == "门岗老刘"
        assert slip.released_at == datetime.fromisoformat(at)
    assert "门岗老刘" in text_of(desk.get(f"/admin/release_slip/print/?ids={sid}"))
    links = record_links(text_of(boss.get(f"/admin/release_slip/details/?id={sid}")))
    assert "作废放行条" not in links and "已放行" not in links

    other, _n, _u, _v, _i = issued_slip(app, desk)
    assert desk.post(f"/admin/release_slip/confirm/void/?ids={other}", {"ids": other, "reason": "x"}).status_code == 403
    assert "作废放行条" in record_links(text_of(boss.get(f"/admin/release_slip/details/?id={other}")))
    html = text_of(boss.post(f"/admin/release_slip/confirm/void/?ids={other}", {"ids": other, "reason": ""}))
    assert "请填写原因" in html
    with app.app_context():
        assert db.session.get(ReleaseSlip, other).status == "issued"
    assert boss.post(f"/admin/release_slip/confirm/void/?ids={other}",
                     {"ids": other, "reason": "物品清单登记错误"}).status_code == 302
    with app.app_context():
        slip = db.session.get(ReleaseSlip, other)
        assert slip.status == "void" and slip.void_reason == "物品清单登记错误" and slip.voided_by == "supervisor"
    assert "已作废" in text_of(desk.get(f"/admin/release_slip/print/?ids={other}"))


# -- visitors --------------------------------------------------------------------------------
def visitor_form(unit_id="", **kw):
    now = clock.now()
    return {"time_in": stamp(now - timedelta(hours=1)), "name": "赵六", "id_number": "", "phone": "",
            "purpose": "拜访业主", "unit": unit_id, "visited_department": "__None", "host": "张三",
            "notified_department": "__None", "time_out": "", "note": "", **kw}


def test_visitor_form_rules(login, app):
    with app.app_context():
        unit, dept = factories.unit(), factories.department()
        db.session.commit()
        unit_id, dept_id = unit.id, dept.id
    b = login("frontdesk")
    now = clock.now()
    html = text_of(b.post("/admin/visitor/new/", visitor_form(unit_id, time_in=stamp(now),
                                                              time_out=stamp(now - timedelta(minutes=5)))))
    assert "离开时间不能早于来访时间" in html
    html = text_of(b.post("/admin/visitor/new/", visitor_form()))
    assert "请选择拜访的房屋或部门" in html
    with app.app_context():
        assert db.session.query(Visitor).count() == 0
    resp = b.post("/admin/visitor/new/", visitor_form(visited_department=dept_id, name="钱七"))
    assert resp.status_code == 302, text_of(resp)[-1500:]
    with app.app_context():
        v = db.session.query(Visitor).one()
        assert v.visited_department_id == dept_id and v.unit_id is None and v.registered_by == "frontdesk"


def test_check_out_and_who_is_in_the_building(login, app):
    with app.app_context():
        inside = factories.visitor(name="赵六")
        factories.visitor(name="孙八")
        factories.visitor(name="周九", time_out=datetime(2026, 11, 20, 15, 0))
        db.session.commit()
        vid = inside.id
    b = login("frontdesk")
    page = text_of(b.get("/admin/visitor/"))
    assert "当前在楼内访客 2 人" in page
    here = text_of(b.get(link(page, "在楼内")))
    assert "赵六" in here and "孙八" in here and "周九" not in here
    resp = b.post("/admin/visitor/action/", {"action": "check_out", "rowid": vid})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Visitor, vid).time_out is not None
    page = text_of(b.get("/admin/visitor/"))
    assert "当前在楼内访客 1 人" in page
    here = text_of(b.get(link(page, "在楼内")))
    assert "孙八" in here and "赵六" not in here and "周九" not in here
    html = text_of(b.post("/admin/visitor/action/", {"action": "check_out", "rowid": vid}, follow_redirects=True))
    assert "已登记离开" in html
    assert login("maintenance").post("/admin/visitor/action/", {"action": "check_out", "rowid": vid}).status_code == 403


# -- the printed work order ------------------------------------------------------------------
def test_work_order_print_page(login, app):
    with app.app_context():
        order = factories.work_order(description="卫生间天花板渗水", reporter="张三")
        db.session.commit()
        oid, number = order.id, order.number
    b = login("frontdesk")
    resp = b.get(f"/admin/work_order/print/?id={oid}")
    assert resp.status_code == 200
    html = text_of(resp)
    assert number in html and "维修工作单" in html and "卫生间天花板渗水" in html and "张三" in html
    assert "打印工单" in record_links(text_of(b.get(f"/admin/work_order/details/?id={oid}")))
    assert b.get(f"/admin/work_order/print/?id={oid + 1000}").status_code == 404
    assert b.get("/admin/work_order/print/?id=abc").status_code == 404
    assert b.get("/admin/work_order/print/").status_code == 404


# -- garbage in the URL ----------------------------------------------------------------------
def test_garbage_ids_are_refused_never_500(login, app):
    sid = new_slip(app, paid_up_unit(app)[0])
    b = login("supervisor")
    assert b.get("/admin/release_slip/print/?ids=abc").status_code == 400
    assert b.get(f"/admin/release_slip/print/?ids={sid},x").status_code == 400
    assert b.get("/admin/complaint/confirm/classify/?ids=x").status_code == 400
    assert b.post("/admin/complaint/confirm/classify/?ids=x", {"ids": "x", "category": "help"}).status_code == 400
    assert b.post("/admin/release_slip/confirm/issue/?ids=1;drop", {"ids": "1;drop"}).status_code == 400
    assert b.get("/admin/call_log/confirm/followup/?ids=%00").status_code == 400
    for url in ("/admin/release_slip/print/?ids=", "/admin/release_slip/print/?ids=99999",
                "/admin/complaint/confirm/classify/?ids=99999", "/admin/release_slip/edit/?id=abc",
                "/admin/release_slip/details/?id=abc", "/admin/call_log/details/?id=-1",
                "/admin/visitor/edit/?id=1e9"):
        assert b.get(url).status_code in (302, 404), url
    resp = b.post("/admin/visitor/action/", {"action": "check_out", "rowid": "abc"}, follow_redirects=True)
    assert resp.status_code == 200 and "所选记录编号无效" in text_of(resp)
    assert b.get("/admin/complaint/confirm/nope/?ids=1").status_code in (403, 404)




def test_out_of_range_ids_are_refused_never_500(login, app):
    big = "99999999999999999999"
    b = login("supervisor")
    assert b.get(f"/admin/release_slip/print/?ids={big}").status_code in (302, 400, 404)
    assert b.get(f"/admin/complaint/confirm/classify/?ids={big}").status_code in (302, 400, 404)
    assert b.post("/admin/visitor/action/", {"action": "check_out", "rowid": big}).status_code in (302, 400)
