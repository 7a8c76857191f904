"""Choices for confirm pages (a department to notify or refer to), read from the database each time."""
from sqlalchemy import select

from app.extensions import db
from schema.org import Department

from .generic import parse_id


def department_field(label="责任部门", name="department_id", blank=False):
    rows = db.session.execute(select(Department.id, Department.name).order_by(Department.name)).all()
    return {"name": name, "label": label, "type": "select",
            "options": ([("", "(不转交)")] if blank else []) + [(d.id, d.name) for d in rows]}


def department_of(form, name="department_id"):
    try:
        return db.session.get(Department, parse_id(form.get(name) or ""))
    except ValueError:
        return None
