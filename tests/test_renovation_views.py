"""Renovation permits, worker passes, renovation checks, department checks, patrols and notices
through the test client: forms with their Chinese errors, each step a confirm action with its refusals
shown on the page, the printed permit, the slip statistics, and garbage in the URL never a 500."""
import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from html import unescape

from app import clock
from app.extensions import db
from schema.documents import Document
from schema.ledger import Payment
from schema.notifications import Notification
from schema.property import Unit
from schema.renovation import RenovationCheck, RenovationPermit, WorkerPass
from schema.supervision import DeptCheck, Patrol

from . import factories


# -- helpers ---------------------------------------------------------------------------------
def text_of(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def record_links(html: str) -> str:
    """The buttons block of a details page."""
    return html.split('class="my-2 record-links"', 1)[1].split("</div>", 1)[0]


def link(html: str, label: str) -> str:
    """The href of the first <a> whose text is `label`."""
    m = re.search(r'href="([^"]+)"[^>]*>\s*' + re.escape(label) + r"\s*<", html)
    assert m, f"no link {label!r}"
    return unescape(m.group(1))


def list_link(html: str, label: str) -> str:
    """The href of a button above the list (SchemaView.list_links)."""
    m = re.search(r'<a class="nav-link" href="([^"]+)">' + re.escape(label) + "<", html)
    assert m, f"no list link {label!r}"
    return unescape(m.group(1))


def section(html: str, title: str) -> str:
    """The table under a details-page section heading."""
    return html.split(f'<h5 class="mt-4">{title}</h5>', 1)[1].split("</table>", 1)[0]


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")


def local(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M")


def iso(day: date) -> str:
    return day.isoformat()


def departments(app, *names):
    with app.app_context():
        depts = [factories.department(name=n, supervisor_name=f"{n[:2]}主管") for n in names]
        db.session.commit()
        return [d.id for d in depts]


def notified_departments(app):
    return departments(app, "工程维修部", "秩序维护部")


def permit_owner(app, unit_status="occupied"):
    """A unit and its owner (registered through an ownership)."""
    with app.app_context():
        own = factories.ownership(unit=factories.unit(status=unit_status))
        db.session.commit()
        return own.unit.id, own.owner.id


START = clock.today() + timedelta(days=10)
END = START + timedelta(days=60)


def permit_form(unit_id, owner_id, passes=(), **kw):
    form = {"unit": unit_id, "owner": owner_id, "applicant_kind": "owner", "proxy_name": "",
            "proxy_id_number": "", "proxy_phone": "", "contractor": "美家装饰", "contractor_phone": "13900000000",
            "planned_start": iso(START), "planned_end": iso(END), "plan_summary": "厨卫翻新,更换地砖",
            "agreement_signed": "y", "rules_acknowledged": "y", "waste_fee": "300.00", "note": ""}
    form.update(kw)
    for i, worker in enumerate(passes):
        for key, value in worker.items():
            form[f"passes-{i}-{key}"] = value
    for key in [k for k, v in form.items() if v is None]:  # None: leave the field out (an unticked box)
        del form[key]
    return form


def worker(name="刘工", valid_from=START, valid_to=END, id_number=None, phone=""):
    return {"name": name, "id_number": id_number or factories.resident_id(), "phone": phone,
            "valid_from": iso(valid_from), "valid_to": iso(valid_to)}


def new_permit(app, status="applied", passes=(), unit_status="occupied", **kw):
    """A permit committed through the factory; passes are (name, valid_from, valid_to, pass_no)."""
    with app.app_context():
        own = factories.ownership(unit=factories.unit(status=unit_status))
        permit = factories.renovation_permit(ownership=own, status=status, agreement_signed=True,
                                             rules_acknowledged=True, planned_start=START, planned_end=END, **kw)
        for name, valid_from, valid_to, pass_no in passes:
            factories.worker_pass(permit=permit, name=name, valid_from=valid_from, valid_to=valid_to,
                                  pass_no=pass_no)
        db.session.commit()
        return permit.id


def confirm(b, table, action, rid, **fields):
    return b.post(f"/admin/{table}/confirm/{action}/?ids={rid}", {"ids": rid, **fields})


# -- 1. the permit form ----------------------------------------------------------------------
def test_permit_form_refuses_an_end_before_the_start(login, app):
    unit_id, owner_id = permit_owner(app)
    resp = login("frontdesk").post("/admin/renovation_permit/new/",
                                   permit_form(unit_id, owner_id, planned_end=iso(START - timedelta(days=1))))
    assert resp.status_code == 200
    assert "结束日期不能早于开始日期" in text_of(resp)
    with app.app_context():
        assert db.session.query(RenovationPermit).count() == 0


def test_permit_form_needs_the_proxys_name_and_id(login, app):
    unit_id, owner_id = permit_owner(app)
    html = text_of(login("frontdesk").post("/admin/renovation_permit/new/",
                                           permit_form(unit_id, owner_id, applicant_kind="proxy")))
    assert "受托人代办须填写受托人姓名" in html and "受托人代办须填写受托人身份证号" in html
    with app.app_context():
        assert db.session.query(RenovationPermit).count() == 0


def test_permit_form_refuses_a_pass_with_a_bad_id_number(login, app):
    unit_id, owner_id = permit_owner(app)
    good = factories.resident_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    html = text_of(login("frontdesk").post("/admin/renovation_permit/new/",
                                           permit_form(unit_id, owner_id, passes=[worker(id_number=bad)])))
    assert "身份证号码校验位不正确,请核对" in html
    with app.app_context():
        assert db.session.query(RenovationPermit).count() == 0 and db.session.query(WorkerPass).count() == 0


def test_permit_form_refuses_a_pass_outside_the_planned_period(login, app):
    unit_id, owner_id = permit_owner(app)
    late = worker(name="王师傅", valid_to=END + timedelta(days=1))
    resp = login("frontdesk").post("/admin/renovation_permit/new/", permit_form(unit_id, owner_id, passes=[late]))
    assert resp.status_code == 200
    assert f"出入证有效期须在装修工期内({iso(START)} 至 {iso(END)})" in text_of(resp)
    with app.app_context():
        assert db.session.query(RenovationPermit).count() == 0 and db.session.query(WorkerPass).count() == 0


def test_a_valid_permit_saves_with_its_passes(login, app):
    unit_id, owner_id = permit_owner(app)
    form = permit_form(unit_id, owner_id, passes=[worker("刘工"), worker("张工", valid_to=START + timedelta(days=20))])
    resp = login("frontdesk").post("/admin/renovation_permit/new/", form)
    assert resp.status_code == 302, text_of(resp)[-2000:]
    with app.app_context():
        permit = db.session.query(RenovationPermit).one()
        assert permit.status == "applied" and permit.applied_by == "frontdesk" and permit.applied_at is not None
        assert permit.number is None and permit.waste_fee == Decimal("300.00")
        assert permit.unit_id == unit_id and permit.owner_id == owner_id
        assert sorted((p.name, p.pass_no) for p in permit.passes) == sorted([("张工", None), ("刘工", None)])
        assert resp.location.endswith(f"/admin/renovation_permit/details/?id={permit.id}")


# -- 2. review → approve (with its preconditions) → start → complete ------------------------
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
STRUCTURAL = "方案改动主体结构或明显增加荷载,须先取得房管部门的拆改批准书"


def test_structural_permit_runs_from_review_to_completion(login, app):
    notified_departments(app)
    unit_id, owner_id = permit_owner(app)
    desk, boss = login("frontdesk"), login("supervisor")
    form = permit_form(unit_id, owner_id, structural="y", passes=[worker("刘工"), worker("张工")])
    assert desk.post("/admin/renovation_permit/new/", form).status_code == 302
    with app.app_context():
        permit = db.session.query(RenovationPermit).one()
        pid, first_pass = permit.id, min(p.id for p in permit.passes)
        assert permit.structural is True
    details = f"/admin/renovation_permit/details/?id={pid}"
    # only a supervisor reviews the plan
    assert "审核装修方案" not in record_links(text_of(desk.get(details)))
    assert desk.get(f"/admin/renovation_permit/confirm/review/?ids={pid}").status_code == 403
    assert confirm(desk, "renovation_permit", "review", pid, note="").status_code == 403
    assert "审核装修方案" in record_links(text_of(boss.get(details)))
    assert confirm(boss, "renovation_permit", "review", pid, note="方案可行").status_code == 302
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        assert permit.status == "reviewed" and permit.plan_reviewed_by == "supervisor"
        assert permit.review_note == "方案可行"
    # a structural plan needs the housing authority's approval on the unit's file first
    html = text_of(confirm(boss, "renovation_permit", "approve", pid))
    assert 'id="confirm-error"' in html and STRUCTURAL in html
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        assert permit.status == "reviewed" and permit.number is None and permit.approved_by is None
        assert db.session.query(Notification).count() == 0
        assert all(p.pass_no is None for p in permit.passes)
    page = text_of(boss.get(details))
    assert STRUCTURAL in section(page, "批准前还需")
    upload_url = link(record_links(page), "上传拆改批准书")
    assert upload_url.startswith("/admin/document/new/?")
    assert "doc_type=alteration_approval" in upload_url and f"unit={unit_id}" in upload_url
    assert 'value="拆改批准书"' in text_of(desk.get(upload_url))  # the title is prefilled
    resp = desk.post(upload_url, {"doc_type": "alteration_approval", "title": "拆改批准书", "owner": owner_id,
                                  "unit": unit_id, "ref_table": "renovation_permit", "ref_id": pid,
                                  "upload": (io.BytesIO(PDF), "批准书.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 302, text_of(resp)[-2000:]
    with app.app_context():
        doc = db.session.query(Document).one()
        assert (doc.doc_type, doc.unit_id) == ("alteration_approval", unit_id)
    assert "上传拆改批准书" not in record_links(text_of(boss.get(details)))
    # now it may be approved: numbered, passes numbered, maintenance and security notified
    resp = confirm(boss, "renovation_permit", "approve", pid)
    assert resp.status_code == 302, text_of(resp)[-2000:]
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        number = permit.number
        assert re.fullmatch(rf"ZX{clock.today():%Y%m%d}-\d{{4}}", number)
        assert permit.status == "approved" and permit.approved_by == "supervisor"
        passes = sorted(permit.passes, key=lambda p: p.id)
        assert passes[0].id == first_pass
        assert [(p.name, p.pass_no) for p in passes] == [("刘工", f"{number}-01"), ("张工", f"{number}-02")]
        notices = db.session.query(Notification).order_by(Notification.id).all()
        assert sorted(n.department.name for n in notices) == sorted(["工程维修部", "秩序维护部"])
        assert all(n.source_table == "renovation_permit" and n.source_id == pid and number in n.subject
                   and n.created_by == "supervisor" and n.acknowledged_at is None for n in notices)
    flashed = text_of(boss.get(resp.location))
    assert f"已批准:{number};已通知工程维修部、秩序维护部" in flashed
    page = text_of(desk.get(details))
    notes = section(page, "部门通知")
    assert "工程维修部" in notes and "秩序维护部" in notes and notes.count("未签收") == 2 and number in notes
    assert f"{number}-01" in section(page, "施工人员出入证") and f"{number}-02" in section(page, "施工人员出入证")
    assert "审核装修方案" not in record_links(page) and "批准装修" not in record_links(page)
    listing = text_of(login("maintenance").get("/admin/notification/"))
    assert listing.count(f"装修许可 {number}") == 2 and "工程维修部" in listing and "秩序维护部" in listing
    # works start: the unit shows 装修中; works end: its status comes back
    assert "开工" in record_links(page)
    assert confirm(desk, "renovation_permit", "start", pid).status_code == 302
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        assert permit.status == "in_progress" and permit.unit.status == "renovating"
        assert permit.unit_status_before == "occupied" and permit.started_at is not None
    assert "装修中" in text_of(desk.get(f"/admin/unit/details/?id={unit_id}"))
    assert "完工" in record_links(text_of(desk.get(details)))
    assert confirm(desk, "renovation_permit", "complete", pid).status_code == 302
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        assert permit.status == "completed" and permit.completed_at is not None
        assert db.session.get(Unit, unit_id).status == "occupied"
    html = text_of(confirm(desk, "renovation_permit", "complete", pid))
    assert 'id="confirm-error"' in html and "不能完工" in html


def test_reject_needs_a_reason(login, app):
    pid = new_permit(app)
    boss = login("supervisor")
    assert "驳回装修申请" in record_links(text_of(boss.get(f"/admin/renovation_permit/details/?id={pid}")))
    assert confirm(login("frontdesk"), "renovation_permit", "reject", pid, reason="x").status_code == 403
    html = text_of(confirm(boss, "renovation_permit", "reject", pid, reason="  "))
    assert 'id="confirm-error"' in html and "请填写原因" in html
    with app.app_context():
        assert db.session.get(RenovationPermit, pid).status == "applied"
    assert confirm(boss, "renovation_permit", "reject", pid, reason="方案拆除承重墙").status_code == 302
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        assert permit.status == "rejected" and permit.rejected_reason == "方案拆除承重墙"
    links = record_links(text_of(boss.get(f"/admin/renovation_permit/details/?id={pid}")))
    assert "驳回装修申请" not in links and "批准装修" not in links and "收取装修垃圾清运费" not in links


# -- 3. agreement and rules --------------------------------------------------------------------
def test_approval_needs_the_agreement_and_the_rules_told(login, app):
    notified_departments(app)
    pid = new_permit(app, status="reviewed")
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        permit.agreement_signed = permit.rules_acknowledged = False
        db.session.commit()
    boss = login("supervisor")
    html = text_of(confirm(boss, "renovation_permit", "approve", pid))
    assert 'id="confirm-error"' in html
    assert "业主尚未签订装修协议" in html and "尚未告知装修时间及禁止事项" in html
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        assert permit.status == "reviewed" and permit.number is None
        assert db.session.query(Notification).count() == 0
    missing = section(text_of(boss.get(f"/admin/renovation_permit/details/?id={pid}")), "批准前还需")
    assert "业主尚未签订装修协议" in missing and "尚未告知装修时间及禁止事项" in missing
    with app.app_context():
        db.session.get(RenovationPermit, pid).agreement_signed = True
        db.session.commit()
    html = text_of(confirm(boss, "renovation_permit", "approve", pid))
    assert "尚未告知装修时间及禁止事项" in html and "业主尚未签订装修协议" not in html
    with app.app_context():
        db.session.get(RenovationPermit, pid).rules_acknowledged = True
        db.session.commit()
    assert confirm(boss, "renovation_permit", "approve", pid).status_code == 302
    with app.app_context():
        assert db.session.get(RenovationPermit, pid).status == "approved"


def test_approval_is_refused_before_review(login, app):
    notified_departments(app)
    pid = new_permit(app)
    boss = login("supervisor")
    assert "批准装修" not in record_links(text_of(boss.get(f"/admin/renovation_permit/details/?id={pid}")))
    html = text_of(confirm(boss, "renovation_permit", "approve", pid))
    assert "装修方案尚未审核" in html
    with app.app_context():
        assert db.session.get(RenovationPermit, pid).status == "applied"


def test_a_proxy_needs_the_power_of_attorney_and_the_proxys_id_copy(login, app):
    notified_departments(app)
    pid = new_permit(app, status="reviewed", applicant_kind="proxy", proxy_name="王五",
                     proxy_id_number=factories.resident_id())
    boss = login("supervisor")
    html = text_of(confirm(boss, "renovation_permit", "approve", pid))
    assert "受托人代办缺少委托书" in html and "受托人代办缺少受托人身份证复印件" in html
    links = record_links(text_of(boss.get(f"/admin/renovation_permit/details/?id={pid}")))
    assert "doc_type=power_of_attorney" in link(links, "上传委托书")
    assert "doc_type=proxy_id_copy" in link(links, "上传受托人身份证复印件")
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        assert permit.status == "reviewed"
        for code in ("power_of_attorney", "proxy_id_copy"):
            factories.document(doc_type=code, title=code, owner=permit.owner, unit=permit.unit)
        db.session.commit()
    assert confirm(boss, "renovation_permit", "approve", pid).status_code == 302
    with app.app_context():
        assert db.session.get(RenovationPermit, pid).status == "approved"


# -- 4. the renovation-waste fee ---------------------------------------------------------------
def test_waste_fee_is_collected_once_into_the_ledger(login, app):
    pid = new_permit(app, waste_fee=Decimal("300.00"))
    desk = login("frontdesk")
    details = f"/admin/renovation_permit/details/?id={pid}"
    assert "收取装修垃圾清运费" in record_links(text_of(desk.get(details)))
    assert confirm(login("maintenance"), "renovation_permit", "collect_fee", pid, method="cash").status_code == 403
    resp = confirm(desk, "renovation_permit", "collect_fee", pid, method="wechat")
    assert resp.status_code == 302, text_of(resp)[-2000:]
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        payment = db.session.query(Payment).one()
        assert permit.waste_fee_paid is True and permit.waste_fee_payment_id == payment.id
        assert payment.amount == Decimal("300.00") and payment.method == "wechat" and payment.unit_id == permit.unit_id
        assert re.fullmatch(rf"SK{clock.today():%Y%m%d}-\d{{4}}", payment.receipt_no)
        receipt = payment.receipt_no
    assert f"已收取装修垃圾清运费,收据号 {receipt}" in text_of(desk.get(resp.location))
    assert "收取装修垃圾清运费" not in record_links(text_of(desk.get(details)))
    html = text_of(confirm(desk, "renovation_permit", "collect_fee", pid, method="cash"))
    assert 'id="confirm-error"' in html and "装修垃圾清运费已收取" in html
    with app.app_context():
        assert db.session.query(Payment).count() == 1


def test_no_waste_fee_button_without_an_amount(login, app):
    pid = new_permit(app, waste_fee=Decimal(0))
    desk = login("frontdesk")
    assert "收取装修垃圾清运费" not in record_links(text_of(desk.get(f"/admin/renovation_permit/details/?id={pid}")))
    html = text_of(confirm(desk, "renovation_permit", "collect_fee", pid, method="cash"))
    assert "请先在装修申请中填写装修垃圾清运费金额" in html
    with app.app_context():
        assert db.session.query(Payment).count() == 0


# -- 5. the printed permit ---------------------------------------------------------------------
def approved_with_an_expired_pass(app, status="approved"):
    today = clock.today()
    with app.app_context():
        own = factories.ownership()
        permit = factories.renovation_permit(
            ownership=own, status=status, number="ZX20261101-0007", planned_start=today - timedelta(days=40),
            planned_end=today + timedelta(days=20), approved_at=datetime(2026, 11, 1, 10, 0), approved_by="supervisor",
            agreement_signed=True, rules_acknowledged=True)
        factories.worker_pass(permit=permit, name="过期工", pass_no="ZX20261101-0007-01",
                              valid_from=today - timedelta(days=40), valid_to=today - timedelta(days=1))
        factories.worker_pass(permit=permit, name="在岗工", pass_no="ZX20261101-0007-02",
                              valid_from=today - timedelta(days=5), valid_to=today + timedelta(days=20))
        db.session.commit()
        return permit.id, str(permit.unit)


def test_print_page_of_an_approved_permit(login, app):
    pid, unit = approved_with_an_expired_pass(app)
    desk = login("frontdesk")
    assert "打印许可证及出入证" in record_links(text_of(desk.get(f"/admin/renovation_permit/details/?id={pid}")))
    resp = desk.get(f"/admin/renovation_permit/print/?ids={pid}")
    assert resp.status_code == 200
    html = text_of(resp)
    for text in ("装修施工许可证", "ZX20261101-0007", "ZX20261101-0007-01", "ZX20261101-0007-02", "过期工", "在岗工",
                 unit, "美家装饰", "施工人员临时出入证"):
        assert text in html, text
    assert re.search(r"批准人:(测试)?supervisor<", html)  # the approver's name (or login name)
    cards = html.split('<div class="pass-card')[1:]
    expired = [c for c in cards if "过期工" in c]
    current = [c for c in cards if "在岗工" in c]
    assert len(expired) == 1 and "已过期" in expired[0] and expired[0].startswith(" expired")
    assert len(current) == 1 and "已过期" not in current[0]
    # the list action goes to the same page
    resp = desk.post("/admin/renovation_permit/action/", {"action": "print", "rowid": pid})
    assert resp.status_code == 302 and f"/admin/renovation_permit/print/?ids={pid}" in resp.location


def test_print_refuses_a_permit_not_yet_approved(login, app):
    pid = new_permit(app)
    desk = login("frontdesk")
    resp = desk.get(f"/admin/renovation_permit/print/?ids={pid}")
    assert resp.status_code == 302
    assert "只有已批准的装修许可可以打印" in text_of(desk.get(resp.location))
    assert "打印许可证及出入证" not in record_links(text_of(desk.get(f"/admin/renovation_permit/details/?id={pid}")))


def test_print_is_for_the_desk_maintenance_and_the_manager_only(login, app):
    pid, _unit = approved_with_an_expired_pass(app, status="in_progress")
    for role in ("maintenance", "manager", "supervisor", "admin"):
        assert login(role).get(f"/admin/renovation_permit/print/?ids={pid}").status_code == 200, role
    leasing = login("leasing")
    assert leasing.get(f"/admin/renovation_permit/print/?ids={pid}").status_code == 403
    assert "打印许可证及出入证" not in record_links(text_of(leasing.get(f"/admin/renovation_permit/details/?id={pid}")))
    assert leasing.post("/admin/renovation_permit/action/", {"action": "print", "rowid": pid}).status_code == 403


# -- 6. passes and checks ----------------------------------------------------------------------
def test_worker_pass_list_flags_expired_passes(login, app):
    approved_with_an_expired_pass(app)
    html = text_of(login("frontdesk").get("/admin/worker_pass/"))
    assert html.count("pass-expired") == 1
    row = next(r for r in html.split("<tr") if "过期工" in r)
    assert '<span class="badge badge-secondary pass-expired">已过期</span>' in row
    assert "已过期" not in next(r for r in html.split("<tr") if "在岗工" in r)


def test_worker_pass_edit_stays_inside_the_planned_period(login, app):
    pid, _unit = approved_with_an_expired_pass(app)
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        wp = next(p for p in permit.passes if p.name == "在岗工")
        wid, version, id_number, end = wp.id, wp.version, wp.id_number, permit.planned_end
    desk = login("frontdesk")
    form = {"name": "在岗工", "id_number": id_number, "phone": "", "valid_from": iso(clock.today()),
            "valid_to": iso(end + timedelta(days=1)), "row_version": version}
    html = text_of(desk.post(f"/admin/worker_pass/edit/?id={wid}", form))
    assert "出入证有效期须在装修工期内" in html
    with app.app_context():
        assert db.session.get(WorkerPass, wid).valid_to == clock.today() + timedelta(days=20)
    assert desk.post(f"/admin/worker_pass/edit/?id={wid}", {**form, "valid_to": iso(end)}).status_code == 302
    with app.app_context():
        assert db.session.get(WorkerPass, wid).valid_to == end


def test_a_violation_check_marks_the_permit(login, app):
    pid, _unit = approved_with_an_expired_pass(app, status="in_progress")
    quiet = new_permit(app, status="in_progress", number="ZX20261102-0001")
    crew = login("maintenance")
    page = text_of(crew.get(f"/admin/renovation_permit/details/?id={pid}"))
    new_url = link(record_links(page), "登记装修巡查")
    assert new_url.startswith("/admin/renovation_check/new/?") and f"permit={pid}" in new_url
    assert crew.get(new_url).status_code == 200
    form = {"permit": pid, "checked_on": iso(clock.today()), "inspector": "陈建国", "findings": "私拆承重墙",
            "violation": "y", "action_taken": "责令停工恢复"}
    resp = crew.post(new_url, form)
    assert resp.status_code == 302, text_of(resp)[-2000:]
    resp = crew.post("/admin/renovation_check/new/", {**form, "permit": quiet, "findings": "施工正常",
                                                      "violation": None, "action_taken": ""})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(RenovationPermit, pid).violation is True
        assert db.session.get(RenovationPermit, quiet).violation is False
        assert db.session.query(RenovationCheck).filter_by(violation=True).one().permit_id == pid
    page = text_of(crew.get(f"/admin/renovation_permit/details/?id={pid}"))
    checks = section(page, "装修巡查")
    assert "私拆承重墙" in checks and "违规" in checks and "责令停工恢复" in checks
    listing = text_of(crew.get("/admin/renovation_permit/"))
    assert listing.count("permit-violation") == 1
    row = next(r for r in listing.split("<tr") if "ZX20261101-0007" in r)
    assert '<span class="badge badge-danger permit-violation">违规</span>' in row
    flagged = text_of(crew.get(list_link(listing, "有违规")))
    assert "ZX20261101-0007" in flagged and "ZX20261102-0001" not in flagged



# -- 7. department checks and their slips ----------------------------------------------------
def check_form(dept_id, **kw):
    at = clock.now().replace(second=0) - timedelta(hours=1)
    return {"department": dept_id, "item": "hygiene", "checked_at": stamp(at), "checker": "李娜",
            "findings": "3栋楼道有垃圾", "slip_kind": "__None", "deadline": "", "note": "", **kw}


def test_failed_check_needs_a_slip_kind_and_a_deadline(login, app):
    (dept_id,) = departments(app, "保洁部")
    html = text_of(login("frontdesk").post("/admin/dept_check/new/", check_form(dept_id)))
    assert "检查不合格须开具内部协调单或不合格单" in html and "请填写整改期限" in html
    html = text_of(login("frontdesk").post("/admin/dept_check/new/", check_form(
        dept_id, findings=" ", slip_kind="nonconformance", deadline=stamp(clock.now() + timedelta(days=2)))))
    assert "请填写不合格情况" in html
    with app.app_context():
        assert db.session.query(DeptCheck).count() == 0


def test_a_slip_is_rectified_rechecked_reopened_and_closed(login, app):
    (dept_id,) = departments(app, "保洁部")
    desk, boss, crew = login("frontdesk"), login("supervisor"), login("maintenance")
    deadline = (clock.now() + timedelta(days=2)).replace(second=0)
    resp = desk.post("/admin/dept_check/new/", check_form(dept_id, slip_kind="nonconformance",
                                                          deadline=stamp(deadline)))
    assert resp.status_code == 302, text_of(resp)[-2000:]
    resp = desk.post("/admin/dept_check/new/", check_form(dept_id, item="cleaning_progress", slip_kind="coordination",
                                                          deadline=stamp(deadline), findings="进度滞后"))
    assert resp.status_code == 302
    with app.app_context():
        slip, other = db.session.query(DeptCheck).order_by(DeptCheck.id).all()
        day = f"{slip.checked_at:%Y%m%d}"
        assert re.fullmatch(rf"BH{day}-\d{{4}}", slip.number) and re.fullmatch(rf"XT{day}-\d{{4}}", other.number)
        assert slip.status == "open" and slip.passed is False and slip.supervisor_name == "保洁主管"
        assert slip.deadline == deadline and slip.slip_kind == "nonconformance" and slip.checker == "李娜"
        sid = slip.id
    details = f"/admin/dept_check/details/?id={sid}"
    assert "登记整改" in record_links(text_of(crew.get(details)))
    assert "复查" not in record_links(text_of(desk.get(details)))
    assert confirm(desk, "dept_check", "rectify", sid, note="已清理").status_code == 403
    html = text_of(confirm(crew, "dept_check", "rectify", sid, note=" ", at=""))
    assert "请填写整改情况" in html
    assert confirm(crew, "dept_check", "rectify", sid, note="已清理楼道", at="").status_code == 302
    with app.app_context():
        slip = db.session.get(DeptCheck, sid)
        assert slip.status == "rectified" and slip.rectification == "已清理楼道" and slip.rectified_at is not None
    assert "复查" in record_links(text_of(desk.get(details)))
    # a failed re-check must set a new deadline, then reopens the slip
    html = text_of(confirm(desk, "dept_check", "recheck", sid, passed="0", note="仍有垃圾", new_deadline=""))
    assert 'id="confirm-error"' in html and "复查不合格须重新填写晚于复查时间的整改期限" in html
    with app.app_context():
        assert db.session.get(DeptCheck, sid).status == "rectified"
    again = (clock.now() + timedelta(days=1)).replace(second=0)
    assert confirm(desk, "dept_check", "recheck", sid, passed="0", note="仍有垃圾",
                   new_deadline=local(again)).status_code == 302
    with app.app_context():
        slip = db.session.get(DeptCheck, sid)
        assert slip.status == "recheck_failed" and slip.deadline == again and slip.reopen_count == 1
        assert slip.rechecked_by == "frontdesk" and slip.recheck_note == "仍有垃圾"
    assert "登记整改" in record_links(text_of(crew.get(details)))
    assert confirm(crew, "dept_check", "rectify", sid, note="彻底清理", at="").status_code == 302
    assert confirm(boss, "dept_check", "recheck", sid, passed="1", note="已合格", new_deadline="").status_code == 302
    with app.app_context():
        slip = db.session.get(DeptCheck, sid)
        assert slip.status == "recheck_passed" and slip.rechecked_by == "supervisor"
    links = record_links(text_of(boss.get(details)))
    assert "登记整改" not in links and "复查" not in links
    html = text_of(confirm(boss, "dept_check", "recheck", sid, passed="1", note="再查"))
    assert "整改完成后才能复查" in html


def test_a_passed_check_raises_no_slip(login, app):
    (dept_id,) = departments(app, "保洁部")
    resp = login("frontdesk").post("/admin/dept_check/new/", check_form(dept_id, passed="y", findings=""))
    assert resp.status_code == 302, text_of(resp)[-2000:]
    with app.app_context():
        check = db.session.query(DeptCheck).one()
        assert check.passed is True and check.status == "passed" and check.number is None


def test_overdue_slips_are_flagged_and_counted(login, app):
    now = clock.now()
    with app.app_context():
        dept = factories.department(name="保洁部")
        factories.dept_check(department=dept, number="BH20261101-0001", checked_at=now - timedelta(days=5),
                             deadline=now - timedelta(days=2))
        factories.dept_check(department=dept, number="BH20261101-0002", checked_at=now - timedelta(days=5),
                             deadline=now - timedelta(days=1), status="recheck_failed")
        factories.dept_check(department=dept, number="BH20261101-0003", checked_at=now - timedelta(days=5),
                             deadline=now + timedelta(days=1))
        factories.dept_check(department=dept, number="BH20261101-0004", checked_at=now - timedelta(days=5),
                             deadline=now - timedelta(days=1), status="rectified")
        db.session.commit()
    html = text_of(login("frontdesk").get("/admin/dept_check/"))
    assert "有 2 张整改单已超过整改期限" in html
    assert html.count("slip-overdue") == 2
    rows = {n: next(r for r in html.split("<tr") if n in r) for n in (f"BH20261101-000{i}" for i in range(1, 5))}
    assert "逾期" in rows["BH20261101-0001"] and "逾期" in rows["BH20261101-0002"]
    assert "逾期" not in rows["BH20261101-0003"] and "逾期" not in rows["BH20261101-0004"]


def test_slip_stats_by_department_and_month(login, app):
    now = clock.now()
    this_month = f"{now:%Y-%m}"
    start = datetime.combine(clock.today().replace(day=1), datetime.min.time())
    with app.app_context():
        clean, guard = factories.department(name="保洁部"), factories.department(name="秩序维护部")
        for i, status in enumerate(("open", "recheck_passed", "rectified")):
            factories.dept_check(department=clean, number=f"BH-T-{i}", checked_at=start + timedelta(minutes=i),
                                 status=status)
        factories.dept_check(department=guard, number="XT-T-1", slip_kind="coordination", checked_at=start)
        factories.dept_check(department=guard, number=None, passed=True, slip_kind=None, deadline=None,
                             status="passed", checked_at=start)  # a passed check is no slip
        db.session.commit()
    b = login("manager")
    html = text_of(b.get("/admin/dept_check/stats/"))
    assert "整改单按部门和月份统计" in html and f"<th>{this_month}</th>" in html
    rows = {r.split("</th>", 1)[0]: r for r in html.split("<tr><th>")[1:]}
    assert re.search(r"<td>3 <span class=\"text-danger\">\(1\)</span></td>\s*<td><b>3</b>", rows["保洁部"])
    assert re.search(r"<td>1 <span class=\"text-danger\">\(1\)</span></td>\s*<td><b>1</b>", rows["秩序维护部"])
    assert "按部门和月份统计" in text_of(b.get("/admin/dept_check/"))
    month = text_of(b.get(f"/admin/dept_check/stats/?since={start:%Y-%m-%d}&until={clock.today():%Y-%m-%d}"))
    assert "保洁部" in month and "秩序维护部" in month
    later = clock.today() + timedelta(days=40)
    empty = text_of(b.get(f"/admin/dept_check/stats/?since={later:%Y-%m-%d}&until={later:%Y-%m-%d}"))
    assert "所选期间没有开具整改单" in empty
    for query in ("since=abc&until=xyz", "since=2026-13-45", "until=%00", "since=99999-01-01",
                  "since=2026-12-01&until=2026-01-01", "since=0001-01-01&until=9998-12-31", "since=&until="):
        resp = b.get(f"/admin/dept_check/stats/?{query}")
        assert resp.status_code == 200, query



def test_slip_stats_survive_the_last_representable_date(login, app):
    assert login("manager").get("/admin/dept_check/stats/?until=9999-12-31").status_code == 200


def test_editing_a_failed_slip_keeps_its_findings(login, app):
    with app.app_context():
        slip = factories.dept_check(findings="3栋楼道有垃圾")
        db.session.commit()
        sid, version = slip.id, slip.version
    html = text_of(login("frontdesk").post(f"/admin/dept_check/edit/?id={sid}",
                                           {"findings": " ", "note": "", "row_version": version}))
    with app.app_context():
        assert db.session.get(DeptCheck, sid).findings == "3栋楼道有垃圾"
    assert "请填写不合格情况" in html

# -- 8. patrols ------------------------------------------------------------------------------
def patrol_form(building_id, **kw):
    at = clock.now().replace(second=0) - timedelta(hours=1)
    form = {"building": building_id, "at": stamp(at), "patroller": "李娜", "hygiene_ok": "y", "hygiene_note": "",
            "facilities_ok": "y", "facilities_note": "", "bulletin_ok": "y", "bulletin_note": "",
            "security_ok": "y", "security_note": "", **kw}
    return {k: v for k, v in form.items() if v is not None}


def test_a_patrol_failure_needs_a_note(login, app):
    with app.app_context():
        building = factories.building()
        db.session.commit()
        bid = building.id
    html = text_of(login("frontdesk").post("/admin/patrol/new/", patrol_form(bid, bulletin_ok=None)))
    assert "不合格项须填写情况说明" in html
    with app.app_context():
        assert db.session.query(Patrol).count() == 0


def test_patrol_failures_become_slips_in_one_step(login, app):
    departments(app, "保洁部", "秩序维护部", "工程维修部")
    with app.app_context():
        building = factories.building(name="3栋")
        db.session.commit()
        bid = building.id
    desk = login("frontdesk")
    resp = desk.post("/admin/patrol/new/", patrol_form(bid, hygiene_ok=None, hygiene_note="楼道有垃圾",
                                                       security_ok=None, security_note="巡逻记录漏记两次"))
    assert resp.status_code == 302, text_of(resp)[-2000:]
    with app.app_context():
        patrol = db.session.query(Patrol).one()
        pid, at = patrol.id, patrol.at
        assert patrol.hygiene_ok is False and patrol.security_ok is False and patrol.facilities_ok is True
    listing = text_of(desk.get("/admin/patrol/"))
    assert listing.count('<span class="badge badge-warning">不合格</span>') == 2
    assert "楼道有垃圾" in listing and "巡逻记录漏记两次" in listing
    details = f"/admin/patrol/details/?id={pid}"
    assert "不合格项开单" in record_links(text_of(desk.get(details)))
    html = text_of(confirm(desk, "patrol", "raise_slips", pid, deadline=local(at - timedelta(hours=1))))
    assert "整改期限须晚于检查时间" in html
    with app.app_context():
        assert db.session.query(DeptCheck).count() == 0
    deadline = (clock.now() + timedelta(days=3)).replace(second=0)
    resp = confirm(desk, "patrol", "raise_slips", pid, deadline=local(deadline))
    assert resp.status_code == 302, text_of(resp)[-2000:]
    with app.app_context():
        slips = db.session.query(DeptCheck).order_by(DeptCheck.id).all()
        assert [(s.department.name, s.item) for s in slips] == [("保洁部", "patrol_hygiene"),
                                                                 ("秩序维护部", "patrol_security")]
        assert all(s.patrol_id == pid and s.status == "open" and s.deadline == deadline and s.passed is False
                   and s.slip_kind == "nonconformance" and s.number.startswith(f"BH{at:%Y%m%d}-") for s in slips)
        assert "楼道有垃圾" in slips[0].findings and "3栋" in slips[0].findings
        assert slips[1].supervisor_name == "秩序主管"
        numbers = [s.number for s in slips]
    assert "已开具不合格单:" + "、".join(numbers) in text_of(desk.get(resp.location))
    page = text_of(desk.get(details))
    raised = section(page, "已开不合格单")
    assert all(n in raised for n in numbers) and "保洁部" in raised and "秩序维护部" in raised
    assert "不合格项开单" not in record_links(page)
    html = text_of(confirm(desk, "patrol", "raise_slips", pid, deadline=local(deadline)))
    assert "该巡查没有待开单的不合格项" in html
    with app.app_context():
        assert db.session.query(DeptCheck).count() == 2


def test_patrol_slips_need_the_departments_registered(login, app):
    with app.app_context():
        patrol = factories.patrol(at=clock.now() - timedelta(hours=1), hygiene_ok=False, hygiene_note="垃圾",
                                  bulletin_ok=False, bulletin_note="过期公告")
        factories.department(name="保洁部")
        db.session.commit()
        pid = patrol.id
    html = text_of(confirm(login("supervisor"), "patrol", "raise_slips", pid,
                           deadline=local(clock.now() + timedelta(days=1))))
    assert "未登记部门:客户服务中心" in html
    with app.app_context():
        assert db.session.query(DeptCheck).count() == 0  # all or nothing


# -- 9. notices ------------------------------------------------------------------------------
def test_a_notice_is_signed_for_once(login, app):
    with app.app_context():
        notice = factories.notification(subject="装修许可 ZX20261101-0001:3栋1201 将于 2026-12-01 开工")
        db.session.commit()
        nid = notice.id
    assert login("leasing").post("/admin/notification/action/", {"action": "acknowledge", "rowid": nid}).status_code == 403
    crew = login("maintenance")
    resp = crew.post("/admin/notification/action/", {"action": "acknowledge", "rowid": nid}, follow_redirects=True)
    assert resp.status_code == 200 and "已签收 1 条" in text_of(resp)
    with app.app_context():
        notice = db.session.get(Notification, nid)
        assert notice.acknowledged_by == "maintenance" and notice.acknowledged_at is not None
        signed_at = notice.acknowledged_at
    html = text_of(crew.post("/admin/notification/action/", {"action": "acknowledge", "rowid": nid},
                             follow_redirects=True))
    assert "已签收" in html and "已签收 1 条" not in html
    with app.app_context():
        notice = db.session.get(Notification, nid)
        assert notice.acknowledged_at == signed_at and notice.acknowledged_by == "maintenance"
    assert login("frontdesk").get("/admin/notification/new/").status_code == 403


# -- 10. garbage in the URL ------------------------------------------------------------------
def test_garbage_ids_are_refused_never_500(login, app):
    pid = new_permit(app)
    b = login("supervisor")
    for url in ("/admin/renovation_permit/print/?ids=abc", "/admin/renovation_permit/print/?ids=99999999999",
                f"/admin/renovation_permit/print/?ids={pid},x", "/admin/renovation_permit/print/?ids=-1",
                "/admin/renovation_permit/confirm/review/?ids=abc",
                "/admin/renovation_permit/confirm/approve/?ids=99999999999",
                "/admin/dept_check/confirm/rectify/?ids=1;drop", "/admin/patrol/confirm/raise_slips/?ids=%00"):
        assert b.get(url).status_code == 400, url
    assert b.post("/admin/renovation_permit/confirm/review/?ids=x", {"ids": "x"}).status_code == 400
    assert b.post("/admin/dept_check/confirm/recheck/?ids=1e9", {"ids": "1e9", "passed": "1"}).status_code == 400
    for url in ("/admin/renovation_permit/print/?ids=", "/admin/renovation_permit/print/",
                "/admin/renovation_permit/print/?ids=99999", "/admin/renovation_permit/details/?id=abc",
                "/admin/worker_pass/edit/?id=99999999999", "/admin/dept_check/details/?id=-1",
                "/admin/patrol/confirm/raise_slips/?ids=99999", "/admin/notification/details/?id=1e9"):
        assert b.get(url).status_code in (302, 404), url
    for url in ("/admin/renovation_check/new/?permit=abc", "/admin/renovation_check/new/?permit=99999999999",
                "/admin/renovation_check/new/?permit=99999"):
        assert b.get(url).status_code == 200, url
    resp = b.post("/admin/notification/action/", {"action": "acknowledge", "rowid": "abc"}, follow_redirects=True)
    assert resp.status_code == 200 and "所选记录编号无效" in text_of(resp)
    assert b.post("/admin/notification/action/", {"action": "acknowledge", "rowid": "99999999999"}).status_code == 302
    html = text_of(confirm(b, "dept_check", "rectify", "1", note="x"))  # no such slip
    assert "Traceback" not in html
    assert b.get("/admin/renovation_permit/confirm/nope/?ids=1").status_code in (403, 404)





# -- editing a permit --------------------------------------------------------------------------
def edit_form(pid, app, **kw):
    """The permit's edit form as saved, with its passes as inline lines."""
    with app.app_context():
        p = db.session.get(RenovationPermit, pid)
        form = {"proxy_name": p.proxy_name or "", "proxy_id_number": p.proxy_id_number or "",
                "proxy_phone": p.proxy_phone or "", "contractor": p.contractor, "contractor_phone": p.contractor_phone,
                "planned_start": iso(p.planned_start), "planned_end": iso(p.planned_end),
                "plan_summary": p.plan_summary, "agreement_signed": "y", "rules_acknowledged": "y",
                "waste_fee": str(p.waste_fee or 0), "note": "", "row_version": p.version}
        for i, w in enumerate(sorted(p.passes, key=lambda w: w.id)):
            form.update({f"passes-{i}-id": w.id, f"passes-{i}-name": w.name, f"passes-{i}-id_number": w.id_number,
                         f"passes-{i}-phone": w.phone or "", f"passes-{i}-valid_from": iso(w.valid_from),
                         f"passes-{i}-valid_to": iso(w.valid_to)})
    form.update(kw)
    return form


def test_a_pass_added_after_approval_is_numbered(login, app):
    pid = new_permit(app, status="approved", number="ZX20261101-0009", passes=[("刘工", START, END, "ZX20261101-0009-01")])
    desk = login("frontdesk")
    assert 'name="passes-0-name"' in text_of(desk.get(f"/admin/renovation_permit/edit/?id={pid}"))
    form = edit_form(pid, app, **{"passes-1-name": "新工", "passes-1-id_number": factories.resident_id(),
                                  "passes-1-valid_from": iso(START), "passes-1-valid_to": iso(END)})
    resp = desk.post(f"/admin/renovation_permit/edit/?id={pid}", form)
    assert resp.status_code == 302 and resp.location.endswith(f"/admin/renovation_permit/details/?id={pid}")
    with app.app_context():
        passes = sorted(db.session.get(RenovationPermit, pid).passes, key=lambda w: w.id)
        assert [(w.name, w.pass_no) for w in passes] == [("刘工", "ZX20261101-0009-01"), ("新工", "ZX20261101-0009-02")]


def test_waste_fee_is_refused_for_a_rejected_permit(login, app):
    pid = new_permit(app, status="rejected", waste_fee=Decimal("300.00"))
    html = text_of(confirm(login("frontdesk"), "renovation_permit", "collect_fee", pid, method="cash"))
    assert 'id="confirm-error"' in html and "装修申请已驳回,不能收取清运费" in html
    with app.app_context():
        assert db.session.query(Payment).count() == 0
        assert db.session.get(RenovationPermit, pid).waste_fee_paid is False


def test_editing_a_proxy_permit_keeps_the_proxy_details(login, app):
    id_number = factories.resident_id()
    pid = new_permit(app, applicant_kind="proxy", proxy_name="王五", proxy_id_number=id_number)
    html = text_of(login("frontdesk").post(f"/admin/renovation_permit/edit/?id={pid}",
                                           edit_form(pid, app, proxy_name="", proxy_id_number="")))
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        assert (permit.proxy_name, permit.proxy_id_number) == ("王五", id_number)
    assert "受托人代办须填写受托人姓名" in html


def test_passes_of_a_completed_permit_cannot_be_changed_through_its_form(login, app):
    pid = new_permit(app, status="completed", number="ZX20261101-0009",
                     passes=[("刘工", START, END, "ZX20261101-0009-01")])
    desk = login("frontdesk")
    with app.app_context():
        wid = db.session.get(RenovationPermit, pid).passes[0].id
    assert desk.get(f"/admin/worker_pass/edit/?id={wid}").status_code == 302  # locked on its own screen
    desk.post(f"/admin/renovation_permit/edit/?id={pid}", edit_form(pid, app, **{"passes-0-name": "改名工"}))
    with app.app_context():
        assert db.session.get(WorkerPass, wid).name == "刘工"


def test_changing_a_reviewed_plan_sends_it_back_for_review(login, app):
    pid = new_permit(app, status="reviewed", plan_reviewed_by="supervisor")
    desk = login("frontdesk")
    # a note is not the plan: the review stands
    desk.post(f"/admin/renovation_permit/edit/?id={pid}", edit_form(pid, app, note="业主来电确认工期"))
    with app.app_context():
        assert db.session.get(RenovationPermit, pid).status == "reviewed"
    html = text_of(desk.get(desk.post(f"/admin/renovation_permit/edit/?id={pid}",
                                      edit_form(pid, app, structural="y")).location))
    assert "装修方案或工期已修改,需重新审核" in html
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        assert (permit.status, permit.structural, permit.plan_reviewed_by) == ("applied", True, None)
