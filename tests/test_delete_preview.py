"""Delete preview: before anything is deleted the panel shows what else would be deleted or unlinked and
what blocks the delete; the confirmation checks again and the outcome matches what was shown."""
import re
from html import unescape

import pytest
from sqlalchemy import ForeignKey, create_engine, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from app import deletion
from app.deletion import FINANCIAL_REASON, REFERENCED_REASON
from app.extensions import db
from schema import REGISTRY, Building, Document, Owner, Resident, Unit
from schema.ledger import Payment
from schema.org import AuditLog
from schema.release import ReleaseItem

from . import factories

TABLES = {m.__tablename__: m for m in REGISTRY}
NOTHING_ELSE = "没有其他记录引用此记录,只删除此记录本身。"


def text_of(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def preview_part(html: str) -> str:
    return html.split('class="delete-preview"', 1)[1]


def rows(html: str, css: str) -> list[list[str]]:
    """The body rows of the preview table with this class, as cell texts."""
    m = re.search(r'class="[^"]*' + css + r'[^"]*">(.*?)</table>', html, re.DOTALL)
    if not m:
        return []
    body = m.group(1).split("<tbody>", 1)[1]
    return [re.findall(r"<td>(.*?)</td>", tr, re.DOTALL) for tr in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)]


def open_preview(b, table, rid, url=None):
    """What the list's delete button does: POST id + url (no confirm); then follow to the preview."""
    resp = b.post(f"/admin/{table}/delete/", {"id": rid, "url": url or f"/admin/{table}/"})
    assert resp.status_code == 302
    assert f"/admin/{table}/delete/?id={rid}" in resp.location, resp.location
    page = b.get(resp.location)
    assert page.status_code == 200
    return text_of(page)


def confirm(b, table, rid, url=None):
    return b.post(f"/admin/{table}/delete/", {"id": rid, "url": url or f"/admin/{table}/", "confirm": "1"})


# -- through the panel -------------------------------------------------------------------------
def test_building_with_units_shows_the_block_and_deletes_nothing(login, app):
    with app.app_context():
        unit = factories.unit()
        factories.unit(building=unit.building)
        db.session.commit()
        bid = unit.building_id
    b = login("admin")
    html = open_preview(b, "building", bid)
    part = preview_part(html)
    assert rows(part, "delete-blocks") == [["房屋", "2", REFERENCED_REASON]]
    assert 'id="confirm-delete"' not in part and "确认删除" not in part
    assert 'href="/admin/building/">返回</a>' in part
    with app.app_context():
        assert db.session.get(Building, bid) is not None
        assert db.session.query(Unit).count() == 2


def test_confirm_on_a_blocked_record_refuses_and_deletes_nothing(login, app):
    with app.app_context():
        unit = factories.unit()
        db.session.commit()
        bid = unit.building_id
    b = login("admin")
    resp = confirm(b, "building", bid)
    assert resp.status_code == 302 and f"/admin/building/delete/?id={bid}" in resp.location
    html = text_of(b.get(resp.location))
    assert "删除未执行:房屋:" + REFERENCED_REASON in html
    with app.app_context():
        assert db.session.get(Building, bid) is not None
        assert db.session.query(Unit).count() == 1
        assert db.session.query(AuditLog).filter_by(operation="删除").count() == 0


def test_owner_with_payments_is_blocked_with_the_reason(login, app):
    with app.app_context():
        own = factories.ownership()
        factories.payment(owner=own.owner, unit=own.unit)
        factories.document(owner=own.owner)
        db.session.commit()
        oid = own.owner_id
    b = login("admin")
    part = preview_part(open_preview(b, "owner", oid))
    blocks = rows(part, "delete-blocks")
    assert ["收款记录", "1", FINANCIAL_REASON] in blocks
    assert ["产权", "1", REFERENCED_REASON] in blocks
    assert rows(part, "delete-unlinks") == [["资料档案", "1"]]
    assert "确认删除" not in part
    resp = confirm(b, "owner", oid)
    assert resp.status_code == 302
    assert FINANCIAL_REASON in text_of(b.get(resp.location))
    with app.app_context():
        assert db.session.get(Owner, oid) is not None
        assert db.session.query(Payment).one().owner_id == oid
        assert db.session.query(Document).one().owner_id == oid


def test_payments_block_even_without_any_other_reference(login, app):
    """charge.owner_id is nullable: the ORM alone would blank it; the ledger rule refuses instead."""
    with app.app_context():
        owner = factories.owner()
        factories.payment(owner=owner)
        db.session.commit()
        oid = owner.id
    b = login("admin")
    assert rows(preview_part(open_preview(b, "owner", oid)), "delete-blocks") == [["收款记录", "1", FINANCIAL_REASON]]
    confirm(b, "owner", oid)
    with app.app_context():
        assert db.session.get(Owner, oid) is not None
        assert db.session.query(Payment).one().owner_id == oid


def test_owner_with_documents_unlinks_them_and_the_outcome_matches(login, app):
    with app.app_context():
        owner = factories.owner(name="王小明")
        unit = factories.unit()
        kept = factories.document(owner=owner, unit=unit)
        factories.document(owner=owner, title="买卖契约", doc_type="purchase_contract")
        other = factories.document()  # someone else's
        db.session.commit()
        oid, kept_id, other_id, other_owner, unit_id = owner.id, kept.id, other.id, other.owner_id, unit.id
    b = login("admin")
    part = preview_part(open_preview(b, "owner", oid, url=f"/admin/owner/details/?id={oid}"))
    assert "王小明" in part
    assert rows(part, "delete-blocks") == [] and rows(part, "delete-deletes") == []
    assert rows(part, "delete-unlinks") == [["资料档案", "2"]]
    assert 'id="confirm-delete"' in part and "btn-danger" in part
    # from the record's own page: back there, but after the delete to the list
    assert f'href="/admin/owner/details/?id={oid}">返回</a>' in part
    assert 'name="url" value="/admin/owner/"' in part
    resp = confirm(b, "owner", oid)
    assert resp.status_code == 302 and resp.location.endswith("/admin/owner/")
    with app.app_context():
        assert db.session.get(Owner, oid) is None
        docs = db.session.query(Document).order_by(Document.id).all()
        assert len(docs) == 3  # unlinked, not deleted
        assert [d.owner_id for d in docs if d.id != other_id] == [None, None]
        assert db.session.get(Document, kept_id).unit_id == unit_id
        assert db.session.query(Document).filter_by(owner_id=other_owner).count() == 1
        audit = db.session.query(AuditLog).filter(AuditLog.operation.in_(["删除", "修改"])).all()
        assert {(a.table_name, a.operation) for a in audit} == {("owner", "删除"), ("document", "修改")}
        assert all(a.username == "admin" for a in audit)


def test_record_with_nothing_referencing_shows_an_empty_impact_then_deletes(login, app):
    with app.app_context():
        record = factories.resident(name="赵六")
        db.session.commit()
        rid = record.id
    b = login("admin")
    resp = b.get(f"/admin/resident/delete/?id={rid}&url=/admin/resident/")
    assert resp.status_code == 200
    part = preview_part(text_of(resp))
    assert NOTHING_ELSE in part and "赵六" in part
    assert not rows(part, "delete-blocks") and not rows(part, "delete-deletes") and not rows(part, "delete-unlinks")
    resp = confirm(b, "resident", rid)
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Resident, rid) is None
        assert db.session.query(AuditLog).filter_by(table_name="resident", record_id=rid, operation="删除").count() == 1


def test_the_list_button_always_shows_the_preview_first(login, app):
    """Even with nothing else affected, the list's delete opens the preview; only confirm=1 deletes."""
    with app.app_context():
        record = factories.resident()
        db.session.commit()
        rid = record.id
    b = login("admin")
    resp = b.post("/admin/resident/delete/", {"id": rid, "url": "/admin/resident/"})
    assert resp.status_code == 302 and "/admin/resident/delete/" in resp.location
    assert "没有其他记录引用此记录" in b.get(resp.location).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Resident, rid) is not None
    b.post("/admin/resident/delete/", {"id": rid, "url": "/admin/resident/", "confirm": "1"})
    with app.app_context():
        assert db.session.get(Resident, rid) is None


def test_the_batch_delete_refuses_a_referenced_record(login, app):
    with app.app_context():
        pay = factories.payment(owner=factories.owner())
        db.session.commit()
        oid = pay.owner_id
    b = login("admin")
    html = b.get(b.post("/admin/owner/action/", {"action": "delete", "rowid": oid}).location).get_data(as_text=True)
    assert "有收费记录,不能删除" in html
    with app.app_context():
        from schema.people import Owner

        assert db.session.get(Owner, oid) is not None


def test_role_without_delete_gets_403_at_both_steps(login, app):
    with app.app_context():
        record = factories.owner()
        db.session.commit()
        oid = record.id
    desk = login("frontdesk")  # edits owners, may not delete them
    assert desk.get(f"/admin/owner/delete/?id={oid}").status_code == 403
    assert desk.post("/admin/owner/delete/", {"id": oid}).status_code == 403
    assert confirm(desk, "owner", oid).status_code == 403
    leasing = login("leasing")  # cannot even read owners
    assert leasing.get(f"/admin/owner/delete/?id={oid}").status_code == 403
    assert confirm(leasing, "owner", oid).status_code == 403
    with app.app_context():
        assert db.session.get(Owner, oid) is not None


def test_locked_record_is_refused_before_any_preview(login, app):
    with app.app_context():
        slip = factories.release_slip(status="issued", number="FX20261127-0001")
        db.session.commit()
        item_id = slip.items[0].id
    desk = login("frontdesk")
    for step in (lambda: desk.get(f"/admin/release_item/delete/?id={item_id}&url=/admin/release_item/"),
                 lambda: confirm(desk, "release_item", item_id)):
        resp = step()
        assert resp.status_code == 302 and "/delete/" not in resp.location
        assert "放行条已开具,不能再修改" in text_of(desk.get(resp.location))
    with app.app_context():
        assert db.session.get(ReleaseItem, item_id) is not None


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "99999999999999", "", "1%27", "1.5"])
def test_garbage_ids_redirect_never_500(login, app, raw):
    b = login("admin")
    for resp in (b.get(f"/admin/owner/delete/?id={raw}"), b.post("/admin/owner/delete/", {"id": raw}),
                 confirm(b, "owner", raw)):
        assert resp.status_code == 302, resp.status_code
    assert b.get("/admin/owner/delete/").status_code == 302
    assert b.post("/admin/owner/delete/", {"url": "/admin/owner/"}).status_code == 302


def test_preview_issues_one_count_per_referencing_key(login, app):
    with app.app_context():
        own = factories.ownership()
        for _ in range(5):
            factories.resident(unit=own.unit)
            factories.document(owner=own.owner, unit=own.unit)
        factories.payment(unit=own.unit)
        db.session.commit()
        uid = own.unit_id
        engine = db.engine
    keys = [c for t in db.metadata.sorted_tables if t.name != "audit_log"
            for c in t.foreign_key_constraints if c.referred_table.name == "unit"]
    b = login("admin")
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        resp = b.get(f"/admin/unit/delete/?id={uid}")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert resp.status_code == 200
    counts = [s for s in statements if "count(*)" in s.lower()]
    assert len(keys) >= 15 and len(counts) == len(keys)
    assert len(statements) <= len(keys) + 8, statements
    part = preview_part(text_of(resp))
    assert ["住户", "5", REFERENCED_REASON] in rows(part, "delete-blocks")
    assert ["资料档案", "5"] in rows(part, "delete-unlinks")


# -- the rules against what the database really does ------------------------------------------
def _rows_per_table():
    return {m.__tablename__: db.session.query(m).count() for m in REGISTRY if m.__tablename__ != "audit_log"}


def test_classification_matches_the_real_delete_for_every_table(users, ctx):
    """For one record of every table: where impact() shows a structural block the delete fails; where it
    shows none the delete succeeds, removes exactly the record and what it lists as deleted, and leaves
    nothing pointing at the record (unlinked rows are kept, with the key blanked)."""
    ids = factories.one_of_each()
    from schema.dunning import Dunning
    from schema.ledger import Charge

    dun = db.session.get(Dunning, ids["dunning"])
    dun.charges.append(db.session.get(Charge, ids["charge"]))
    db.session.commit()
    checked = {"blocked": 0, "deleted": 0}
    for table, rid in ids.items():
        if table == "audit_log":
            continue  # the audit hook writes rows of its own
        model = TABLES[table]
        record = db.session.get(model, rid)
        result = deletion.impact(record)
        structural = [b for b in result["blocks"] if b[2] != FINANCIAL_REASON]
        if result["blocks"] and not structural:
            db.session.rollback()
            continue  # the ledger rule is stricter than the database
        before = _rows_per_table()
        refs = [c for t in db.metadata.sorted_tables for c in t.foreign_key_constraints
                if c.referred_table is model.__table__ and t.name != "audit_log"]
        db.session.delete(record)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            assert structural, (table, result)
            checked["blocked"] += 1
            continue
        assert not structural, (table, result)
        after = _rows_per_table()
        removed = sum(before.values()) - sum(after.values())
        assert removed == 1 + sum(n for _label, n in result["deletes"]), (table, result)
        for c in refs:
            col = next(iter(c.columns))
            assert db.session.execute(select(func.count()).select_from(c.table).where(col == rid)).scalar_one() == 0
        db.session.rollback()
        checked["deleted"] += 1
    assert checked["blocked"] >= 8 and checked["deleted"] >= 15, checked
    dunning_impact = deletion.impact(db.session.get(Dunning, ids["dunning"]))
    assert dunning_impact["unlinks"] == [("应收费用", 1)]


class _Base(DeclarativeBase):
    pass


class _Parent(_Base):
    __tablename__ = "t_parent"
    id: Mapped[int] = mapped_column(primary_key=True)
    kids = relationship("_Kid", cascade="all, delete-orphan", backref="parent")
    notes = relationship("_Note", backref="parent")
    pins = relationship("_Pin", passive_deletes=True)


class _Kid(_Base):
    __tablename__ = "t_kid"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("t_parent.id"))
    toys = relationship("_Toy", cascade="all", backref="kid")


class _Toy(_Base):
    __tablename__ = "t_toy"
    id: Mapped[int] = mapped_column(primary_key=True)
    kid_id: Mapped[int] = mapped_column(ForeignKey("t_kid.id"))


class _Tag(_Base):
    """References a kid with no relationship on the kid: the database refuses the kid's delete."""
    __tablename__ = "t_tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    kid_id: Mapped[int | None] = mapped_column(ForeignKey("t_kid.id"))


class _Note(_Base):
    __tablename__ = "t_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("t_parent.id"))


class _Pin(_Base):
    __tablename__ = "t_pin"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("t_parent.id", ondelete="SET NULL"))


def test_cascades_are_followed_and_agree_with_the_orm(app):
    """Generic rules on a small schema with every kind of key the real one lacks (delete cascades, a
    grandchild behind a cascade, ON DELETE SET NULL with passive deletes)."""
    engine = create_engine("sqlite://")
    event.listen(engine, "connect", lambda conn, _rec: conn.execute("PRAGMA foreign_keys=ON"))
    _Base.metadata.create_all(engine)
    with app.app_context(), Session(engine) as session:
        parent = _Parent(kids=[_Kid(toys=[_Toy(), _Toy()]), _Kid()], notes=[_Note()], pins=[_Pin(), _Pin()])
        session.add(parent)
        session.commit()
        result = deletion.impact(parent, session)
        assert result == {"blocks": [], "deletes": [("t_kid", 2), ("t_kid › t_toy", 2)],
                          "unlinks": [("t_note", 1), ("t_pin", 2)]}
        session.delete(parent)
        session.commit()
        assert [session.scalar(select(func.count()).select_from(m)) for m in (_Kid, _Toy, _Note, _Pin)] == [0, 0, 1, 2]
        assert session.scalar(select(func.count()).select_from(_Pin).where(_Pin.parent_id.is_(None))) == 2

        parent = _Parent(kids=[_Kid()])
        session.add(parent)
        session.flush()
        session.add(_Tag(kid_id=parent.kids[0].id))
        session.commit()
        result = deletion.impact(parent, session)
        assert result["deletes"] == [("t_kid", 1)]
        assert result["blocks"] == [("t_kid › t_tag", 1, REFERENCED_REASON)]
        session.delete(parent)
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_impact_of_an_unreferenced_record_is_empty(users, ctx):
    estate = factories.estate()
    db.session.commit()
    assert deletion.impact(estate) == {"blocks": [], "deletes": [], "unlinks": []}
    assert deletion.is_empty(deletion.impact(estate))
    factories.building(estate=estate)
    db.session.commit()
    assert deletion.impact(estate)["blocks"] == [("楼栋", 1, REFERENCED_REASON)]
