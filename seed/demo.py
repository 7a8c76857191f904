"""Demo data for `flask seed-demo`: one estate (锦绣花园) with staff, units, owners, residents and documents.

Everything comes from `random.Random(seed)`, so the same seed gives the same database: names, resident IDs
and credit codes (with valid check characters), phones, dates and the stored PDF/PNG files. Dates are fixed
against AS_OF rather than today, so a rerun next year still produces identical data; the ledger
(seed/ledger_demo.py) is dated relative to today, so arrears always fill every aging bucket.
"""
from __future__ import annotations

import io
import math
import random
import struct
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from app import storage
from app.audit import audit_context
from app.extensions import db
from app.validators import check_phone, check_resident_id, credit_code_check_char, resident_id_check_char
from schema.documents import Document, DocType
from schema.org import AppUser, Department
from schema.people import IdType, Owner, OwnerKind, Ownership, Relation, Resident
from schema.property import Building, Estate, Unit, UnitStatus, UnitUsage
from schema.spec import ROLE_LABELS, ROLES

DEMO_PASSWORD = "Propdesk-2026"
DEMO_ACCOUNTS: list[tuple[str, str, str]] = [(role, ROLE_LABELS[role], DEMO_PASSWORD) for role in ROLES]
"""(username, role label, password) per demo account, for the README."""

AS_OF = date(2026, 6, 30)
"""The data's "today": no move-in, move-out or receipt date lies after it."""

ESTATE = {
    "name": "锦绣花园",
    "address": "广东省深圳市南山区桃源街道龙珠大道168号",
    "phone": "0755-26881234",
    "note": "2023年起分期交付,共8栋,含临街商铺。",
}
STREET_ADDRESS = "深圳市南山区龙珠大道168号锦绣花园"

DEPARTMENTS = (  # name, supervisor, phone, note
    ("客户服务中心", "李娜", "0755-26881235", "前台接待、业主资料、收费与投诉处理"),
    ("秩序维护部", "赵强", "0755-26881236", "门岗、巡逻、车辆管理"),
    ("工程维修部", "陈建国", "0755-26881237", "公共设施维护、报修处理、装修巡查"),
    ("保洁部", "黄秀英", "0755-26881238", "公共区域清洁、垃圾分类"),
    ("绿化部", "吴志刚", "0755-26881239", "园林养护、病虫害防治"),
)

USERS = {  # role -> (display name, department, phone)
    "admin": ("王磊", "客户服务中心", "13802561234"),
    "manager": ("刘洋", "客户服务中心", "13923458876"),
    "supervisor": ("李娜", "客户服务中心", "13510267730"),
    "frontdesk": ("张敏", "客户服务中心", "15012849906"),
    "leasing": ("杨帆", "客户服务中心", "18681523347"),
    "maintenance": ("周涛", "工程维修部", "13725986610"),
}

BUILDINGS = 8
UNITS_PER_BUILDING = 25
SHOP_BUILDINGS = (1, 2, 3)  # ground floors of the street-facing buildings are shops
HANDOVER_PHASES = {  # building number -> first handover day of its phase
    1: date(2023, 3, 18), 2: date(2023, 3, 18), 3: date(2023, 9, 23),
    4: date(2024, 4, 20), 5: date(2024, 4, 20), 6: date(2024, 10, 26),
    7: date(2025, 5, 17), 8: date(2025, 9, 20),
}
STATUS_SHARES = ((UnitStatus.vacant, 0.15), (UnitStatus.custody, 0.05), (UnitStatus.renovating, 0.05))
FEE_RATES = {UnitUsage.residence: Decimal("2.50"), UnitUsage.shop: Decimal("4.80")}

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
MALE_GIVEN = (
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞", "波", "宇",
    "建国", "建华", "志强", "志明", "国强", "海涛", "俊杰", "文博", "浩然", "子轩", "宇航", "家豪", "振华",
    "立新", "晓东", "永强", "德明", "少华", "嘉伟", "思远", "博文", "天佑", "锦程", "卫东", "红军", "学军",
)
FEMALE_GIVEN = (
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "婷", "雪", "琳", "萍", "玲", "燕", "倩", "颖", "洁", "慧",
    "秀英", "桂英", "玉兰", "丽华", "美玲", "晓燕", "雅琴", "欣怡", "梓涵", "诗琪", "雨萱", "思彤", "佳慧",
    "海燕", "春梅", "淑芬", "凤英", "晓红", "丽娟", "文静", "梦瑶", "婉婷", "嘉欣", "一诺", "紫薇", "若曦",
)
REGIONS = (  # resident-ID region codes, weighted towards Shenzhen and Guangdong
    ("440305", 6), ("440304", 4), ("440303", 3), ("440306", 3), ("440307", 2), ("440106", 2), ("441302", 1),
    ("440513", 1), ("445102", 1), ("441402", 1), ("430102", 2), ("430104", 1), ("360102", 1), ("420106", 1),
    ("110105", 2), ("110108", 1), ("310115", 2), ("310104", 1), ("510107", 1), ("500103", 1), ("350203", 1),
    ("450103", 1), ("370202", 1), ("410105", 1), ("320106", 1), ("330106", 1), ("610113", 1), ("220102", 1),
)
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156",
    "157", "158", "159", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "199",
)
COMPANIES = (  # name, registration region
    ("深圳市鹏程餐饮管理有限公司", "440305"), ("深圳市优家便利店连锁有限公司", "440304"),
    ("深圳市康泰医药连锁有限公司", "440303"), ("深圳市蓝海信息科技有限公司", "440305"),
    ("深圳市锦程教育咨询有限公司", "440306"), ("深圳市华信贸易有限公司", "440304"),
    ("深圳市安居房地产经纪有限公司", "440305"), ("深圳市百味烘焙食品有限公司", "440307"),
    ("深圳市明德口腔门诊部有限公司", "440305"), ("广州市南粤投资发展有限公司", "440106"),
    ("深圳市智联供应链管理有限公司", "440303"), ("深圳市绿源生鲜超市有限公司", "440306"),
)
COMPANY_ADDRESSES = {  # registration region -> business address
    "440303": "深圳市罗湖区深南东路5002号", "440304": "深圳市福田区福华三路88号",
    "440305": "深圳市南山区科技园科苑路15号", "440306": "深圳市宝安区新安街道建安一路23号",
    "440307": "深圳市龙岗区龙城街道龙福路6号", "440106": "广州市天河区体育西路191号",
}
OTHER_ADDRESSES = (
    "深圳市福田区福华三路88号", "深圳市南山区科技园科苑路15号", "深圳市宝安区新安街道建安一路23号",
    "深圳市罗湖区东门中路1011号", "深圳市龙岗区龙城街道龙福路6号", "广州市天河区体育西路191号",
    "长沙市芙蓉区五一大道389号", "上海市浦东新区张杨路500号", "北京市朝阳区建国路93号",
)
FAMILY = ("配偶", "父亲", "母亲", "子女")


@dataclass
class Person:
    name: str
    gender: str  # "M" or "F"
    born: date
    id_number: str
    phone: str


class _Generator:
    """Random names, IDs and phones that never repeat within one load."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.ids: set[str] = set()
        self.phones: set[str] = set(phone for _, _, phone in USERS.values())
        self.names: set[str] = set()
        self._regions = [code for code, _ in REGIONS]
        self._weights = [w for _, w in REGIONS]

    def day(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, max(0, (end - start).days)))

    def phone(self) -> str:
        while True:
            phone = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10 ** 8):08d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def landline(self) -> str:
        while True:
            phone = f"0755-{self.rng.choice('2368')}{self.rng.randrange(10 ** 7):07d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def resident_id(self, born: date, gender: str, region: str | None = None) -> str:
        region = region or self.rng.choices(self._regions, self._weights)[0]
        while True:
            seq = self.rng.randrange(100) * 10 + self.rng.randrange(1 if gender == "M" else 0, 10, 2)
            first17 = f"{region}{born:%Y%m%d}{seq:03d}"
            number = first17 + resident_id_check_char(first17)
            if number not in self.ids:
                self.ids.add(number)
                return number

    def credit_code(self, region: str) -> str:
        while True:
            org8 = f"{self.rng.randrange(10 ** 8):08d}"
            # GB 11714 organisation code: 8 digits and their check character
            c = 11 - sum(int(d) * w for d, w in zip(org8, (3, 7, 9, 10, 5, 8, 4, 2))) % 11
            org = org8 + {10: "X", 11: "0"}.get(c, str(c))
            first17 = f"91{region}{org}"  # 9 = market regulator, 1 = enterprise
            code = first17 + credit_code_check_char(first17)
            if code not in self.ids:
                self.ids.add(code)
                return code

    def name(self, gender: str, surname: str | None = None) -> str:
        for _ in range(30):
            name = (surname or self.rng.choice(SURNAMES)) + self.rng.choice(MALE_GIVEN if gender == "M" else FEMALE_GIVEN)
            if name not in self.names:
                break
        self.names.add(name)
        return name

    def person(self, born_from: int = 1955, born_to: int = 2000, gender: str | None = None,
               surname: str | None = None) -> Person:
        gender = gender or self.rng.choice("MF")
        born = self.day(date(born_from, 1, 1), date(born_to, 12, 31))
        return Person(self.name(gender, surname), gender, born, self.resident_id(born, gender), self.phone())


# ---------------------------------------------------------------- tiny real files


def _pdf_text(text: str) -> bytes:
    """A PDF text string that holds any Unicode: UTF-16BE with its byte-order mark, as hex."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def make_pdf(title: str, lines: list[str], created: date) -> bytes:
    """A one-page A4 PDF 1.4 whose Info dictionary carries `title`; `lines` (ASCII) are drawn on the page."""
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = ["BT", "/F1 16 Tf", "56 780 Td", "(PropDesk demo document) Tj", "/F1 11 Tf"]
    for line in lines:
        ops += ["0 -22 Td", f"({esc(line)}) Tj"]
    ops.append("ET")
    stream = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Title " + _pdf_text(title) + b" /Producer (PropDesk seed) /CreationDate (D:"
        + created.strftime("%Y%m%d").encode() + b"090000+08'00') >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n% " + title.encode("utf-8") + b"\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def make_png(title: str, color: tuple[int, int, int], size: int = 8) -> bytes:
    """A size×size RGB PNG: a coloured card with a darker border, `title` in a UTF-8 iTXt chunk."""
    border = tuple(c // 2 for c in color)
    rows = b""
    for y in range(size):
        row = b"".join(bytes(border if x in (0, size - 1) or y in (0, size - 1) else color) for x in range(size))
        rows += b"\x00" + row  # filter type 0 per scanline
    itxt = b"Title\x00\x00\x00zh-CN\x00" + "标题".encode("utf-8") + b"\x00" + title.encode("utf-8")
    return (b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + _png_chunk(b"iTXt", itxt)
            + _png_chunk(b"tEXt", b"Software\x00PropDesk seed")
            + _png_chunk(b"IDAT", zlib.compress(rows, 9))
            + _png_chunk(b"IEND", b""))


# ---------------------------------------------------------------- the load


def is_empty() -> bool:
    """True when the database has neither an estate nor a staff account."""
    return (db.session.scalar(select(Estate.id).limit(1)) is None
            and db.session.scalar(select(AppUser.id).limit(1)) is None)


def _valid(model, data: dict) -> dict:
    """Refuse generated data that the panel itself would refuse."""
    errors = model.check(data)
    for key in ("phone",):
        if data.get(key) and (msg := check_phone(data[key])):
            errors[key] = msg
    if model is Resident and data.get("id_number") and (msg := check_resident_id(data["id_number"])):
        errors["id_number"] = msg
    if errors:
        raise ValueError(f"演示数据无效 {model.__tablename__} {data.get('name')}: {errors}")
    return data


def load(seed: int = 2026, ledger: bool = True) -> dict[str, int]:
    """Fill an empty database with demo data (inside an app context); return row counts per table.

    Property and people are committed once; with `ledger`, a year of fees, leases and dunning follows."""
    if not is_empty():
        raise RuntimeError("数据库中已有项目或用户,演示数据只能载入空数据库")
    rng = random.Random(seed)
    gen = _Generator(rng)
    session = db.session
    counts: dict[str, int] = {}

    def add(table: str, objs: list) -> list:
        session.add_all(objs)
        counts[table] = counts.get(table, 0) + len(objs)
        return objs

    try:
        with audit_context(session, username="seed"):
            # -- the office
            estate = add("estate", [Estate(**ESTATE)])[0]
            departments = {name: Department(name=name, supervisor_name=boss, phone=phone, note=note)
                           for name, boss, phone, note in DEPARTMENTS}
            add("department", list(departments.values()))
            users = {}
            for role in ROLES:
                display, dept, phone = USERS[role]
                user = AppUser(username=role, display_name=display, role=role, department=departments[dept],
                               phone=phone, active=True, estates=[estate])
                user.set_password(DEMO_PASSWORD)
                users[role] = user
            add("app_user", list(users.values()))
            session.flush()

            # -- buildings and units
            units: list[Unit] = []
            for b in range(1, BUILDINGS + 1):
                floors = rng.randint(12, 18)
                building = Building(estate=estate, name=f"{b}栋", floors=floors,
                                    note="首层为临街商铺" if b in SHOP_BUILDINGS else None)
                add("building", [building])
                per_floor = math.ceil(UNITS_PER_BUILDING / floors)
                plan = {r: Decimal(rng.randint(6000, 16000)) / 100 for r in range(1, per_floor + 1)}
                ground = [(1, r) for r in range(1, per_floor + 1)]
                upper = [(f, r) for f in range(2, floors + 1) for r in range(1, per_floor + 1)]
                for floor, room in sorted(ground + rng.sample(upper, UNITS_PER_BUILDING - len(ground))):
                    shop = floor == 1 and b in SHOP_BUILDINGS
                    usage = UnitUsage.shop if shop else UnitUsage.residence
                    area = plan[room] + Decimal(rng.randint(-150, 150)) / 100  # same plan, measured per unit
                    area = min(max(area, Decimal("60.00")), Decimal("160.00")).quantize(Decimal("0.01"))
                    units.append(Unit(building=building, room_no=f"{floor}{room:02d}", floor=floor,
                                      area=area, usage=usage, fee_rate=FEE_RATES[usage]))
            add("unit", units)

            statuses = []
            for status, share in STATUS_SHARES:
                statuses += [status] * round(share * len(units))
            statuses += [UnitStatus.occupied] * (len(units) - len(statuses))
            rng.shuffle(statuses)
            for unit, status in zip(units, statuses):
                unit.status = status
                if status != UnitStatus.vacant:
                    phase = HANDOVER_PHASES[int(unit.building.name.rstrip("栋"))]
                    unit.handover_date = min(phase + timedelta(days=rng.randint(0, 75)), date(2025, 12, 31))
                if status == UnitStatus.custody:
                    unit.note = "业主委托管理处代管钥匙"
                elif status == UnitStatus.renovating:
                    unit.note = "装修期间请遵守装修管理规定"
            session.flush()

            # -- owners, ownership, residents
            sold = [u for u in units if u.status != UnitStatus.vacant]
            n_companies = max(1, math.ceil(0.05 * len(sold)))
            shops = [u for u in sold if u.usage == UnitUsage.shop]
            homes = [u for u in sold if u.usage != UnitUsage.shop]
            company_units = set(rng.sample(shops, min(len(shops), n_companies - 2)))
            company_units |= set(rng.sample(homes, n_companies - len(company_units)))
            companies = iter(rng.sample(COMPANIES, len(company_units)))

            owners, ownerships, residents = [], [], []
            primary: dict[int, tuple[Owner, Person | None]] = {}
            for unit in sold:
                label = f"{unit.building.name}{unit.room_no}"
                since = unit.handover_date
                if unit in company_units:
                    name, region = next(companies)
                    contact = gen.person(1965, 1995)
                    owner = Owner(kind=OwnerKind.company, name=name, id_type=IdType.credit_code,
                                  id_number=gen.credit_code(region), contact_person=contact.name,
                                  phone=gen.landline() if rng.random() < 0.5 else contact.phone,
                                  address=COMPANY_ADDRESSES[region], note="单位业主")
                    group = [(owner, None)]
                else:
                    lives_here = (unit.status == UnitStatus.occupied and unit.usage != UnitUsage.shop
                                  and rng.random() < 0.8)
                    first = gen.person()
                    group = [(first, lives_here)]
                    if rng.random() < 0.15:  # spouses holding the property jointly
                        spouse_born = gen.day(first.born - timedelta(days=5 * 365), first.born + timedelta(days=5 * 365))
                        spouse_born = min(max(spouse_born, date(1955, 1, 1)), date(2000, 12, 31))
                        gender = "F" if first.gender == "M" else "M"
                        spouse = Person(gen.name(gender), gender, spouse_born,
                                        gen.resident_id(spouse_born, gender), gen.phone())
                        group.append((spouse, lives_here))
                    address = STREET_ADDRESS + label if lives_here else rng.choice(OTHER_ADDRESSES)
                    group = [(Owner(kind=OwnerKind.person, name=p.name, id_type=IdType.resident_id,
                                    id_number=p.id_number, phone=p.phone, address=address), p)
                             for p, _ in group]
                for owner, _ in group:
                    _valid(Owner, {c: getattr(owner, c) for c in
                                   ("kind", "name", "id_type", "id_number", "phone", "contact_person")})
                share = Decimal("100.00") if len(group) == 1 else Decimal("50.00")
                for i, (owner, _) in enumerate(group):
                    owners.append(owner)
                    ownerships.append(Ownership(owner=owner, unit=unit, share=share, since=since, is_primary=i == 0))
                primary[id(unit)] = group[0]

                if unit.status != UnitStatus.occupied:
                    continue
                residents += _residents(gen, unit, group)
            add("owner", owners)
            add("ownership", ownerships)
            add("resident", residents)
            session.flush()

            # -- documents on file, each with a real stored file
            clerk = users["frontdesk"]
            documents = []
            for unit in sorted(rng.sample(sold, min(60, len(sold))), key=lambda u: u.id):
                owner = primary[id(unit)][0]
                label = f"{unit.building.name}{unit.room_no}"
                kinds = [DocType.company_proof if owner.kind == OwnerKind.company else DocType.id_copy,
                         DocType.movein_notice, DocType.purchase_contract]
                if unit.status == UnitStatus.renovating:
                    kinds[2] = DocType.renovation_agreement
                elif unit.status == UnitStatus.custody:
                    kinds[2] = DocType.custody_agreement
                for kind in kinds[: rng.choice((2, 3))]:
                    documents.append(_document(gen, kind, owner, unit, label, clerk))
            add("document", documents)
            session.flush()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if not ledger:
        return counts
    from seed.ledger_demo import load_ledger

    counts.update(load_ledger(rng))  # fees, payments, leases, dunning: dated relative to today
    from seed.occupancy_demo import load_occupancy

    counts.update(load_occupancy(rng))  # move-ins, inspections, work orders, custody: relative to today
    from seed.frontdesk_demo import load_frontdesk

    counts.update(load_frontdesk(rng))  # calls, complaints, release slips, visitors: relative to today
    from seed.renovation_demo import load_renovation

    counts.update(load_renovation(rng))  # renovation permits, department checks, patrols: relative to today
    from seed.community_demo import load_community

    counts.update(load_community(rng))  # visits, surveys, bulletin board, events, services: relative to today
    return counts


def _residents(gen: _Generator, unit: Unit, group: list) -> list[Resident]:
    """The people living in an occupied unit: the owners and their family, or tenants."""
    rng = gen.rng
    keys = unit.handover_date + timedelta(days=rng.randint(30, 150))  # renovation before moving in
    owner, first = group[0]
    out = []

    def resident(person: Person, relation: str, move_in: date, move_out: date | None = None, note=None):
        data = {"unit": unit, "name": person.name, "relation": relation, "phone": person.phone,
                "id_number": person.id_number, "move_in_date": move_in, "move_out_date": move_out, "note": note}
        out.append(Resident(**_valid(Resident, data)))

    if owner.kind == OwnerKind.company:
        if unit.usage == UnitUsage.shop:
            resident(gen.person(1970, 1998), Relation.other, keys, note="商铺经营负责人")
        else:
            for _ in range(rng.randint(1, 3)):
                resident(gen.person(1985, 2003), Relation.tenant, gen.day(keys, AS_OF), note="单位员工宿舍")
        return out

    lives_here = owner.address.startswith(STREET_ADDRESS)
    if not lives_here:  # rented out: tenants, sometimes after an earlier tenant who left
        move_in = gen.day(keys, AS_OF - timedelta(days=60))
        if rng.random() < 0.3 and (move_in - keys).days > 240:
            earlier = gen.day(keys, move_in - timedelta(days=200))
            resident(gen.person(1975, 2003), Relation.tenant, earlier, move_in - timedelta(days=rng.randint(3, 30)),
                     note="租约到期退租")
        main = gen.person(1975, 2003)
        resident(main, Relation.tenant, move_in, note="租户")
        for _ in range(rng.randint(0, 2)):
            resident(gen.person(1975, 2003, surname=main.name[0] if rng.random() < 0.5 else None),
                     Relation.tenant, move_in, note="同住租户")
        return out

    for _, person in group:
        resident(person, Relation.owner, keys, note="共有产权人" if person is not first else None)
    for _ in range(rng.randint(0, 4 - len(group))):
        kind = rng.choice(FAMILY[1:] if len(group) > 1 else FAMILY)
        surname = None
        if kind == "配偶":
            gender = "F" if first.gender == "M" else "M"
            born_from, born_to = first.born.year - 5, min(first.born.year + 5, 2000)
        elif kind in ("父亲", "母亲"):
            gender = "M" if kind == "父亲" else "F"
            born_from, born_to = first.born.year - 35, first.born.year - 22
            surname = first.name[0] if kind == "父亲" else None
        else:
            gender, surname = rng.choice("MF"), first.name[0]
            born_from, born_to = first.born.year + 22, min(first.born.year + 35, 2006)
            if born_from > born_to:  # owner too young for a grown-up child: a parent lives with them
                kind, gender, surname = "母亲", "F", None
                born_from, born_to = first.born.year - 35, first.born.year - 22
        person = gen.person(born_from, born_to, gender, surname)
        move_out = None
        if kind == "子女" and rng.random() < 0.25:  # grown-up children move out
            move_out = gen.day(keys + timedelta(days=180), AS_OF)
            if move_out <= keys:
                move_out = None
        resident(person, Relation.family, keys, move_out, note=kind + ("(已迁出)" if move_out else ""))
    return out


def _document(gen: _Generator, kind: DocType, owner: Owner, unit: Unit, label: str, clerk: AppUser) -> Document:
    rng = gen.rng
    received = min(unit.handover_date + timedelta(days=rng.randint(0, 45)), AS_OF)
    if kind in (DocType.id_copy, DocType.company_proof):
        title = f"{owner.name} {kind.label}"
    else:
        title = f"{label} {kind.label}"
    if kind == DocType.id_copy:  # a scan
        data = make_png(title, (rng.randint(170, 250), rng.randint(170, 250), rng.randint(170, 250)))
        filename = f"{owner.name}-{kind.label}.png"
    else:
        data = make_pdf(title, [
            f"Estate: Jinxiu Garden   Unit: {unit.building.name[:-1]}-{unit.room_no}",
            f"Document type: {kind.value}",
            f"Owner ID: {owner.id_number}",
            f"Received: {received.isoformat()}",
        ], received)
        filename = f"{label}-{kind.label}.pdf"
    meta = storage.store(io.BytesIO(data), filename)
    return Document(doc_type=kind, title=title, owner=owner, unit=unit, received_on=received, clerk=clerk,
                    filename=meta["filename"], content_type=meta["content_type"], size=meta["size"],
                    sha256=meta["sha256"])
