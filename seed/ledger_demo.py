"""Demo ledger for `flask seed-demo`: a year of management fees and payments, leases of advertising slots,
warehouses and venues with their rent, dunning records, and a few voided entries.

Unlike the rest of the demo, every date here is relative to `today` (the office's today by default), so the
arrears page always shows debts in every ageing bucket, promises that are due or broken, and a lease ending
soon, whenever the demo is loaded. All money goes through the ledger's own rules (app.ledger, app.billing,
app.leasing), so allocations, receipt numbers, charge statuses and the audit trail are what the panel
itself would write. Randomness comes from the `rng` passed in: the same seed on the same day gives the same
data.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import func, select

from app import clock
from app.arrears import BUCKET_KEYS, arrears_rows, arrears_totals
from app.audit import audit_context
from app.billing import bill_month
from app.extensions import db
from app.leasing import add_months, lease_form_errors, refresh_statuses, sign_lease, terminate_lease
from app.ledger import money, record_payment, void_charge, void_payment
from app.validators import check_phone
from schema.dunning import Dunning, DunningMethod
from schema.leasing import AssetKind, AssetStatus, BillingCycle, LeasableAsset, Lease, LeaseStatus
from schema.ledger import Charge, ChargeKind, ChargeStatus, Payment, PaymentAllocation, PayMethod
from schema.org import AppUser
from schema.people import Owner, OwnerKind, Resident
from schema.property import Unit, UnitStatus

ONE_DAY = timedelta(days=1)
MONTHS_BILLED = 12

ASSETS = (  # kind, code, name, location, size (㎡), list price (元/月), note
    (AssetKind.ad, "GG-01", "1栋电梯轿厢广告位", "1栋1号、2号电梯轿厢内", "0.60", "1200", "框架海报,每月可换画一次"),
    (AssetKind.ad, "GG-02", "南门LED大屏", "小区南门入口上方", "12.00", "3500", "每日07:00–22:00播放"),
    (AssetKind.ad, "GG-03", "地下车库灯箱", "B1层车库出入口", "2.40", "800", None),
    (AssetKind.ad, "GG-04", "东门道闸广告位", "东门车辆道闸杆", "1.20", "600", None),
    (AssetKind.ad, "GG-05", "中心广场宣传栏", "中心广场东侧", "3.00", "500", "双面灯箱"),
    (AssetKind.warehouse, "CK-01", "1号仓库", "3栋地下一层", "45.00", "2200", None),
    (AssetKind.warehouse, "CK-02", "2号仓库", "3栋地下一层", "60.00", "2800", "带卷帘门,可通货车"),
    (AssetKind.warehouse, "CK-03", "3号仓库", "5栋架空层", "30.00", "1500", None),
    (AssetKind.warehouse, "CK-04", "4号仓库", "6栋地下一层", "80.00", "3600", "独立电表"),
    (AssetKind.warehouse, "CK-05", "5号仓库", "8栋地下一层", "25.00", "1200", None),
    (AssetKind.venue, "CD-01", "会所多功能厅", "会所二层", "180.00", "6000", "含投影、音响,可容纳80人"),
    (AssetKind.venue, "CD-02", "中心广场", "小区中心广场", "600.00", "8000", "仅限周末及节假日活动"),
    (AssetKind.venue, "CD-03", "架空层活动区", "2栋架空层", "150.00", "3000", None),
)

TENANT_COMPANIES = {  # key -> (company, registration region)
    "media": ("深圳市星河文化传媒有限公司", "440305"),
    "led": ("深圳市新视界广告有限公司", "440304"),
    "logistics": ("深圳市顺达物流有限公司", "440306"),
    "fruit": ("深圳市鲜丰果业有限公司", "440307"),
    "kids": ("深圳市童趣教育咨询有限公司", "440305"),
    "market": ("深圳市乐活市集文化有限公司", "440303"),
    "food": ("深圳市味来餐饮管理有限公司", "440304"),
}

# One lease per entry. `start` (or `end`) is an offset in days from today and `months` the term; the tenant
# pays every rent period due by now except the 0-based indexes in `unpaid`. `negotiating` leases stay unsigned;
# `terminate` ends the lease that many days from today (it then owes its last period before leaving).
LEASES = (
    dict(asset="GG-01", company="media", cycle=BillingCycle.year, start=-290, months=12, rent="1150",
         deposit="2300", unpaid=(),
         notes="挂牌1200元/月,对方要求年付优惠,协商按1150元/月签约,押二付十二。"),
    dict(asset="GG-02", company="led", cycle=BillingCycle.quarter, start=-250, months=12, rent="3300",
         deposit="6600", unpaid=(2,),
         notes="对方为楼盘做推广,要求季付;报价3500元/月,最终3300元/月。画面内容须经管理处审核。"),
    dict(asset="GG-03", person=True, cycle=BillingCycle.month, end=20, months=12, rent="800", deposit="800",
         unpaid=(), notes="周边驾校投放,按挂牌价签约一年,押一付一。合同到期前一个月商议续租。"),
    dict(asset="GG-04", company="food", cycle=BillingCycle.quarter, start=15, months=12, rent="580",
         deposit="1160", negotiating=True,
         notes="对方希望首年按季付款,租金已初步谈至580元/月,待管理处经理审批后签约。"),
    dict(asset="CK-01", person=True, cycle=BillingCycle.month, start=-200, months=12, rent="2100",
         deposit="4200", unpaid=(3, 4, 5, 6),
         notes="临街商铺经营者存放货物,挂牌2200元/月,协商2100元/月,押二付一。"),
    dict(asset="CK-02", company="logistics", cycle=BillingCycle.quarter, start=-340, months=24, rent="2700",
         deposit="5400", unpaid=(),
         notes="快递中转用,签两年,季付。约定不得存放易燃易爆物品。"),
    dict(asset="CK-03", person=True, cycle=BillingCycle.month, start=-280, months=12, rent="1450",
         deposit="1450", terminate=-45, terminate_reason="承租人搬离本市,双方协商提前解约",
         notes="个人存放家具,挂牌1500元/月,协商1450元/月。"),
    dict(asset="CK-04", company="fruit", cycle=BillingCycle.year, start=-100, months=12, rent="3500",
         deposit="7000", unpaid=(),
         notes="水果店冷库备货,年付。独立电表,电费按表另计。"),
    dict(asset="CK-05", person=True, cycle=BillingCycle.month, start=-240, months=18, rent="1150",
         deposit="2300", unpaid=(1, 2),
         notes="挂牌1200元/月,签18个月按1150元/月。承租人曾反映仓库返潮,已安排工程部处理。"),
    dict(asset="CD-01", company="kids", cycle=BillingCycle.quarter, start=-120, months=12, rent="5600",
         deposit="5600", venue_fee="3000", unpaid=(),
         notes="周末少儿美术课,每周六、日使用;场地管理费3000元签约时一次缴纳。"),
    dict(asset="CD-02", company="market", cycle=BillingCycle.month, start=-190, months=3, rent="7500",
         deposit="7500", venue_fee="2000", unpaid=(),
         notes="周末市集,为期三个月;须自行负责摊位搭建与清场,保洁押金另收。"),
    dict(asset="CD-03", person=True, cycle=BillingCycle.month, start=-60, months=12, rent="2800",
         deposit="2800", venue_fee="1500", unpaid=(),
         notes="乒乓球培训,工作日晚间及周末使用;场地管理费1500元。"),
)

UNIT_METHODS = ((PayMethod.wechat, 45), (PayMethod.alipay, 25), (PayMethod.bank, 18), (PayMethod.cash, 12))
GARBAGE_FEES = ("300", "450", "600", "800")
SERVICES = (("更换入户门锁人工费", "80"), ("疏通厨房下水管道", "120"), ("门禁卡补办", "50"),
            ("空调外机支架加固", "150"), ("代办装修出入证", "30"))
# Ages (today - due date, days) of the unpaid odd charges that keep every arrears bucket populated.
BUCKET_AGES = (-10, 12, 45, 75, 130, 230)


@dataclass
class Plan:
    """One receipt to record: money, who paid, and which charges it settles (oldest first)."""
    paid_at: datetime
    amount: Decimal
    method: str
    payer_name: str
    charge_ids: list[int]
    unit: Unit | None = None
    owner: Owner | None = None
    lease: Lease | None = None
    clerk: AppUser | None = None
    note: str | None = None
    typo: Decimal | None = None  # a wrong amount keyed first, voided, then re-entered
    order: int = 0


def load_ledger(rng: random.Random | None = None, today: date | None = None) -> dict[str, int]:
    """Add the demo ledger to a database holding the rest of the demo; commit; return row counts."""
    rng = rng or random.Random(2026)
    today = today or clock.today()
    session = db.session
    try:
        with audit_context(session, username="seed"):
            _Ledger(rng, today).run()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m))
            for m in (Charge, Payment, PaymentAllocation, LeasableAsset, Lease, Dunning)}


class _Ledger:
    def __init__(self, rng: random.Random, today: date):
        from seed.demo import _Generator

        self.rng = rng
        self.today = today
        self.session = db.session
        self.gen = _Generator(rng)
        self.plans: list[Plan] = []
        self.left: dict[int, Decimal] = {}  # charge id -> balance still open in the plan
        self.charges: dict[int, Charge] = {}  # strong references: keeps them in the identity map

    # ------------------------------------------------------------ helpers

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    def at(self, d: date, start_hour: int = 8, end_hour: int = 17) -> datetime:
        return datetime.combine(d, time(self.rng.randint(start_hour, end_hour - 1), self.rng.randint(0, 59),
                                        self.rng.randint(0, 59)))

    def keep(self, charges) -> None:
        for c in charges:
            self.charges[c.id] = c
            self.left[c.id] = money(c.amount - c.amount_paid) if c.status != ChargeStatus.void else Decimal("0")

    def plan(self, paid_on: date, charges: list[Charge], *, amount: Decimal | None = None, method: str,
             clerk: AppUser, unit=None, owner=None, lease=None, note=None) -> Plan | None:
        """Plan a receipt on `paid_on` settling `charges` (fully, or `amount` of the first one)."""
        charges = [c for c in charges if self.left[c.id] > 0]
        if not charges or paid_on >= self.today:
            return None
        due = sum((self.left[c.id] for c in charges), Decimal("0"))
        amount = due if amount is None else min(money(amount), due)
        rest = amount
        for c in charges:
            part = min(rest, self.left[c.id])
            self.left[c.id] -= part
            rest -= part
        plan = Plan(self.at(paid_on), amount, str(method), charges[0].payer_name, [c.id for c in charges],
                    unit=unit, owner=owner, lease=lease, clerk=clerk, note=note, order=len(self.plans))
        self.plans.append(plan)
        return plan

    # ------------------------------------------------------------ the run

    def run(self) -> None:
        s = self.session
        self.users = {u.username: u for u in s.scalars(select(AppUser))}
        self.collector = self.users.get("leasing") or next(iter(self.users.values()))
        self.frontdesk = self.users.get("frontdesk") or self.collector
        known = [*s.scalars(select(Owner.phone)), *s.scalars(select(Resident.phone))]
        self.gen.phones |= {p for p in known if p}
        ids = [*s.scalars(select(Owner.id_number)), *s.scalars(select(Resident.id_number))]
        self.gen.ids |= {i for i in ids if i}
        self.gen.names |= set(s.scalars(select(Owner.name)))

        self.bill_fees()  # bill_month commits each month
        self.unit_payments()
        self.odd_unit_charges()
        self.leasing()
        self.record_plans()
        self.void_duplicates()
        self.dunning()
        refresh_statuses(self.today)
        s.flush()
        self.verify()

    # ------------------------------------------------------------ management fees

    def bill_fees(self) -> None:
        first = add_months(date(self.today.year, self.today.month, 1), -(MONTHS_BILLED - 1))
        self.months = [add_months(first, i) for i in range(MONTHS_BILLED)]
        for m in self.months:
            bill_month(m.year, m.month)
        s = self.session
        self.units = {u.id: u for u in s.scalars(select(Unit).order_by(Unit.id))}
        self.owners = {o.id: o for o in s.scalars(select(Owner))}
        fees = s.scalars(select(Charge).where(Charge.kind == ChargeKind.mgmt_fee)
                         .order_by(Charge.unit_id, Charge.due_date)).all()
        self.keep(fees)
        self.fees: dict[int, list[Charge]] = {}
        for c in fees:
            self.fees.setdefault(c.unit_id, []).append(c)

    def method_for(self, owner: Owner | None) -> str:
        if owner is not None and owner.kind == OwnerKind.company and self.rng.random() < 0.8:
            return PayMethod.bank
        return self.rng.choices([m for m, _ in UNIT_METHODS], [w for _, w in UNIT_METHODS])[0]

    def clerk(self) -> AppUser:
        return self.frontdesk if self.rng.random() < 0.7 else self.collector

    def pay_unit(self, unit_id: int, paid_on: date, charges: list[Charge], note=None, amount=None) -> Plan | None:
        owner = self.owners.get(charges[0].owner_id) if charges else None
        return self.plan(paid_on, charges, amount=amount, method=self.method_for(owner), clerk=self.clerk(),
                         unit=self.units[unit_id], owner=owner, note=note)

    def unit_payments(self) -> None:
        rng = self.rng
        unit_ids = sorted(self.fees)
        order = unit_ids[:]
        rng.shuffle(order)
        sizes = (("chronic", 6), ("lump", 12), ("partial", 8), ("half", 14), ("year", 6), ("quarter", 50))
        self.profile: dict[int, str] = {}
        pos = 0
        for name, n in sizes:
            for uid in order[pos:pos + n]:
                self.profile[uid] = name
            pos += n
        for uid in order[pos:]:
            self.profile[uid] = "regular"
        stops = [1, 2, 3, 4, 6, 8]
        rng.shuffle(stops)
        regular_plans = []

        for uid in unit_ids:
            fees = self.fees[uid]
            kind = self.profile[uid]
            if kind == "year":
                self.pay_unit(uid, fees[0].due_date + timedelta(days=rng.randint(1, 10)), fees,
                              note="预缴全年物业管理费")
            elif kind == "half":
                for part in (fees[:6], fees[6:]):
                    self.pay_unit(uid, part[0].due_date + timedelta(days=rng.randint(1, 10)), part,
                                  note=f"预缴{len(part)}个月物业管理费")
            elif kind == "quarter":  # pays each quarter in advance, early in its first month
                phase = rng.randrange(3)
                for j in range(-phase, len(fees), 3):
                    part = fees[max(j, 0):j + 3]
                    paid_on = part[0].due_date.replace(day=1) + timedelta(days=rng.randint(0, 12))
                    self.pay_unit(uid, paid_on, part, note=f"预缴{len(part)}个月物业管理费" if len(part) > 1 else None)
            elif kind == "lump":
                k, phase = rng.choice((2, 3)), rng.randrange(3)
                for j, fee in enumerate(fees):
                    if (j + phase) % k == k - 1:
                        open_ = [c for c in fees[:j + 1] if self.left[c.id] > 0]
                        paid_on = fee.due_date + timedelta(days=rng.randint(3, 25))
                        self.pay_unit(uid, paid_on, open_,
                                      note=f"补缴{len(open_)}个月物业管理费" if len(open_) > 1 else None)
            else:
                stop = stops.pop() if kind == "chronic" else len(fees)
                short = rng.randint(3, 8) if kind == "partial" else None
                carry: list[Charge] = []
                for j, fee in enumerate(fees[:stop]):
                    carry.append(fee)
                    if kind == "regular" and j < len(fees) - 2 and rng.random() < 0.06:
                        continue  # forgot this month: paid together with the next
                    paid_on = fee.due_date + timedelta(days=rng.choice((-3, -1, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15)))
                    if j == short:
                        part = (fee.amount * Decimal(str(rng.uniform(0.3, 0.7)))).quantize(Decimal("10"), ROUND_DOWN)
                        plan = self.pay_unit(uid, paid_on, [fee], amount=max(part, Decimal("50")),
                                             note="业主对公摊面积计费有异议,先缴部分")
                        carry = [c for c in carry if c is not fee]
                    else:
                        plan = self.pay_unit(uid, paid_on, carry,
                                             note=f"补缴{len(carry)}个月物业管理费" if len(carry) > 1 else None)
                    if plan is not None:
                        carry = []
                        if kind == "regular" and len(plan.charge_ids) == 1 and paid_on < self.day(-10):
                            regular_plans.append(plan)
        # two receipts keyed with a wrong amount, voided and re-entered by the clerk
        for plan, factor in zip(rng.sample(regular_plans, 2), (Decimal("10"), Decimal("0.1"))):
            plan.typo = money(plan.amount * factor)

    def odd_unit_charges(self) -> None:
        """Renovation garbage fees and odd services: some left unpaid so every arrears bucket shows."""
        rng, s = self.rng, self.session
        renovating = [u for u in self.units.values() if u.status == UnitStatus.renovating and u.id in self.fees]
        others = [uid for uid in sorted(self.fees) if self.profile[uid] == "regular"]
        odd: list[tuple[Charge, bool]] = []

        def charge(unit_id, kind, due, amount, note, open_=False):
            fee = self.fees[unit_id][0]
            c = Charge(kind=kind, unit_id=unit_id, owner_id=fee.owner_id, payer_name=fee.payer_name,
                       period=f"{due:%Y-%m}", period_start=due, period_end=due, due_date=due,
                       amount=money(amount), amount_paid=Decimal("0.00"), status=ChargeStatus.unpaid, note=note)
            s.add(c)
            odd.append((c, open_))
            return c

        for i, unit in enumerate(renovating):
            if i < len(BUCKET_AGES):
                due = self.day(-BUCKET_AGES[i])
                charge(unit.id, ChargeKind.garbage_fee, due, rng.choice(GARBAGE_FEES), "装修垃圾清运", open_=True)
            else:
                due = self.day(-rng.randint(20, 330))
                charge(unit.id, ChargeKind.garbage_fee, due, rng.choice(GARBAGE_FEES), "装修垃圾清运")
        for age in BUCKET_AGES[len(renovating):]:  # too few renovating units: odd services instead
            what, amount = rng.choice(SERVICES)
            charge(rng.choice(others), ChargeKind.service_fee, self.day(-age), amount, what, open_=True)
        for uid in rng.sample(others, 8):
            what, amount = rng.choice(SERVICES)
            charge(uid, ChargeKind.service_fee, self.day(-rng.randint(5, 330)), amount, what)
        s.flush()
        self.keep([c for c, _ in odd])
        for c, open_ in odd:
            if not open_:
                self.pay_unit(c.unit_id, c.due_date + timedelta(days=rng.randint(0, 7)), [c])

        # two charges keyed twice by hand; voided after the payments are in
        self.duplicates = []
        garbage = next((c for c, open_ in odd if not open_ and c.kind == ChargeKind.garbage_fee), None)
        fee = self.fees[rng.choice(others)][-3]
        twins = [(fee, "重复计费:该月物业管理费已由月度计费生成")]
        if garbage is not None:
            twins.append((garbage, "重复计费"))
        else:
            twins.append((self.fees[rng.choice(others)][-4], "重复计费"))
        for c, reason in twins:
            dup = Charge(kind=c.kind, unit_id=c.unit_id, owner_id=c.owner_id, payer_name=c.payer_name,
                         period=c.period, period_start=c.period_start, period_end=c.period_end,
                         due_date=c.due_date, amount=c.amount, amount_paid=Decimal("0.00"),
                         status=ChargeStatus.unpaid, note="手工补录")
            s.add(dup)
            self.duplicates.append((dup, reason))
        s.flush()

    # ------------------------------------------------------------ leasing

    def tenant(self, spec: dict) -> dict:
        if spec.get("person"):
            p = self.gen.person(1968, 1996)
            return dict(tenant_name=p.name, tenant_phone=p.phone, tenant_id_number=p.id_number)
        company, region = TENANT_COMPANIES[spec["company"]]
        contact = self.gen.person(1972, 1996)
        return dict(tenant_name=contact.name, tenant_company=company, tenant_phone=contact.phone,
                    tenant_id_number=self.gen.credit_code(region))

    def leasing(self) -> None:
        rng, s = self.rng, self.session
        assets = {}
        for kind, code, name, location, size, price, note in ASSETS:
            assets[code] = LeasableAsset(kind=kind.value, code=code, name=name, location=location,
                                         size=Decimal(size), list_price=money(price), status=AssetStatus.idle,
                                         note=note)
        s.add_all(assets.values())
        s.flush()

        drafts = []
        for spec in LEASES:
            if "end" in spec:
                end = self.day(spec["end"])
                start = add_months(end + ONE_DAY, -spec["months"])
            else:
                start = self.day(spec["start"])
                end = add_months(start, spec["months"]) - ONE_DAY
            signed = None if spec.get("negotiating") else max(start - timedelta(days=rng.randint(3, 12)),
                                                              self.day(-364))
            lease = Lease(asset=assets[spec["asset"]], contract_no="", start_date=start, end_date=end,
                          rent=money(spec["rent"]), billing_cycle=spec["cycle"].value,
                          deposit=money(spec["deposit"]), venue_fee=money(spec.get("venue_fee", "0")),
                          negotiation_notes=spec["notes"], status=LeaseStatus.negotiating, **self.tenant(spec))
            errors = lease_form_errors({"asset": lease.asset, "start_date": start, "end_date": end,
                                        "rent": lease.rent, "tenant_id_number": lease.tenant_id_number,
                                        "venue_fee": lease.venue_fee})
            if msg := check_phone(lease.tenant_phone):
                errors["tenant_phone"] = msg
            if errors:
                raise ValueError(f"演示租约无效 {spec['asset']}: {errors}")
            drafts.append((signed or self.today, spec, lease))

        # contract numbers in signing order, numbered per year: ZL2026-001
        seq: dict[int, int] = {}
        for signed, spec, lease in sorted(drafts, key=lambda d: (d[0], d[1]["asset"])):
            seq[signed.year] = seq.get(signed.year, 0) + 1
            lease.contract_no = f"ZL{signed.year}-{seq[signed.year]:03d}"
        self.leases = {}
        for signed, spec, lease in drafts:
            s.add(lease)
            self.leases[spec["asset"]] = lease
        s.flush()

        for signed, spec, lease in drafts:
            if spec.get("negotiating"):
                continue
            sign_lease(lease, signed_date=signed)
            if "terminate" in spec:
                terminate_lease(lease, self.day(spec["terminate"]), spec["terminate_reason"])
            charges = s.scalars(select(Charge).where(Charge.lease_id == lease.id)
                                .order_by(Charge.due_date, Charge.id)).all()
            self.keep(charges)
            company = bool(lease.tenant_company)
            fee = [c for c in charges if c.kind == ChargeKind.venue_fee]
            rent = [c for c in charges if c.kind == ChargeKind.rent and c.status != ChargeStatus.void]
            unpaid = set(spec.get("unpaid", ()))
            if "terminate" in spec:  # owes the last month before leaving
                unpaid = {max(i for i, c in enumerate(rent) if c.due_date < self.today)}
            for c in fee:
                self.plan(signed, [c], method=PayMethod.bank if company else PayMethod.wechat,
                          clerk=self.collector, lease=lease, note="签约时缴纳场地管理费")
            for i, c in enumerate(rent):
                if i in unpaid:
                    continue
                early = (-7, 3) if spec["cycle"] != BillingCycle.month else (-2, 6)
                paid_on = max(c.due_date + timedelta(days=rng.randint(*early)), signed)
                method = PayMethod.bank if company else rng.choice((PayMethod.wechat, PayMethod.alipay,
                                                                    PayMethod.bank))
                self.plan(paid_on, [c], method=method, clerk=self.collector, lease=lease,
                          note=f"{c.period} 租金")

    # ------------------------------------------------------------ the receipts, in time order

    def record_plans(self) -> None:
        self.plans.sort(key=lambda p: (p.paid_at, p.order))
        for p in self.plans:
            kw = dict(method=p.method, payer_name=p.payer_name, unit=p.unit, owner=p.owner, lease=p.lease,
                      clerk=p.clerk)
            paid_at = p.paid_at
            if p.typo is not None:
                wrong = record_payment(amount=p.typo, paid_at=paid_at, charge_ids=p.charge_ids, note=p.note, **kw)
                void_payment(wrong, "金额录错,已重新收款")
                paid_at += timedelta(minutes=self.rng.randint(2, 9))
                p.note = f"重新收款,原收据 {wrong.receipt_no} 已作废"
            record_payment(amount=p.amount, paid_at=paid_at, charge_ids=p.charge_ids, note=p.note, **kw)

    def void_duplicates(self) -> None:
        for charge, reason in self.duplicates:
            void_charge(charge, reason)

    # ------------------------------------------------------------ dunning

    def overdue_charges(self, before: date, unit_id=None, lease_id=None) -> list[Charge]:
        q = select(Charge).where(Charge.status != ChargeStatus.void, Charge.amount > Charge.amount_paid,
                                 Charge.due_date < before)
        q = q.where(Charge.unit_id == unit_id) if unit_id is not None else q.where(Charge.lease_id == lease_id)
        return self.session.scalars(q.order_by(Charge.due_date, Charge.id)).all()

    def dun(self, *, at: datetime, method: str, result: str, promised: date | None = None, unit=None,
            lease=None, payer_name: str, reached: str | None = None, notes: str | None = None) -> Dunning:
        charges = self.overdue_charges(at.date(), unit_id=unit.id if unit else None,
                                       lease_id=lease.id if lease else None)
        data = dict(unit=unit, lease=lease, payer_name=payer_name, method=method, at=at, staff=self.collector,
                    reached_person=reached, identity_confirmed=reached is not None, result=result,
                    promised_date=promised, notes=notes)
        errors = Dunning.check(data)
        if errors:
            raise ValueError(f"演示催收记录无效 {payer_name}: {errors}")
        d = Dunning(**data)
        d.charges = charges
        self.session.add(d)
        return d

    def dunning(self) -> None:
        rng, today = self.rng, self.today
        rows = [r for r in arrears_rows("unit", today) if r["overdue"] > 0 and r["oldest_age_days"] >= 5]
        chronic = [r for r in rows if self.profile.get(r["unit_id"]) == "chronic"]
        rest = [r for r in rows if self.profile.get(r["unit_id"]) != "chronic"]
        rng.shuffle(rest)
        chosen = (chronic + rest)[:15]
        for i, row in enumerate(chosen):
            unit = self.units[row["unit_id"]]
            name = row["payer_name"]
            age = row["oldest_age_days"]
            owner = self.owners.get(self.fees[unit.id][0].owner_id)
            reached = owner.contact_person if owner and owner.kind == OwnerKind.company else name
            if age > 75 and rng.random() < 0.7:  # an earlier visit
                first = self.day(-rng.randint(45, min(age - 1, 90)))
                self.dun(unit=unit, payer_name=name, method=DunningMethod.visit, at=self.at(first, 9, 18),
                         reached=reached, result="上门送达《物业费催缴通知书》,业主当面签收",
                         promised=first + timedelta(days=rng.randint(5, 15)), notes="送达通知书一份")
            if i < 4:  # broken promise: the latest call promised a date that has passed
                back = rng.randint(3, min(age - 1, 30))
                at = self.day(-back)
                promised = at + timedelta(days=rng.randint(1, back - 1))
                self.dun(unit=unit, payer_name=name, method=DunningMethod.phone, at=self.at(at, 9, 18),
                         reached=reached, promised=promised,
                         result=f"业主答应{promised.month}月{promised.day}日前缴清欠费")
            elif i < 10:  # a promise still ahead
                at = self.day(-rng.randint(1, min(age - 1, 6)))
                promised = self.day(rng.randint(3, 20))
                method = rng.choice((DunningMethod.phone, DunningMethod.visit))
                self.dun(unit=unit, payer_name=name, method=method, at=self.at(at, 9, 18), reached=reached,
                         promised=promised,
                         result=f"业主同意于{promised.month}月{promised.day}日前到管理处缴费")
            elif i % 2:
                at = self.day(-rng.randint(1, min(age - 1, 10)))
                self.dun(unit=unit, payer_name=name, method=DunningMethod.phone, at=self.at(at, 9, 18),
                         result="电话无人接听,已发送催缴短信", notes="下周再次电话联系")
            else:
                at = self.day(-rng.randint(1, min(age - 1, 10)))
                self.dun(unit=unit, payer_name=name, method=DunningMethod.visit, at=self.at(at, 9, 18),
                         reached=reached, result="业主反映地下车库漏水未修好,暂不缴费",
                         notes="已转工程维修部跟进,修好后再行催缴")

        def lease_dun(code, offset, method, result, promised=None, notes=None):
            lease = self.leases[code]
            self.dun(lease=lease, payer_name=(lease.tenant_company or lease.tenant_name), method=method,
                     at=self.at(self.day(offset), 9, 18), reached=lease.tenant_name, result=result,
                     promised=self.day(promised) if promised is not None else None, notes=notes)

        lease_dun("CK-01", -70, DunningMethod.visit, "承租人称近期资金紧张,答应月底前补缴", promised=-55)
        lease_dun("CK-01", -30, DunningMethod.phone, "承租人再次承诺两周内缴清全部欠租", promised=-16,
                  notes="已告知逾期将按合同约定处理")
        lease_dun("GG-02", -8, DunningMethod.phone, "对方财务称付款审批中,约定下周转账", promised=6)
        lease_dun("CK-05", -150, DunningMethod.visit, "承租人以仓库返潮为由要求减免两个月租金",
                  notes="已报管理处经理,工程部已处理返潮问题")
        lease_dun("CK-05", -12, DunningMethod.phone, "承租人同意先缴一个月,其余待减免申请答复", promised=10)
        lease_dun("CK-03", -20, DunningMethod.phone, "承租人已退租,同意从押金中抵扣欠租", promised=5,
                  notes="待财务办理押金抵扣")
        self.session.flush()

    # ------------------------------------------------------------ checks

    def verify(self) -> None:
        units = arrears_totals("unit", self.today)
        empty = [k for k in BUCKET_KEYS if units[k] <= 0]
        if empty:
            raise RuntimeError(f"演示账目缺少欠费账龄段: {empty}")
        leases = arrears_totals("lease", self.today)
        if sum(leases[k] > 0 for k in BUCKET_KEYS[1:]) < 3:
            raise RuntimeError("演示租约欠费应至少覆盖3个逾期账龄段")
        broken = sum(r["broken_promise"] for r in arrears_rows("unit", self.today))
        if broken < 3 or not any(r["broken_promise"] for r in arrears_rows("lease", self.today)):
            raise RuntimeError("演示催收记录应包含未兑现的承诺")
