"""One export measured in its own process (run by tests/perf/bench.py), so peak RSS is this export's alone.

    python -m tests.perf.bench_export --url sqlite:////tmp/x.db --variant ours --format xlsx --rows 500000

Variants: ours (PropDesk's /admin/charge/export/), stock (Flask-Admin's export of the same view),
floor (SQLAlchemy Core read + XlsxWriter constant-memory / the csv module, nothing else).
All three export the charges due on or after the date that yields about --rows rows, newest first.
Prints one JSON line: rows, seconds, peak_mib (the process's peak RSS during the export: the peak is
reset once the app is up and signed in), base_mib (RSS when the export starts).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib() -> float:
    """This process's peak RSS (VmHWM: getrusage's ru_maxrss carries the parent's peak across exec)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024


def reset_peak() -> None:
    """Start VmHWM afresh at the current RSS: the peak then is the export's, not the sign-in's (its
    scrypt password check alone takes 32 MiB for a moment) or start-up's."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def consume(resp) -> int:
    size = 0
    for chunk in resp.response:
        size += len(chunk)
    resp.close()
    return size


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--variant", choices=("ours", "stock", "floor"), required=True)
    p.add_argument("--format", choices=("xlsx", "csv"), required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--user", default="bench")
    p.add_argument("--password", default="")
    args = p.parse_args(argv)

    from flask_admin.contrib.sqla import filters as sqla_filters
    from sqlalchemy import create_engine, func, select

    from app import create_app
    from schema.ledger import Charge
    from tests.perf.reference import _filter_arg, create_reference_app, floor_statement

    engine = create_engine(args.url)
    with engine.connect() as conn:
        since = conn.execute(select(Charge.due_date).order_by(Charge.due_date.desc())
                             .limit(1).offset(args.rows - 1)).scalar()
        since = since or conn.execute(select(func.min(Charge.due_date))).scalar()
        rows = conn.execute(select(func.count()).select_from(Charge).where(Charge.due_date >= since)).scalar()
    after = since - timedelta(days=1)  # Flask-Admin's "greater than" filter is strict

    if args.variant == "floor":
        reset_peak()
        base = rss_mib()
        started = time.perf_counter()
        stmt = floor_statement(Charge, where=Charge.due_date >= since, page_size=None)
        labels = [c.key for c in stmt.selected_columns]
        fd, path = tempfile.mkstemp(suffix="." + args.format)
        os.close(fd)
        with engine.connect().execution_options(stream_results=True, yield_per=2000) as conn:
            result = conn.execute(stmt)
            if args.format == "xlsx":
                import xlsxwriter

                book = xlsxwriter.Workbook(path, {"constant_memory": True})
                ws = book.add_worksheet("charge")
                ws.write_row(0, 0, labels)
                for r, row in enumerate(result, start=1):
                    ws.write_row(r, 0, row)
                book.close()
            else:
                with open(path, "w", newline="", encoding="utf-8-sig") as fh:
                    writer = csv.writer(fh)
                    writer.writerow(labels)
                    writer.writerows(result)
        size = os.path.getsize(path)
        os.unlink(path)
    else:
        if args.variant == "ours":
            app = create_app({"SQLALCHEMY_DATABASE_URI": args.url,
                              "UPLOAD_FOLDER": tempfile.mkdtemp(prefix="propdesk-export-")})
            client = app.test_client()
            html = client.get("/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
            client.post("/login", data={"username": args.user, "password": args.password, "csrf_token": token})
            view = next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", "") == "charge")
            url = f"/admin/charge/export/{args.format}/"
        else:
            app = create_reference_app(args.url)
            client = app.test_client()
            view = next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", "") == "stock_charge")
            url = f"/stock/charge/export/{args.format}/"
        flt = _filter_arg(view, "due_date", sqla_filters.DateGreaterFilter)
        url += f"?flt0_{flt}={after:%Y-%m-%d}"
        reset_peak()
        base = rss_mib()
        started = time.perf_counter()
        with client:  # keep the request's context (and its session) while the body streams, as a server does
            resp = client.get(url)
            if resp.status_code != 200:
                raise SystemExit(f"{url}: HTTP {resp.status_code} {resp.get_data()[:500]!r}")
            size = consume(resp)
    seconds = time.perf_counter() - started
    print(json.dumps({"variant": args.variant, "format": args.format, "rows": rows, "bytes": size,
                      "seconds": round(seconds, 3), "peak_mib": round(peak_mib(), 1), "base_mib": round(base, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
