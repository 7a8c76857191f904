"""Indexed list search: what a term in a list's search box matches, and the indexes behind it.

Stock Flask-Admin ORs `column ILIKE '%term%'` over the search columns: a leading wildcard that no
index can serve, so every search reads the whole table. Here each search column has a plan:

- codes (numbers, phones, ID numbers, periods; `search_kinds` says which) match by prefix, an
  index range `col >= term AND col < term + U+10FFFF`;
- names and text match anywhere. On SQLite a large table's text columns are indexed by an FTS5
  trigram table `<table>_fts` (external content, kept current by triggers): a term of three or more
  characters is one MATCH; a term of two (a Chinese given name) is the OR of the indexed trigrams
  that start with it, read from the index's vocabulary by range — every indexed value carries an
  end marker (U+001F) so a term at its very end still starts a trigram. On PostgreSQL pg_trgm GIN
  indexes serve ILIKE '%term%'. One-character terms, and small tables, scan.

The set of rows found is the substring search's: a text column matches exactly when it contains
the term (ASCII case-insensitive, like LIKE), a code column when it starts with it.

SQLite drops a table's triggers when a migration rebuilds it (batch mode): such a migration calls
`install(bind)` again; it is idempotent. Bulk loaders (seed-scale) call `rebuild(bind)`.
"""
from __future__ import annotations

import re

from sqlalchemy import String, and_, event, false, or_, select, text, union_all

from schema.spec import search_kinds

END = "\x1f"
"""Appended to every indexed value, so a two-character term at the end still starts a trigram."""
TOP = "\U0010ffff"
MAX_TRIGRAMS = 400
"""A two-character term expanding to more trigrams than this scans instead (it matches most rows)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def text_columns(model) -> list[str]:
    return [n for n, kind in search_kinds(model).items() if kind == "text"]


def indexed_models(registry) -> list:
    """Models whose text search columns get a trigram index: the large ones."""
    return [m for m in registry if m.__admin__ and m.__admin__.large and text_columns(m)]


# -- DDL ----------------------------------------------------------------------------------------
def _sqlite_drops(model) -> list[str]:
    table = model.__tablename__
    fts = f"{table}_fts"
    return [f"DROP TRIGGER IF EXISTS {table}_fts_{suffix}" for suffix in ("ai", "ad", "au")] + [
        f"DROP TABLE IF EXISTS {fts}_vocab", f"DROP TABLE IF EXISTS {fts}", f"DROP VIEW IF EXISTS {table}_fts_src"]


def _sqlite_ddl(model) -> list[str]:
    table = model.__tablename__
    cols = text_columns(model)
    fts, view = f"{table}_fts", f"{table}_fts_src"
    padded = ", ".join(f"{c} || char(31) AS {c}" for c in cols)
    new = ", ".join(f"new.{c} || char(31)" for c in cols)
    old = ", ".join(f"old.{c} || char(31)" for c in cols)
    names = ", ".join(cols)
    changed = " OR ".join(f"new.{c} IS NOT old.{c}" for c in cols)
    return _sqlite_drops(model) + [
        f"CREATE VIEW {view} AS SELECT id, {padded} FROM {table}",
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{view}', content_rowid='id', tokenize='trigram')",
        f"CREATE VIRTUAL TABLE {fts}_vocab USING fts5vocab('{fts}', 'row')",
        f"CREATE TRIGGER {table}_fts_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER {table}_fts_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); END",
        f"CREATE TRIGGER {table}_fts_au AFTER UPDATE OF {names} ON {table} WHEN {changed} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def _postgres_ddl(model) -> list[str]:
    table = model.__tablename__
    return [f"CREATE INDEX IF NOT EXISTS ix_{table}_{c}_trgm ON {table} USING gin ({c} gin_trgm_ops)"
            for c in text_columns(model)]


def install(bind, registry=None) -> None:
    """Create (or re-create) the search indexes of every large table; idempotent."""
    from schema import REGISTRY

    models = indexed_models(registry or REGISTRY)
    if bind.dialect.name == "sqlite":
        statements = [s for m in models for s in _sqlite_ddl(m)]
    elif bind.dialect.name == "postgresql":
        statements = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"] + [s for m in models for s in _postgres_ddl(m)]
    else:
        return
    for statement in statements:
        bind.execute(text(statement))


def uninstall(bind, registry=None) -> None:
    from schema import REGISTRY

    if bind.dialect.name != "sqlite":
        return  # PostgreSQL's indexes go with their tables
    for model in indexed_models(registry or REGISTRY):
        for statement in _sqlite_drops(model):
            bind.execute(text(statement))


def rebuild(bind, registry=None) -> None:
    """Re-read the indexed columns after a bulk load that bypassed the triggers."""
    from schema import REGISTRY

    if bind.dialect.name != "sqlite":
        return
    for model in indexed_models(registry or REGISTRY):
        fts = f"{model.__tablename__}_fts"
        bind.execute(text(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')"))


def register(metadata) -> None:
    """create_all / drop_all (tests, first run) install and remove the indexes with the tables."""
    event.listen(metadata, "after_create", lambda target, connection, **kw: install(connection))
    event.listen(metadata, "before_drop", lambda target, connection, **kw: uninstall(connection))


def is_fulltext_table(name: str) -> bool:
    """Objects the migrations' autogenerate must leave alone (FTS5 tables and their views)."""
    return bool(re.search(r"_fts(_src|_vocab|_data|_idx|_docsize|_config|_content)?$", name))


# -- the condition for one term -----------------------------------------------------------------
def clean(term: str) -> str:
    return _CONTROL.sub("", term).strip()


def _prefix(column, term: str, dialect: str):
    """SQLite: an index range (its LIKE ignores case and so no index). PostgreSQL: LIKE 'term%', which
    its B-tree serves under the C collation and which stays correct under any other."""
    if dialect == "postgresql":
        return column.startswith(term, autoescape=True)
    return and_(column >= term, column < term + TOP)


def _fts_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _trigram_ids(session, model, term: str):
    """A select of the ids whose indexed text contains `term` (two or more characters), through the
    FTS index; None when the term is too common to expand, False when nothing can match."""
    table = model.__tablename__
    fts = f"{table}_fts"
    if len(term) >= 3:
        expr = _fts_quote(term)
    else:
        low = term.lower()
        grams = session.execute(text(f"SELECT term FROM {fts}_vocab WHERE term >= :lo AND term < :hi LIMIT :cap"),
                                {"lo": low, "hi": low + TOP, "cap": MAX_TRIGRAMS + 1}).scalars().all()
        if len(grams) > MAX_TRIGRAMS:
            return None
        if not grams:
            return False
        expr = " OR ".join(_fts_quote(g) for g in grams)
    return select(text("rowid")).select_from(text(fts)).where(text(f"{fts} MATCH :q").bindparams(q=expr))


def _like(column, term: str):
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    column = column if isinstance(column.type, String) else column.cast(String)
    return column.ilike(f"%{escaped}%", escape="\\")


def search_condition(model, term: str, session=None):
    """The SQL condition one search term applies to `model` (the terms of a search are ANDed)."""
    from app.extensions import db

    session = session or db.session
    term = clean(term)
    if not term:
        return None
    kinds = search_kinds(model)
    dialect = session.get_bind().dialect.name
    parts = []
    texts = [n for n, k in kinds.items() if k == "text"]
    for name, kind in kinds.items():
        if kind == "prefix":
            column = getattr(model, name)
            parts.append(_prefix(column, term, dialect))
            if term.upper() != term:
                parts.append(_prefix(column, term.upper(), dialect))
    indexed = dialect == "sqlite" and texts and model in indexed_models([model]) and len(term) >= 2
    trigram = _trigram_ids(session, model, term) if indexed else None
    if trigram is None and texts:  # a scan: one OR over the columns
        return or_(*parts, *(_like(getattr(model, n), term) for n in texts))
    if dialect != "sqlite":
        return or_(*parts) if parts else false()
    # SQLite: the matching ids as one compound IN, so the planner looks each part up through its
    # index and sorts the few matches, instead of walking the list's sort index testing an OR per row
    ids = [select(model.id).where(p) for p in parts] + ([trigram] if trigram not in (None, False) else [])
    if not ids:
        return false()
    return model.id.in_(union_all(*ids).scalar_subquery() if len(ids) > 1 else ids[0].scalar_subquery())
