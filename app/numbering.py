"""Human-facing document numbers (收据号 SK20261127-0001): one counter per prefix per day.

The counter lives in `number_sequence` and is bumped with a single atomic
`UPDATE ... SET last = last + 1 ... RETURNING last`, so two clerks saving at the same moment can
never get the same number. The first number of a day INSERTs the row inside a SAVEPOINT; if another
transaction inserted it first (unique prefix+day), the savepoint is rolled back and the UPDATE is
retried. Everything runs in the caller's transaction: a rolled-back save gives its number back.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from . import clock
from .extensions import db

WIDTH = 4
MAX_ATTEMPTS = 5


def _bump(prefix: str, day: str) -> int | None:
    from schema.ledger import NumberSequence

    table = NumberSequence.__table__
    stmt = (update(table)
            .where(table.c.prefix == prefix, table.c.day == day)
            .values(last=table.c.last + 1)
            .returning(table.c.last))
    return db.session.execute(stmt).scalar_one_or_none()


def next_number(prefix: str, day: date | None = None) -> str:
    """The next number for `prefix` on `day` (default: the office's today), e.g. "SK20261127-0001"."""
    from schema.ledger import NumberSequence

    if not prefix or len(prefix) > 10:
        raise ValueError("编号前缀须为1到10个字符")
    key = (day or clock.today()).strftime("%Y%m%d")
    for _ in range(MAX_ATTEMPTS):
        last = _bump(prefix, key)
        if last is None:
            try:
                with db.session.begin_nested():
                    db.session.execute(insert(NumberSequence.__table__).values(prefix=prefix, day=key, last=1))
                last = 1
            except IntegrityError:
                continue  # someone else created today's row first: bump theirs
        return f"{prefix}{key}-{last:0{WIDTH}d}"
    raise RuntimeError(f"无法生成编号 {prefix}{key}")
