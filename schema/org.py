"""The office itself: departments, staff accounts with roles, and the audit trail."""
from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.validators import PHONE
from .base import Entity
from .spec import ROLE_LABELS, AdminSpec, Choice, col, rel, roles

Role = Choice("Role", [(k, (k, v)) for k, v in ROLE_LABELS.items()])


class Department(Entity):
    __tablename__ = "department"
    __admin__ = AdminSpec(
        menu="部门", category="系统",
        list=("name", "supervisor_name", "phone"), search=("name", "supervisor_name"),
        filters=("name",), sort=("name", False),
        roles=roles(create={"admin"}, edit={"admin", "supervisor"}),
    )
    name: Mapped[str] = col("部门名称", String(50), unique=True)
    supervisor_name: Mapped[str | None] = col("部门主管", String(50))
    phone: Mapped[str | None] = col("联系电话", String(30), validators=(PHONE,))
    note: Mapped[str | None] = col("备注", Text)


user_estate = Table(
    "app_user_estate", db.metadata,
    Column("user_id", ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    Column("estate_id", ForeignKey("estate.id", ondelete="CASCADE"), primary_key=True, index=True),
)
"""Which estates a staff account works for (app/scoping.py)."""


class AppUser(Entity):
    __tablename__ = "app_user"
    __admin__ = AdminSpec(
        menu="用户", category="系统",
        list=("username", "display_name", "role", "department", "phone", "all_estates", "active"),
        search=("username", "display_name"), codes=("username",), filters=("role", "active", "department"),
        form=("username", "display_name", "role", "department", "phone", "all_estates", "estates", "active"),
        details=("username", "display_name", "role", "department", "phone", "all_estates", "estates", "active"),
        export=("username", "display_name", "role", "department", "phone", "active"),
        sort=("username", False), title="display_name",
        roles=roles(read={"admin"}, create={"admin"}, edit={"admin"}, delete={"admin"}, export={"admin"}),
    )
    username: Mapped[str] = col("用户名", String(50), unique=True)
    display_name: Mapped[str] = col("姓名", String(50))
    password_hash: Mapped[str] = col("密码", String(256))
    role: Mapped[str] = col("角色", choices=Role, index=True)
    department_id: Mapped[int | None] = col("部门", ForeignKey("department.id"))
    department = rel("部门", "Department")
    phone: Mapped[str | None] = col("联系电话", String(30), validators=(PHONE,))
    all_estates: Mapped[bool] = col("全部项目", Boolean, default=False,
                                    help="勾选后可查看所有项目;系统管理员和管理处主任总是可查看所有项目")
    estates = rel("可访问项目", "Estate", secondary=user_estate, order_by="Estate.name")
    active: Mapped[bool] = col("启用", Boolean, default=True)
    session_token: Mapped[str | None] = col("会话令牌", String(64))

    # Flask-Login
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    def get_id(self) -> str:
        return str(self.id)

    @classmethod
    def check(cls, data: dict) -> dict:
        """A staff account works for named estates, or for all of them (admins and managers always)."""
        from app.scoping import ALL_ESTATE_ROLES

        if data.get("role") and data.get("role") not in ALL_ESTATE_ROLES and not data.get("all_estates") \
                and not data.get("estates"):
            return {"estates": "请选择该用户可访问的项目,或勾选“全部项目”"}
        return {}

    @property
    def roles(self) -> frozenset:
        return frozenset({self.role})

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)


class AuditLog(db.Model):
    """Append-only: written by app.audit in the transaction of the change it records."""

    __tablename__ = "audit_log"
    __admin__ = AdminSpec(
        menu="操作日志", category="系统",
        list=("at", "username", "operation", "table_name", "record_id", "action", "changes", "note"),
        search=("username", "table_name", "action", "note"),
        filters=("at", "username", "operation", "table_name", "record_id"),
        sort=("at", True), title="id",
        roles=roles(read={"admin", "manager", "supervisor"}, create=(), edit=(), delete=(),
                    export={"admin", "manager"}),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = col("时间", DateTime, index=True)
    user_id: Mapped[int | None] = col("用户编号", Integer)
    username: Mapped[str | None] = col("操作人", String(50), index=True)
    operation: Mapped[str] = col("操作", String(10), index=True)
    table_name: Mapped[str] = col("数据表", String(40), index=True)
    record_id: Mapped[int | None] = col("记录编号", Integer, index=True)
    action: Mapped[str | None] = col("动作", String(50))
    changes: Mapped[str | None] = col("变更内容", Text, fmt="changes")
    note: Mapped[str | None] = col("说明", Text)

    def __str__(self) -> str:
        return f"{self.table_name}#{self.record_id} {self.operation}"
