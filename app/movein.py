"""Move-in (为业主办理入住服务): the documents each way of handling needs, what is still missing before
a move-in can be completed, completing it, and collecting the management fee at move-in.

The manual (一、为业主办理入住服务):
业主本人办理:业主身份证、入住通知单、房屋买卖契约;
业主委托他人代为办理:除上述资料外,还需提供委托人身份证及委托书;
单位购买:除上述资料外,还需提供单位证明及个人身份证明。
填写住户登记表;签订相关规定或协议。发放物品:房屋钥匙、住户手册、房屋水电图。收取费用:物业管理费。
房屋验收时查抄水表、电表、煤气表底数并共同确认。

Plain functions on the current session: they add and flush but never commit; the caller commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from . import clock
from .audit import audit_context
from .extensions import db
from .actors import code_of as _code, username_of as _username

_BASE = ("id_copy", "movein_notice", "purchase_contract")

# Required Document types (DocType codes) by HandlerKind code.
# company: the manual's 单位证明 (company_proof) plus the 个人身份证明 of the person handling it for the
# company. There is no separate DocType for that, so proxy_id_copy stands for the handler's personal ID
# (shown as "经办人身份证明", see HANDLER_LABELS) — for a proxy it is the 受托人's ID copy.
REQUIRED_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "owner": _BASE,
    "proxy": _BASE + ("power_of_attorney", "proxy_id_copy"),
    "company": _BASE + ("company_proof", "proxy_id_copy"),
}

# Labels that differ from DocType.label_of for one way of handling.
HANDLER_LABELS: dict[str, dict[str, str]] = {
    "company": {"proxy_id_copy": "经办人身份证明"},
}

COMPLETED = "completed"


class MoveInError(ValueError):
    """A move-in operation refused, with a Chinese message for the user."""


# ---------------------------------------------------------------- helpers





def _kind(move_in) -> str:
    return _code(move_in.handler_kind) or "owner"


def required_documents(move_in) -> tuple[str, ...]:
    """The DocType codes this move-in needs (by its handler kind; unknown kinds as 本人)."""
    return REQUIRED_DOCUMENTS.get(_kind(move_in), REQUIRED_DOCUMENTS["owner"])


def document_label(doc_type: str, handler_kind="owner") -> str:
    from schema.documents import DocType

    override = HANDLER_LABELS.get(_code(handler_kind) or "owner", {})
    return override.get(doc_type) or DocType.label_of(doc_type)


def required_document_labels(move_in) -> list[str]:
    """The Chinese labels of the required documents, in the manual's order."""
    kind = _kind(move_in)
    return [document_label(t, kind) for t in required_documents(move_in)]


def _id(obj_id, obj):
    if obj_id is not None:
        return obj_id
    return getattr(obj, "id", None)


# ---------------------------------------------------------------- checks


def missing_documents(move_in) -> list[str]:
    """Labels of the required documents with no Document on file for this owner or this unit
    (either link counts), in the manual's order."""
    from schema.documents import Document

    required = required_documents(move_in)
    db.session.flush()
    owner_id = _id(move_in.owner_id, move_in.owner)
    unit_id = _id(move_in.unit_id, move_in.unit)
    links = []
    if owner_id is not None:
        links.append(Document.owner_id == owner_id)
    if unit_id is not None:
        links.append(Document.unit_id == unit_id)
    on_file: set[str] = set()
    if links:
        on_file = set(db.session.execute(
            select(Document.doc_type).where(Document.doc_type.in_(required), or_(*links)).distinct()).scalars())
    kind = _kind(move_in)
    return [document_label(t, kind) for t in required if t not in on_file]


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def completion_problems(move_in) -> list[str]:
    """What still stands between this move-in and 完成入住 (empty list: ready)."""
    problems = []
    missing = missing_documents(move_in)
    if missing:
        problems.append("缺少资料:" + "、".join(missing))
    if not move_in.registration_form_signed:
        problems.append("未填写住户登记表")
    if not move_in.agreements_signed:
        problems.append("未签订相关协议")
    if (move_in.keys_count or 0) < 1:
        problems.append("未移交钥匙")
    if not move_in.handbook_given:
        problems.append("未发放住户手册")
    if not move_in.drawings_given:
        problems.append("未发放水电图")
    readings = (move_in.water_reading, move_in.electricity_reading, move_in.gas_reading)
    if not move_in.readings_confirmed or any(_empty(r) for r in readings):
        problems.append("水电燃气读数未经业主确认")
    if move_in.fee_payment_id is None and move_in.fee_payment is None:
        problems.append("未收取物业管理费")
    return problems


# ---------------------------------------------------------------- completing


def complete_move_in(move_in, user=None, at: datetime | None = None):
    """完成入住: every check passed; the unit becomes 已入住 and gets its handover date (if it has none)."""
    from schema.occupancy import MoveInStatus
    from schema.property import UnitStatus

    if _code(move_in.status) == COMPLETED:
        raise MoveInError("该入住已办理完成")
    problems = completion_problems(move_in)
    if problems:
        raise MoveInError("；".join(problems))
    at = at or clock.now()
    with audit_context(db.session, action="完成入住", username=_username(user)):
        move_in.status = MoveInStatus.completed.value
        move_in.completed_at = at
        unit = move_in.unit
        unit.status = UnitStatus.occupied.value
        if unit.handover_date is None:
            unit.handover_date = at.date()
        db.session.flush()
    return move_in


# ---------------------------------------------------------------- the fee


MAX_PREPAID_MONTHS = 120
"""Ten years ahead at most: more is a typo (and a span past year 9999 cannot be dated)."""


def collect_move_in_fee(move_in, amount, method, months: int = 1, clerk=None, at: datetime | None = None):
    """收取物业管理费 at move-in: a 物业管理费 charge "入住预收N个月" due today, paid at once by a receipt
    (ledger.record_payment, allocated to that charge). The charge covers N calendar months from the
    move-in's month (period_start..period_end), which monthly billing then leaves out. Returns the Payment."""
    from schema.ledger import ChargeKind, PayMethod

    from .ledger import amount_input, charge_and_collect

    if move_in.fee_payment is not None:
        raise MoveInError(f"该入住已收取物业管理费,收据号 {move_in.fee_payment.receipt_no}")
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise MoveInError("预收月数须为正整数")
    if months > MAX_PREPAID_MONTHS:
        raise MoveInError(f"预收月数不能超过{MAX_PREPAID_MONTHS}个月")
    amount = amount_input(amount)
    if amount <= 0:
        raise MoveInError("物业管理费金额必须大于0")
    if _code(method) not in {m.value for m in PayMethod}:
        raise MoveInError("收款方式不正确")
    from .billing import prepaid_span

    first, last = prepaid_span((at or clock.now()).date(), months)
    with audit_context(db.session, action="收取入住物业费", username=_username(clerk)):
        payment = charge_and_collect(kind=ChargeKind.mgmt_fee.value, amount=amount, method=_code(method),
                                     unit=move_in.unit, owner=move_in.owner, period=f"入住预收{months}个月",
                                     note=f"入住预收物业管理费{months}个月", clerk=clerk, at=at,
                                     period_start=first, period_end=last)
        move_in.fee_payment = payment
        db.session.flush()
    return payment
