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
        spec = type(self).__admin__
        value = getattr(self, spec.title, None) if spec else None
        return str(value) if value not in (None, "") else f"#{self.id}"
