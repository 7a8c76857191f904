"""Bulletin board and community events: posts due for replacement flagged (待更换) and taken down; each
event step (批准, 布置, 举办, 归档) a confirm action calling app/community, with the event's records and
photos listed on its page and an upload button for them."""
from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from flask import request, url_for
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import DateSmallerFilter, FilterEmpty, FilterEqual
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup, escape

from app import clock, community
from schema.community import CommunityEvent
from schema.documents import Document

from .formatting import display, fmt_date, money
from .generic import SchemaView, allowed


def _posted_on(view, context, obj, name):
    text = fmt_date(obj.posted_on)
    if community.post_due(obj, clock.today()):
        return Markup(f'{escape(text)} <span class="badge badge-warning post-due">{escape(gettext("待更换"))}</span>')
    return text


class BulletinPostView(SchemaView):
    """Posts older than 14 days are due for replacement (待更换)."""

    confirm_actions: ClassVar[dict] = {"take_down": ("撤下/更换", "take_down_records", False)}

    def __init__(self, model, db_):
        super().__init__(model, db_)
        self.column_formatters = {**self.column_formatters, "posted_on": _posted_on}
        self.column_formatters_detail = self.column_formatters

    def create_form(self, obj=None):
        """A new post goes up today; opened from a taken-down post, on the same board."""
        form = super().create_form(obj)
        if request.method == "GET":
            form.posted_on.data = form.posted_on.data or clock.today()
            board = (request.args.get("board") or "").strip()[:100]
            if board:
                form.board.data = board
        return form

    def action_applies(self, name, model):
        return model.removed_on is None

    @action("take_down", "撤下/更换", "确认撤下所选宣传内容(撤下日期记为今天)?")
    def action_take_down(self, ids):
        self.apply_rule(ids, lambda post: community.take_down(post, user=current_user), "已撤下")

    def take_down_records(self, records, form):
        for post in records:
            community.take_down(post, user=current_user)
        return f"已撤下 {len(records)} 条宣传内容,请张贴新内容"

    def record_links(self, model):
        links = super().record_links(model)
        if model.removed_on is not None and self.allowed("create"):
            links.insert(0, (gettext("张贴新内容"), url_for(".create_view", board=model.board)))
        return links

    def due_url(self) -> str:
        """The list of posts due: 撤下日期 empty and 张贴日期 earlier than 13 days ago."""
        cutoff = clock.today() - timedelta(days=community.POST_LIFETIME_DAYS - 1)
        args, position = {}, 0
        for column, kind, value in (("posted_on", DateSmallerFilter, cutoff.isoformat()),
                                    ("removed_on", FilterEmpty, "1")):
            target = getattr(self.model, column).property.columns[0]
            for index, flt in enumerate(self._filters or ()):
                if type(flt) is kind and getattr(flt, "column", None) is target:
                    args[f"flt{position}_{self.get_filter_arg(index, flt)}"] = value
                    position += 1
                    break
        return self.get_url(".index_view", **args)

    def list_links(self):
        return [(gettext("待更换"), self.due_url()),
                (gettext("在栏"), self.filter_url("removed_on", FilterEmpty, "1"))]

    def list_summary(self):
        boards = community.boards_due(clock.today())
        if not boards:
            return None
        posts = sum(n for _board, n in boards)
        detail = "、".join(f"{board}({n})" for board, n in boards)
        return f"{len(boards)} 块宣传栏共 {posts} 条内容已张贴满两周,待更换:{detail}"


class CommunityEventView(SchemaView):
    """策划 → 已批准 → 已布置 → 已举办 → 已归档."""

    confirm_actions: ClassVar[dict] = {
        "approve": ("批准活动方案", "approve_records", False),
        "set_up": ("布置完成", "set_up_records", False),
        "hold": ("登记举办情况", "hold_records", False),
        "archive": ("活动归档", "archive_records", False),
    }
    STEP_STATUS: ClassVar[dict] = {"approve": community.PLANNING, "set_up": community.APPROVED, "hold": community.SET_UP,
                   "archive": community.HELD}

    def __init__(self, model, db_):
        super().__init__(model, db_)
        self.column_formatters = {**self.column_formatters, "actual_cost": self._actual_cost}
        self.column_formatters_detail = self.column_formatters

    @staticmethod
    def _actual_cost(view, context, obj, name):
        text = display(CommunityEvent, "actual_cost", obj.actual_cost)
        if obj.actual_cost is not None and obj.budget is not None and obj.actual_cost > obj.budget:
            return Markup(f'{escape(text)} <span class="badge badge-danger over-budget">{escape(gettext("超预算"))}</span>')
        return text

    @staticmethod
    def locked(model):
        return "活动已归档,不能修改" if model.status == community.ARCHIVED else None

    def action_applies(self, name, model):
        return model.status == self.STEP_STATUS.get(name)

    def confirm_fields(self, name):
        if name == "approve":
            return [{"name": "note", "label": "批准意见", "type": "textarea"}]
        if name == "hold":
            return [{"name": "headcount", "label": "实际参加人数", "type": "number"},
                    {"name": "cost", "label": "实际费用(元)", "type": "text"},
                    {"name": "summary", "label": "活动总结", "type": "textarea"}]
        return []

    def approve_records(self, records, form):
        for event in records:
            community.approve_event(event, user=current_user, note=form.get("note"))
        return f"已批准 {len(records)} 个活动方案"

    def set_up_records(self, records, form):
        for event in records:
            community.set_up(event, user=current_user)
        return f"已登记 {len(records)} 个活动布置完成"

    def hold_records(self, records, form):
        for event in records:
            community.hold(event, headcount=form.get("headcount"), cost=form.get("cost"),
                           summary=form.get("summary"), user=current_user)
        return f"已登记 {len(records)} 个活动的举办情况"

    def archive_records(self, records, form):
        for event in records:
            community.archive(event, user=current_user)
        return f"已归档 {len(records)} 个活动"

    def record_links(self, model):
        links = super().record_links(model)
        if allowed(Document.__admin__, "create"):
            here = url_for(".details_view", id=model.id)
            links.insert(0, (gettext("上传活动记录/照片"),
                             url_for("document.create_view", ref_table=community.EVENT_TABLE, ref_id=model.id,
                                     doc_type="other", title=f"{model.theme} 活动记录", url=here)))
        return links

    @staticmethod
    def _document_link(doc):
        text = doc.title or doc.filename or f"#{doc.id}"
        if not allowed(Document.__admin__, "read"):
            return text
        return Markup(f'<a href="{escape(url_for("document.details_view", id=doc.id))}">{escape(text)}</a>')

    def record_sections(self, model):
        docs = [[self._document_link(d), d.filename or "", display(Document, "received_on", d.received_on),
                 str(d.clerk) if d.clerk is not None else ""] for d in community.event_documents(model)]
        diff = ""
        if model.actual_cost is not None:
            delta = model.actual_cost - (model.budget or 0)
            diff = (gettext("超支") + f" {money(delta)}") if delta > 0 else (gettext("结余") + f" {money(-delta)}")
        budget = [[gettext("费用(元)"), money(model.budget), money(model.actual_cost), diff],
                  [gettext("人数"), "" if model.planned_headcount is None else str(model.planned_headcount),
                   "" if model.actual_headcount is None else str(model.actual_headcount), ""]]
        return [
            {"title": gettext("预算与实际"), "headers": [gettext("项目"), gettext("计划"), gettext("实际"),
                                                         gettext("差额")], "rows": budget},
            {"title": gettext("活动记录与照片"), "headers": [gettext("资料名称"), gettext("文件名"),
                                                           gettext("收件日期"), gettext("经办人")], "rows": docs,
             "summary": gettext("归档前须至少上传一份活动记录或照片") if model.status == community.HELD and not docs else None},
        ] + super().record_sections(model)

    def list_links(self):
        return [(gettext("待归档"), self.filter_url("status", FilterEqual, community.HELD))]
