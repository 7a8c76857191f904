"""`flask create-user` makes a hashed-password account that can log in through the page."""
from app.extensions import db
from schema.org import AppUser

from .conftest import Browser


def test_create_user_then_login(app):
    from . import factories

    with app.app_context():
        factories.estate(name="锦绣花园")
        db.session.commit()
    runner = app.test_cli_runner()
    args = ["create-user", "xiaowang", "--role", "frontdesk", "--password", "Secret-2026"]
    refused = runner.invoke(args=args)  # a front-desk clerk works for named estates
    assert refused.exit_code != 0 and "--estate" in refused.output
    assert runner.invoke(args=args + ["--estate", "没有这个项目"]).exit_code != 0
    result = runner.invoke(args=args + ["--estate", "锦绣花园"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.execute(db.select(AppUser).filter_by(username="xiaowang")).scalar_one()
        assert [e.name for e in user.estates] == ["锦绣花园"] and not user.all_estates
        assert user.role == "frontdesk" and user.password_hash != "Secret-2026"
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert Browser(app).login("xiaowang", "Secret-2026").get("/admin/owner/").status_code == 200


def test_create_user_refuses_unknown_role_and_short_password(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-user", "x", "--role", "boss", "--password", "Secret-2026"]).exit_code != 0
    assert runner.invoke(args=["create-user", "x", "--role", "admin", "--password", "short"]).exit_code != 0
    with app.app_context():
        assert db.session.query(AppUser).count() == 0


def test_create_user_again_resets_password(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["create-user", "li", "--role", "leasing", "--password", "First-pass-1", "--all-estates"])
    runner.invoke(args=["create-user", "li", "--role", "supervisor", "--password", "Second-pass-2"])
    with app.app_context():
        user = db.session.execute(db.select(AppUser).filter_by(username="li")).scalar_one()
        assert user.role == "supervisor" and user.check_password("Second-pass-2")


def test_refresh_leases_moves_statuses_by_date(app):
    from datetime import timedelta

    from app import clock
    from schema import Lease

    from . import factories

    today = clock.today()
    with app.app_context():
        started = factories.lease(status="signed", start_date=today - timedelta(days=1), end_date=today + timedelta(days=300))
        ended = factories.lease(status="active", start_date=today - timedelta(days=400), end_date=today - timedelta(days=1))
        db.session.commit()
        ids = started.id, ended.id
    result = app.test_cli_runner().invoke(args=["refresh-leases"])
    assert result.exit_code == 0 and "已更新 2 份合同" in result.output
    with app.app_context():
        assert [db.session.get(Lease, i).status for i in ids] == ["active", "expired"]
