"""The xlsx export streams: its peak Python memory does not grow with the number of rows."""
import tracemalloc
from decimal import Decimal

from app.extensions import db
from schema import Unit

from . import factories


def fill_units(app, n):
    with app.app_context():
        building = factories.building()
        db.session.commit()
        building_id = building.id
        db.session.execute(Unit.__table__.insert(), [
            {"building_id": building_id, "room_no": f"R{n}-{i:06d}", "floor": i % 30, "area": Decimal("88.50"),
             "usage": "residence", "status": "occupied", "fee_rate": Decimal("2.50"), "version": 1}
            for i in range(n)])
        db.session.commit()


def export_peak(b) -> tuple[int, int]:
    tracemalloc.start()
    resp = b.get("/admin/unit/export/xlsx/")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert resp.status_code == 200
    return peak, len(resp.data)


def test_xlsx_export_memory_is_flat(login, app):
    b = login("admin")
    fill_units(app, 4000)
    small_peak, small_size = export_peak(b)
    fill_units(app, 16000)
    big_peak, big_size = export_peak(b)
    assert big_size > 3 * small_size  # four times the rows really were written
    assert big_peak < small_peak * 1.3 + 2 * 1024 * 1024, (small_peak, big_peak)
