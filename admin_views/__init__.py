"""Builds the Admin from the schema registry; a few tables add behaviour through a subclass."""
from pathlib import Path

from flask_admin import Admin
from flask_babel import lazy_gettext as _l
from flask_admin.theme import Bootstrap4Theme

from app.extensions import db
from schema import REGISTRY
from schema.spec import validate_spec

from .arrears import ArrearsView
from .audit_log import AuditLogView
from .custody import CustodyView
from .documents import DocumentView
from .dunning import DunningView
from .generic import SchemaView
from .home import HomeView
from .leasing import LeaseView
from .occupancy import InspectionView, MoveInView
from .ledger import ChargeView, PaymentView
from .property import UnitView
from .users import AppUserView
from .work_orders import WorkOrderView

BEHAVIOUR = {"document": DocumentView, "app_user": AppUserView, "audit_log": AuditLogView, "unit": UnitView,
             "charge": ChargeView, "payment": PaymentView, "lease": LeaseView, "dunning": DunningView,
             "work_order": WorkOrderView, "custody": CustodyView, "move_in": MoveInView, "inspection": InspectionView}
"""Tables whose view adds behaviour (uploads, passwords, history); all others are pure spec."""


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
    )
    admin.add_views(*build_views(registry))
    admin.add_views(ArrearsView("unit", name=_l("物业费欠费"), endpoint="arrears_unit", category=_l("招租收费")),
                    ArrearsView("lease", name=_l("租金欠费"), endpoint="arrears_lease", category=_l("招租收费")))
    app.extensions["propdesk_admin"] = admin
    return admin
