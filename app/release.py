"""Release slips (放行条): the arrears gate, the owner's confirmation, numbering and the slip's life.

The manual (前台操作, 物品放行): 查看证件;查询缴费情况;登记放行物品;确认身份,必要时电话联系业主.
A unit with overdue fees is refused a slip unless a supervisor overrides it with a written reason;
an applicant who is not an owner of the unit needs the owner's confirmation by phone first.

Plain functions on the current session: they add and flush but never commit; the caller commits.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from . import clock
from .actors import username_of
from .arrears import arrears_for_unit
from .audit import audit_context
from .extensions import db
from .numbering import next_number

PREFIX = "FX"
OVERRIDE_ROLES = frozenset({"admin", "manager", "supervisor"})
DRAFT, REFUSED, ISSUED, RELEASED, VOID = "draft", "refused", "issued", "released", "void"


class ReleaseError(ValueError):
    """A release-slip step refused, with a Chinese message for the user."""


def open_slip(*, unit, applicant, id_number, relation="owner", reason, items, phone=None, created_by=None,
              at: datetime | None = None, note=None):
    """Record an application; `items` is a list of (description, quantity[, measure])."""
    from schema.release import ReleaseItem, ReleaseSlip

    slip = ReleaseSlip(unit=unit, applicant=applicant, id_number=(id_number or "").strip().upper(),
                       relation=relation, reason=reason, phone=phone, status=DRAFT, note=note,
                       created_at=at or clock.now(), created_by=username_of(created_by) or created_by)
    for line in items:
        description, quantity, *measure = line
        slip.items.append(ReleaseItem(description=description, quantity=int(quantity),
                                      measure=measure[0] if measure else "件"))
    with audit_context(db.session, action="登记放行申请", username=username_of(created_by)):
        db.session.add(slip)
        db.session.flush()
    return slip


def unit_owner_ids(unit) -> set[str]:
    """The ID numbers of the unit's owners, upper-cased."""
    return {o.owner.id_number.strip().upper() for o in getattr(unit, "ownerships", ())
            if o.owner and (o.owner.id_number or "").strip()}


def applicant_is_owner(slip) -> bool:
    number = (slip.id_number or "").strip().upper()
    return bool(number) and number in unit_owner_ids(slip.unit)


def needs_owner_confirmation(slip) -> bool:
    """An applicant who is not an owner of the unit needs the owner's confirmation by phone."""
    return not applicant_is_owner(slip) and not slip.owner_confirmed


def unit_overdue(slip, today=None) -> Decimal:
    """What the unit owes past its due dates (0 when it is paid up)."""
    return Decimal(arrears_for_unit(slip.unit_id, today)["overdue"] or 0)


def arrears_gate(slip, today=None) -> str | None:
    """Why the slip may not be issued for payment reasons, or None (paid up, or a supervisor overrode)."""
    owed = unit_overdue(slip, today)
    if owed <= 0 or slip.override_by:
        return None
    return f"该房屋欠费 {owed:,.2f} 元,不能开具放行条;如确需放行,须由主管填写理由审批"


def _editable(slip, action: str) -> None:
    if slip.status not in (DRAFT, REFUSED):
        from schema.release import SlipStatus

        raise ReleaseError(f"放行条{SlipStatus.label_of(slip.status)},不能{action}")


def confirm_owner(slip, *, confirmed_by: str, phone: str, user=None, at: datetime | None = None) -> None:
    """Record who, as owner, confirmed the release by phone and when."""
    _editable(slip, "再确认")
    if not (confirmed_by or "").strip() or not (phone or "").strip():
        raise ReleaseError("请填写确认的业主姓名和联系电话")
    owners = {o.owner.name for o in slip.unit.ownerships if o.owner}
    if confirmed_by.strip() not in owners:
        raise ReleaseError(f"{confirmed_by} 不是该房屋登记的业主(业主:{'、'.join(sorted(owners)) or '无'})")
    with audit_context(db.session, action="业主电话确认", note=f"{confirmed_by.strip()} {phone.strip()}",
                       username=username_of(user)):
        slip.owner_confirmed = True
        slip.owner_confirmed_by = confirmed_by.strip()
        slip.owner_confirm_phone = phone.strip()
        slip.owner_confirmed_at = at or clock.now()
        db.session.flush()


def override_arrears(slip, *, reason: str, user, at: datetime | None = None) -> None:
    """A supervisor lets a unit with arrears have its slip, in writing; the audit row carries the reason."""
    _editable(slip, "审批")
    if not set(getattr(user, "roles", ())) & OVERRIDE_ROLES:
        raise ReleaseError("只有主管或管理处主任可以审批欠费放行")
    if not (reason or "").strip():
        raise ReleaseError("请填写欠费放行的理由")
    with audit_context(db.session, action="欠费放行审批", note=reason.strip(), username=username_of(user)):
        slip.override_by = username_of(user)
        slip.override_reason = reason.strip()
        slip.override_at = at or clock.now()
        db.session.flush()


def issue(slip, *, user, id_checked: bool, at: datetime | None = None) -> str | None:
    """Issue the slip: ID seen, items listed, arrears gate, owner confirmation; numbers it FXyyyymmdd-nnnn.

    A payment refusal is recorded on the slip (status 已拒开) and returned as the message, so the
    caller commits it; every other refusal raises ReleaseError and writes nothing.
    """
    _editable(slip, "开具")
    if not id_checked:
        raise ReleaseError("开具前须查验申请人身份证件")
    if not slip.items:
        raise ReleaseError("请先登记放行物品")
    at = at or clock.now()
    refusal = arrears_gate(slip, at.date())
    if refusal:
        owed, is_owner = unit_overdue(slip, at.date()), applicant_is_owner(slip)
        with audit_context(db.session, action="拒开放行条", note=refusal, username=username_of(user)):
            slip.status = REFUSED
            slip.refused_at = at
            slip.refused_reason = refusal
            slip.arrears_at_issue = owed
            slip.applicant_is_owner = is_owner
            slip.id_checked = True
            db.session.flush()
        return refusal
    if needs_owner_confirmation(slip):
        raise ReleaseError("申请人不是该房屋业主,须先电话联系业主确认后才能开具")
    with audit_context(db.session, action="开具放行条", username=username_of(user)):
        is_owner, owed, number = applicant_is_owner(slip), unit_overdue(slip, at.date()), next_number(PREFIX, at.date())
        slip.id_checked = True
        slip.applicant_is_owner = is_owner
        slip.arrears_at_issue = owed
        slip.number = number
        slip.status = ISSUED
        slip.issued_at = at
        slip.issued_by = username_of(user)
        db.session.flush()
    return None


def release(slip, *, guard: str, user=None, at: datetime | None = None) -> None:
    """The guard lets the goods out: stamp who and when."""
    if slip.status != ISSUED:
        raise ReleaseError("只有已开具的放行条才能放行")
    if not (guard or "").strip():
        raise ReleaseError("请填写放行门岗")
    with audit_context(db.session, action="已放行", username=username_of(user)):
        slip.status = RELEASED
        slip.guard = guard.strip()
        slip.released_at = at or clock.now()
        db.session.flush()


def void(slip, *, reason: str, user, at: datetime | None = None) -> None:
    """Void a slip that has not been used; the number stays taken."""
    if slip.status in (RELEASED, VOID):
        raise ReleaseError("已放行或已作废的放行条不能作废")
    if not (reason or "").strip():
        raise ReleaseError("请填写作废原因")
    with audit_context(db.session, action="作废", note=reason.strip(), username=username_of(user)):
        slip.status = VOID
        slip.void_reason = reason.strip()
        slip.voided_at = at or clock.now()
        slip.voided_by = username_of(user)
        db.session.flush()
