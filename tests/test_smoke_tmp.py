def test_admin_pages(login):
    b = login("admin")
    for ep in ["estate", "building", "unit", "owner", "ownership", "resident", "document", "department", "app_user", "audit_log"]:
        r = b.get(f"/admin/{ep}/")
        assert r.status_code == 200, (ep, r.get_data(as_text=True)[-3000:])
        r = b.get(f"/admin/{ep}/new/")
        assert r.status_code in (200, 403), (ep, r.get_data(as_text=True)[-3000:])
