"""The base every entity inherits: integer key, optimistic-lock version, readable name."""
from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.extensions import db


class Entity(db.Model):
    """An editable record: `version` refuses saves built from a stale form."""

    __abstract__ = True
    __admin__ = None

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, info={"label": "版本"})

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}

    @classmethod
    def check(cls, data: dict) -> dict:
        """Cross-field rules on submitted form data: {field: Chinese message}."""
        return {}

    def __str__(self) -> str:
        """The record's name: the titles of its `title_joins` records, then its own title (a unit reads
        "3栋1201"); exports compute the same name in SQL (admin_views/export.py)."""
        spec = type(self).__admin__
        if not spec:
            return f"#{self.id}"
        parts = []
        for join in spec.title_joins:
            related = getattr(self, join, None)
            parts.append("" if related is None else str(getattr(related, type(related).__admin__.title, "") or ""))
        value = getattr(self, spec.title, None)
        parts.append("" if value is None else str(value))
        return "".join(parts) or f"#{self.id}"
