"""In Chromium under the real Content-Security-Policy: the pages raise no CSP violation and no console
error, and what used to hang on inline handlers still works (filters, batch actions, inline rows,
the row delete)."""
import os

import pytest


from .conftest import ARTIFACTS, PASSWORD

pytestmark = [pytest.mark.security, pytest.mark.browser]

WATCH_CSP = """
document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI + ' ' + (e.sample || ''));
});
"""


@pytest.fixture
def watched(page):
    """The page, with every console message, page error and dialog recorded (dialogs are accepted)."""
    page.problems, page.dialogs = [], []
    page.add_init_script(WATCH_CSP)
    def on_console(m):
        where = m.location.get("url") or ""
        if m.type in ("error", "warning") and not where.endswith("/favicon.ico"):  # the app has no icon
            page.problems.append(f"{m.type}: {m.text} at {where}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: page.problems.append(f"pageerror: {e}"))
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.accept()))
    return page


def test_pages_run_under_the_csp_and_their_controls_work(watched, record_ids):
    page = watched
    page.goto(page.base_url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")
    page.locator("canvas").first.wait_for()                      # the home page's charts (nonced script)

    # a list with filters: the filter menu adds a filter row; a batch action asks for a selection
    page.goto(page.base_url + "/admin/work_order/")
    page.click("a.dropdown-toggle:has-text('添加筛选器')")
    page.locator("a.dropdown-item.filter").first.click()
    page.locator("table.filters tr").first.wait_for()
    assert page.locator("table.filters tr").count() == 1
    assert "#" not in page.url
    page.screenshot(path=os.path.join(ARTIFACTS, "csp-list.png"), full_page=True)
    page.click("li.dropdown:has(a[data-action]) > a.dropdown-toggle")
    with page.expect_event("dialog"):                             # "please select at least one record"
        page.locator("a[data-action]").first.click()

    # the menu's category toggles open without javascript: URLs
    page.locator("#admin-navbar-collapse a.dropdown-toggle").first.click()
    page.locator("#admin-navbar-collapse .dropdown-menu.show").first.wait_for()

    # a create form with inline lines: the Add button adds a row, its remove link takes it away
    page.goto(page.base_url + "/admin/release_slip/new/")
    rows = page.locator("#items .inline-field-list > .inline-field")
    before = rows.count()
    page.click("a[data-inline-field='items']")
    rows.nth(before).wait_for()
    assert rows.count() == before + 1
    rows.nth(before).locator(".inline-remove-field").click()
    page.wait_for_function(f"() => document.querySelectorAll('#items .inline-field-list > .inline-field')"
                           f".length === {before}")

    # a details page, and its field filter (details_filter.js)
    page.goto(page.base_url + f"/admin/unit/details/?id={record_ids['unit']}")
    page.locator("#fa_filter").press_sequentially("zzz-no-such-field")
    page.wait_for_function("() => [...document.querySelectorAll('table.searchable tr')]"
                           ".every(tr => tr.style.display === 'none')")

    # a row delete opens the delete preview
    page.goto(page.base_url + "/admin/bulletin_post/")
    page.locator("table.model-list a[href*='/delete/']").first.click()
    page.wait_for_url("**/admin/bulletin_post/delete/**")
    assert "删除预览" in page.inner_text(".delete-preview h4")

    assert page.problems == []
