"""Community culture: the bulletin board's two-week rule (待更换, 撤下/更换) and a community event's life
(策划 → 已批准 → 已布置 → 已举办 → 已归档) with its records and photos; rules called directly, then the
screens through the test client, where refusals are messages on the page and never a 500."""
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import select

from app import clock
from app.community import (
    POST_LIFETIME_DAYS,
    CommunityError,
    approve_event,
    archive,
    boards_due,
    event_documents,
    hold,
    parse_cost,
    parse_headcount,
    set_up,
    take_down,
)
from app.extensions import db
from schema.community import BulletinPost, CommunityEvent
from schema.documents import Document
from schema.org import AppUser, AuditLog

from . import factories

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TODAY = clock.today()
PAST = datetime.combine(TODAY - timedelta(days=3), datetime.min.time()).replace(hour=14)


def staff(role, username=None):
    user = AppUser(username=username or f"{role}-{factories.mobile()}", display_name=f"测试{role}", role=role,
                   password_hash="x", active=True)
    db.session.add(user)
    db.session.flush()
    return user


def event_doc(event, **kw):
    return factories.document(doc_type="other", title="活动照片", ref_table="community_event", ref_id=event.id, **kw)


def audit_actions(table, record_id):
    return list(db.session.execute(select(AuditLog.action).where(AuditLog.table_name == table,
                                                                 AuditLog.record_id == record_id)).scalars())


# == rules: the bulletin board ===================================================================
def test_take_down_stamps_today_and_is_refused_twice(ctx):
    post = factories.bulletin_post(posted_on=TODAY - timedelta(days=POST_LIFETIME_DAYS))
    db.session.flush()
    take_down(post, user="frontdesk")
    assert post.removed_on == TODAY
    assert "撤下宣传内容" in audit_actions("bulletin_post", post.id)
    with pytest.raises(CommunityError, match=f"该宣传内容已于 {TODAY:%Y-%m-%d} 撤下"):
        take_down(post, user="frontdesk")


def test_take_down_cannot_predate_the_posting(ctx):
    post = factories.bulletin_post(posted_on=TODAY)
    with pytest.raises(CommunityError, match="撤下日期不能早于张贴日期"):
        take_down(post, on=TODAY - timedelta(days=1))
    assert post.removed_on is None


def test_boards_due_counts_posts_older_than_two_weeks_still_up(ctx):
    factories.bulletin_post(board="1栋大堂", posted_on=TODAY - timedelta(days=14))
    factories.bulletin_post(board="1栋大堂", posted_on=TODAY - timedelta(days=30))
    factories.bulletin_post(board="2栋大堂", posted_on=TODAY - timedelta(days=20))
    factories.bulletin_post(board="3栋大堂", posted_on=TODAY - timedelta(days=13))  # not yet
    factories.bulletin_post(board="4栋大堂", posted_on=TODAY - timedelta(days=40), removed_on=TODAY)  # down
    db.session.flush()
    assert boards_due(TODAY) == [("1栋大堂", 2), ("2栋大堂", 1)]


# == rules: community events =====================================================================
def test_event_runs_from_plan_to_archive(ctx):
    event = factories.community_event(start_at=PAST, end_at=PAST + timedelta(hours=3))
    boss, desk = staff("supervisor", "boss"), staff("frontdesk", "desk")
    approve_event(event, user=boss, note="同意,注意安全")
    assert (event.status, event.approved_by) == ("approved", "boss")
    set_up(event, user=desk)
    assert event.status == "set_up"
    hold(event, headcount="95", cost="3,250.5", summary="  老人们很开心 ", user=desk)
    assert event.status == "held" and event.actual_headcount == 95
    assert event.actual_cost == Decimal("3250.50") and event.summary == "老人们很开心"
    with pytest.raises(CommunityError, match="归档前须至少上传一份活动记录或照片"):
        archive(event, user=desk)
    assert event.status == "held" and event.archived_at is None
    doc = event_doc(event)
    archive(event, user=desk)
    assert event.status == "archived" and event.archived_at is not None
    assert event_documents(event) == [doc]
    actions = audit_actions("community_event", event.id)
    for name in ("批准活动方案", "活动布置完成", "活动举办", "活动归档"):
        assert name in actions


def test_only_documents_of_this_event_count_for_the_archive(ctx):
    event = factories.community_event(status="held", start_at=PAST, end_at=PAST + timedelta(hours=2))
    other = factories.community_event(status="held", start_at=PAST, end_at=PAST + timedelta(hours=2))
    db.session.flush()
    event_doc(other)
    factories.document(doc_type="other", title="别的业务", ref_table="renovation_permit", ref_id=event.id)
    assert event_documents(event) == []
    with pytest.raises(CommunityError, match="归档前须至少上传一份活动记录或照片"):
        archive(event, user="desk")
    event_doc(event)
    archive(event, user="desk")
    assert event.status == "archived"


@pytest.mark.parametrize(("status", "step", "message"), [
    ("approved", "approve", "活动处于“已批准”,不能批准"),
    ("planning", "set_up", "活动处于“策划”,不能登记布置完成"),
    ("approved", "hold", "活动处于“已批准”,不能登记举办"),
    ("set_up", "archive", "活动处于“已布置”,不能归档"),
    ("archived", "archive", "活动处于“已归档”,不能归档"),
])
def test_steps_out_of_order_are_refused(ctx, status, step, message):
    event = factories.community_event(status=status, start_at=PAST, end_at=PAST + timedelta(hours=2))
    db.session.flush()
    event_doc(event)
    run = {"approve": lambda: approve_event(event, user="boss"), "set_up": lambda: set_up(event, user="desk"),
           "hold": lambda: hold(event, headcount=10, cost=100, user="desk"),
           "archive": lambda: archive(event, user="desk")}[step]
    with pytest.raises(CommunityError, match=re.escape(message)):
        run()
    assert event.status == status


def test_only_the_spec_roles_may_approve(ctx):
    event = factories.community_event()
    with pytest.raises(CommunityError, match="您的角色无权批准社区活动"):
        approve_event(event, user=staff("frontdesk"))
    assert event.status == "planning" and event.approved_by is None
    approve_event(event, user=staff("manager", "chief"))
    assert event.approved_by == "chief"


def test_hold_needs_a_started_event_and_actual_figures(ctx):
    event = factories.community_event(status="set_up", start_at=datetime.combine(TODAY + timedelta(days=5),
                                                                                 datetime.min.time()),
                                      end_at=datetime.combine(TODAY + timedelta(days=5), datetime.max.time()))
    with pytest.raises(CommunityError, match="未到,不能登记为已举办"):
        hold(event, headcount=50, cost="100", user="desk")
    event.start_at, event.end_at = PAST, PAST + timedelta(hours=2)
    with pytest.raises(CommunityError, match="请填写实际参加人数"):
        hold(event, headcount="", cost="100", user="desk")
    with pytest.raises(CommunityError, match="请填写实际费用"):
        hold(event, headcount=50, cost=None, user="desk")
    assert event.status == "set_up" and event.actual_headcount is None and event.actual_cost is None
    hold(event, headcount=0, cost=0, user="desk")
    assert event.status == "held" and event.actual_headcount == 0 and event.actual_cost == Decimal("0.00")


@pytest.mark.parametrize(("raw", "message"), [
    ("十", "实际参加人数须为整数"), ("12.5", "实际参加人数须为整数"), ("-3", "实际参加人数不能为负数"),
    (True, "实际参加人数须为整数"), ("--3", "实际参加人数须为整数"), ("²", "实际参加人数须为整数"), ("99999999", "实际参加人数过大"), ("  ", "请填写实际参加人数"),
])
def test_bad_headcounts_are_refused(raw, message):
    with pytest.raises(CommunityError, match=message):
        parse_headcount(raw)


@pytest.mark.parametrize(("raw", "message"), [
    ("abc", "实际费用格式不正确"), ("NaN", "实际费用格式不正确"), ("Infinity", "实际费用格式不正确"),
    ("-0.01", "实际费用不能为负数"), ("1e12", "实际费用过大"),
])
def test_bad_costs_are_refused(raw, message):
    with pytest.raises(CommunityError, match=message):
        parse_cost(raw)


def test_good_figures_are_read(ctx):
    assert parse_headcount(" 120 ") == 120 and parse_headcount(7) == 7
    assert parse_cost("2,999.999") == Decimal("3000.00") and parse_cost(Decimal("12.3")) == Decimal("12.30")


# == screens: the bulletin board =================================================================
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


def section(html: str, title: str) -> str:
    return html.split(f'<h5 class="mt-4">{title}</h5>', 1)[1].split("</table>", 1)[0]


def confirm(b, table, action, rid, **fields):
    return b.post(f"/admin/{table}/confirm/{action}/?ids={rid}", {"ids": rid, **fields})


def board_posts(app):
    with app.app_context():
        old = factories.bulletin_post(title="国庆安全提示", board="1栋大堂", posted_on=TODAY - timedelta(days=20))
        fresh = factories.bulletin_post(title="冬季用电提示", board="2栋大堂", posted_on=TODAY - timedelta(days=3))
        down = factories.bulletin_post(title="中秋活动预告", board="1栋大堂", posted_on=TODAY - timedelta(days=60),
                                       removed_on=TODAY - timedelta(days=40))
        db.session.commit()
        return old.id, fresh.id, down.id


def row_of(html: str, title: str) -> str:
    return next(r for r in html.split("<tr") if title in r)


def test_board_list_flags_due_posts_and_filters_them(login, app):
    board_posts(app)
    b = login("frontdesk")
    html = text_of(b.get("/admin/bulletin_post/"))
    assert "post-due" in row_of(html, "国庆安全提示") and "待更换" in row_of(html, "国庆安全提示")
    assert "post-due" not in row_of(html, "冬季用电提示") and "post-due" not in row_of(html, "中秋活动预告")
    assert "1 块宣传栏共 1 条内容已张贴满两周,待更换:1栋大堂(1)" in html
    due = text_of(b.get(list_link(html, "待更换")))
    assert "国庆安全提示" in due and "冬季用电提示" not in due and "中秋活动预告" not in due
    up = text_of(b.get(list_link(html, "在栏")))
    assert "国庆安全提示" in up and "冬季用电提示" in up and "中秋活动预告" not in up


def test_no_summary_when_nothing_is_due(login, app):
    with app.app_context():
        factories.bulletin_post(posted_on=TODAY)
        db.session.commit()
    html = text_of(login("frontdesk").get("/admin/bulletin_post/"))
    assert "list-summary" not in html and "post-due" not in html


def test_take_down_from_the_list_then_refused_again(login, app):
    old_id, _fresh, down_id = board_posts(app)
    b = login("frontdesk")
    b.get("/admin/bulletin_post/")
    resp = b.post("/admin/bulletin_post/action/", {"action": "take_down", "rowid": [old_id, down_id],
                                                    "url": "/admin/bulletin_post/"})
    assert resp.status_code == 302
    html = text_of(b.get(resp.location))
    assert "已撤下 1 条" in html
    assert f"该宣传内容已于 {TODAY - timedelta(days=40):%Y-%m-%d} 撤下" in html
    with app.app_context():
        assert db.session.get(BulletinPost, old_id).removed_on == TODAY
        assert db.session.get(BulletinPost, down_id).removed_on == TODAY - timedelta(days=40)
    assert "post-due" not in text_of(b.get("/admin/bulletin_post/"))


def test_take_down_from_the_details_page_offers_a_new_post(login, app):
    old_id, _fresh, _down = board_posts(app)
    b = login("frontdesk")
    details = f"/admin/bulletin_post/details/?id={old_id}"
    page = text_of(b.get(details))
    assert "撤下/更换" in record_links(page)
    resp = b.post(link(page, "撤下/更换"), {"ids": old_id})
    assert resp.status_code == 302, text_of(resp)[-1500:]
    assert "已撤下 1 条宣传内容" in text_of(b.get(resp.location))
    page = text_of(b.get(details))
    assert "撤下/更换" not in record_links(page)
    html = text_of(confirm(b, "bulletin_post", "take_down", old_id))
    assert 'id="confirm-error"' in html and "撤下" in html
    form = text_of(b.get(link(page, "张贴新内容")))
    assert 'value="1栋大堂"' in form and f'value="{TODAY:%Y-%m-%d}"' in form


def test_new_post_form_starts_today(login, app):
    html = text_of(login("frontdesk").get("/admin/bulletin_post/new/"))
    assert re.search(r'<input[^>]*id="posted_on"[^>]*value="' + f"{TODAY:%Y-%m-%d}" + '"', html)


def test_maintenance_may_not_take_posts_down(login, app):
    old_id, _fresh, _down = board_posts(app)
    crew = login("maintenance")
    assert confirm(crew, "bulletin_post", "take_down", old_id).status_code == 403
    with app.app_context():
        assert db.session.get(BulletinPost, old_id).removed_on is None


# == screens: community events ===================================================================
def new_event(app, **kw):
    with app.app_context():
        event = factories.community_event(**{"start_at": PAST, "end_at": PAST + timedelta(hours=3), **kw})
        db.session.commit()
        return event.id


def test_event_through_its_screens_to_the_archive(login, app):
    eid = new_event(app)
    desk, boss = login("frontdesk"), login("supervisor")
    details = f"/admin/community_event/details/?id={eid}"
    page = text_of(desk.get(details))
    assert "批准活动方案" not in record_links(page) and "上传活动记录/照片" in record_links(page)
    assert confirm(desk, "community_event", "approve", eid).status_code == 403
    page = text_of(boss.get(details))
    assert "批准活动方案" in record_links(page) and "布置完成" not in record_links(page)
    assert confirm(boss, "community_event", "approve", eid, note="同意").status_code == 302
    assert confirm(desk, "community_event", "set_up", eid).status_code == 302
    assert "登记举办情况" in record_links(text_of(desk.get(details)))
    # bad numbers: a message on the page, nothing saved
    for fields, message in (({"headcount": "八十", "cost": "100"}, "实际参加人数须为整数"),
                            ({"headcount": "80", "cost": "三千"}, "实际费用格式不正确"),
                            ({"headcount": "-1", "cost": "100"}, "实际参加人数不能为负数"),
                            ({"headcount": "80", "cost": ""}, "请填写实际费用")):
        resp = confirm(desk, "community_event", "hold", eid, **fields)
        assert resp.status_code == 200 and message in text_of(resp)
    with app.app_context():
        assert db.session.get(CommunityEvent, eid).status == "set_up"
    resp = confirm(desk, "community_event", "hold", eid, headcount="92", cost="3300", summary="圆满结束")
    assert resp.status_code == 302
    page = text_of(desk.get(details))
    budget = section(page, "预算与实际")
    assert "3,000.00" in budget and "3,300.00" in budget and "超支 300.00" in budget and "92" in budget
    assert "over-budget" in page
    # the archive needs a record: refused, then the upload button files one and archiving passes
    assert "归档前须至少上传一份活动记录或照片" in section(page, "活动记录与照片")
    html = text_of(confirm(desk, "community_event", "archive", eid))
    assert 'id="confirm-error"' in html and "归档前须至少上传一份活动记录或照片" in html
    upload_url = link(page, "上传活动记录/照片")
    assert "ref_table=community_event" in upload_url and f"ref_id={eid}" in upload_url and "doc_type=other" in upload_url
    form = text_of(desk.get(upload_url))
    assert 'value="community_event"' in form and f'value="{eid}"' in form
    resp = desk.post(upload_url, {"doc_type": "other", "title": "活动签到表", "ref_table": "community_event",
                                  "ref_id": eid, "upload": (io.BytesIO(PDF), "签到表.pdf")},
                     content_type="multipart/form-data")
    assert resp.status_code == 302, text_of(resp)[-1500:]
    assert resp.location.endswith(details) or details in unescape(resp.location)
    page = text_of(desk.get(details))
    assert "活动签到表" in section(page, "活动记录与照片")
    assert confirm(desk, "community_event", "archive", eid).status_code == 302
    with app.app_context():
        event = db.session.get(CommunityEvent, eid)
        assert event.status == "archived" and event.approved_by == "supervisor"
        assert event.actual_headcount == 92 and event.actual_cost == Decimal("3300.00")
        doc = db.session.query(Document).one()
        assert (doc.ref_table, doc.ref_id, doc.doc_type) == ("community_event", eid, "other")
    # an archived event is no longer edited
    resp = desk.get(f"/admin/community_event/edit/?id={eid}")
    assert resp.status_code == 302 and "活动已归档,不能修改" in text_of(desk.get(resp.location))


def test_event_edit_form_records_actual_figures(login, app):
    eid = new_event(app, status="held", actual_headcount=60, actual_cost=Decimal(2000))
    desk = login("frontdesk")
    html = text_of(desk.get(f"/admin/community_event/edit/?id={eid}"))
    assert 'name="actual_cost"' in html and 'name="summary"' in html
    version = re.search(r'name="row_version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="row_version"', html)
    form = {"theme": "重阳敬老茶话会", "items": "茶话会", "place": "会所多功能厅",
            "start_at": PAST.strftime("%Y-%m-%d %H:%M:%S"), "end_at": (PAST + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S"),
            "budget": "3000.00", "actual_cost": "2150.80", "planned_headcount": "80", "actual_headcount": "65",
            "summary": "补记总结", "row_version": version.group(1) or version.group(2)}
    resp = desk.post(f"/admin/community_event/edit/?id={eid}", form)
    assert resp.status_code == 302, text_of(resp)[-1500:]
    with app.app_context():
        event = db.session.get(CommunityEvent, eid)
        assert event.actual_cost == Decimal("2150.80") and event.actual_headcount == 65 and event.summary == "补记总结"
    resp = desk.post(f"/admin/community_event/edit/?id={eid}", {**form, "actual_cost": "-5", "row_version": ""})
    assert resp.status_code == 200
    new = text_of(desk.get("/admin/community_event/new/"))
    assert 'name="theme"' in new and 'name="actual_cost"' not in new


def test_event_list_links_to_events_awaiting_archive(login, app):
    new_event(app, theme="元旦游园会", status="held")
    new_event(app, theme="春节联欢会", status="planning")
    b = login("frontdesk")
    waiting = text_of(b.get(list_link(text_of(b.get("/admin/community_event/")), "待归档")))
    assert "元旦游园会" in waiting and "春节联欢会" not in waiting


def test_garbage_event_ids_are_not_a_server_error(login, app):
    b = login("supervisor")
    assert b.post("/admin/community_event/confirm/approve/?ids=abc", {"ids": "abc"}).status_code == 400
    assert b.post("/admin/community_event/confirm/approve/?ids=999", {"ids": "999"}).status_code == 404  # no such event
    assert b.get("/admin/community_event/confirm/nothing/?ids=1").status_code in (403, 404)

