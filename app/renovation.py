"""Renovation permits (装修许可): the approval preconditions, the permit and pass numbers, the notices to
maintenance and security, the unit's 装修中 status while works run, passes' validity, the waste fee.

The manual (业主装修接待): 委托办理的须有业主委托书和受托人身份证(复印件存入房屋档案);告知装修时间和
禁止事项;签订装修协议;审核装修方案;涉及改动主体结构或明显增加荷载的,须有房管部门的拆改批准书;
发放施工许可证和临时出入证;收取装修垃圾清运费;通知工程维修部和秩序维护部;装修期间巡查.

Plain functions on the current session: they add and flush but never commit; the caller commits.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from . import clock
from .actors import username_of
from .audit import audit_context
from .extensions import db
from .numbering import next_number

PREFIX = "ZX"
APPLIED, REVIEWED, APPROVED, IN_PROGRESS, COMPLETED, REJECTED = (
    "applied", "reviewed", "approved", "in_progress", "completed", "rejected")
PROXY_DOCUMENTS = ("power_of_attorney", "proxy_id_copy")
ALTERATION_DOCUMENT = "alteration_approval"
NOTIFIED_DEPARTMENTS = ("工程维修部", "秩序维护部")


class RenovationError(ValueError):
    """A renovation step refused, with a Chinese message for the user."""


def _move(permit, allowed: tuple, target: str, verb: str) -> None:
    from schema.renovation import PermitStatus

    if permit.status not in allowed:
        raise RenovationError(f"装修申请处于“{PermitStatus.label_of(permit.status)}”,不能{verb}")
    permit.status = target


def documents_on_file(permit) -> set[str]:
    """DocType codes on the unit's file (the manual archives proxy papers and approvals there)."""
    from schema.documents import Document

    db.session.flush()
    return set(db.session.execute(select(Document.doc_type).where(Document.unit_id == permit.unit_id)).scalars())


def required_documents(permit) -> tuple[str, ...]:
    """委托书 and 受托人身份证 for a proxy; 拆改批准书 for structural changes or added load."""
    needed = PROXY_DOCUMENTS if permit.applicant_kind == "proxy" else ()
    if permit.structural or permit.added_load:
        needed += (ALTERATION_DOCUMENT,)
    return needed


def missing_documents(permit) -> list[str]:
    on_file = documents_on_file(permit)
    return [code for code in required_documents(permit) if code not in on_file]


def approval_problems(permit) -> list[str]:
    """Everything that stops approval, in the manual's order; empty when the permit may be approved."""
    from schema.documents import DocType

    problems = []
    if permit.status != REVIEWED:
        problems.append("装修方案尚未审核")
    if not permit.agreement_signed:
        problems.append("业主尚未签订装修协议")
    if not permit.rules_acknowledged:
        problems.append("尚未告知装修时间及禁止事项")
    missing = missing_documents(permit)
    if ALTERATION_DOCUMENT in missing:
        problems.append("方案改动主体结构或明显增加荷载,须先取得房管部门的拆改批准书")
    problems += [f"受托人代办缺少{DocType.label_of(code)}" for code in missing if code != ALTERATION_DOCUMENT]
    return problems


def review(permit, *, user, note: str = "", at: datetime | None = None) -> None:
    """The plan has been reviewed (审核装修方案)."""
    with audit_context(db.session, action="审核方案", note=note or None, username=username_of(user)):
        _move(permit, (APPLIED,), REVIEWED, "审核")
        permit.plan_reviewed_by = username_of(user)
        permit.plan_reviewed_at = at or clock.now()
        permit.review_note = (note or "").strip() or None
        db.session.flush()


PLAN_FIELDS = ("plan_summary", "structural", "added_load", "planned_start", "planned_end", "contractor")


def plan_changed(permit) -> bool:
    """Whether an edit touched what the review approved (plan, structure, load, period, contractor)."""
    from sqlalchemy import inspect

    state = inspect(permit)
    return any(state.attrs[name].history.has_changes() for name in PLAN_FIELDS)


def reopen_review(permit) -> None:
    """A reviewed plan that was changed goes back for review."""
    permit.status = APPLIED
    permit.plan_reviewed_by = permit.plan_reviewed_at = None


def _departments(names):
    from schema.org import Department

    found = {d.name: d for d in db.session.execute(select(Department).where(Department.name.in_(names))).scalars()}
    missing = [n for n in names if n not in found]
    if missing:
        raise RenovationError(f"未登记部门:{'、'.join(missing)},无法发出装修通知")
    return [found[n] for n in names]


def approve(permit, *, user, at: datetime | None = None):
    """Approve: preconditions, permit number ZXyyyymmdd-nnnn, pass numbers, one notice per department."""
    from schema.notifications import Notification

    problems = approval_problems(permit)
    if problems:
        raise RenovationError(";".join(problems))
    at = at or clock.now()
    who = username_of(user)
    departments = _departments(NOTIFIED_DEPARTMENTS)
    with audit_context(db.session, action="批准装修", username=who):
        _move(permit, (REVIEWED,), APPROVED, "批准")
        permit.number = next_number(PREFIX, at.date())
        permit.approved_at, permit.approved_by = at, who
        number_passes(permit)
        notices = [Notification(department=d, subject=f"装修许可 {permit.number}:{permit.unit} 将于 "
                                f"{permit.planned_start:%Y-%m-%d} 开工",
                                content=f"施工单位:{permit.contractor}({permit.contractor_phone});"
                                f"工期 {permit.planned_start:%Y-%m-%d} 至 {permit.planned_end:%Y-%m-%d};"
                                f"方案:{permit.plan_summary}", source_table="renovation_permit",
                                source_id=permit.id, created_at=at, created_by=who) for d in departments]
        db.session.add_all(notices)
        db.session.flush()
    return notices


def reject(permit, *, reason: str, user) -> None:
    if not (reason or "").strip():
        raise RenovationError("请填写驳回原因")
    with audit_context(db.session, action="驳回装修申请", note=reason.strip(), username=username_of(user)):
        _move(permit, (APPLIED, REVIEWED), REJECTED, "驳回")
        permit.rejected_reason = reason.strip()
        db.session.flush()


def start_works(permit, *, user, at: datetime | None = None) -> None:
    """Works begin: the unit shows 装修中 until they end."""
    with audit_context(db.session, action="开工", username=username_of(user)):
        _move(permit, (APPROVED,), IN_PROGRESS, "开工")
        permit.started_at = at or clock.now()
        permit.unit_status_before = permit.unit.status if permit.unit.status != "renovating" else _status_before_works(permit)
        permit.unit.status = "renovating"
        db.session.flush()


def _status_before_works(permit):
    """The unit status remembered by another permit still running on the same unit (overlapping works)."""
    from schema.renovation import RenovationPermit

    return db.session.scalar(select(RenovationPermit.unit_status_before).where(
        RenovationPermit.unit_id == permit.unit_id, RenovationPermit.status == IN_PROGRESS,
        RenovationPermit.id != permit.id, RenovationPermit.unit_status_before.is_not(None)).limit(1))


def complete_works(permit, *, user, at: datetime | None = None) -> None:
    """Works end: the unit returns to its status before the works (unless another permit still runs)."""
    from schema.renovation import RenovationPermit

    with audit_context(db.session, action="完工", username=username_of(user)):
        _move(permit, (IN_PROGRESS,), COMPLETED, "完工")
        permit.completed_at = at or clock.now()
        others = db.session.execute(select(RenovationPermit.id).where(
            RenovationPermit.unit_id == permit.unit_id, RenovationPermit.status == IN_PROGRESS,
            RenovationPermit.id != permit.id)).first()
        if others is None and permit.unit.status == "renovating":
            permit.unit.status = permit.unit_status_before or "occupied"
        db.session.flush()


def pass_problem(worker_pass, permit=None) -> str | None:
    """A pass must lie within its permit's planned period."""
    permit = permit or worker_pass.permit
    start, end = worker_pass.valid_from, worker_pass.valid_to
    if start and end and end < start:
        return "出入证有效期结束日期不能早于开始日期"
    if permit is not None and start and end and (start < permit.planned_start or end > permit.planned_end):
        return (f"出入证有效期须在装修工期内({permit.planned_start:%Y-%m-%d} 至 "
                f"{permit.planned_end:%Y-%m-%d})")
    return None


def pass_expired(worker_pass, today: date | None = None) -> bool:
    return worker_pass.valid_to is not None and worker_pass.valid_to < (today or clock.today())


def number_passes(permit) -> None:
    """Passes of an approved permit are numbered <permit number>-01, -02, … in the order added."""
    if not permit.number:
        return
    taken = [int(p.pass_no.rsplit("-", 1)[1]) for p in permit.passes if p.pass_no]
    nxt = max(taken, default=0) + 1
    for p in sorted(permit.passes, key=lambda p: (p.id is None, p.id or 0)):
        if not p.pass_no:
            p.pass_no = f"{permit.number}-{nxt:02d}"
            nxt += 1


def collect_waste_fee(permit, *, method, clerk=None, at: datetime | None = None):
    """装修垃圾清运费 into the ledger: a charge and its receipt; the permit keeps the receipt."""
    from .ledger import charge_and_collect

    if permit.waste_fee_paid:
        raise RenovationError("装修垃圾清运费已收取")
    if permit.status == REJECTED:
        raise RenovationError("装修申请已驳回,不能收取清运费")
    if not permit.waste_fee or permit.waste_fee <= 0:
        raise RenovationError("请先在装修申请中填写装修垃圾清运费金额")
    with audit_context(db.session, action="收取装修垃圾清运费", username=username_of(clerk)):
        payment = charge_and_collect(kind="garbage_fee", amount=permit.waste_fee, method=method, unit=permit.unit,
                                     owner=permit.owner, period=f"装修 {permit}", note="装修垃圾清运费",
                                     clerk=clerk, at=at)
        permit.waste_fee_paid = True
        permit.waste_fee_payment = payment
        db.session.flush()
    return payment


def note_check(check) -> None:
    """A check that found a violation marks its permit (highlighted in the list)."""
    if check.violation and check.permit is not None and not check.permit.violation:
        check.permit.violation = True
