"""Command-line tasks: create users, load the demo data."""
import click
from flask.cli import with_appcontext

from .extensions import db


@click.command("create-user")
@click.argument("username")
@click.option("--role", required=True, help="admin, manager, supervisor, frontdesk, leasing, maintenance")
@click.option("--password", required=True)
@click.option("--name", "display_name", default=None, help="显示姓名")
@click.option("--estate", "estates", multiple=True, help="可访问的项目名称(可重复);管理员和主任可访问全部项目")
@click.option("--all-estates", is_flag=True, help="可访问全部项目")
@with_appcontext
def create_user(username, role, password, display_name, estates, all_estates):
    """Create (or reset) a staff account."""
    from schema.org import AppUser
    from schema.property import Estate
    from schema.spec import ROLES

    from .scoping import ALL_ESTATE_ROLES

    from .auth import rotate_session_token
    from .passwords import problems

    if role not in ROLES:
        raise click.BadParameter(f"角色须为 {', '.join(ROLES)} 之一", param_hint="--role")
    found = problems(password, username)
    if found:
        raise click.BadParameter(";".join(found), param_hint="--password")
    bound = []
    for name in estates:
        estate = db.session.execute(db.select(Estate).filter_by(name=name)).scalar_one_or_none()
        if estate is None:
            raise click.BadParameter(f"未找到项目「{name}」", param_hint="--estate")
        bound.append(estate)
    user = db.session.execute(db.select(AppUser).filter_by(username=username)).scalar_one_or_none()
    if role not in ALL_ESTATE_ROLES and not all_estates and not bound and not (user and (user.estates or user.all_estates)):
        raise click.BadParameter("请用 --estate 指定该用户可访问的项目,或用 --all-estates", param_hint="--estate")
    if user is None:
        user = AppUser(username=username, display_name=display_name or username, role=role, active=True)
        db.session.add(user)
    else:
        user.role, user.active = role, True
    if bound:
        user.estates = bound
    if all_estates:
        user.all_estates = True
    user.set_password(password)
    db.session.flush()
    rotate_session_token(user.id)  # a reset password ends the sessions opened with the old one
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


@click.command("seed-scale")
@click.option("--units", default=100_000, show_default=True, type=click.IntRange(min=1), help="房屋数量(其余数据按比例生成)")
@click.option("--seed", default=2026, show_default=True, type=int, help="随机种子(同一天同一种子生成相同数据)")
@click.option("--quiet", is_flag=True, help="不显示进度条")
@with_appcontext
def seed_scale(units, seed, quiet):
    """Fill an empty database with a city-scale synthetic dataset, for load and speed tests."""
    from sqlalchemy import select

    from schema.property import Unit
    from seed.scale import summary, timed_generate

    if db.session.execute(select(Unit.id).limit(1)).first() is not None:
        raise click.ClickException("数据库中已有房屋数据,seed-scale 只能写入空数据库(请先新建数据库并执行 flask db upgrade)")
    db.session.remove()
    try:
        counts, seconds = timed_generate(units, seed=seed, progress=not quiet)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(summary(counts, seconds))


@click.command("refresh-leases")
@with_appcontext
def refresh_leases():
    """Daily: signed leases whose term has begun become 执行中, ended ones 已到期 (run from cron)."""
    from .leasing import refresh_statuses

    changed = refresh_statuses()
    db.session.commit()
    click.echo(f"已更新 {changed} 份合同的状态")


def init_app(app):
    from .backup import init_cli as init_backup
    from .billing import init_cli as init_billing

    for command in (create_user, seed_demo, seed_scale, refresh_leases):
        app.cli.add_command(command)
    init_billing(app)
    init_backup(app)
