"""`make bench`: PropDesk against stock Flask-Admin and the floor, on a freshly generated city-scale dataset.

    .venv/bin/python -m tests.perf.bench                      # N = 100,000 units on SQLite
    .venv/bin/python -m tests.perf.bench --quick              # N = 2,000, 3 runs: CI's smoke test
    .venv/bin/python -m tests.perf.bench --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench

Every figure is measured side by side in one run and reported as a median of --runs runs (7 by
default) and as ratios:
- list pages of the six largest views (page 1, a filter, a sort, a search, page 500) against (a) a
  stock Flask-Admin ModelView of the same model (same columns, search, filters and default sort,
  everything else default) and (b) the floor: a bare Flask view rendering the same rows from one
  SQLAlchemy Core query through a bare Jinja table;
- SQL statements per list page at page sizes 20 and 100 (no N+1);
- searches on the charge table (p95 over many terms) and the global search box;
- xlsx/csv export of up to 500,000 ledger rows (wall time, peak RSS, each in its own process)
  against the floor (Core read + XlsxWriter constant memory / csv module) and stock Flask-Admin;
- the arrears page against the one aggregate SQL query that computes the same numbers;
- Excel import of owners (dry run and commit).

It prints one table and writes perf-results.json; the exit status is 0 even when a target is
missed (the table says which), and 1 only when the benchmark itself fails.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf import reference  # noqa: E402

BENCH_USER, BENCH_PASSWORD = "bench", "Bench-Passw0rd!2026"
VIEWS = ("charge", "payment", "work_order", "call_log", "owner", "unit")


# -- dataset ------------------------------------------------------------------------------------
def prepare_database(url: str, units: int, tmp: str) -> dict:
    """A fresh schema through the migrations, then the city-scale generator; returns its figures."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from app.extensions import db
    from schema.org import AppUser
    from seed import scale

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": f"{tmp}/uploads"})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        upgrade(directory=str(ROOT / "migrations"))
        started = time.perf_counter()
        counts = scale.generate(units, progress=sys.stderr.isatty())
        seconds = time.perf_counter() - started
        user = AppUser(username=BENCH_USER, display_name="基准测试", role="admin", active=True)
        user.set_password(BENCH_PASSWORD)
        db.session.add(user)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    total = sum(counts.values())
    return {"units": units, "rows": total, "seconds": round(seconds, 2),
            "rows_per_second": round(total / seconds), "tables": counts}


# -- timing helpers -----------------------------------------------------------------------------
def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def p95_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))] * 1000, 2)


def fetch(client, url: str) -> float:
    """Seconds to answer `url` and read the whole body; anything but 200 fails the benchmark."""
    started = time.perf_counter()
    resp = client.get(url)
    body = resp.get_data()
    took = time.perf_counter() - started
    if resp.status_code != 200:
        raise RuntimeError(f"{url}: HTTP {resp.status_code}: {body[:300]!r}")
    return took


def login(client) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    resp = client.post("/login", data={"username": BENCH_USER, "password": BENCH_PASSWORD, "csrf_token": token})
    if resp.status_code != 302:
        raise RuntimeError("bench login failed")


@contextmanager
def statements(engine):
    """Count the SQL statements executed inside the block."""
    from sqlalchemy import event

    seen = []

    def count(*_args, **_kw):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


# -- list pages ---------------------------------------------------------------------------------
def list_cases(ours, refs, runs: int) -> tuple[list[dict], list[dict]]:
    """Medians per view and case for ours / stock / floor, and statements per page at two page sizes."""
    from app.extensions import db

    client = ours.test_client()
    login(client)
    ref_client = refs.test_client()
    rows, queries = [], []
    with ours.app_context():
        engine = db.engine
        views = {v.endpoint: v for v in ours.extensions["admin"][0]._views if hasattr(v, "spec")}
        for name in VIEWS:
            view = views[name]
            with ours.test_request_context():
                cases = reference.cases_for(view, refs)
            for case in cases:
                urls = {"ours": case["ours"], "stock": case["stock"], "floor": case["floor"]}
                samples = {k: [] for k in urls}
                for k, url in urls.items():  # warm caches and compiled statements once
                    fetch(client if k == "ours" else ref_client, url)
                for _ in range(runs):
                    for k, url in urls.items():
                        samples[k].append(fetch(client if k == "ours" else ref_client, url))
                med = {k: median_ms(v) for k, v in samples.items()}
                rows.append({"view": name, "case": case["case"], "url": case["ours"], **med,
                             "vs_stock": round(med["ours"] / med["stock"], 2),
                             "vs_floor": round(med["ours"] / med["floor"], 2),
                             "count_ms": case_count_ms(view, ours, client, case["ours"], engine)})
            sizes = {}
            for size in (20, 100):
                view.page_size = size
                with statements(engine) as seen:
                    fetch(client, f"/admin/{name}/")
                sizes[size] = len(seen)
            view.page_size = view.spec.page_size
            queries.append({"view": name, "statements_20": sizes[20], "statements_100": sizes[100]})
    return rows, queries


def case_count_ms(view, ours, client, url, engine) -> float:
    """Milliseconds spent in the page's counting statement (the one that selects count(*))."""
    from sqlalchemy import event

    spent = []

    def before(conn, cursor, statement, params, context, many):
        context._bench_start = time.perf_counter()

    def after(conn, cursor, statement, params, context, many):
        if "count(" in statement.lower():
            spent.append(time.perf_counter() - context._bench_start)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        fetch(client, url)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return round(sum(spent) * 1000, 2)


def search_figures(ours, runs: int) -> dict:
    """p95 over many list searches on the charge table, and over the global search box."""
    from app.extensions import db

    client = ours.test_client()
    login(client)
    with ours.app_context():
        terms = reference.search_terms(db.session)
        global_terms = reference.global_terms(db.session)
    list_samples, global_samples = [], []
    for term in terms + global_terms:  # warm
        fetch(client, f"/admin/charge/?search={term}")
    for _ in range(max(1, runs // 2)):
        for term in terms:
            list_samples.append(fetch(client, f"/admin/charge/?search={term}"))
        for term in global_terms:
            global_samples.append(fetch(client, f"/admin/search/?q={term}"))
    return {"charge_search_terms": terms, "charge_search_p95_ms": p95_ms(list_samples),
            "charge_search_median_ms": median_ms(list_samples), "charge_searches": len(list_samples),
            "global_search_terms": global_terms, "global_search_p95_ms": p95_ms(global_samples),
            "global_search_median_ms": median_ms(global_samples), "global_searches": len(global_samples)}


# -- arrears ------------------------------------------------------------------------------------
def arrears_figures(ours, runs: int) -> dict:
    from app.extensions import db

    client = ours.test_client()
    login(client)
    page, sql = [], []
    with ours.app_context():
        fetch(client, "/admin/arrears_unit/")
        reference.arrears_aggregate(db.session)
        for _ in range(runs):
            page.append(fetch(client, "/admin/arrears_unit/"))
            started = time.perf_counter()
            reference.arrears_aggregate(db.session)
            sql.append(time.perf_counter() - started)
            db.session.remove()
    return {"page_ms": median_ms(page), "aggregate_sql_ms": median_ms(sql),
            "ratio": round(statistics.median(page) / statistics.median(sql), 2)}


# -- export (each measurement in its own process, for a clean peak RSS) --------------------------
def export_run(url: str, variant: str, fmt: str, rows: int, timeout: float | None) -> dict:
    cmd = [sys.executable, "-m", "tests.perf.bench_export", "--url", url, "--variant", variant,
           "--format", fmt, "--rows", str(rows), "--user", BENCH_USER, "--password", BENCH_PASSWORD]
    try:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"did_not_finish": True, "timeout_s": round(timeout, 1)}
    except subprocess.CalledProcessError as exc:
        if variant == "stock":  # stock Flask-Admin failing is a finding, not a broken benchmark
            errors = [line for line in exc.stderr.splitlines() if "Error" in line or "Exception" in line]
            return {"failed": (errors or ["exit status %d" % exc.returncode])[-1][:300]}
        raise RuntimeError(f"export {variant} {fmt} failed:\n{exc.stderr[-3000:]}") from exc
    return json.loads(out.stdout.strip().splitlines()[-1])


def export_figures(url: str, rows: int, small: int, runs: int) -> list[dict]:
    out = []
    for fmt in ("xlsx", "csv"):
        ours, floor = [], []
        for _ in range(runs):
            ours.append(export_run(url, "ours", fmt, rows, None))
            floor.append(export_run(url, "floor", fmt, rows, None))
        floor_s = statistics.median(r["seconds"] for r in floor)
        stock = export_run(url, "stock", fmt, rows, timeout=max(10 * floor_s, 5))
        ours_small = [export_run(url, "ours", fmt, small, None) for _ in range(max(1, runs // 3))]
        row = {"format": fmt, "rows": ours[0]["rows"],
               "ours_s": round(statistics.median(r["seconds"] for r in ours), 2),
               "ours_peak_mib": max(r["peak_mib"] for r in ours),
               "ours_rows_small": ours_small[0]["rows"],
               "ours_peak_mib_small": max(r["peak_mib"] for r in ours_small),
               "floor_s": round(floor_s, 2), "floor_peak_mib": max(r["peak_mib"] for r in floor),
               "stock": stock}
        row["vs_floor"] = round(row["ours_s"] / row["floor_s"], 2)
        if "seconds" in stock:
            row["vs_stock"] = round(row["ours_s"] / stock["seconds"], 2)
        out.append(row)
    return out


def export_rows_target(url: str, rows: int) -> int:
    """500,000 or, on a smaller dataset, about half the charges."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM charge")).scalar()
    engine.dispose()
    return min(rows, max(total // 2, 1))


# -- import -------------------------------------------------------------------------------------
def import_figures(rows: int, tmp: str) -> dict:
    out = Path(tmp) / "import.json"
    subprocess.run([sys.executable, str(ROOT / "tests/perf/bench_import.py"), "--rows", str(rows),
                    "--json", str(out)], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.read_text())


# -- report -------------------------------------------------------------------------------------
TARGETS = {
    "list_vs_stock": 1.0, "list_vs_floor": 2.0, "charge_search_p95_ms": 100.0, "count_ms": 20.0,
    "xlsx_vs_floor": 1.15, "xlsx_peak_mib": 120.0, "csv_vs_floor": 1.2, "arrears_ratio": 1.5,
    "arrears_page_ms": 1000.0, "global_search_p95_ms": 100.0, "import_50k_s": 60.0,
}


def verdicts(result: dict) -> list[dict]:
    """Each target with its measured value and whether it is met."""
    out = []

    def check(name, value, limit, detail=""):
        out.append({"target": name, "limit": limit, "value": value, "met": value <= limit, "detail": detail})

    lists = result["list_pages"]
    worst_stock = max(lists, key=lambda r: r["vs_stock"])
    worst_floor = max(lists, key=lambda r: r["vs_floor"])
    worst_count = max(lists, key=lambda r: r["count_ms"])
    check("列表 ≤ 1.0× stock", worst_stock["vs_stock"], TARGETS["list_vs_stock"],
          f"worst {worst_stock['view']} {worst_stock['case']}")
    check("列表 ≤ 2× floor", worst_floor["vs_floor"], TARGETS["list_vs_floor"],
          f"worst {worst_floor['view']} {worst_floor['case']}")
    check("计数 ≤ 20 ms", worst_count["count_ms"], TARGETS["count_ms"],
          f"worst {worst_count['view']} {worst_count['case']}")
    nplus = [q for q in result["queries_per_page"] if q["statements_100"] > q["statements_20"]]
    out.append({"target": "语句数不随页大小增长", "limit": 0, "value": len(nplus), "met": not nplus,
                "detail": ", ".join(q["view"] for q in nplus)})
    s = result["search"]
    check("费用搜索 p95 ≤ 100 ms", s["charge_search_p95_ms"], TARGETS["charge_search_p95_ms"],
          f"{s['charge_searches']} searches")
    check("全局搜索 p95 ≤ 100 ms", s["global_search_p95_ms"], TARGETS["global_search_p95_ms"],
          f"{s['global_searches']} searches")
    for e in result["export"]:
        limit = TARGETS[f"{e['format']}_vs_floor"]
        check(f"导出 {e['format']} ≤ {limit}× floor", e["vs_floor"], limit, f"{e['rows']} rows")
        if e["format"] == "xlsx":
            check("导出 xlsx 峰值内存 < 120 MiB", e["ours_peak_mib"], TARGETS["xlsx_peak_mib"],
                  f"{e['ours_peak_mib_small']} MiB at {e['ours_rows_small']} rows")
    a = result["arrears"]
    check("欠费 ≤ 1.5× 聚合查询", a["ratio"], TARGETS["arrears_ratio"])
    check("欠费页 < 1 s", a["page_ms"], TARGETS["arrears_page_ms"])
    imp = result.get("import")
    if imp:
        check("导入(试算+提交)", round(imp["dry_run_s"] + imp["commit_s"], 2), TARGETS["import_50k_s"] * imp["rows"] / 50000,
              f"{imp['rows']} rows")
    return out


def print_report(result: dict) -> None:
    print(f"\n== {result['engine']}  N={result['dataset']['units']:,} units, {result['dataset']['rows']:,} rows "
          f"(generated in {result['dataset']['seconds']} s, {result['dataset']['rows_per_second']:,} rows/s) ==")
    print(f"{'view':<11}{'case':<9}{'ours ms':>9}{'stock ms':>10}{'floor ms':>10}{'×stock':>8}{'×floor':>8}{'count ms':>10}")
    for r in result["list_pages"]:
        print(f"{r['view']:<11}{r['case']:<9}{r['ours']:>9.1f}{r['stock']:>10.1f}{r['floor']:>10.1f}"
              f"{r['vs_stock']:>8.2f}{r['vs_floor']:>8.2f}{r['count_ms']:>10.1f}")
    print("statements per page (20 / 100 rows): " + ", ".join(
        f"{q['view']} {q['statements_20']}/{q['statements_100']}" for q in result["queries_per_page"]))
    s = result["search"]
    print(f"charge search: p95 {s['charge_search_p95_ms']} ms, median {s['charge_search_median_ms']} ms "
          f"({s['charge_searches']} searches); global search: p95 {s['global_search_p95_ms']} ms, "
          f"median {s['global_search_median_ms']} ms ({s['global_searches']} searches)")
    for e in result["export"]:
        stock = e["stock"]
        if stock.get("did_not_finish"):
            stock_text = f"stock did not finish within {stock['timeout_s']} s (10× floor)"
        elif stock.get("failed"):
            stock_text = f"stock failed: {stock['failed']}"
        else:
            stock_text = f"stock {stock['seconds']} s / {stock['peak_mib']} MiB"
        print(f"export {e['format']} {e['rows']:,} rows: ours {e['ours_s']} s / {e['ours_peak_mib']} MiB "
              f"({e['ours_peak_mib_small']} MiB at {e['ours_rows_small']:,} rows), floor {e['floor_s']} s / "
              f"{e['floor_peak_mib']} MiB, ×floor {e['vs_floor']}; {stock_text}")
    a = result["arrears"]
    print(f"arrears page {a['page_ms']} ms vs aggregate SQL {a['aggregate_sql_ms']} ms (×{a['ratio']})")
    if result.get("import"):
        i = result["import"]
        print(f"import {i['rows']:,} owners: dry run {i['dry_run_s']} s, commit {i['commit_s']} s")
    print("targets:")
    for v in result["targets"]:
        print(f"  {'ok  ' if v['met'] else 'MISS'} {v['target']:<28} {v['value']:>10} (limit {v['limit']}) {v['detail']}")


def run_engine(url: str, engine_name: str, args, tmp: str) -> dict:
    from app import create_app

    print(f"[{engine_name}] generating {args.units:,} units ...", file=sys.stderr)
    dataset = prepare_database(url, args.units, tmp)
    ours = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": f"{tmp}/uploads"})
    refs = reference.create_reference_app(url)
    print(f"[{engine_name}] list pages ...", file=sys.stderr)
    lists, queries = list_cases(ours, refs, args.runs)
    print(f"[{engine_name}] search ...", file=sys.stderr)
    search = search_figures(ours, args.runs)
    print(f"[{engine_name}] arrears ...", file=sys.stderr)
    arrears = arrears_figures(ours, args.runs)
    print(f"[{engine_name}] export ...", file=sys.stderr)
    rows = export_rows_target(url, args.export_rows)
    export = export_figures(url, rows, max(rows // 5, 1), args.export_runs)
    result = {"engine": engine_name, "dataset": dataset, "list_pages": lists, "queries_per_page": queries,
              "search": search, "arrears": arrears, "export": export}
    if engine_name == "sqlite":
        print(f"[{engine_name}] import ...", file=sys.stderr)
        result["import"] = import_figures(args.import_rows, tmp)
    result["targets"] = verdicts(result)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="PropDesk benchmark")
    parser.add_argument("--units", type=int, default=None, help="dataset size (default 100000; --quick 2000)")
    parser.add_argument("--quick", action="store_true", help="small dataset and few runs: a smoke test")
    parser.add_argument("--pg", default=os.environ.get("PROPDESK_BENCH_PG_URL"),
                        help="also run on this PostgreSQL database (its tables are dropped!)")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 7; --quick 3)")
    parser.add_argument("--no-sqlite", action="store_true", help="with --pg: PostgreSQL only")
    parser.add_argument("--out", default="perf-results.json")
    args = parser.parse_args(argv)
    if args.pg and args.pg in (os.environ.get("DATABASE_URL"), os.environ.get("PROPDESK_TEST_DATABASE_URL")):
        parser.error("--pg would wipe the database in DATABASE_URL / PROPDESK_TEST_DATABASE_URL: give another")
    if args.no_sqlite and not args.pg:
        parser.error("--no-sqlite needs --pg")
    args.units = args.units or (2000 if args.quick else 100_000)
    args.runs = args.runs or (3 if args.quick else 7)
    args.export_runs = 1 if args.quick else args.runs
    args.export_rows = 500_000
    args.import_rows = 2000 if args.quick else 50_000
    results = []
    with tempfile.TemporaryDirectory(prefix="propdesk-bench-") as tmp:
        if not args.no_sqlite:
            results.append(run_engine(f"sqlite:///{tmp}/bench.db", "sqlite", args, tmp))
            print_report(results[-1])
        if args.pg:
            results.append(run_engine(args.pg, "postgresql", args, tmp))
            print_report(results[-1])
    Path(args.out).write_text(json.dumps({"quick": args.quick, "runs": args.runs, "results": results},
                                         ensure_ascii=False, indent=1, default=str))
    print(f"\nwritten {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
