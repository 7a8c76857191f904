"""One ledger for every fee and rent: what is owed (charge), what was paid (payment), and which
payment settled which charge (payment_allocation). Financial rows are voided, never deleted."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.validators import NOT_NEGATIVE, POSITIVE
from .base import Entity
from .spec import AdminSpec, Choice, Date, col, money, rel, roles

NEVER_DELETED = dict(delete=())
FEE_CLERKS = {"admin", "leasing"}
LEDGER_READERS = {"admin", "manager", "supervisor", "leasing", "frontdesk"}


class ChargeKind(Choice):
    mgmt_fee = "mgmt_fee", "物业管理费"
    rent = "rent", "租金"
    venue_fee = "venue_fee", "场地管理费"
    garbage_fee = "garbage_fee", "装修垃圾清运费"
    service_fee = "service_fee", "便民服务费"
    other = "other", "其他"


class ChargeStatus(Choice):
    unpaid = "unpaid", "未缴"
    partial = "partial", "部分缴纳"
    paid = "paid", "已缴清"
    void = "void", "已作废"


class PayMethod(Choice):
    cash = "cash", "现金"
    wechat = "wechat", "微信"
    alipay = "alipay", "支付宝"
    bank = "bank", "银行转账"
    other = "other", "其他"


class PaymentStatus(Choice):
    valid = "valid", "有效"
    void = "void", "已作废"


class Charge(Entity):
    __tablename__ = "charge"
    __admin__ = AdminSpec(
        menu="应收费用", category="招租收费",
        list=("kind", "payer_name", "unit", "lease", "period", "due_date", "amount", "amount_paid", "status"),
        search=("payer_name", "period"), codes=("period",),
        filters=("kind", "status", "unit", "lease", "due_date", "period", "amount"),
        form=("kind", "unit", "owner", "lease", "payer_name", "period", "period_start", "period_end",
              "due_date", "amount", "note"),
        edit=("payer_name", "due_date", "note"),
        sort=("due_date", True), title="period", large=True,
        roles=roles(read=LEDGER_READERS, create=FEE_CLERKS, edit=FEE_CLERKS,
                    export={"admin", "manager", "supervisor", "leasing"}, **NEVER_DELETED),
        actions={"void": FEE_CLERKS, "bill_month": FEE_CLERKS},
    )
    kind: Mapped[str] = col("费用类别", choices=ChargeKind, index=True)
    unit_id: Mapped[int | None] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="charges")
    owner_id: Mapped[int | None] = col("业主", ForeignKey("owner.id"), index=True)
    owner = rel("业主", "Owner", backref="charges")
    lease_id: Mapped[int | None] = col("租赁合同", ForeignKey("lease.id"), index=True)
    lease = rel("租赁合同", "Lease", backref="charges")
    payer_name: Mapped[str] = col("缴费人", String(100), index=True)
    period: Mapped[str] = col("所属期间", String(30), index=True, help="如 2026-11,或 2026-11~2027-01")
    period_start: Mapped[date | None] = col("期间开始", Date)
    period_end: Mapped[date | None] = col("期间结束", Date)
    due_date: Mapped[date] = col("应缴日期", Date, index=True)
    amount: Mapped[Decimal] = money("应收金额", validators=(POSITIVE,))
    amount_paid: Mapped[Decimal] = money("已收金额")
    status: Mapped[str] = col("状态", choices=ChargeStatus, default=ChargeStatus.unpaid, index=True)
    bill_key: Mapped[str | None] = col("计费键", String(80), unique=True,
                                       help="批量计费的唯一键,保证重复计费不会生成重复费用")
    void_reason: Mapped[str | None] = col("作废原因", Text)
    note: Mapped[str | None] = col("备注", Text)

    def __str__(self) -> str:
        return f"{ChargeKind.label_of(self.kind)} {self.period} {self.payer_name}"

    @property
    def kind_label(self) -> str:
        return ChargeKind.label_of(self.kind)

    @property
    def balance(self) -> Decimal:
        return Decimal("0") if self.status == ChargeStatus.void else (self.amount or 0) - (self.amount_paid or 0)

    @classmethod
    def check(cls, data: dict) -> dict:
        from app.ledger import charge_form_errors

        return charge_form_errors(data)


class Payment(Entity):
    __tablename__ = "payment"
    __admin__ = AdminSpec(
        menu="收款记录", category="招租收费",
        list=("receipt_no", "payer_name", "unit", "lease", "amount", "method", "paid_at", "clerk", "status"),
        search=("receipt_no", "payer_name"), codes=("receipt_no",),
        filters=("method", "status", "paid_at", "unit", "lease", "clerk", "amount"),
        form=("unit", "owner", "lease", "payer_name", "amount", "method", "paid_at", "note"),
        edit=("payer_name", "note"),
        sort=("paid_at", True), title="receipt_no", large=True,
        roles=roles(read=LEDGER_READERS, create={"admin", "leasing", "frontdesk"}, edit=FEE_CLERKS,
                    export={"admin", "manager", "supervisor", "leasing"}, **NEVER_DELETED),
        actions={"void": FEE_CLERKS},
    )
    receipt_no: Mapped[str] = col("收据号", String(20), unique=True)
    unit_id: Mapped[int | None] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="payments")
    owner_id: Mapped[int | None] = col("业主", ForeignKey("owner.id"), index=True)
    owner = rel("业主", "Owner", backref="payments")
    lease_id: Mapped[int | None] = col("租赁合同", ForeignKey("lease.id"), index=True)
    lease = rel("租赁合同", "Lease", backref="payments")
    payer_name: Mapped[str] = col("缴费人", String(100), index=True)
    amount: Mapped[Decimal] = money("收款金额", validators=(POSITIVE,))
    method: Mapped[str] = col("收款方式", choices=PayMethod, default=PayMethod.cash, index=True)
    paid_at: Mapped[datetime] = col("收款时间", DateTime, index=True)
    clerk_id: Mapped[int | None] = col("收款人", ForeignKey("app_user.id"), index=True)
    clerk = rel("收款人", "AppUser")
    status: Mapped[str] = col("状态", choices=PaymentStatus, default=PaymentStatus.valid, index=True)
    void_reason: Mapped[str | None] = col("作废原因", Text)
    note: Mapped[str | None] = col("备注", Text)

    def __str__(self) -> str:
        return self.receipt_no or f"#{self.id}"


class PaymentAllocation(Entity):
    __tablename__ = "payment_allocation"
    __admin__ = AdminSpec(
        menu="收款核销", category="招租收费",
        list=("payment", "charge", "amount"), filters=("payment", "charge"), title="id",
        roles=roles(read=LEDGER_READERS, create=(), edit=(), delete=(), export={"admin", "manager", "leasing"}),
    )
    payment_id: Mapped[int] = col("收款记录", ForeignKey("payment.id"), index=True)
    payment = rel("收款记录", "Payment", backref="allocations")
    charge_id: Mapped[int] = col("应收费用", ForeignKey("charge.id"), index=True)
    charge = rel("应收费用", "Charge", backref="allocations")
    amount: Mapped[Decimal] = money("核销金额", validators=(NOT_NEGATIVE,))

    def __str__(self) -> str:
        return f"{self.payment} → {self.charge}"


class NumberSequence(db.Model):
    """Per-prefix, per-day counter behind human-facing numbers (SK20261127-0001); see app.numbering."""

    __tablename__ = "number_sequence"
    __table_args__ = (UniqueConstraint("prefix", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(10))
    day: Mapped[str] = mapped_column(String(8))
    last: Mapped[int] = mapped_column(Integer, default=0)
