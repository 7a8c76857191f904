"""一户一档: everything the office holds on one unit, read in a fixed, small number of statements.

`household(unit_id)` loads the unit (with its building and estate), the unit's arrears figures
(app.arrears, one aggregate) and one bounded section per entity that carries the unit: the latest
`limit` rows with the total count riding along as a window column (COUNT(*) OVER ()), so each
section is exactly one SELECT whatever the number of rows, and every relationship a row displays
is joined into that same SELECT. Entities the caller may not read are not queried at all.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import contains_eager, joinedload

from app import arrears
from app.extensions import db
from schema import (
    Building,
    CallLog,
    Charge,
    Complaint,
    Custody,
    CustodyPatrol,
    Document,
    Dunning,
    FollowupVisit,
    Inspection,
    MoveIn,
    Ownership,
    Payment,
    ReleaseSlip,
    RenovationPermit,
    Resident,
    ServiceOrder,
    Unit,
    Visitor,
    WorkerPass,
    WorkOrder,
)
from schema.ledger import ChargeStatus

DEFAULT_LIMIT = 10


@dataclass
class Section:
    """One entity's rows for the unit: at most `limit` of them, newest first, and how many there are."""

    key: str
    model: type
    rows: list = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        """Rows not shown."""
        return max(self.total - len(self.rows), 0)


def _owners(unit_id):
    return (select(Ownership).join(Ownership.owner).options(contains_eager(Ownership.owner))
            .where(Ownership.unit_id == unit_id)
            .order_by(Ownership.is_primary.desc(), Ownership.id))


def _residents(unit_id):
    moved_out = case((Resident.move_out_date.is_(None), 0), else_=1)
    return (select(Resident).where(Resident.unit_id == unit_id)
            .order_by(moved_out, Resident.move_in_date.desc(), Resident.id.desc()))


def _charges(unit_id):
    """Open charges (not void, not fully paid), oldest due first: what the unit still owes."""
    return (select(Charge)
            .where(Charge.unit_id == unit_id, Charge.status != ChargeStatus.void.value,
                   Charge.amount > Charge.amount_paid)
            .order_by(Charge.due_date, Charge.id))


def _payments(unit_id):
    return (select(Payment).options(joinedload(Payment.clerk)).where(Payment.unit_id == unit_id)
            .order_by(Payment.paid_at.desc(), Payment.id.desc()))


def _dunnings(unit_id):
    return (select(Dunning).options(joinedload(Dunning.staff)).where(Dunning.unit_id == unit_id)
            .order_by(Dunning.at.desc(), Dunning.id.desc()))


def _documents(unit_id):
    return select(Document).where(Document.unit_id == unit_id).order_by(Document.id.desc())


def _work_orders(unit_id):
    return (select(WorkOrder).options(joinedload(WorkOrder.department)).where(WorkOrder.unit_id == unit_id)
            .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()))


def _followups(unit_id):
    return (select(FollowupVisit).where(FollowupVisit.unit_id == unit_id)
            .order_by(FollowupVisit.planned_date.desc(), FollowupVisit.id.desc()))


def _complaints(unit_id):
    return (select(Complaint).where(Complaint.unit_id == unit_id)
            .order_by(Complaint.received_at.desc(), Complaint.id.desc()))


def _calls(unit_id):
    return select(CallLog).where(CallLog.unit_id == unit_id).order_by(CallLog.at.desc(), CallLog.id.desc())


def _release_slips(unit_id):
    return (select(ReleaseSlip).where(ReleaseSlip.unit_id == unit_id)
            .order_by(ReleaseSlip.created_at.desc(), ReleaseSlip.id.desc()))


def _renovation_permits(unit_id):
    return (select(RenovationPermit).where(RenovationPermit.unit_id == unit_id)
            .order_by(RenovationPermit.applied_at.desc(), RenovationPermit.id.desc()))


def _worker_passes(unit_id):
    return (select(WorkerPass).join(WorkerPass.permit).options(contains_eager(WorkerPass.permit))
            .where(RenovationPermit.unit_id == unit_id)
            .order_by(WorkerPass.valid_to.desc(), WorkerPass.id.desc()))


def _custodies(unit_id):
    return (select(Custody).where(Custody.unit_id == unit_id)
            .order_by(Custody.start_date.desc(), Custody.id.desc()))


def _custody_patrols(unit_id):
    return (select(CustodyPatrol).join(CustodyPatrol.custody).options(contains_eager(CustodyPatrol.custody))
            .where(Custody.unit_id == unit_id)
            .order_by(CustodyPatrol.at.desc(), CustodyPatrol.id.desc()))


def _service_orders(unit_id):
    return (select(ServiceOrder).options(joinedload(ServiceOrder.item)).where(ServiceOrder.unit_id == unit_id)
            .order_by(ServiceOrder.booked_at.desc(), ServiceOrder.id.desc()))


def _visitors(unit_id):
    return select(Visitor).where(Visitor.unit_id == unit_id).order_by(Visitor.time_in.desc(), Visitor.id.desc())


def _move_ins(unit_id):
    return (select(MoveIn).options(joinedload(MoveIn.owner)).where(MoveIn.unit_id == unit_id)
            .order_by(MoveIn.handled_at.desc(), MoveIn.id.desc()))


def _inspections(unit_id):
    return (select(Inspection).where(Inspection.unit_id == unit_id)
            .order_by(Inspection.inspected_at.desc(), Inspection.id.desc()))


SECTIONS: tuple[tuple[str, type, Callable], ...] = (
    ("owners", Ownership, _owners),
    ("residents", Resident, _residents),
    ("charges", Charge, _charges),
    ("payments", Payment, _payments),
    ("dunnings", Dunning, _dunnings),
    ("documents", Document, _documents),
    ("work_orders", WorkOrder, _work_orders),
    ("followups", FollowupVisit, _followups),
    ("complaints", Complaint, _complaints),
    ("calls", CallLog, _calls),
    ("release_slips", ReleaseSlip, _release_slips),
    ("renovation_permits", RenovationPermit, _renovation_permits),
    ("worker_passes", WorkerPass, _worker_passes),
    ("custodies", Custody, _custodies),
    ("custody_patrols", CustodyPatrol, _custody_patrols),
    ("service_orders", ServiceOrder, _service_orders),
    ("visitors", Visitor, _visitors),
    ("move_ins", MoveIn, _move_ins),
    ("inspections", Inspection, _inspections),
)
"""(key, entity shown, unit_id -> select of that entity newest first with its displayed relations loaded)."""

SECTION_MODELS: dict[str, type] = {key: model for key, model, _q in SECTIONS}


def bounded(key: str, model: type, stmt, limit: int) -> Section:
    """The first `limit` rows of `stmt` and the count of all its rows, in one statement."""
    stmt = stmt.add_columns(func.count().over().label("household_total")).limit(limit)
    rows = db.session.execute(stmt).all()
    return Section(key, model, [r[0] for r in rows], int(rows[0][1]) if rows else 0)


def load_unit(unit_id: int) -> Unit | None:
    """The unit with its building and estate (what its name and header read)."""
    stmt = (select(Unit).options(joinedload(Unit.building).joinedload(Building.estate))
            .where(Unit.id == unit_id))
    return db.session.execute(stmt).scalar_one_or_none()


def household(unit_id: int, limit: int = DEFAULT_LIMIT, can_read: Callable[[type], bool] | None = None,
              today=None) -> dict | None:
    """Everything on one unit, or None when there is no such unit.

    can_read(model) says whether the caller may see an entity; sections (and the arrears figures,
    which are charges) it refuses are left out and never queried. Returns
    {"unit": Unit, "arrears": app.arrears.arrears_for_unit(...) or None, "sections": {key: Section}},
    sections in SECTIONS order. One statement for the unit, one for the arrears, one per section.
    """
    can_read = can_read or (lambda model: True)
    unit = load_unit(unit_id)
    if unit is None:
        return None
    sections = {key: bounded(key, model, query(unit_id), limit)
                for key, model, query in SECTIONS if can_read(model)}
    figures = arrears.arrears_for_unit(unit_id, today) if can_read(Charge) else None
    return {"unit": unit, "arrears": figures, "sections": sections}
