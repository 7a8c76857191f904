"""Release slips at the desk: issue through the arrears gate and the owner's confirmation, the
supervisor's written override, the guard's stamp, voiding, and the printable A5 slip."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext
from flask_login import current_user
from wtforms.validators import ValidationError

from app import actors, clock, release
from schema.release import ReleaseSlip

from .complaints import unit_status_section
from .formatting import display, parse_when
from .generic import SchemaView, parse_ids

PRINTABLE = (release.ISSUED, release.RELEASED, release.VOID)


class ReleaseSlipView(SchemaView):
    confirm_actions = {
        "confirm_owner": ("业主电话确认", "confirm_owner_records", False),
        "override": ("欠费放行审批", "override_records"),
        "issue": ("开具放行条", "issue_records", False),
        "release": ("已放行", "release_records", False),
        "void": ("作废放行条", "void_records"),
    }
    extra_permissions = {"print_view": "action:print"}

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        model.id_number = (model.id_number or "").strip().upper()
        if is_created:
            model.created_at = clock.now()
            model.created_by = current_user.username
            model.status = release.DRAFT
        if not [item for item in model.items if item not in self.db_session.deleted]:
            raise ValidationError("请至少登记一件放行物品")

    def action_applies(self, name, model):
        if name == "confirm_owner":
            return model.status in (release.DRAFT, release.REFUSED) and release.needs_owner_confirmation(model)
        if name == "override":
            return model.status in (release.DRAFT, release.REFUSED) and not model.override_by \
                and release.unit_overdue(model) > 0
        if name == "issue":
            return model.status in (release.DRAFT, release.REFUSED)
        if name == "release":
            return model.status == release.ISSUED
        return model.status not in (release.RELEASED, release.VOID)

    @action("print", "打印")
    def action_print(self, ids):
        return redirect(url_for(".print_view", ids=",".join(map(str, ids))))

    def _first_selected(self):
        ids = (request.values.get("ids") or "").split(",")
        return self.get_one(ids[0]) if ids and ids[0] else None

    def confirm_fields(self, name):
        now = clock.now().strftime("%Y-%m-%dT%H:%M")
        if name == "issue":
            return [{"name": "id_checked", "label": "已查验申请人身份证件原件", "type": "select",
                     "options": [("", "(请选择)"), ("1", "是,证件与申请人一致")]}]
        if name == "confirm_owner":
            slip = self._first_selected()
            owner = next((o.owner for o in slip.unit.ownerships if o.is_primary), None) if slip else None
            return [{"name": "confirmed_by", "label": "确认的业主姓名", "type": "text",
                     "value": owner.name if owner else ""},
                    {"name": "phone", "label": "拨打的业主电话", "type": "text", "value": owner.phone if owner else ""},
                    {"name": "at", "label": "确认时间", "type": "datetime-local", "value": now}]
        if name == "release":
            return [{"name": "guard", "label": "放行门岗(姓名)", "type": "text"},
                    {"name": "at", "label": "放行时间", "type": "datetime-local", "value": now}]
        return []

    def issue_records(self, records, form):
        issued, refused = [], []
        for slip in records:
            refusal = release.issue(slip, user=current_user, id_checked=form.get("id_checked") == "1")
            (refused if refusal else issued).append(slip)
            if refusal:
                flash(f"{slip}:{refusal}", "error")
        if not issued:
            return f"{len(refused)} 张放行条因欠费被拒开,已记录", "error"
        text = f"已开具放行条 {'、'.join(s.number for s in issued)}"
        return text + (f";{len(refused)} 张因欠费被拒开" if refused else "")

    def confirm_owner_records(self, records, form):
        for slip in records:
            release.confirm_owner(slip, confirmed_by=form.get("confirmed_by", ""), phone=form.get("phone", ""),
                                  user=current_user, at=parse_when(form.get("at")))
        return f"已记录业主电话确认 {len(records)} 张"

    def override_records(self, records, form):
        for slip in records:
            release.override_arrears(slip, reason=form.get("reason", ""), user=current_user)
        return f"已审批欠费放行 {len(records)} 张,请前台开具"

    def release_records(self, records, form):
        for slip in records:
            release.release(slip, guard=form.get("guard", ""), user=current_user, at=parse_when(form.get("at")))
        return f"已放行 {len(records)} 张"

    def void_records(self, records, form):
        for slip in records:
            release.void(slip, reason=form.get("reason", ""), user=current_user)
        return f"已作废 {len(records)} 张放行条"

    def record_links(self, model):
        links = super().record_links(model)
        if model.status in PRINTABLE and self.allowed("action:print"):
            links.insert(0, (gettext("打印放行条"), url_for(".print_view", ids=model.id)))
        return links

    def record_sections(self, model):
        rows = [["申请人身份", "业主本人" if release.applicant_is_owner(model) else
                 ("非业主,业主已电话确认:" + (model.owner_confirmed_by or "") if model.owner_confirmed
                  else "非业主,须电话联系业主确认")]]
        if model.refused_reason:
            rows.append(["拒开记录", f"{display(ReleaseSlip, 'refused_at', model.refused_at)} {model.refused_reason}"])
        if model.override_by:
            rows.append(["欠费放行审批", f"{model.override_by}:{model.override_reason}"])
        return super().record_sections(model) + [unit_status_section(model.unit, rows)]

    def list_links(self):
        return [(gettext("已开具未放行"), self.filter_url("status", FilterEqual, "issued")),
                (gettext("已拒开"), self.filter_url("status", FilterEqual, "refused"))]

    @expose("/print/")
    def print_view(self):
        ids = parse_ids((request.args.get("ids") or "").split(","))
        slips = self.get_query().filter(ReleaseSlip.id.in_(ids)).order_by(ReleaseSlip.id).all() if ids else []
        printable = [s for s in slips if s.status in PRINTABLE]
        if not printable:
            flash("只有已开具的放行条可以打印", "error")
            return redirect(url_for(".index_view"))
        return render_template("print/release_slip.html", person=actors.person, slips=printable, display=display,
                               Slip=ReleaseSlip,
                               estate_of=estate_name)


def estate_name(unit) -> str:
    """The estate a unit belongs to, for the heading of a printed slip."""
    from flask import current_app

    building = getattr(unit, "building", None)
    estate = getattr(building, "estate", None)
    return estate.name if estate else current_app.config["ESTATE_NAME"]
