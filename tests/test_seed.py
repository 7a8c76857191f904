"""The demo data: loads into an empty database, passes the panel's own rules, and loads only once."""
from __future__ import annotations

import re
import struct
import zlib
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import storage
from app.extensions import db
from app.validators import check_credit_code, check_phone, check_resident_id
from schema import REGISTRY
from schema.documents import Document
from schema.org import AppUser, AuditLog, Department
from schema.people import IdType, Owner, OwnerKind, Ownership, Resident
from schema.property import Building, Estate, Unit, UnitStatus, UnitUsage
from schema.spec import ROLE_LABELS, ROLES
from seed.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, is_empty, load


def table_counts() -> dict[str, int]:
    return {m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) for m in REGISTRY}


def test_load_fills_an_empty_database(ctx):
    assert is_empty()
    counts = load(ledger=False)
    assert not is_empty()

    in_db = table_counts()
    for table, n in counts.items():
        assert in_db[table] == n, table
    assert counts["estate"] == 1
    assert counts["building"] == 8
    assert 180 <= counts["unit"] <= 220
    assert counts["department"] == 5
    assert counts["app_user"] == len(ROLES)
    assert counts["owner"] > 0 and counts["ownership"] >= counts["owner"]
    assert counts["resident"] > 0 and counts["document"] > 0

    estate = db.session.scalars(select(Estate)).one()
    assert estate.name == "锦绣花园" and "深圳市南山区" in estate.address and estate.phone == "0755-26881234"
    assert {d.name for d in db.session.scalars(select(Department))} == {
        "客户服务中心", "秩序维护部", "工程维修部", "保洁部", "绿化部"}
    assert [b.name for b in db.session.scalars(select(Building).order_by(Building.id))] == [
        f"{i}栋" for i in range(1, 9)]


def test_one_user_per_role_and_all_can_log_in(ctx):
    load(ledger=False)
    users = db.session.scalars(select(AppUser)).all()
    assert Counter(u.role for u in users) == Counter(ROLES)
    for user in users:
        assert user.username == user.role and user.active and user.department is not None
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", user.display_name)
        assert user.check_password(DEMO_PASSWORD)
        assert not user.check_password("wrong-password")
    assert DEMO_PASSWORD == "Propdesk-2026"
    assert DEMO_ACCOUNTS == [(role, ROLE_LABELS[role], DEMO_PASSWORD) for role in ROLES]


def test_units_are_realistic(ctx):
    load(ledger=False)
    units = db.session.scalars(select(Unit)).all()
    statuses = Counter(u.status for u in units)
    assert statuses[UnitStatus.occupied] / len(units) == pytest.approx(0.75, abs=0.05)
    assert statuses[UnitStatus.vacant] / len(units) == pytest.approx(0.15, abs=0.05)
    assert statuses[UnitStatus.custody] > 0 and statuses[UnitStatus.renovating] > 0
    for unit in units:
        assert 60 <= unit.area <= 160 and unit.area == unit.area.quantize(Decimal("0.01"))
        assert 1 <= unit.floor <= unit.building.floors and 12 <= unit.building.floors <= 18
        assert unit.room_no.startswith(str(unit.floor)) and len(unit.room_no) == len(str(unit.floor)) + 2
        assert str(unit.fee_rate) == ("4.80" if unit.usage == UnitUsage.shop else "2.50")
        if unit.usage == UnitUsage.shop:
            assert unit.floor == 1
        if unit.status == UnitStatus.vacant:
            assert unit.handover_date is None and not unit.ownerships
        else:
            assert 2023 <= unit.handover_date.year <= 2025
            assert unit.ownerships and sum(o.share for o in unit.ownerships) == 100
            assert [o.is_primary for o in unit.ownerships].count(True) == 1
    assert 0 < sum(u.usage == UnitUsage.shop for u in units) < 20


def test_owner_ids_and_phones_are_valid(ctx):
    load(ledger=False)
    owners = db.session.scalars(select(Owner)).all()
    companies = [o for o in owners if o.kind == OwnerKind.company]
    assert 0.02 <= len(companies) / len(owners) <= 0.08
    for owner in owners:
        data = {c: getattr(owner, c) for c in ("kind", "name", "id_type", "id_number", "phone", "contact_person")}
        assert Owner.check(data) == {}, (owner.name, owner.id_number)
        if owner.id_type == IdType.credit_code:
            assert owner.kind == OwnerKind.company and owner.contact_person
            assert check_credit_code(owner.id_number) is None, owner.id_number
        else:
            assert owner.id_type == IdType.resident_id and owner.kind == OwnerKind.person
            assert check_resident_id(owner.id_number) is None, owner.id_number
            assert 1955 <= int(owner.id_number[6:10]) <= 2000
        assert check_phone(owner.phone) is None, owner.phone
    assert len({o.id_number for o in owners}) == len(owners)
    assert len({o.phone for o in owners}) == len(owners)


def test_residents_are_valid(ctx):
    load(ledger=False)
    residents = db.session.scalars(select(Resident)).all()
    per_unit = Counter(r.unit_id for r in residents)
    occupied = db.session.scalars(select(Unit.id).where(Unit.status == UnitStatus.occupied)).all()
    assert set(per_unit) == set(occupied)
    assert all(1 <= per_unit[u] <= 4 for u in occupied)
    assert {r.relation for r in residents} >= {"owner", "family", "tenant"}
    moved_out = [r for r in residents if r.move_out_date]
    assert moved_out
    for r in residents:
        assert Resident.check({"move_in_date": r.move_in_date, "move_out_date": r.move_out_date}) == {}
        assert r.move_in_date >= r.unit.handover_date
        assert check_phone(r.phone) is None, r.phone
        assert r.id_number is None or check_resident_id(r.id_number) is None, r.id_number


def test_documents_have_real_files(app, ctx):
    load(ledger=False)
    documents = db.session.scalars(select(Document)).all()
    assert 100 <= len(documents) <= 200
    assert len({d.unit_id for d in documents}) == 60
    frontdesk = db.session.scalars(select(AppUser).filter_by(role="frontdesk")).one()
    for doc in documents:
        assert doc.owner and doc.unit and doc.received_on and doc.clerk_id == frontdesk.id
        assert doc.owner in [o.owner for o in doc.unit.ownerships]
        path = storage.path_for(doc.sha256)
        assert path.is_file(), doc.title
        data = path.read_bytes()
        assert len(data) == doc.size
        assert storage.sniff(data[:4096], data[-4096:])[0] == doc.content_type
        if doc.content_type == "application/pdf":
            assert data.startswith(b"%PDF-1.4") and doc.title.encode() in data and doc.filename.endswith(".pdf")
            _check_pdf_xref(data)
        else:
            assert doc.content_type == "image/png" and doc.filename.endswith(".png")
            assert doc.title.encode() in _check_png(data)


def _check_pdf_xref(data: bytes) -> None:
    """Every xref entry points at its `N 0 obj`, and startxref points at the table."""
    start = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))
    assert data[start:].startswith(b"xref\n")
    entries = re.findall(rb"(\d{10}) 00000 n ", data[start:])
    for number, offset in enumerate(entries, 1):
        assert data[int(offset):].startswith(b"%d 0 obj" % number)


def _check_png(data: bytes) -> bytes:
    """Walk the chunks, checking each CRC and the pixel data; return the text chunks."""
    pos, text, pixels = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            pixels += body
        elif kind in (b"iTXt", b"tEXt"):
            text += body
        pos += 12 + length
    assert kind == b"IEND"
    assert len(zlib.decompress(pixels)) == height * (1 + width * 3) and depth == 8 and color == 2
    return text


def test_load_is_deterministic_and_audited(app, ctx):
    first = load(seed=7, ledger=False)
    snapshot = sorted(db.session.execute(select(Owner.name, Owner.id_number, Owner.phone)).all())
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.username != "seed")) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) >= sum(first.values())
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()
    assert load(seed=7, ledger=False) == first
    assert sorted(db.session.execute(select(Owner.name, Owner.id_number, Owner.phone)).all()) == snapshot


def test_load_refuses_a_database_with_data(ctx):
    load(ledger=False)
    with pytest.raises(RuntimeError):
        load(ledger=False)


def test_cli_seed_demo_if_empty_loads_once(app, ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "演示数据已载入" in result.output
    db.session.expire_all()
    after_first = table_counts()
    assert 180 <= after_first["unit"] <= 220 and after_first["app_user"] == len(ROLES)

    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "跳过" in result.output
    db.session.expire_all()
    assert table_counts() == after_first
    assert db.session.scalar(select(func.count()).select_from(Ownership)) == after_first["ownership"]
