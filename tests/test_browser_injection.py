"""In Chromium: markup payloads saved in owners' names, complaints, call logs, work orders, a unit's room number
and a saved view's name, and echoed by flash messages, stay text on every page the office opens — lists (also
filtered and searched by a payload), details, edit forms with their select2 pickers, print views, the home
page and the global search. A payload that ran would set `window.__xss` or open a dialog."""
import os
from urllib.parse import quote, urlencode

import pytest

from app.extensions import db
from schema.org import AppUser

from . import factories
from .conftest import ARTIFACTS
from .security_figures import record, scaled
from .test_browser import login
from .test_injection import MARKUP, TEXT, _view

pytestmark = [pytest.mark.security, pytest.mark.browser]

PAYLOADS = [TEXT[name] for name in MARKUP] + ['<img src=x onerror="alert(1)">', "</textarea><script>alert(2)</script>"]
"""The markup payloads of test_injection, and two that would open a dialog."""


def seed(app) -> dict:
    """Records carrying a payload each in their visible text; the admin's saved views are named by them."""
    with app.app_context():
        admin = db.session.execute(db.select(AppUser).filter_by(username="admin")).scalar_one()
        building = factories.building(name="9栋")
        out = {"units": [], "owners": [], "complaints": [], "calls": [], "orders": [], "slips": []}
        for i, text in enumerate(PAYLOADS):
            unit = factories.unit(building=building, room_no=text[:20])
            owner = factories.owner(name=text)
            factories.ownership(owner=owner, unit=unit)
            call = factories.call_log(unit=unit, caller=text[:50], content=text)
            complaint = factories.complaint(unit=unit, complainant=text[:50], content=text, call_log=call)
            order = factories.work_order(unit=unit, reporter=text[:50], description=text)
            slip = factories.release_slip(unit=unit, applicant=text[:50], reason=text[:200], status="issued",
                                          number=f"FX20261127-{i + 1:04d}", items=[(text[:200], 1)])
            factories.saved_view(user=admin, name=text[:50], endpoint="owner", target_label="业主",
                                 query=urlencode({"search": text}))
            db.session.flush()
            for key, row in (("units", unit), ("owners", owner), ("complaints", complaint), ("calls", call),
                             ("orders", order), ("slips", slip)):
                out[key].append(row.id)
        db.session.commit()
    return out


class Watch:
    """Every dialog a page opens, and whether a payload set window.__xss."""

    def __init__(self, page):
        self.page, self.dialogs, self.ran, self.visited = page, [], [], 0
        page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.dialogs.append(f"{self.page.url}: {dialog.type} {dialog.message!r}")
        dialog.dismiss()

    def check(self, label):
        self.visited += 1
        self.page.wait_for_load_state("load")
        if self.page.evaluate("typeof window.__xss") != "undefined":
            self.ran.append(label)

    def goto(self, path):
        self.page.goto(self.page.base_url + path)
        self.check(path)

    def assert_clean(self):
        assert self.ran == [] and self.dialogs == [], (self.ran, self.dialogs)


def test_payloads_stay_text_in_the_browser(page, users, app):
    ids = seed(app)
    watch = Watch(page)
    login(page, "admin")
    watch.check("home after login")
    owner_view = _view(app, "owner")
    name_like = next(i for i, f in enumerate(owner_view._filters) if type(f).__name__ in ("FilterLike", "LiteralLike"))
    name_arg = owner_view.get_filter_arg(name_like, owner_view._filters[name_like])

    watch.goto("/admin/owner/")
    page.screenshot(path=os.path.join(ARTIFACTS, "injection-list.png"), full_page=True)
    for path in ("/admin/unit/", "/admin/complaint/", "/admin/call_log/", "/admin/work_order/",
                 "/admin/release_slip/", "/admin/saved_view/", "/admin/audit_log/"):
        watch.goto(path)
    for text in PAYLOADS[:scaled(3)]:
        watch.goto(f"/admin/owner/?search={quote(text)}")
        watch.goto(f"/admin/owner/?flt0_{name_arg}={quote(text)}")
        watch.goto(f"/admin/search/?q={quote(text)}")
    for i in range(min(scaled(3), len(PAYLOADS))):
        for table, key in (("owner", "owners"), ("unit", "units"), ("complaint", "complaints"),
                           ("call_log", "calls"), ("work_order", "orders")):
            watch.goto(f"/admin/{table}/details/?id={ids[key][i]}")
            watch.goto(f"/admin/{table}/edit/?id={ids[key][i]}")
        watch.goto(f"/admin/household/?unit={ids['units'][i]}")
        watch.goto(f"/admin/work_order/print/?id={ids['orders'][i]}")
    watch.goto("/admin/release_slip/print/?ids=" + ",".join(map(str, ids["slips"])))

    watch.goto("/admin/complaint/new/")  # the unit picker lists the payload room numbers it finds
    page.click("#s2id_unit a.select2-choice")
    page.locator("#select2-drop input.select2-input").fill("<")
    page.locator("#select2-drop .select2-result-label").first.wait_for()
    watch.check("select2 results")
    assert page.locator("#select2-drop .select2-result-label").count() >= 3
    page.keyboard.press("Escape")

    page.click("#my-views a.dropdown-toggle")  # the navbar menu lists the views named by payloads
    assert page.locator("#my-views .dropdown-item").count() >= len(PAYLOADS)
    watch.check("my views menu")

    for text in PAYLOADS[:scaled(2)]:  # a flash quoting the name, then one refusing it as a duplicate
        for _ in range(2):
            page.goto(page.base_url + "/admin/unit/?search=9")
            page.click("#save-view-toggle")
            page.fill("#save-view-name", text[:50])
            page.click("#save-view-form button[type=submit]")
            page.locator(".alert").first.wait_for()
            watch.check(f"flash for {text!r}")
        assert "已有名为" in page.inner_text("body")
    watch.goto("/admin/")
    watch.assert_clean()
    assert watch.visited >= 40
    record("injection-browser", payloads=len(PAYLOADS), pages=watch.visited)
