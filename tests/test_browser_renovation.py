"""In Chromium: a front-desk clerk registers a renovation that alters the main structure, with two
workers' passes; a supervisor reviews the plan and is refused approval until the 拆改批准书 is uploaded
from the permit's own button, then approves it (permit and pass numbers, notices to 工程维修部 and
秩序维护部) and prints the permit with its passes. A daily patrol with a hygiene failure raises its
不合格单 to 保洁部 in one step, which is rectified and passes its re-check."""
import os
import re
from datetime import timedelta

from app import clock
from app.extensions import db
from schema.documents import Document
from schema.notifications import Notification
from schema.renovation import RenovationPermit
from schema.supervision import DeptCheck, Patrol

from . import factories
from .conftest import ARTIFACTS
from .test_browser import login
from .test_browser_frontdesk import SAVE, logout, pick_select2
from .test_browser_occupancy import choose_action
from .test_documents import PDF


def record_link(page, label):
    """Click a button of the details page's record-links block."""
    page.click(f".record-links a:has-text('{label}')")


def section_text(page, title):
    """The text of the table under a details-page section heading."""
    return page.locator(f"h5:text-is('{title}') + p + table, h5:text-is('{title}') + table").first.inner_text()


def fill_date(page, selector, value):
    """Type into a Flask-Admin datepicker and close its calendar."""
    page.fill(selector, value)
    page.keyboard.press("Escape")
    page.click("h4")  # a click outside closes the daterangepicker popup


def fill_pass(page, line, name, id_number, valid_from, valid_to):
    """Fill one inline 施工人员出入证 of the permit form."""
    line.locator("input[name$='-name']").fill(name)
    line.locator("input[name$='-id_number']").fill(id_number)
    for suffix, day in (("valid_from", valid_from), ("valid_to", valid_to)):
        field_id = line.locator(f"input[name$='-{suffix}']").get_attribute("id")
        fill_date(page, f"[id='{field_id}']", f"{day:%Y-%m-%d}")


def test_structural_renovation_refused_until_alteration_approval_then_approved_printed(page, users, app, tmp_path):
    with app.app_context():
        own = factories.ownership(owner=factories.owner(name="周志强"),
                                  unit=factories.unit(building=factories.building(name="9栋"), room_no="1802"))
        for name in ("工程维修部", "秩序维护部", "保洁部"):
            factories.department(name=name, supervisor_name=f"{name[:2]}主管")
        db.session.commit()
        unit_id, owner_id = own.unit_id, own.owner_id
    start = clock.today() + timedelta(days=7)
    end = start + timedelta(days=45)
    workers = [("刘建军", factories.resident_id(born="19850612", serial=101), start, start + timedelta(days=30)),
               ("黄小勇", factories.resident_id(born="19920215", serial=202), start + timedelta(days=5), end)]
    page.on("dialog", lambda dialog: dialog.accept())

    # (1) the clerk registers the application, with two workers' passes
    login(page, "frontdesk")
    page.goto(page.base_url + "/admin/renovation_permit/new/")
    pick_select2(page, "unit", "1802", "9栋1802")
    pick_select2(page, "owner", "周志强")
    page.fill("#contractor", "美家装饰工程有限公司")
    page.fill("#contractor_phone", "13900139001")
    fill_date(page, "#planned_start", f"{start:%Y-%m-%d}")
    fill_date(page, "#planned_end", f"{end:%Y-%m-%d}")
    page.fill("#plan_summary", "客厅与餐厅之间墙体开门洞,厨卫翻新,更换地砖")
    for box in ("#structural", "#agreement_signed", "#rules_acknowledged"):
        page.check(box)
    lines = page.locator("#passes .inline-field-list > .inline-field")
    if lines.count() == 0:  # the form may or may not start with one empty pass
        page.click("#passes-button")
    fill_pass(page, lines.nth(0), *workers[0])
    page.click("#passes-button")  # 添加 施工人员出入证
    fill_pass(page, lines.nth(1), *workers[1])
    page.click(SAVE)
    page.wait_for_selector(".alert-danger, .record-links")
    errors = page.locator(".alert-danger")
    assert errors.count() == 0, errors.first.inner_text()
    assert "/admin/renovation_permit/details/" in page.url
    with app.app_context():
        permit = db.session.query(RenovationPermit).one()
        pid = permit.id
        assert (permit.unit_id, permit.owner_id, permit.status, permit.applied_by) == (
            unit_id, owner_id, "applied", "frontdesk")
        assert (permit.structural, permit.added_load, permit.agreement_signed, permit.rules_acknowledged) == (
            True, False, True, True)
        assert (permit.planned_start, permit.planned_end, permit.number) == (start, end, None)
        assert sorted((w.name, w.id_number, w.valid_from, w.valid_to, w.pass_no) for w in permit.passes) == sorted(
            (n, i, f, t, None) for n, i, f, t in workers)
    details = page.base_url + f"/admin/renovation_permit/details/?id={pid}"
    # a clerk may neither review nor approve
    assert page.locator(".record-links a:has-text('审核装修方案')").count() == 0
    assert page.locator(".record-links a:has-text('批准装修')").count() == 0

    # the supervisor reviews the plan from the details page
    logout(page)
    login(page, "supervisor")
    page.goto(details)
    record_link(page, "审核装修方案")
    page.wait_for_url("**/admin/renovation_permit/confirm/review/**")
    page.fill("#note", "方案涉及墙体开洞,须取得拆改批准书后方可施工")
    page.click("button:has-text('确认')")
    page.wait_for_url("**/admin/renovation_permit/details/**")
    assert "已审核 1 份装修方案" in page.inner_text(".alert-success")
    assert "方案改动主体结构或明显增加荷载,须先取得房管部门的拆改批准书" in section_text(page, "批准前还需")

    # (2) approval is refused on the confirm page while the 拆改批准书 is missing
    record_link(page, "批准装修")
    page.wait_for_url("**/admin/renovation_permit/confirm/approve/**")
    page.click("button:has-text('确认')")
    page.wait_for_selector("#confirm-error")
    error = page.inner_text("#confirm-error")
    assert "拆改批准书" in error, error
    assert "/confirm/approve/" in page.url
    page.screenshot(path=os.path.join(ARTIFACTS, "renovation-approve-refused.png"), full_page=True)
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        assert (permit.status, permit.number) == ("reviewed", None)

    # (3) the permit's own button uploads the document, prefilled for the unit's file, and comes back
    page.goto(details)
    record_link(page, "上传拆改批准书")
    page.wait_for_url("**/admin/document/new/**")
    assert page.input_value("#doc_type") == "alteration_approval"
    assert page.input_value("#title") == "拆改批准书"
    pdf = tmp_path / "拆改批准书.pdf"
    pdf.write_bytes(PDF)
    page.set_input_files("#upload", str(pdf))
    page.click("input[type=submit][value='保存']")
    page.wait_for_url(f"**/admin/renovation_permit/details/?id={pid}")
    assert page.locator(".record-links a:has-text('上传拆改批准书')").count() == 0
    # nothing stands in the way any more: the 批准前还需 section is gone
    assert page.locator("h5:text-is('批准前还需')").count() == 0
    with app.app_context():
        doc = db.session.query(Document).one()
        assert (doc.doc_type, doc.unit_id, doc.owner_id, doc.ref_table, doc.ref_id, doc.filename) == (
            "alteration_approval", unit_id, owner_id, "renovation_permit", pid, "拆改批准书.pdf")

    record_link(page, "批准装修")
    page.wait_for_url("**/admin/renovation_permit/confirm/approve/**")
    page.click("button:has-text('确认')")
    page.wait_for_url("**/admin/renovation_permit/details/**")
    flash = page.inner_text(".alert-success")
    match = re.search(r"ZX\d{8}-\d{4}", flash)
    assert match and "已通知工程维修部、秩序维护部" in flash, flash
    number = match.group(0)
    passes = section_text(page, "施工人员出入证")
    assert f"{number}-01" in passes and f"{number}-02" in passes, passes
    notices = section_text(page, "部门通知")
    assert "工程维修部" in notices and "秩序维护部" in notices and number in notices, notices
    assert "已批准" in page.inner_text("table.table")
    page.screenshot(path=os.path.join(ARTIFACTS, "renovation-approved.png"), full_page=True)
    with app.app_context():
        permit = db.session.get(RenovationPermit, pid)
        assert (permit.status, permit.number, permit.approved_by) == ("approved", number, "supervisor")
        numbered = {w.name: w.pass_no for w in permit.passes}
        assert sorted(numbered.values()) == [f"{number}-01", f"{number}-02"]
        sent = db.session.query(Notification).filter_by(source_table="renovation_permit", source_id=pid).all()
        assert sorted(n.department.name for n in sent) == ["工程维修部", "秩序维护部"]

    # (4) the printed permit with its passes
    record_link(page, "打印许可证及出入证")
    page.wait_for_url("**/admin/renovation_permit/print/**")
    text = page.inner_text("body")
    for expected in ("装修施工许可证", number, "9栋1802", "周志强", "美家装饰工程有限公司", "施工人员临时出入证",
                     f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"):
        assert expected in text, expected
    cards = page.locator(".pass-card")
    assert cards.count() == 2
    for name, pass_no in numbered.items():
        card = cards.filter(has_text=pass_no)
        assert card.count() == 1 and name in card.inner_text(), (name, pass_no)
    page.screenshot(path=os.path.join(ARTIFACTS, "renovation-permit-print.png"), full_page=True)


def test_patrol_failure_raises_slip_rectified_and_rechecked(page, users, app):
    with app.app_context():
        factories.building(name="9栋")
        for name in ("工程维修部", "秩序维护部", "保洁部"):
            factories.department(name=name, supervisor_name=f"{name[:2]}主管")
        db.session.commit()
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, "supervisor")

    # (5) a daily patrol with a failed hygiene item
    page.goto(page.base_url + "/admin/patrol/new/")
    pick_select2(page, "building", "9栋")
    assert page.input_value("#at") and page.input_value("#patroller")  # prefilled: now, the current user
    page.uncheck("#hygiene_ok")
    page.fill("#hygiene_note", "3楼楼道堆放装修垃圾未清运")
    page.click(SAVE)
    page.wait_for_selector(".alert-danger, .record-links")
    errors = page.locator(".alert-danger")
    assert errors.count() == 0, errors.first.inner_text()
    with app.app_context():
        patrol = db.session.query(Patrol).one()
        patrol_id = patrol.id
        assert (patrol.hygiene_ok, patrol.facilities_ok, patrol.hygiene_note) == (False, True, "3楼楼道堆放装修垃圾未清运")
    page.goto(page.base_url + f"/admin/patrol/details/?id={patrol_id}")
    record_link(page, "不合格项开单")
    page.wait_for_url("**/admin/patrol/confirm/raise_slips/**")
    assert page.input_value("#deadline")  # the default deadline, three days on
    page.click("button:has-text('确认')")
    page.wait_for_selector(".alert-success, #confirm-error")
    assert page.locator("#confirm-error").count() == 0, page.inner_text("#confirm-error")
    flash = page.inner_text(".alert-success")
    match = re.search(r"BH\d{8}-\d{4}", flash)
    assert "已开具不合格单" in flash and match, flash
    number = match.group(0)
    slips = section_text(page, "已开不合格单")
    assert number in slips and "保洁部" in slips and "已开单" in slips, slips
    assert page.locator(".record-links a:has-text('不合格项开单')").count() == 0  # nothing left to raise
    with app.app_context():
        check = db.session.query(DeptCheck).one()
        check_id = check.id
        assert (check.number, check.department.name, check.item, check.status, check.patrol_id) == (
            number, "保洁部", "patrol_hygiene", "open", patrol_id)
        assert check.deadline - check.checked_at >= timedelta(days=2)
        assert "3楼楼道堆放装修垃圾未清运" in check.findings

    # 保洁部 reports it rectified, then the re-check passes it
    page.goto(page.base_url + "/admin/dept_check/")
    assert "已开单" in page.locator("table.model-list tr", has_text=number).inner_text()
    choose_action(page, check_id, "登记整改")
    page.wait_for_url("**/admin/dept_check/confirm/rectify/**")
    page.fill("#note", "已清运装修垃圾并督促施工单位袋装堆放")
    page.click("button:has-text('确认')")
    page.wait_for_selector(".alert-success, #confirm-error")
    assert page.locator("#confirm-error").count() == 0, page.inner_text("#confirm-error")
    assert "已登记整改 1 张" in page.inner_text(".alert-success")
    assert "已整改" in page.locator("table.model-list tr", has_text=number).inner_text()

    choose_action(page, check_id, "复查")
    page.wait_for_url("**/admin/dept_check/confirm/recheck/**")
    page.select_option("#passed", "1")
    page.fill("#note", "楼道已清理干净")
    page.click("button:has-text('确认')")
    page.wait_for_selector(".alert-success, #confirm-error")
    assert page.locator("#confirm-error").count() == 0, page.inner_text("#confirm-error")
    assert "已复查 1 张:合格" in page.inner_text(".alert-success")
    assert "复查合格" in page.locator("table.model-list tr", has_text=number).inner_text()
    page.screenshot(path=os.path.join(ARTIFACTS, "dept-check-list.png"), full_page=True)
    with app.app_context():
        check = db.session.get(DeptCheck, check_id)
        assert (check.status, check.rechecked_by, check.recheck_note) == ("recheck_passed", "supervisor", "楼道已清理干净")
        assert check.rectification == "已清运装修垃圾并督促施工单位袋装堆放"
