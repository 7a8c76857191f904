"""Small builders for valid records (valid ID numbers and phones), used across the suite."""
from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from app.extensions import db
from app.validators import credit_code_check_char, resident_id_check_char
from schema import Building, Department, Document, Estate, Owner, Ownership, Resident, Unit

_seq = itertools.count(1)


def resident_id(born: str = "19900307", region: str = "440305", serial: int | None = None) -> str:
    body = f"{region}{born}{(serial or next(_seq)) % 1000:03d}"
    return body + resident_id_check_char(body)


def credit_code(body: str = "91440300MA5DABCD1") -> str:
    return body + credit_code_check_char(body)


def mobile() -> str:
    return f"138{next(_seq):08d}"


def estate(**kw) -> Estate:
    e = Estate(**{"name": f"锦绣花园{next(_seq)}", "address": "深圳市南山区", "phone": "0755-26881234", **kw})
    db.session.add(e)
    return e


def building(**kw) -> Building:
    b = Building(**{"estate": kw.pop("estate", None) or estate(), "name": f"{next(_seq)}栋", "floors": 18, **kw})
    db.session.add(b)
    return b


def unit(**kw) -> Unit:
    u = Unit(**{"building": kw.pop("building", None) or building(), "room_no": f"{1200 + next(_seq)}",
                "floor": 12, "area": Decimal("89.50"), "usage": "residence", "status": "occupied",
                "fee_rate": Decimal("2.50"), **kw})
    db.session.add(u)
    return u


def owner(**kw) -> Owner:
    o = Owner(**{"kind": "person", "name": "张三", "id_type": "resident_id", "id_number": resident_id(),
                 "phone": mobile(), **kw})
    db.session.add(o)
    return o


def ownership(**kw) -> Ownership:
    s = Ownership(**{"owner": kw.pop("owner", None) or owner(), "unit": kw.pop("unit", None) or unit(),
                     "share": Decimal("100"), "since": date(2024, 1, 1), "is_primary": True, **kw})
    db.session.add(s)
    return s


def resident(**kw) -> Resident:
    r = Resident(**{"unit": kw.pop("unit", None) or unit(), "name": "李四", "relation": "family",
                    "phone": mobile(), "move_in_date": date(2024, 3, 1), **kw})
    db.session.add(r)
    return r


def document(**kw) -> Document:
    d = Document(**{"doc_type": "id_copy", "title": "身份证复印件", "owner": kw.pop("owner", None) or owner(), **kw})
    db.session.add(d)
    return d


def department(**kw) -> Department:
    d = Department(**{"name": f"工程维修部{next(_seq)}", "supervisor_name": "王工", "phone": "0755-26880000", **kw})
    db.session.add(d)
    return d


def one_of_each() -> dict:
    """One committed record per registered table (app_user and audit_log exist already)."""
    from schema.org import AppUser, AuditLog

    own = ownership()
    records = {"estate": own.unit.building.estate, "building": own.unit.building, "unit": own.unit,
               "owner": own.owner, "ownership": own, "resident": resident(unit=own.unit),
               "document": document(owner=own.owner, unit=own.unit), "department": department()}
    db.session.commit()
    records["app_user"] = db.session.execute(db.select(AppUser).limit(1)).scalar_one()
    records["audit_log"] = db.session.execute(db.select(AuditLog).limit(1)).scalar_one()
    return {k: v.id for k, v in records.items()}
