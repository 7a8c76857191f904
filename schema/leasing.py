"""Leasing (对外招租): advertising slots, warehouses and venues, and their leases."""
from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped

from app.validators import NOT_NEGATIVE, PHONE
from .base import Entity
from .spec import AdminSpec, Choice, Date, col, money, rel, roles

LEASING_ROLES = roles(create={"admin", "leasing"}, edit={"admin", "leasing"}, delete={"admin"},
                      export={"admin", "manager", "supervisor", "leasing"})


class AssetKind(Choice):
    ad = "ad", "广告位"
    warehouse = "warehouse", "仓库"
    venue = "venue", "场地"


class AssetStatus(Choice):
    idle = "idle", "空闲"
    leased = "leased", "已出租"
    disabled = "disabled", "停用"


class BillingCycle(Choice):
    month = "month", "月"
    quarter = "quarter", "季"
    year = "year", "年"


class LeaseStatus(Choice):
    negotiating = "negotiating", "洽谈中"
    signed = "signed", "已签约"
    active = "active", "执行中"
    expired = "expired", "已到期"
    terminated = "terminated", "已终止"


class LeasableAsset(Entity):
    __tablename__ = "leasable_asset"
    __admin__ = AdminSpec(
        menu="招租资源", category="招租收费",
        list=("kind", "code", "name", "estate", "location", "size", "list_price", "status"),
        search=("code", "name", "location"), codes=("code",), filters=("kind", "status", "estate", "location"),
        sort=("code", False), title="code", roles=LEASING_ROLES,
    )
    kind: Mapped[str] = col("类别", choices=AssetKind, index=True)
    code: Mapped[str] = col("编号", String(30), unique=True)
    name: Mapped[str | None] = col("名称", String(100))
    estate_id: Mapped[int | None] = col("所属项目", ForeignKey("estate.id"), index=True,
                                        help="留空表示管理处统一招租的资源(各项目均可查看)")
    estate = rel("所属项目", "Estate")
    location: Mapped[str | None] = col("位置", String(200))
    size: Mapped[Decimal | None] = col("面积/尺寸(㎡)", Numeric(10, 2), fmt="area", validators=(NOT_NEGATIVE,))
    list_price: Mapped[Decimal] = money("挂牌月租(元)", validators=(NOT_NEGATIVE,))
    status: Mapped[str] = col("状态", choices=AssetStatus, default=AssetStatus.idle, index=True)
    note: Mapped[str | None] = col("备注", Text)

    def __str__(self) -> str:
        return f"{self.code} {self.name or ''}".strip()


class Lease(Entity):
    __tablename__ = "lease"
    __admin__ = AdminSpec(
        menu="租赁合同", category="招租收费",
        list=("contract_no", "asset", "tenant_name", "tenant_phone", "start_date", "end_date", "rent",
              "billing_cycle", "status"),
        search=("contract_no", "tenant_name", "tenant_company", "tenant_phone"), codes=("contract_no",),
        filters=("asset", "status", "billing_cycle", "start_date", "end_date", "signed_date"),
        form=("asset", "contract_no", "tenant_name", "tenant_company", "tenant_phone", "tenant_id_number",
              "negotiation_notes", "start_date", "end_date", "rent", "billing_cycle", "deposit", "venue_fee", "note"),
        sort=("end_date", False), title="contract_no", title_joins=(), large=True,
        roles=LEASING_ROLES, actions={"sign": {"admin", "leasing"}, "terminate": {"admin", "leasing"}},
    )
    asset_id: Mapped[int] = col("招租资源", ForeignKey("leasable_asset.id"), index=True)
    asset = rel("招租资源", "LeasableAsset", backref="leases")
    contract_no: Mapped[str] = col("合同编号", String(40), unique=True)
    tenant_name: Mapped[str] = col("承租人", String(100), index=True)
    tenant_company: Mapped[str | None] = col("承租单位", String(100))
    tenant_phone: Mapped[str] = col("联系电话", String(30), validators=(PHONE,), index=True)
    tenant_id_number: Mapped[str | None] = col("身份证号/信用代码", String(30),
                                                help="个人填18位身份证号,单位填统一社会信用代码")
    negotiation_notes: Mapped[str | None] = col("洽谈记录", Text)
    signed_date: Mapped[date | None] = col("签约日期", Date)
    start_date: Mapped[date] = col("起租日期", Date, index=True)
    end_date: Mapped[date] = col("到期日期", Date, index=True)
    rent: Mapped[Decimal] = money("月租金(元)", validators=(NOT_NEGATIVE,))
    billing_cycle: Mapped[str] = col("收租周期", choices=BillingCycle, default=BillingCycle.month)
    deposit: Mapped[Decimal] = money("押金(元)", validators=(NOT_NEGATIVE,))
    venue_fee: Mapped[Decimal] = money("场地管理费(元)", validators=(NOT_NEGATIVE,),
                                       help="场地租赁签约时一次缴纳")
    status: Mapped[str] = col("状态", choices=LeaseStatus, default=LeaseStatus.negotiating, index=True)
    note: Mapped[str | None] = col("备注", Text)

    def __str__(self) -> str:
        return f"{self.contract_no} {self.tenant_name}"

    @classmethod
    def check(cls, data: dict) -> dict:
        from app.leasing import lease_form_errors

        return lease_form_errors(data)
