"""Command-line tasks: create users, load the demo data."""
import click
from flask.cli import with_appcontext

from .extensions import db


@click.command("create-user")
@click.argument("username")
@click.option("--role", required=True, help="admin, manager, supervisor, frontdesk, leasing, maintenance")
@click.option("--password", required=True)
@click.option("--name", "display_name", default=None, help="显示姓名")
@with_appcontext
def create_user(username, role, password, display_name):
    """Create (or reset) a staff account."""
    from schema.org import AppUser
    from schema.spec import ROLES

    if role not in ROLES:
        raise click.BadParameter(f"角色须为 {', '.join(ROLES)} 之一", param_hint="--role")
    if len(password) < 8:
        raise click.BadParameter("密码至少8位", param_hint="--password")
    user = db.session.execute(db.select(AppUser).filter_by(username=username)).scalar_one_or_none()
    if user is None:
        user = AppUser(username=username, display_name=display_name or username, role=role, active=True)
        db.session.add(user)
    else:
        user.role, user.active = role, True
    user.set_password(password)
    db.session.commit()
    click.echo(f"用户 {username}({role})已就绪")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="只在数据库为空时填充")
@with_appcontext
def seed_demo(if_empty):
    """Fill the database with realistic demo data and one account per role."""
    from seed.demo import load, is_empty

    if if_empty and not is_empty():
        click.echo("数据库已有数据,跳过演示数据")
        return
    counts = load()
    click.echo("演示数据已载入: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@click.command("refresh-leases")
@with_appcontext
def refresh_leases():
    """Daily: signed leases whose term has begun become 执行中, ended ones 已到期 (run from cron)."""
    from .leasing import refresh_statuses

    changed = refresh_statuses()
    db.session.commit()
    click.echo(f"已更新 {changed} 份合同的状态")


def init_app(app):
    from .billing import init_cli as init_billing

    for command in (create_user, seed_demo, refresh_leases):
        app.cli.add_command(command)
    init_billing(app)
