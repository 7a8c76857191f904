"""Saved list views (保存的视图): a list's filters, search, sort and columns under a name, for oneself or
shared with a role ("本月未回访", "欠费超过90天"), opened from the menu."""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped

from .base import Entity
from .org import Role
from .spec import ALL, AdminSpec, col, rel, roles


class SavedView(Entity):
    __tablename__ = "saved_view"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    __admin__ = AdminSpec(
        menu="保存的视图", category="系统",
        list=("name", "target_label", "shared_role", "user", "created_at"),
        search=("name", "target_label"), filters=("shared_role", "endpoint"),
        form=("name", "shared_role"), sort=("name", False),
        roles=roles(read=ALL, create=(), edit=ALL, delete=ALL, export={"admin"}),
    )
    name: Mapped[str] = col("视图名称", String(50))
    endpoint: Mapped[str] = col("列表", String(40), index=True)
    target_label: Mapped[str] = col("所属列表", String(50))
    query: Mapped[str] = col("筛选条件", Text, help="列表地址中的筛选、搜索、排序参数")
    user_id: Mapped[int] = col("创建人", ForeignKey("app_user.id"), index=True)
    user = rel("创建人", "AppUser")
    shared_role: Mapped[str | None] = col("共享给角色", choices=Role, index=True)
    created_at: Mapped[datetime] = col("创建时间", DateTime)
