"""Excel import benchmark (not a pytest module: `make test` never collects it).

    .venv/bin/python tests/perf/bench_import.py --rows 50000          # API: dry run, then commit
    .venv/bin/python tests/perf/bench_import.py --rows 50000 --http   # also through the pages

Generates a valid owners xlsx with XlsxWriter, imports it into a fresh SQLite file database (or
--database-url; never a database you care about: it runs create_all/drop_all), and prints the seconds
of each step. The issue's target: 50,000 rows validated and committed in under a minute.
"""
from __future__ import annotations

import argparse
import json
import io
import os
import re
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import xlsxwriter

from app.validators import resident_id_check_char

HEADERS = ["类别", "姓名/单位名称", "证件类型", "证件号码", "联系电话", "单位联系人", "通讯地址", "备注"]


def owners_xlsx(path: str, rows: int, inline: bool = False) -> None:
    """Shared strings, as Excel and WPS save; inline=True writes inline strings (slower to read)."""
    book = xlsxwriter.Workbook(path, {"constant_memory": inline})
    ws = book.add_worksheet("业主")
    ws.write_row(0, 0, HEADERS)
    for i in range(1, rows + 1):
        born = date(1950, 1, 1) + timedelta(days=i // 1000)  # unique: birth date and serial vary with i
        body = f"440305{born:%Y%m%d}{i % 1000:03d}"
        number = body + resident_id_check_char(body)
        ws.write_row(i, 0, ["个人", f"业主{i}", "居民身份证", number, f"13{i % 7 + 3}{i:08d}", None,
                            f"深圳市南山区科技园路{i}号", None])
    book.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--http", action="store_true", help="also upload and commit through the pages")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--json", help="also write the figures to this file (for tests/perf/bench.py)")
    args = parser.parse_args(argv)

    from sqlalchemy import delete, func, select

    from app import create_app
    from app.extensions import db
    from app.importing import analyse, commit, run
    from schema import AuditLog, Owner

    tmp = tempfile.mkdtemp(prefix="propdesk-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": f"{tmp}/uploads",
                      "IMPORT_MAX_BYTES": 50 * 1024 * 1024, "MAX_CONTENT_LENGTH": 60 * 1024 * 1024,
                      "WTF_CSRF_ENABLED": False})
    path = f"{tmp}/owners.xlsx"
    t = time.perf_counter()
    owners_xlsx(path, args.rows)
    figures = {"rows": args.rows}
    print(f"generate {args.rows} rows: {time.perf_counter() - t:6.2f}s  ({os.path.getsize(path) / 1e6:.1f} MB)")

    with app.app_context():
        db.drop_all()
        db.create_all()
        t = time.perf_counter()
        outcome = run(analyse("owner", path))
        figures["dry_run_s"] = round(time.perf_counter() - t, 2)
        print(f"dry run:            {time.perf_counter() - t:6.2f}s  rows={outcome.rows} valid={outcome.valid} "
              f"errors={len(outcome.issues)}")
        if outcome.issues:
            print(outcome.issues[:5])
            return 1
        t = time.perf_counter()
        result = run(commit("owner", path, "owners.xlsx", expected=outcome.rows))
        figures["commit_s"] = round(time.perf_counter() - t, 2)
        print(f"commit (re-validate + insert + audit): {time.perf_counter() - t:6.2f}s  {result.message}")
        owners = db.session.scalar(select(func.count()).select_from(Owner))
        audits = db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "Excel导入"))
        print(f"owners={owners} audit rows={audits}")
        assert result.ok and owners == audits == args.rows
        if args.json:
            Path(args.json).write_text(json.dumps(figures))

        if args.http:
            db.session.execute(delete(AuditLog))
            db.session.execute(delete(Owner))
            from schema.org import AppUser

            user = AppUser(username="bench", display_name="bench", role="admin", active=True)
            user.set_password("Bench-Passw0rd!")
            db.session.add(user)
            db.session.commit()
            db.session.remove()

    if args.http:
        client = app.test_client()
        client.post("/login", data={"username": "bench", "password": "Bench-Passw0rd!"})
        with open(path, "rb") as fh:
            data = fh.read()
        t = time.perf_counter()
        resp = client.post("/admin/import/upload/", data={"kind": "owner", "file": (io.BytesIO(data), "owners.xlsx")},
                           content_type="multipart/form-data")
        assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]
        html = client.get("/admin/import/preview/").get_data(as_text=True)
        valid = re.search(r'id="count-valid">(\d+)<', html).group(1)
        print(f"HTTP upload + dry run + preview: {time.perf_counter() - t:6.2f}s  valid={valid}")
        t = time.perf_counter()
        first, steps, done = None, 0, False
        resp = client.post("/admin/import/commit/", buffered=False)
        for chunk in resp.response:
            chunk = chunk if isinstance(chunk, bytes) else chunk.encode()
            steps += chunk.count(b'class="import-step"')
            done = done or b'id="import-done"' in chunk
            if first is None and steps > 1:
                first = time.perf_counter() - t
        resp.close()
        print(f"HTTP commit (streamed): {time.perf_counter() - t:6.2f}s  progress blocks={steps} "
              f"first update after {first or 0:.2f}s  success={done}")
        with app.app_context():
            print(f"owners={db.session.scalar(select(func.count()).select_from(Owner))}")
    with app.app_context():
        db.session.remove()
        db.drop_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
