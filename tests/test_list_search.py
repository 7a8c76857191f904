"""The indexed list search (app/fulltext.py) finds exactly what a substring search finds, stays current
through inserts, edits and deletes, and the list's count is capped (admin_views/listing.py)."""
from __future__ import annotations

import random
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, select, text

from admin_views import listing
from app import fulltext
from app.extensions import db
from schema import REGISTRY, Charge, Owner, Payment

from . import factories as f

ALPHABET = "张王李伟明华丽A b-%_"


def found(model, term):
    condition = fulltext.search_condition(model, term)
    return set(db.session.scalars(select(model.id).where(condition))) if condition is not None else None


def test_kinds_come_from_the_spec():
    assert fulltext.search_kinds(Charge) == {"payer_name": "text", "period": "prefix"}
    assert fulltext.search_kinds(Payment) == {"receipt_no": "prefix", "payer_name": "text"}
    kinds = fulltext.search_kinds(Owner)
    assert kinds["name"] == "text" and kinds["phone"] == "prefix" and kinds["id_number"] == "prefix"


def test_every_large_table_with_text_search_has_a_trigram_index(ctx):
    names = {m.__tablename__ for m in fulltext.indexed_models(REGISTRY)}
    assert {"charge", "payment", "owner", "call_log", "work_order"} <= names
    if db.engine.dialect.name == "sqlite":
        tables = set(db.session.scalars(text("SELECT name FROM sqlite_master WHERE type='table'")))
        assert {f"{n}_fts" for n in names} <= tables
    else:
        indexes = set(db.session.scalars(text("SELECT indexname FROM pg_indexes")))
        assert "ix_charge_payer_name_trgm" in indexes


def test_text_matches_anywhere_codes_by_prefix(ctx):
    o = f.owner(name="欧阳张伟明", phone="13800138000", contact_person="Alice Wong")
    short = f.owner(name="张伟", phone="13900139000")
    db.session.commit()
    for term in ("欧阳张伟明", "张伟明", "伟明", "明", "欧阳", "ALICE", "wong", "ce W"):
        assert o.id in found(Owner, term), term
    assert short.id in found(Owner, "张伟") and short.id in found(Owner, "伟")  # a two-character value, end marker
    assert found(Owner, "1380013") == {o.id}  # phone prefix
    assert o.id not in found(Owner, "38000")  # codes match from the start only
    assert found(Owner, "无此人") == set()


def test_same_rows_as_a_substring_scan_on_random_data(ctx):
    rng = random.Random(7)
    names = {}
    for i in range(120):
        name = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6))).strip() or "张"
        c = f.charge(payer_name=name, period=f"2026-{rng.randint(1, 12):02d}")
        db.session.flush()
        names[c.id] = (name, c.period)
    db.session.commit()
    terms = {"".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 4))).strip() for _ in range(150)}
    terms |= {n[i:i + k] for n, _p in list(names.values())[:40] for k in (2, 3) for i in range(len(n) - k + 1)}
    checked = 0
    for term in sorted(t for t in terms if t.strip()):
        term = term.strip()
        expected = {i for i, (n, p) in names.items() if term.lower() in n.lower() or p.startswith(term)}
        assert found(Charge, term) == expected, term
        checked += 1
    assert checked > 150


def test_index_follows_edits_and_deletes(ctx):
    o = f.owner(name="赵敏华")
    db.session.commit()
    assert o.id in found(Owner, "敏华")
    o.name = "周芷若"
    db.session.commit()
    assert found(Owner, "敏华") == set() and o.id in found(Owner, "芷若")
    db.session.delete(o)
    db.session.commit()
    assert found(Owner, "芷若") == set()


def test_sqlite_search_reads_the_index_not_the_table(ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    f.charge(payer_name="钱多多")
    db.session.commit()
    for term in ("钱多多", "多多"):
        stmt = select(Charge.id).where(fulltext.search_condition(Charge, term))
        compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = " | ".join(r[-1] for r in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "charge_fts VIRTUAL TABLE INDEX" in plan and not re.search(r"SCAN charge\b(?!_fts)", plan), plan


def test_wildcards_quotes_and_control_characters_are_literal(ctx):
    a = f.owner(name="百分%之_百")
    b = f.owner(name='引"号')
    f.owner(name="百分之百")
    db.session.commit()
    assert found(Owner, "%之_") == {a.id}
    assert found(Owner, '"号') == {b.id}
    assert found(Owner, "\x00\x1f") is None
    assert found(Owner, "x" * 5000) == set()


def test_list_page_search_and_garbage_never_500(login):
    b = login("admin")
    with b.client.application.app_context():
        f.owner(name="孙悟空", phone="13712345678")
        db.session.commit()
    html = b.get("/admin/owner/?search=悟空").get_data(as_text=True)
    assert "孙悟空" in html
    for garbage in ("%", "'; drop table owner;--", '"', "\\", "x" * 3000, "😀", "\u202e", "AND OR NOT", "*", "NEAR("):
        for table in ("owner", "charge", "payment", "call_log", "work_order", "unit", "estate"):
            assert b.get(f"/admin/{table}/", query_string={"search": garbage}).status_code == 200, (table, garbage)


def test_count_is_capped_and_skipped_when_the_page_says_it(login, monkeypatch):
    b = login("admin")
    with b.client.application.app_context():
        u = f.unit()
        for i in range(8):
            f.charge(unit=u, payer_name=f"户{i}", amount=Decimal("10"), due_date=date(2026, 1, 1 + i))
        db.session.commit()
        engine = db.engine
    seen = []
    listen = lambda *a, **k: seen.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        b.get("/admin/charge/")
        assert not any("count(" in s.lower() for s in seen)  # 8 rows on a page of 20: no count statement
        monkeypatch.setattr(listing, "COUNT_CAP", 5)
        with b.client.application.app_context():
            view = next(v for v in b.client.application.extensions["admin"][0]._views
                        if getattr(v, "endpoint", "") == "charge")
        monkeypatch.setattr(view, "page_size", 3)
        seen.clear()
        html = b.get("/admin/charge/").get_data(as_text=True)
        counts = [s for s in seen if "count(" in s.lower()]
        assert len(counts) == 1 and "LIMIT" in counts[0].upper()
        assert "5+" in html
        assert b.get("/admin/charge/?page=2").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listen)
