"""Custody: alerts (usage over 5 water / 20 electricity, no patrol in 7 days) on the list and details."""
from flask import g
from markupsafe import Markup, escape

from app import clock
from app import custody as rules

from .formatting import display
from .generic import SchemaView, _link


class CustodyView(SchemaView):
    def __init__(self, model, db_):
        super().__init__(model, db_)
        self.column_formatters = {**self.column_formatters, "unit": self._unit_with_alerts}

    @staticmethod
    def _unit_with_alerts(view, context, obj, name):
        if "custody_alerts" not in g:
            g.custody_alerts = rules.alerting_custody_ids(clock.today())
        link = _link(view, context, obj, name)
        if obj.id not in g.custody_alerts:
            return link
        badges = "".join(f' <span class="badge badge-danger custody-alert">{escape(a)}</span>'
                         for a in rules.custody_alerts(obj, clock.today()))
        return Markup(f"{escape(link)}{badges}")

    def list_summary(self):
        alerts = rules.alerting_custody_ids(clock.today())
        return f"有 {len(alerts)} 户托管房屋需要处理(用量超限或超过7天未巡查)" if alerts else None

    def record_sections(self, model):
        from schema.custody import CustodyPatrol

        alerts = rules.custody_alerts(model, clock.today())
        patrols = [[display(CustodyPatrol, "at", p.at), display(CustodyPatrol, "kind", p.kind), p.patroller or "",
                    display(CustodyPatrol, "water_reading", p.water_reading),
                    display(CustodyPatrol, "electricity_reading", p.electricity_reading), p.findings or "",
                    display(CustodyPatrol, "owner_notified", p.owner_notified)]
                   for p in sorted(model.patrols, key=lambda p: p.at, reverse=True)]
        return [{"title": "提醒", "headers": ["提醒事项"], "rows": [[a] for a in alerts]},
                {"title": "巡查记录", "headers": ["巡查时间", "类别", "巡查人", "水表", "电表", "发现问题", "已通知业主"],
                 "rows": patrols,
                 "summary": f"托管上限:用水 {rules.WATER_LIMIT},用电 {rules.ELECTRICITY_LIMIT};物业费按 70% 收取"}]
