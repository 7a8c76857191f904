"""The importable kinds: owners, units (with their buildings), ownerships, residents, leases and opening
balances. Each is a list of Fields (mostly derived from its model's columns) plus what the form and the
database add: references by readable name (房屋 "3栋1201", 业主 by 证件号码, 合同编号, 资源编号),
the model's cross-field `check`, and duplicates inside the file and against the database.

An importer is made fresh for every run. `prepare()` loads every lookup it needs in a few bulk queries
(never one query per row); `check_row()` turns one row's parsed values into the record to insert (or
adds errors); `finish()` may refuse rows after the whole file has been seen; `insert()` writes the
records through an engine.Writer (Core bulk inserts with their audit rows) and yields progress.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections import defaultdict
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import select

from app.extensions import db
from schema.leasing import LeasableAsset, Lease, LeaseStatus
from schema.ledger import Charge, ChargeKind, ChargeStatus
from schema.people import Owner, Ownership, Resident
from schema.property import Building, Estate, Unit

from .cells import Field, from_column, squeeze

EXAMPLE_ID = "110101199003074477"  # a valid resident ID (check digit 7) for the templates
OPENING_PERIOD = "期初余额"
_SEPARATOR = re.compile(r"[\s\u3000\-—/#]+")


class RowErrors(dict):
    """{field key: message} for one row (the first message per cell wins); key "" holds row-level ones."""

    def add(self, key: str | None, message: str) -> None:
        key = key or ""
        if key == "":
            self[""] = f"{self['']};{message}" if self.get("") else message
        elif key not in self:
            self[key] = message


class Importer(ABC):
    """One kind of import; each subclass says its fields and how a row becomes a record."""

    kind = ""
    title = ""
    model = None
    models: tuple = ()
    """Every model the import creates rows of (the role needs `create` on each)."""
    notes_text = ""
    """One line shown on the page and in the template's 说明 sheet."""

    def __init__(self):
        self.fields: list[Field] = self.build_fields()
        self.by_key = {f.key: f for f in self.fields}
        self.extra_notes: list[str] = []

    @abstractmethod
    def build_fields(self) -> list[Field]:
        """The columns of this kind's sheet, in order."""

    def prepare(self) -> None:
        """Load the lookups every row needs (bulk, once per run)."""

    @abstractmethod
    def check_row(self, values: dict, errors: RowErrors, row: int) -> dict | None:
        """The insert record for a valid row; errors added to `errors` make the row invalid."""

    def finish(self) -> list[tuple[int, str, str]]:
        """(row, field key, message) errors found once the whole file has been seen."""
        return []

    def notes(self) -> list[str]:
        """What else the import will do (e.g. buildings it creates), for the preview."""
        return self.extra_notes

    def insert(self, writer, records: list[tuple[int, dict]]):
        """Write the records; yields ("insert", done, total)."""
        yield from writer.insert(self.model, records)

    # -- shared helpers ---------------------------------------------------------------
    def model_check(self, values: dict, errors: RowErrors, **extra) -> None:
        """The model's cross-field form rules; a message for a cell that already has one is dropped."""
        messages = self.model.check({**values, **extra})
        for key, message in messages.items():
            errors.add(key if key in self.by_key else "", message)

    def columns(self, values: dict, *keys, **more) -> dict:
        """An insert record: the named values plus fixed ones, with a fresh version."""
        out = {k: values.get(k) for k in keys}
        out.update(more)
        out["version"] = 1
        return out


# ---------------------------------------------------------------- shared lookups


def estate_field(required_hint: str = "系统中只有一个项目时可留空") -> Field:
    return Field("estate", "项目", max_len=100, rule=f"填写项目名称;{required_hint}", example=None)


def unit_field(required: bool = True) -> Field:
    return Field("unit", "房屋", required=required, max_len=80, as_text=True, example="3栋1201",
                 rule="楼栋名称加房号,如 3栋1201(与系统中“楼栋”“房号”一致)")


def owner_field(required: bool = True, example: str | None = EXAMPLE_ID) -> Field:
    return Field("owner", "业主证件号码", required=required, max_len=30, as_text=True, example=example,
                 rule="填写系统中已有业主的证件号码")


class Places:
    """Estates, buildings and units, indexed by their readable names (one query each)."""

    def __init__(self, with_units: bool = True):
        self.estates = {name: id_ for id_, name in db.session.execute(select(Estate.id, Estate.name))}
        self.buildings: dict[tuple[int, str], int] = {}
        for id_, estate_id, name in db.session.execute(select(Building.id, Building.estate_id, Building.name)):
            self.buildings[(estate_id, squeeze(name))] = id_
        self.units: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.parts: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
        self.unit_keys: set[tuple[int, str]] = set()
        if with_units:
            q = select(Unit.id, Unit.room_no, Unit.building_id, Building.name, Building.estate_id).join(
                Building, Unit.building_id == Building.id)
            for unit_id, room_no, building_id, bname, estate_id in db.session.execute(q):
                self.units[squeeze(bname) + squeeze(room_no)].append((estate_id, unit_id))
                self.parts[(squeeze(bname), squeeze(room_no))].append((estate_id, unit_id))
                self.unit_keys.add((building_id, squeeze(room_no)))

    def estate(self, name: str | None, errors: RowErrors, required: bool) -> int | None:
        if name:
            found = self.estates.get(name) or self.estates.get(squeeze(name))
            if found is None:
                errors.add("estate", f"找不到项目“{name}”")
            return found
        if not required:
            return None
        if len(self.estates) == 1:
            return next(iter(self.estates.values()))
        if not self.estates:
            errors.add("estate", "系统中还没有项目,请先在“项目”中新建")
        else:
            errors.add("estate", "系统中有多个项目,请填写项目名称")
        return None

    def unit(self, label: str | None, estate_id: int | None, errors: RowErrors, key: str = "unit") -> int | None:
        """The unit named like "3栋1201" (building name + room number), within the estate when given.
        "3栋-1201" or "3栋 1201" name the building and the room separately."""
        if not label:
            return None
        found = None
        split = _SEPARATOR.split(label.strip(), maxsplit=1)
        if len(split) == 2:
            found = self.parts.get((squeeze(split[0]), squeeze(split[1])))
        if not found:
            found = self.units.get(squeeze(label))
        if found and estate_id is not None:
            found = [f for f in found if f[0] == estate_id]
        if not found:
            errors.add(key, f"找不到房屋“{label}”" + ("(在所填项目中)" if estate_id is not None else "")
                       + ",请按“楼栋+房号”填写,如 3栋1201")
            return None
        if len(found) > 1:
            if len({f[0] for f in found}) > 1:
                errors.add(key, f"房屋“{label}”在多个项目中都有,请填写“项目”列")
            else:
                errors.add(key, f"“{label}”可对应多个房屋,请在楼栋和房号之间加“-”,如 3栋-1201")
            return None
        return found[0][1]


def owner_index() -> dict[str, tuple[int, str]]:
    """Upper-case ID number -> (owner id, name)."""
    return {(num or "").strip().upper(): (id_, name)
            for id_, num, name in db.session.execute(select(Owner.id, Owner.id_number, Owner.name))}


def _dup(seen: dict, key, row: int, errors: RowErrors, field: str, what: str) -> bool:
    """Record the first row of `key`; a later row with the same key gets an error. True if a duplicate."""
    first = seen.get(key)
    if first is None:
        seen[key] = row
        return False
    errors.add(field, f"与第{first}行{what}重复")
    return True


# ---------------------------------------------------------------- owners


class OwnerImporter(Importer):
    kind, title, model, models = "owner", "业主", Owner, (Owner,)
    notes_text = "按证件号码识别业主:文件内或系统中已有相同证件号码的业主不会重复导入。"

    def build_fields(self):
        examples = {"kind": "个人", "name": "张三", "id_type": "居民身份证", "id_number": EXAMPLE_ID,
                    "phone": "13800138000", "address": "深圳市南山区科技园路1号"}
        out = []
        for key in ("kind", "name", "id_type", "id_number", "phone", "contact_person", "address", "note"):
            out.append(from_column(Owner, key, example=examples.get(key),
                                   as_text=key in ("id_number", "phone")))
        by = {f.key: f for f in out}
        by["id_number"].rule = "居民身份证须为18位且校验位正确;单位填统一社会信用代码"
        by["contact_person"].rule = "单位业主必填"
        return out

    def prepare(self):
        self.existing = {(n or "").strip().upper() for (n,) in db.session.execute(select(Owner.id_number))}
        self.seen: dict[str, int] = {}

    def check_row(self, values, errors, row):
        number = values.get("id_number")
        if number:
            number = values["id_number"] = number.upper()
        self.model_check(values, errors)
        if (number and "id_number" not in errors and not _dup(self.seen, number, row, errors, "id_number", "证件号码")
                and number in self.existing):
            errors.add("id_number", "系统中已有该证件号码的业主")
        if errors:
            return None
        return self.columns(values, "kind", "name", "id_type", "id_number", "phone", "contact_person",
                            "address", "note")


# ---------------------------------------------------------------- units and buildings


class UnitImporter(Importer):
    kind, title, model, models = "unit", "房屋", Unit, (Unit, Building)
    notes_text = "楼栋按名称在所填项目中查找,不存在时自动新建(预检页列出将新建的楼栋);项目须已存在。"

    def build_fields(self):
        examples = {"room_no": "1201", "floor": 12, "area": "89.50", "usage": "住宅", "status": "空置",
                    "fee_rate": "2.50", "handover_date": "2024-03-01"}
        out = [estate_field(), from_column(Building, "name", key="building", required=True, example="3栋",
                                          rule="楼栋名称,如 3栋;系统中没有时自动新建")]
        for key in ("room_no", "floor", "area", "usage", "status", "fee_rate", "handover_date", "note"):
            out.append(from_column(Unit, key, example=examples.get(key), as_text=key == "room_no"))
        return out

    def prepare(self):
        self.places = Places(with_units=True)
        self.seen: dict = {}
        self.new_buildings: dict[tuple[int, str], str] = {}

    def check_row(self, values, errors, row):
        estate_id = self.places.estate(values.get("estate"), errors, required=True)
        name, room = values.get("building"), values.get("room_no")
        self.model_check(values, errors)
        if estate_id is None or not name:
            return None
        bkey = (estate_id, squeeze(name))
        building_id = self.places.buildings.get(bkey)
        if (room and "room_no" not in errors
                and not _dup(self.seen, (bkey, squeeze(room)), row, errors, "room_no", "房屋(楼栋+房号)")
                and building_id is not None and (building_id, squeeze(room)) in self.places.unit_keys):
            errors.add("room_no", f"系统中已有房屋 {name}{room}")
        if errors:
            return None
        if building_id is None and bkey not in self.new_buildings:
            self.new_buildings[bkey] = name
        record = self.columns(values, "room_no", "floor", "area", "usage", "status", "fee_rate",
                              "handover_date", "note")
        record["building_id"] = building_id if building_id is not None else bkey
        return record

    def notes(self):
        if not self.new_buildings:
            return []
        names = {v: k for k, v in self.places.estates.items()}
        shown = [f"{names.get(e, '')} {n}".strip() for (e, _key), n in self.new_buildings.items()]
        return [f"将新建楼栋 {len(shown)} 个:" + "、".join(shown[:50]) + ("……" if len(shown) > 50 else "")]

    def insert(self, writer, records):
        # buildings first (only those a valid unit needs), then the units pointing at them
        first_row: dict[tuple, int] = {}
        for row, r in records:
            if isinstance(r["building_id"], tuple):
                first_row.setdefault(r["building_id"], row)
        made = {}
        if first_row:
            keys = [k for k in self.new_buildings if k in first_row]
            new = [(first_row[k], {"estate_id": k[0], "name": self.new_buildings[k], "floors": None,
                                   "note": None, "version": 1}) for k in keys]
            ids = yield from writer.insert(Building, new, report=False)
            made = dict(zip(keys, ids))
        for _row, r in records:
            if isinstance(r["building_id"], tuple):
                r["building_id"] = made[r["building_id"]]
        yield from writer.insert(Unit, records)


# ---------------------------------------------------------------- ownerships


class OwnershipImporter(Importer):
    kind, title, model, models = "ownership", "产权", Ownership, (Ownership,)
    notes_text = "业主按证件号码、房屋按“楼栋+房号”查找,须先导入业主和房屋;同一业主与房屋的产权不会重复导入。"

    def build_fields(self):
        return [
            owner_field(),
            Field("owner_name", "业主姓名", max_len=100, example="张三",
                  rule="填写时须与证件号码对应的业主姓名一致,用于核对"),
            estate_field("房屋名称在多个项目中重复时必填"),
            unit_field(),
            from_column(Ownership, "share", example="100"),
            from_column(Ownership, "since", example="2024-01-01"),
            from_column(Ownership, "is_primary", example="是"),
        ]

    def prepare(self):
        self.owners = owner_index()
        self.places = Places()
        self.existing = set(db.session.execute(select(Ownership.owner_id, Ownership.unit_id)).tuples())
        self.seen: dict = {}

    def check_row(self, values, errors, row):
        number = (values.get("owner") or "").upper()
        owner = self.owners.get(number) if number else None
        if number and owner is None:
            errors.add("owner", "系统中没有该证件号码的业主,请先导入业主")
        if owner and values.get("owner_name") and squeeze(values["owner_name"]) != squeeze(owner[1]):
            errors.add("owner_name", f"与证件号码对应的业主姓名不符(系统中为 {owner[1]})")
        estate_id = self.places.estate(values.get("estate"), errors, required=False)
        unit_id = self.places.unit(values.get("unit"), estate_id, errors)
        self.model_check(values, errors)
        if (owner and unit_id and not _dup(self.seen, (owner[0], unit_id), row, errors, "unit", "业主和房屋")
                and (owner[0], unit_id) in self.existing):
            errors.add("unit", "系统中已有该业主对该房屋的产权")
        if errors:
            return None
        return self.columns(values, "share", "since", "is_primary", owner_id=owner[0], unit_id=unit_id)


# ---------------------------------------------------------------- residents


class ResidentImporter(Importer):
    kind, title, model, models = "resident", "住户", Resident, (Resident,)
    notes_text = "房屋按“楼栋+房号”查找,须先导入房屋;同一房屋已有同名(未迁出)住户时不会重复导入。"

    def build_fields(self):
        examples = {"name": "李四", "relation": "家属", "phone": "13900139000", "move_in_date": "2024-03-01"}
        out = [estate_field("房屋名称在多个项目中重复时必填"), unit_field()]
        for key in ("name", "relation", "phone", "id_number", "move_in_date", "move_out_date", "note"):
            out.append(from_column(Resident, key, example=examples.get(key),
                                   as_text=key in ("phone", "id_number")))
        return out

    def prepare(self):
        self.places = Places()
        self.existing = {(u, squeeze(n)) for u, n in db.session.execute(
            select(Resident.unit_id, Resident.name).where(Resident.move_out_date.is_(None)))}
        self.seen: dict = {}

    def check_row(self, values, errors, row):
        if values.get("id_number"):
            values["id_number"] = values["id_number"].upper()
        estate_id = self.places.estate(values.get("estate"), errors, required=False)
        unit_id = self.places.unit(values.get("unit"), estate_id, errors)
        self.model_check(values, errors)
        name = values.get("name")
        if (unit_id and name and "name" not in errors
                and not _dup(self.seen, (unit_id, squeeze(name)), row, errors, "name", "同一房屋的同名住户")
                and (unit_id, squeeze(name)) in self.existing and not values.get("move_out_date")):
            errors.add("name", "该房屋已有同名住户")
        if errors:
            return None
        return self.columns(values, "name", "relation", "phone", "id_number", "move_in_date", "move_out_date",
                            "note", unit_id=unit_id)


# ---------------------------------------------------------------- leases


class LeaseImporter(Importer):
    kind, title, model, models = "lease", "租赁合同", Lease, (Lease,)
    notes_text = ("导入的合同状态为“洽谈中”,不生成租金;核对后在“租赁合同”列表中执行“签约”生成租金应收。"
                  "招租资源按编号查找,合同编号不能重复。")

    def build_fields(self):
        examples = {"contract_no": "ZL2026-0001", "tenant_name": "刘强", "tenant_phone": "13700137000",
                    "start_date": "2026-01-01", "end_date": "2026-12-31", "rent": "800.00", "billing_cycle": "月",
                    "deposit": "1600.00", "venue_fee": "0"}
        out = [from_column(Lease, "contract_no", example=examples["contract_no"], as_text=True),
               Field("asset", "招租资源编号", required=True, max_len=30, as_text=True, example="CK-001",
                     rule="填写系统中已有招租资源的编号")]
        for key in ("tenant_name", "tenant_company", "tenant_phone", "tenant_id_number", "start_date", "end_date",
                    "rent", "billing_cycle", "deposit", "venue_fee", "negotiation_notes", "note"):
            out.append(from_column(Lease, key, example=examples.get(key),
                                   as_text=key in ("tenant_phone", "tenant_id_number")))
        return out

    def prepare(self):
        self.assets = {}
        for id_, code, kind in db.session.execute(select(LeasableAsset.id, LeasableAsset.code, LeasableAsset.kind)):
            self.assets[squeeze(code).upper()] = (id_, kind)
        self.existing = {squeeze(n).upper() for (n,) in db.session.execute(select(Lease.contract_no))}
        self.seen: dict = {}

    def check_row(self, values, errors, row):
        if values.get("tenant_id_number"):
            values["tenant_id_number"] = values["tenant_id_number"].upper()
        code = values.get("asset")
        asset = self.assets.get(squeeze(code).upper()) if code else None
        if code and asset is None:
            errors.add("asset", f"找不到编号为“{code}”的招租资源")
        self.model_check(values, errors, asset=SimpleNamespace(kind=asset[1]) if asset else None)
        number = values.get("contract_no")
        if number and "contract_no" not in errors:
            key = squeeze(number).upper()
            if not _dup(self.seen, key, row, errors, "contract_no", "合同编号") and key in self.existing:
                errors.add("contract_no", "系统中已有该合同编号")
        if errors:
            return None
        return self.columns(values, "contract_no", "tenant_name", "tenant_company", "tenant_phone",
                            "tenant_id_number", "negotiation_notes", "start_date", "end_date", "rent",
                            "billing_cycle", "deposit", "venue_fee", "note",
                            asset_id=asset[0], status=LeaseStatus.negotiating.value, signed_date=None)


# ---------------------------------------------------------------- opening balances


class OpeningBalanceImporter(Importer):
    kind, title, model, models = "opening_balance", "期初余额", Charge, (Charge,)
    notes_text = ("每行生成一条未缴的应收费用:房屋费用填“房屋”,租金等合同费用填“合同编号”(二选一);"
                  "同一房屋(或合同)、费用类别和所属期间只能有一条未作废的应收。")

    def build_fields(self):
        kind = from_column(Charge, "kind", example="物业管理费")
        period = from_column(Charge, "period", required=False, default=OPENING_PERIOD, example=OPENING_PERIOD)
        period.rule = "如 2026-11;留空为“期初余额”"
        payer = from_column(Charge, "payer_name", required=False, example="张三",
                            rule="留空时取业主姓名(房屋的主要联系人业主或所填业主),合同费用取承租人")
        return [
            estate_field("房屋名称在多个项目中重复时必填"),
            unit_field(required=False),
            Field("lease", "合同编号", max_len=40, as_text=True, rule="租金、场地管理费须填写合同编号(不填房屋)"),
            owner_field(required=False, example=None),
            kind, payer, period,
            from_column(Charge, "period_start"), from_column(Charge, "period_end"),
            from_column(Charge, "due_date", example="2026-01-31"),
            from_column(Charge, "amount", example="1200.00"),
            from_column(Charge, "note"),
        ]

    def prepare(self):
        self.places = Places()
        self.owners = owner_index()
        self.leases = {}
        for id_, number, name, company in db.session.execute(
                select(Lease.id, Lease.contract_no, Lease.tenant_name, Lease.tenant_company)):
            self.leases[squeeze(number).upper()] = (id_, (company or "").strip() or name)
        self.primary: dict[int, tuple[int, str]] = {}
        q = (select(Ownership.unit_id, Owner.id, Owner.name).join(Owner, Ownership.owner_id == Owner.id)
             .where(Ownership.is_primary.is_(True)).order_by(Ownership.id))
        for unit_id, owner_id, name in db.session.execute(q):
            self.primary.setdefault(unit_id, (owner_id, name))
        self.seen: dict = {}
        self.pending: list[tuple[int, tuple]] = []

    def check_row(self, values, errors, row):
        estate_id = self.places.estate(values.get("estate"), errors, required=False)
        unit_id = self.places.unit(values.get("unit"), estate_id, errors)
        lease = None
        if values.get("lease"):
            lease = self.leases.get(squeeze(values["lease"]).upper())
            if lease is None:
                errors.add("lease", f"找不到合同编号“{values['lease']}”")
        owner = None
        if values.get("owner"):
            owner = self.owners.get(values["owner"].upper())
            if owner is None:
                errors.add("owner", "系统中没有该证件号码的业主")
        # the form's rules see the references as given (a missing one is already reported on its cell)
        self.model_check(values, errors, unit=unit_id or values.get("unit"),
                         lease=(lease and lease[0]) or values.get("lease"))
        if owner is None and unit_id and not values.get("owner"):
            owner = self.primary.get(unit_id)
        payer = values.get("payer_name") or (owner[1] if owner else None) or (lease[1] if lease else None)
        if not payer and (unit_id or lease):
            errors.add("payer_name", "请填写缴费人(该房屋没有主要联系人业主)")
        kind, period = values.get("kind"), values.get("period") or OPENING_PERIOD
        if kind and (unit_id or lease) and not errors:
            key = (unit_id, lease and lease[0], kind, period)
            if not _dup(self.seen, key, row, errors, "period", "同一缴费对象、费用类别和所属期间"):
                self.pending.append((row, key))
        if errors:
            return None
        target = f"unit:{unit_id}" if unit_id else f"lease:{lease[0]}"
        return self.columns(values, "kind", "period_start", "period_end", "due_date", "amount", "note",
                            unit_id=unit_id, owner_id=owner[0] if owner else None,
                            lease_id=lease[0] if lease else None, payer_name=payer, period=period,
                            amount_paid=Decimal("0.00"), status=ChargeStatus.unpaid.value, void_reason=None,
                            bill_key=f"opening:{target}:{kind}:{period}")

    def finish(self):
        """Rows whose payer, kind and period already have a live charge (looked up per period, in bulk)."""
        if not self.pending:
            return []
        periods = sorted({key[3] for _row, key in self.pending})
        existing = set()
        for i in range(0, len(periods), 500):
            q = select(Charge.unit_id, Charge.lease_id, Charge.kind, Charge.period).where(
                Charge.period.in_(periods[i:i + 500]), Charge.status != ChargeStatus.void.value)
            existing.update(tuple(r) for r in db.session.execute(q))
        label = dict(ChargeKind.choices())
        return [(row, "period", f"系统中已有该缴费对象“{label.get(key[2], key[2])}”{key[3]}的应收")
                for row, key in self.pending if key in existing]


KINDS: dict[str, type[Importer]] = {cls.kind: cls for cls in (
    OwnerImporter, UnitImporter, OwnershipImporter, ResidentImporter, LeaseImporter, OpeningBalanceImporter)}
