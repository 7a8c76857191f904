"""Builds the Admin from the schema registry; a few tables add behaviour through a subclass."""
from pathlib import Path

from flask import url_for
from flask_admin import Admin
from flask_admin.menu import MenuLink
from flask_babel import lazy_gettext as _l
from flask_admin.theme import Bootstrap4Theme

from app.extensions import db
from app.security import csp_nonce
from schema import REGISTRY
from schema.spec import validate_spec

from .arrears import ArrearsView
from .audit_log import AuditLogView
from .community import BulletinPostView, CommunityEventView
from .complaints import CallLogView, ComplaintView
from .custody import CustodyView
from .documents import DocumentView
from .dunning import DunningView
from .generic import SchemaView, allowed
from .home import HomeView
from .household import HouseholdView
from .importing import ImportView
from .leasing import LeaseView
from .occupancy import InspectionView, MoveInView
from .ledger import ChargeView, PaymentView
from .property import UnitView
from .release import ReleaseSlipView
from .reports import MonthlyReportView
from .saved_views import SavedViewView
from .search import SearchView
from .services import ServiceOrderView
from .visits import FollowupVisitView, SurveyView
from .renovation import RenovationCheckView, RenovationPermitView, WorkerPassView
from .supervision import DeptCheckView, NotificationView, PatrolView
from .users import AppUserView
from .visitors import VisitorView
from .work_orders import WorkOrderView

BEHAVIOUR = {"document": DocumentView, "app_user": AppUserView, "audit_log": AuditLogView, "unit": UnitView,
             "charge": ChargeView, "payment": PaymentView, "lease": LeaseView, "dunning": DunningView,
             "work_order": WorkOrderView, "custody": CustodyView, "move_in": MoveInView, "inspection": InspectionView,
             "complaint": ComplaintView, "call_log": CallLogView, "release_slip": ReleaseSlipView, "visitor": VisitorView,
             "renovation_permit": RenovationPermitView, "worker_pass": WorkerPassView,
             "renovation_check": RenovationCheckView, "dept_check": DeptCheckView, "patrol": PatrolView,
             "notification": NotificationView, "followup_visit": FollowupVisitView, "survey": SurveyView,
             "bulletin_post": BulletinPostView, "community_event": CommunityEventView,
             "service_order": ServiceOrderView, "saved_view": SavedViewView}
"""Tables whose view adds behaviour (uploads, passwords, history); all others are pure spec."""


class PermittedLink(MenuLink):
    """A menu shortcut into another view, shown only to roles holding `perm` on that model's spec
    (工程出单 under 前台服务 opens a new work order: the one work-order flow, reached from the desk)."""

    def __init__(self, name, endpoint, model, perm, category):
        super().__init__(name, endpoint=endpoint, category=category)
        self.spec, self.perm = model.__admin__, perm

    def get_url(self):
        return url_for(self.endpoint)

    def is_accessible(self):
        return allowed(self.spec, self.perm)

    def is_visible(self):
        return self.is_accessible()


def build_views(registry=REGISTRY):
    """Validate every spec (an unknown column fails here, at start-up) and build its view."""
    views = []
    for model in registry:
        validate_spec(model)
        views.append(BEHAVIOUR.get(model.__tablename__, SchemaView)(model, db))
    return views


def init_app(app, registry=REGISTRY) -> Admin:
    admin = Admin(
        app,
        name=app.config["ESTATE_NAME"],
        theme=Bootstrap4Theme(base_template="admin/propdesk_base.html", fluid=True),
        index_view=HomeView(name=_l("首页"), url="/admin"),
        translations_path=str(Path(app.root_path) / "translations"),
        csp_nonce_generator=csp_nonce,
    )
    admin.add_views(*build_views(registry))
    admin.add_views(ArrearsView("unit", name=_l("物业费欠费"), endpoint="arrears_unit", category=_l("招租收费")),
                    ArrearsView("lease", name=_l("租金欠费"), endpoint="arrears_lease", category=_l("招租收费")),
                    MonthlyReportView(name=_l("月度统计报表"), endpoint="monthly_report", category=_l("回访与社区")),
                    HouseholdView(name=_l("一户一档"), endpoint="household"),
                    ImportView(name=_l("数据导入"), endpoint="import", category=_l("系统")),
                    SearchView(name=_l("全局搜索"), endpoint="search"))
    from schema.work_orders import WorkOrder

    admin.add_link(PermittedLink(_l("工程出单"), "work_order.create_view", WorkOrder, "create", _l("前台服务")))
    app.extensions["propdesk_admin"] = admin
    return admin
