"""City-scale synthetic data for load tests: `flask seed-scale --units 100000`.

`generate(units)` writes a coherent dataset proportional to the number of units: estates (one per 2,000
units) of ~100-unit buildings, their owners (~1.2 per unit), residents (~1.5), a year of monthly
management fees with receipts and allocations, leases with their rent, work orders, calls, complaints,
release slips, visitors, documents (metadata only), dunning, follow-up visits, move-ins, renovation
permits, service orders, surveys, department checks and patrols, all dated in the 12 months before the
office's today and following the rules the panel applies (status flows and their timestamps, document
numbers, charge status = allocations).

It is built for speed, not through the panel's rule functions (nor their audit trail): rows are plain
tuples with ids assigned here (so foreign keys are known without reading back), values already in the form
the driver stores (dates as ISO text, money as 2-place numbers), written in batches of 20,000 through a
SQLAlchemy Core connection (`exec_driver_sql` of the table's INSERT: the driver's executemany, without
SQLAlchemy's per-value type processing) by a writer thread, while the generator works ahead. Per table, in
one transaction: its secondary indexes and triggers are dropped, the rows written, the indexes and
triggers re-created, and the search table the triggers maintain (app/fulltext.py) rebuilt in one pass.
On PostgreSQL the batches are COPYed instead, and the id sequences moved past the loaded ids afterwards.
Everything comes from one seeded random generator: the same seed on the same day gives the same data.

Numbered documents use the app's formats (see app/numbering.py): SK/WX/TS/FX/ZX/FW/BH/XT<yyyymmdd>-nnnn,
numbered in time order per prefix and day, on days before today only; number_sequence then holds the
last number of every (prefix, day), so numbers the app issues later never collide.
"""
from __future__ import annotations

import hashlib
import queue
import random
import sys
import threading
import time as _time
from bisect import bisect_right
from contextlib import nullcontext
from datetime import date
from itertools import chain, islice

from sqlalchemy import select, text

from app import clock
from app.extensions import db
from app.validators import credit_code_check_char

BATCH = 20_000
QUEUE_BATCHES = 64
"""Batches the generator may run ahead of the database (a few MB each)."""
STEP = 2_000
"""Rows generated between two looks at whether the writer is busy binding rows."""
SWITCH_INTERVAL = 0.0005
"""sys.setswitchinterval during the load (seconds)."""
DAY_S = 86_400
HOUR = 3_600
MINUTE = 60

# --------------------------------------------------------------------------- the tables' columns
# Every non-computed column, in the order the generators build their tuples (checked against the
# metadata before the first row is written).
COLUMNS = {
    "department": ("id", "version", "name", "supervisor_name", "phone", "note"),
    "app_user": ("id", "version", "username", "display_name", "password_hash", "role", "department_id", "phone",
                 "all_estates", "session_token", "active"),
    "estate": ("id", "version", "name", "address", "phone", "note"),
    "building": ("id", "version", "estate_id", "name", "floors", "note"),
    "unit": ("id", "version", "building_id", "room_no", "floor", "area", "usage", "status", "fee_rate",
             "handover_date", "note"),
    "owner": ("id", "version", "kind", "name", "id_type", "id_number", "phone", "contact_person", "address", "note"),
    "ownership": ("id", "version", "owner_id", "unit_id", "share", "since", "is_primary"),
    "resident": ("id", "version", "unit_id", "name", "relation", "phone", "id_number", "move_in_date",
                 "move_out_date", "note"),
    "leasable_asset": ("id", "version", "kind", "code", "name", "estate_id", "location", "size", "list_price", "status",
                       "note"),
    "lease": ("id", "version", "asset_id", "contract_no", "tenant_name", "tenant_company", "tenant_phone",
              "tenant_id_number", "negotiation_notes", "signed_date", "start_date", "end_date", "rent",
              "billing_cycle", "deposit", "venue_fee", "status", "note"),
    "charge": ("id", "version", "kind", "unit_id", "owner_id", "lease_id", "payer_name", "period", "period_start",
               "period_end", "due_date", "amount", "amount_paid", "status", "bill_key", "void_reason", "note"),
    "payment": ("id", "version", "receipt_no", "unit_id", "owner_id", "lease_id", "payer_name", "amount", "method",
                "paid_at", "clerk_id", "status", "void_reason", "note"),
    "payment_allocation": ("id", "version", "payment_id", "charge_id", "amount"),
    "move_in": ("id", "version", "unit_id", "owner_id", "handler_kind", "proxy_name", "proxy_id_number",
                "handled_at", "clerk_id", "registration_form_signed", "agreements_signed", "keys_count",
                "handbook_given", "drawings_given", "water_reading", "electricity_reading", "gas_reading",
                "readings_confirmed", "fee_payment_id", "status", "completed_at", "note"),
    "renovation_permit": ("id", "version", "number", "status", "unit_id", "owner_id", "applicant_kind",
                          "proxy_name", "proxy_id_number", "proxy_phone", "contractor", "contractor_phone",
                          "planned_start", "planned_end", "plan_summary", "structural", "added_load",
                          "agreement_signed", "rules_acknowledged", "plan_reviewed_by", "plan_reviewed_at",
                          "review_note", "waste_fee", "waste_fee_paid", "waste_fee_payment_id", "applied_at",
                          "applied_by", "approved_at", "approved_by", "rejected_reason", "started_at",
                          "completed_at", "unit_status_before", "violation", "note"),
    "worker_pass": ("id", "version", "permit_id", "pass_no", "name", "id_number", "phone", "valid_from",
                    "valid_to"),
    "renovation_check": ("id", "version", "permit_id", "checked_on", "inspector", "findings", "violation",
                         "action_taken"),
    "service_item": ("id", "version", "name", "description", "price", "price_unit", "department_id", "published"),
    "service_order": ("id", "version", "number", "item_id", "unit_id", "owner_id", "contact", "phone", "area",
                      "agreed_time", "fee", "expected_result", "agreement", "status", "booked_at", "booked_by",
                      "scheduled_by", "staff", "scheduled_at", "done_at", "accepted", "acceptance_note",
                      "payment_id", "note"),
    "document": ("id", "version", "doc_type", "title", "owner_id", "unit_id", "ref_table", "ref_id", "filename",
                 "content_type", "size", "sha256", "received_on", "clerk_id", "note"),
    "work_order": ("id", "version", "number", "source", "unit_id", "reporter", "reporter_phone", "category",
                   "description", "department_id", "status", "created_at", "created_by", "dispatched_at",
                   "dispatched_by", "accepted_at", "accepted_by", "started_at", "completed_at", "completed_by",
                   "leak_test_at", "followup_due", "followup_method", "followup_at", "followup_by", "satisfied",
                   "followup_result", "problems_found", "close_reason", "note"),
    "call_log": ("id", "version", "at", "caller", "identity", "unit_id", "phone", "content", "answered", "answer",
                 "callback", "department_id", "status", "work_order_id", "followup_at", "followup_by",
                 "followup_result", "taken_by", "note"),
    "complaint": ("id", "version", "number", "received_at", "channel", "complainant", "phone", "unit_id", "content",
                  "kind", "category", "status", "identity_checked", "identity_note", "classified_at",
                  "classified_by", "department_id", "supervisor_name", "assigned_at", "onsite_at", "handling",
                  "followup_at", "followup_by", "followup_result", "satisfied", "escalated", "escalated_from",
                  "escalation_reason", "escalated_at", "escalated_by", "call_log_id", "created_by", "note"),
    "release_slip": ("id", "version", "number", "status", "unit_id", "applicant", "id_number", "phone", "relation",
                     "reason", "applicant_is_owner", "id_checked", "owner_confirmed", "owner_confirmed_by",
                     "owner_confirmed_at", "owner_confirm_phone", "arrears_at_issue", "refused_at",
                     "refused_reason", "override_by", "override_at", "override_reason", "issued_at", "issued_by",
                     "released_at", "guard", "void_reason", "voided_at", "voided_by", "created_at", "created_by",
                     "note"),
    "release_item": ("id", "version", "slip_id", "description", "quantity", "measure"),
    "visitor": ("id", "version", "time_in", "name", "id_number", "phone", "purpose", "unit_id",
                "visited_department_id", "host", "notified_department_id", "time_out", "registered_by", "note"),
    "followup_visit": ("id", "version", "unit_id", "owner_id", "planned_date", "staff", "method", "purpose",
                       "work_order_id", "status", "visited_at", "content", "problems", "opinion", "result",
                       "raised_work_order_id", "note"),
    "survey": ("id", "version", "year", "unit_id", "distributed_on", "collected_on", "score_service",
               "score_cleaning", "score_security", "score_maintenance", "score_greening", "suggestions"),
    "dunning": ("id", "version", "unit_id", "lease_id", "payer_name", "method", "at", "staff_id", "reached_person",
                "identity_confirmed", "result", "promised_date", "notes"),
    "dunning_charge": ("dunning_id", "charge_id"),
    "patrol": ("id", "version", "building_id", "at", "patroller", "hygiene_ok", "hygiene_note", "facilities_ok",
               "facilities_note", "bulletin_ok", "bulletin_note", "security_ok", "security_note"),
    "dept_check": ("id", "version", "number", "department_id", "item", "checked_at", "checker", "passed",
                   "findings", "slip_kind", "supervisor_name", "deadline", "status", "rectified_at",
                   "rectification", "rechecked_at", "rechecked_by", "recheck_note", "reopen_count", "patrol_id",
                   "note"),
    "number_sequence": ("id", "prefix", "day", "last"),
}
SMALL_TABLES = ("department", "app_user", "number_sequence")
"""Tables that may already hold rows (accounts made with `flask create-user`): merged, never refused."""

# --------------------------------------------------------------------------- word pools

ESTATE_WORDS = ("锦绣", "翠湖", "碧海", "星河", "金域", "书香", "阳光", "御景", "观澜", "怡景", "紫荆", "桃源",
                "荔园", "海岸", "天悦", "丽水", "绿洲", "鹏程", "半山", "东方", "中央", "金色", "香蜜", "蔚蓝",
                "世纪", "泰然", "华侨", "龙珠", "海月", "万象")
ESTATE_SUFFIXES = ("花园", "雅苑", "家园", "名苑", "华庭", "公馆", "新城", "豪庭", "山庄", "半岛")
DISTRICTS = (
    ("南山区", ("桃源街道龙珠大道", "粤海街道科苑路", "南头街道南新路", "蛇口街道工业八路", "西丽街道留仙大道")),
    ("福田区", ("香蜜湖街道农林路", "梅林街道梅华路", "莲花街道红荔西路", "沙头街道滨河大道")),
    ("罗湖区", ("东门街道东门中路", "翠竹街道太宁路", "莲塘街道罗沙路")),
    ("宝安区", ("新安街道建安一路", "西乡街道宝源路", "福永街道福海大道")),
    ("龙岗区", ("龙城街道龙福路", "布吉街道布龙路", "坂田街道五和大道")),
    ("龙华区", ("民治街道民康路", "观澜街道观澜大道", "大浪街道华荣路")),
)
COMPANY_CITIES = (("深圳市", ("440303", "440304", "440305", "440306", "440307")), ("广州市", ("440106", "440104")),
                  ("东莞市", ("441900",)), ("佛山市", ("440604",)))
COMPANY_CHARS = "鹏华盛泰安康恒信达兴隆创新智联优佳美德宏远博通嘉禾启航悦享金桥万顺中科百川正和"
INDUSTRIES = ("餐饮管理", "商贸", "信息科技", "教育咨询", "医药连锁", "房地产经纪", "供应链管理", "文化传媒", "物流",
              "食品", "建筑装饰", "电子科技", "投资发展", "健康管理", "酒店管理")
NEGOTIATION_NOTES = ("按挂牌价签约,押一付一", "对方要求优惠,协商九五折签约,押二付一", "续租客户,租金不变",
                     "对方为周边商户,签约一年,内容须经管理处审核", "协商按月付款,押金两个月",
                     "已告知使用规定及安全要求,对方同意")
TERMINATE_REASONS = ("承租人经营调整,双方协商提前解约", "承租人搬离本市,协商提前解约", "承租人违约,经催告仍未整改,依约解除")
ASSET_SPECS = {  # kind -> (code prefix, share, names, size range ㎡ x100, list price range 元)
    "ad": ("GG", 50, ("电梯轿厢广告位", "道闸广告位", "车库灯箱", "大堂LED屏", "宣传栏广告位"), (50, 1500), (400, 3500)),
    "warehouse": ("CK", 30, ("仓库", "储物间", "地下室仓储间"), (1500, 9000), (800, 3600)),
    "venue": ("CD", 20, ("会所多功能厅", "架空层活动区", "中心广场", "屋顶平台"), (8000, 60000), (2000, 8000)),
}
MOVE_IN_NOTES = (None, None, None, "业主要求加装入户门猫眼", "已告知装修管理规定", "业主留存备用钥匙一把于管理处")
DUN_RESULTS = ("电话无人接听,已发送催缴短信", "业主答应月底前缴清欠费", "业主称近期资金紧张,申请分期缴纳",
               "上门送达《物业费催缴通知书》,业主当面签收", "业主反映地下车库漏水未修好,暂不缴费")
LEASE_DUN_RESULTS = ("承租人称近期资金紧张,答应月底前补缴", "对方财务称付款审批中,约定下周转账",
                     "承租人同意先缴一个月,其余待减免申请答复")
CALL_FOLLOWUPS = ("维修已完成,来电人确认满意", "电话回访,来电人表示问题已解决", "回访确认已处理完毕,来电人满意")
VISIT_RESULT_WEIGHTS = (("satisfied", 70), ("fair", 22), ("unsatisfied", 8))
STATUS_SHARES = (("vacant", 0.06), ("custody", 0.04), ("renovating", 0.06))  # the rest occupied
PROFILE_SHARES = (0.50, 0.40, 0.10)
COMPANY_SHARE = 0.03  # good payers (before due), normal, chronic (stop paying)
STEP_STATUS = ("pending", "dispatched", "accepted", "in_progress", "done", "visited")
OPENED_BY = ("frontdesk", "frontdesk", "maintenance", "supervisor")


class _Days(dict):
    """ordinal -> 'YYYY-MM-DD' (or 'YYYYMMDD' with compact=True), computed once per day."""

    def __init__(self, compact: bool = False):
        super().__init__()
        self.compact = compact

    def __missing__(self, ordinal):
        d = date.fromordinal(ordinal)
        value = d.strftime("%Y%m%d") if self.compact else d.isoformat()
        self[ordinal] = value
        return value


class _Rng(random.Random):
    """random.Random with randint, randrange and choice computed from one random() draw: several times
    faster than the stock versions (which draw bits until a value fits), and as deterministic."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None:
            return int(self.random() * start)
        if step == 1:
            return start + int(self.random() * (stop - start))
        return start + step * int(self.random() * ((stop - start + step - 1) // step))

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]


def _weighted(pairs) -> list:
    """A list repeating each value by its integer weight, for rng.choice."""
    return [v for v, w in pairs for _ in range(w)]


def _cents(c: int) -> float:
    return c / 100


# =========================================================================== the writer


class _Writer:
    """Writes batches of tuples on one connection, one transaction per table: the table's secondary
    indexes (and, on SQLite, its triggers) are dropped before its rows and re-created after them.

    With `threaded`, a background thread does the writing and the generator runs ahead of it. Both
    need the GIL while rows are generated or bound, so they take turns there: the generator pauses
    while the writer binds rows (`self.free` is clear) and runs while the writer waits for rows or
    while SQLite works on its own (index builds, commits, the search-table rebuild), which is where
    most of the generating ends up hidden."""

    def __init__(self, engine, bar=None, batch: int = BATCH, threaded: bool = True):
        self.engine = engine
        self.dialect = engine.dialect.name
        self.bar = bar
        self.batch = batch
        self.threaded = threaded
        self.counts: dict[str, int] = {}
        self.timings: dict[str, list[float]] = {}
        """table (or hook) -> [seconds inserting rows, seconds re-creating indexes and committing]"""
        self.error: BaseException | None = None
        self.conn = self.trans = self.state = None
        self.free = threading.Event()
        self.free.set()
        if threaded:
            self.q: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES)
            self.thread = threading.Thread(target=self._run, name="seed-scale-writer", daemon=True)
            self.thread.start()
        else:
            self._open()

    # ---------------------------------------------------------------- producer side

    def _send(self, item) -> None:
        if not self.threaded:
            self._handle(item)
            return
        while True:
            if self.error is not None:
                raise RuntimeError(f"写入数据库失败: {self.error}") from self.error
            try:
                self.q.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _wait_turn(self) -> None:
        while not self.free.wait(0.5):
            if self.error is not None:
                raise RuntimeError(f"写入数据库失败: {self.error}") from self.error

    def write(self, name: str, rows, drop_indexes: bool = True) -> int:
        """Insert every tuple of `rows` (in COLUMNS[name] order) into `name`; returns the count."""
        columns = COLUMNS[name]
        _check_columns(name, columns)
        self._send(("begin", name, columns, drop_indexes))
        n = 0
        it = iter(rows)
        step = STEP if self.threaded else self.batch
        while True:
            chunk = []
            while len(chunk) < self.batch:
                if self.threaded:
                    self._wait_turn()
                part = list(islice(it, min(step, self.batch - len(chunk))))
                if not part:
                    break
                chunk += part
            if not chunk:
                break
            self._send(("rows", chunk))
            n += len(chunk)
            if self.bar is not None:
                self.bar.update(len(chunk))
        self._send(("end",))
        self.counts[name] = self.counts.get(name, 0) + n
        return n

    def call(self, fn) -> None:
        """Run fn(connection) on the writer's connection, in its own transaction, in order."""
        self._send(("call", fn))

    def close(self) -> None:
        if self.threaded:
            self._send(None)
            self.thread.join()
            if self.error is not None:
                raise RuntimeError(f"写入数据库失败: {self.error}") from self.error
        else:
            self._close()

    def abort(self) -> None:
        """After an error in the producer: roll back the open table, restore the connection."""
        if not self.threaded:
            self._close()
        elif self.thread.is_alive():
            try:
                self.q.put(None, timeout=5)
            except queue.Full:
                pass
            self.thread.join(timeout=60)

    # ---------------------------------------------------------------- the writing

    def _run(self) -> None:
        try:
            self._open()
            try:
                while True:
                    if self.q.empty():
                        self.free.set()  # waiting for rows: the generator's turn
                    item = self.q.get()
                    if item is None:
                        break
                    if item[0] == "rows":
                        self.free.clear()
                    else:
                        self.free.set()  # DDL, commits, hooks: SQLite works without the GIL
                    self._handle(item)
            finally:
                self.free.set()
                self._close()
        except BaseException as exc:  # noqa: BLE001  (handed to the producer, raised on its next send)
            self.error = exc
            self.free.set()
            while True:  # drain so the producer never blocks on a full queue
                try:
                    if self.q.get(timeout=1) is None:
                        break
                except queue.Empty:
                    break

    def _open(self) -> None:
        self.conn = conn = self.engine.connect()
        if self.dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
            conn.exec_driver_sql("PRAGMA cache_size=-1048576")  # 1 GiB of page cache for the index builds
            conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
            conn.exec_driver_sql("PRAGMA mmap_size=8589934592")  # index builds read the tables through mmap
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # parents are always written before their children
        conn.commit()

    def _close(self) -> None:
        conn = self.conn
        if conn is None:
            return
        self.conn = None
        try:
            if self.trans is not None:
                self.trans.rollback()
                self.trans = self.state = None
            conn.rollback()
            if self.dialect == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
                conn.exec_driver_sql("PRAGMA cache_size=-2000")
                conn.exec_driver_sql("PRAGMA temp_store=DEFAULT")
                conn.exec_driver_sql("PRAGMA mmap_size=0")
                conn.commit()
        finally:
            conn.close()

    def _handle(self, item) -> None:
        conn = self.conn
        op = item[0]
        if op == "rows":
            started = _time.perf_counter()
            self._insert(conn, item[1])
            self.timings[self.state[0]][0] += _time.perf_counter() - started
        elif op == "begin":
            _, name, columns, drop = item
            self.timings.setdefault(name, [0.0, 0.0])
            started = _time.perf_counter()
            self.trans = conn.begin()
            if self.dialect == "sqlite":
                conn.exec_driver_sql("BEGIN")  # pysqlite opens no transaction for DDL by itself
            dropped = self._drop_secondary(conn, name) if drop else []
            self.state = (name, dropped, self._insert_sql(name, columns))
            self.timings[name][1] += _time.perf_counter() - started
        elif op == "end":
            started = _time.perf_counter()
            for _, create in self.state[1]:
                conn.exec_driver_sql(create)
            if any(create.lstrip().upper().startswith("CREATE TRIGGER") for _, create in self.state[1]):
                _rebuild_search(conn, self.state[0])
            self.trans.commit()
            self.timings[self.state[0]][1] += _time.perf_counter() - started
            self.trans = self.state = None
        elif op == "call":
            fn = item[1]
            started = _time.perf_counter()
            with conn.begin():
                fn(conn)
            self.timings.setdefault(fn.__name__.strip("_"), [0.0, 0.0])[1] += _time.perf_counter() - started

    def _drop_secondary(self, conn, name: str) -> list[tuple[str, str]]:
        """Drop the table's secondary indexes (not those behind its primary key or unique constraints)
        and, on SQLite, its triggers; return (name, CREATE statement) of each, to re-create them after
        the load. Building an index from the loaded rows costs about half of maintaining it row by row;
        the search table the triggers keep (app/fulltext.py) is rebuilt from the rows in one pass
        (`_rebuild_search`), several times faster than the triggers firing per row."""
        if self.dialect == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = ? "
                "AND sql IS NOT NULL ORDER BY type, name", (name,)).all()
        elif self.dialect == "postgresql":
            rows = conn.execute(text(
                "SELECT 'index', i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                "AND i.tablename = :t AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"),
                {"t": name}).all()
        else:
            return []
        quote = conn.dialect.identifier_preparer.quote
        for kind, obj, _ in rows:
            conn.exec_driver_sql(f"DROP {kind.upper()} {quote(obj)}")
        return [(obj, sql) for _, obj, sql in rows]

    def _insert_sql(self, name: str, columns) -> str:
        quote = self.engine.dialect.identifier_preparer.quote
        cols = ", ".join(quote(c) for c in columns)
        if self.dialect == "postgresql":
            return f"COPY {quote(name)} ({cols}) FROM STDIN"
        marks = ", ".join("?" if self.engine.dialect.paramstyle == "qmark" else "%s" for _ in columns)
        return f"INSERT INTO {quote(name)} ({cols}) VALUES ({marks})"

    def _insert(self, conn, rows) -> None:
        sql = self.state[2]
        if self.dialect == "postgresql":
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            conn.exec_driver_sql(sql, rows)


def _rebuild_search(conn, table: str) -> None:
    """Refill the table's FTS5 search table (app/fulltext.py) after a load that bypassed its triggers."""
    from app import fulltext
    from schema import REGISTRY

    models = [m for m in REGISTRY if m.__tablename__ == table]
    if models and fulltext.indexed_models(models):
        fulltext.rebuild(conn, registry=models)


def _check_columns(name: str, columns) -> None:
    table = db.metadata.tables[name]
    wanted = {c.name for c in table.c if c.computed is None}
    if set(columns) != wanted or len(columns) != len(wanted):
        raise RuntimeError(f"seed-scale 列定义与表 {name} 不一致: 缺少 {sorted(wanted - set(columns))}, "
                           f"多余 {sorted(set(columns) - wanted)}")


# =========================================================================== people


class _People:
    """Names, resident IDs with valid check digits and unique mobile numbers, cheaply.

    An ID's check digit is a weighted sum mod 11: the sums of the region, birth date and sequence parts are
    precomputed, so a new ID costs a few additions. Phones are unique by construction (the k-th phone's
    last 8 digits are an affine permutation of k)."""

    CHECK = "10X98765432"
    WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

    def __init__(self, rng: random.Random):
        from seed.demo import (
            FEMALE_GIVEN,
            MALE_GIVEN,
            MOBILE_PREFIXES,
            REGIONS,
            SURNAMES,
        )

        self.rng = rng
        w = self.WEIGHTS
        # frequent surnames first in the string: weight them down the list
        self.surnames = [s for i, s in enumerate(SURNAMES) for _ in range(max(1, 12 - i // 6))]
        self.male, self.female = MALE_GIVEN, FEMALE_GIVEN
        self.regions = [(code, sum(int(c) * w[i] for i, c in enumerate(code)))
                        for code, weight in REGIONS for _ in range(weight)]
        self.seq_sums = [sum(int(c) * w[14 + i] for i, c in enumerate(f"{s:03d}")) for s in range(1000)]
        self.births: dict[int, tuple[str, int]] = {}
        self.prefixes = MOBILE_PREFIXES
        self.ids: set[str] = set()
        self.k = 0
        self.offset = rng.randrange(10 ** 8)

    def _birth(self, ordinal: int) -> tuple[str, int]:
        hit = self.births.get(ordinal)
        if hit is None:
            s = date.fromordinal(ordinal).strftime("%Y%m%d")
            hit = self.births[ordinal] = (s, sum(int(c) * self.WEIGHTS[6 + i] for i, c in enumerate(s)))
        return hit

    def phone(self) -> str:
        self.k += 1
        return f"{self.rng.choice(self.prefixes)}{(self.k * 54435761 + self.offset) % 100_000_000:08d}"

    def name(self, male: bool, surname: str | None = None) -> str:
        rng = self.rng
        return (surname or rng.choice(self.surnames)) + rng.choice(self.male if male else self.female)

    def person(self, born_from: int, born_to: int, male: bool | None = None, surname: str | None = None):
        """(name, id_number, phone, male, born ordinal); born_from/born_to are ordinals."""
        rng = self.rng
        if male is None:
            male = rng.random() < 0.5
        name = (surname or rng.choice(self.surnames)) + rng.choice(self.male if male else self.female)
        while True:
            born = rng.randint(born_from, born_to)
            bs, bsum = self.births.get(born) or self._birth(born)
            region, rsum = rng.choice(self.regions)
            seq = rng.randrange(100) * 10 + rng.randrange(1 if male else 0, 10, 2)
            number = f"{region}{bs}{seq:03d}{self.CHECK[(rsum + bsum + self.seq_sums[seq]) % 11]}"
            if number not in self.ids:
                self.ids.add(number)
                return name, number, self.phone(), male, born


def _credit_code(rng: random.Random, region: str, taken: set) -> str:
    while True:
        org8 = f"{rng.randrange(10 ** 8):08d}"
        c = 11 - sum(int(d) * w for d, w in zip(org8, (3, 7, 9, 10, 5, 8, 4, 2))) % 11
        first17 = f"91{region}{org8}" + {10: "X", 11: "0"}.get(c, str(c))  # GB 11714 organisation code
        code = first17 + credit_code_check_char(first17)
        if code not in taken:
            taken.add(code)
            return code


# =========================================================================== the generator


_HASHES: dict[str, str] = {}


def _password_hash(password: str) -> str:
    """One AppUser.set_password hash for every account (salted: it differs between processes)."""
    if password not in _HASHES:
        from schema.org import AppUser

        user = AppUser()
        user.set_password(password)
        _HASHES[password] = user.password_hash
    return _HASHES[password]


class _Scale:
    def __init__(self, units: int, seed: int, writer: _Writer, existing: dict):
        from seed.demo import DEMO_PASSWORD

        self.N = units
        self.rng = _Rng(seed)
        self.w = writer
        self.existing = existing
        today = clock.today()
        self.today_o = today.toordinal()
        self.now_s = self.today_o * DAY_S
        """The data's "now": the start of the office's today. Every event lies before it (numbered
        documents are dated on past days), and the same seed gives the same data all day long."""
        self.first_o = self.today_o - 365  # the window: the 365 days before today
        self.last_o = self.today_o - 1
        self.ds, self.dsn = _Days(), _Days(compact=True)
        self.ts = [f" {s // HOUR:02d}:{s // MINUTE % 60:02d}:{s % 60:02d}.000000" for s in range(DAY_S)]
        self.seq: dict[tuple[str, int], int] = {}
        self.people = _People(self.rng)
        self.codes: set[str] = set()
        self.company_names: set[str] = set()
        self.password_hash = _password_hash(DEMO_PASSWORD)
        # months billed: the 12 ending last month
        first = date(today.year, today.month, 1)
        self.months = []
        for i in range(12, 0, -1):
            y, m = divmod(first.year * 12 + first.month - 1 - i, 12)
            start = date(y, m + 1, 1)
            y2, m2 = divmod(y * 12 + m + 1, 12)
            end_o = date(y2, m2 + 1, 1).toordinal() - 1
            self.months.append((start.toordinal(), end_o, f"{start:%Y-%m}", self.ds[start.toordinal()],
                                self.ds[end_o]))
        self.month_starts = [m[0] for m in self.months]

    # ------------------------------------------------------------------ small helpers

    def dt(self, s: int) -> str:
        return self.ds[s // DAY_S] + self.ts[s % DAY_S]

    def number(self, prefix: str, day_o: int) -> str:
        key = (prefix, day_o)
        n = self.seq.get(key, 0) + 1
        self.seq[key] = n
        return f"{prefix}{self.dsn[day_o]}-{n:04d}"

    def at(self, day_o: int, lo: int = 8 * HOUR + 30 * MINUTE, hi: int = 18 * HOUR) -> int:
        return day_o * DAY_S + self.rng.randrange(lo, hi)

    def timeline(self, n: int, first_o: int, last_o: int, lo: int = 8 * HOUR, hi: int = 20 * HOUR) -> list[int]:
        """n times (absolute seconds) in chronological order, spread over the days [first_o, last_o]."""
        rng = self.rng
        days = last_o - first_o + 1
        counts = [0] * days
        for d in rng.choices(range(days), k=n):
            counts[d] += 1
        out = []
        r, span = rng.random, hi - lo
        for i, c in enumerate(counts):
            if c:
                base = (first_o + i) * DAY_S + lo
                out.extend(sorted([base + int(r() * span) for _ in range(c)]))
        return out

    def month_index(self, ordinal: int) -> int:
        return bisect_right(self.month_starts, ordinal) - 1

    def count(self, share: float, minimum: int = 1) -> int:
        return max(minimum, round(self.N * share))

    def adult(self):
        return self.people.person(self.adult_from, self.adult_to)

    def outsider(self):
        """A visitor, proxy, worker or applicant: drawn from a pool, so the same people come back."""
        return self.rng.choice(self.outsiders)

    # ------------------------------------------------------------------ the run

    def run(self) -> None:
        self.adult_from, self.adult_to = date(1955, 1, 1).toordinal(), date(2000, 12, 31).toordinal()
        pool = max(50, self.N // 3)
        young = date(1965, 1, 1).toordinal(), date(2003, 12, 31).toordinal()
        self.outsiders = [self.people.person(*young) for _ in range(pool)]
        self.org()
        self.property()
        self.owners_and_residents()
        self.plan_move_ins()
        self.plan_permits()
        self.plan_services()
        self.leasing()
        self.charges()
        self.payments()
        self.write_move_ins()
        self.write_permits()
        self.write_services()
        self.documents()
        self.work_orders()
        self.plan_complaints()
        self.calls()
        self.write_complaints()
        self.release_slips()
        self.visitors()
        self.followup_visits()
        self.surveys()
        self.dunning()
        self.supervision()
        self.number_sequence()

    # ------------------------------------------------------------------ office

    def org(self) -> None:
        from schema.spec import ROLES
        from seed.demo import DEPARTMENTS, USERS

        depts = dict(self.existing["department"])
        next_id = max(depts.values(), default=0)
        rows = []
        for name, boss, phone, note in DEPARTMENTS:
            if name not in depts:
                next_id += 1
                depts[name] = next_id
                rows.append((next_id, 1, name, boss, phone, note))
        self.w.write("department", rows, drop_indexes=False)
        self.dept = depts
        self.dept_boss = {name: boss for name, boss, _, _ in DEPARTMENTS}
        users = dict(self.existing["app_user"])
        next_id = max(users.values(), default=0)
        rows = []
        for role in ROLES:
            if role not in users:
                display, dept, phone = USERS[role]
                next_id += 1
                users[role] = next_id
                rows.append((next_id, 1, role, display, self.password_hash, role, depts[dept], phone, True, None, True))
        self.w.write("app_user", rows, drop_indexes=False)
        self.user = users

    # ------------------------------------------------------------------ estates, buildings, units

    def property(self) -> None:
        rng, N = self.rng, self.N
        E = max(1, round(N / 2000))
        B = max(E, round(N / 100))
        names, estates = set(), []
        combos = [w + s for w in ESTATE_WORDS for s in ESTATE_SUFFIXES]
        rng.shuffle(combos)
        self.e_name, self.e_address, self.e_delivery, self.e_rate, self.e_shop_rate = [], [], [], [], []
        for e in range(E):
            district, roads = rng.choice(DISTRICTS)
            name = combos[e % len(combos)]
            if e >= len(combos) or name in names:
                name = f"{district[:-1]}{name}{e // len(combos) + 1}期"
            names.add(name)
            address = f"广东省深圳市{district}{rng.choice(roads)}{rng.randint(1, 399)}号"
            phone = f"0755-{rng.choice('2368')}{rng.randrange(10 ** 7):07d}"
            delivered = self.today_o - rng.randint(2 * 365, 15 * 365)
            self.e_name.append(name)
            self.e_address.append(address)
            self.e_delivery.append(delivered)
            self.e_rate.append(rng.choice((250, 260, 280, 300, 320, 350, 380)))
            self.e_shop_rate.append(rng.choice((400, 420, 450)))
            estates.append((e + 1, 1, name, address, phone, f"{date.fromordinal(delivered).year}年交付"))
        self.w.write("estate", estates)

        per_b = [N // B + (1 if i < N % B else 0) for i in range(B)]
        self.b_estate, self.b_label, self.b_floors = [], [], []
        buildings = []
        # units as parallel lists (index u, id u + 1)
        u_b, u_floor, u_room, u_area, u_rate, u_usage = [], [], [], [], [], []
        number_in_estate = [0] * E
        for b in range(B):
            e = b * E // B
            number_in_estate[e] += 1
            n = per_b[b]
            per_floor = rng.randint(2, 6) if n > 30 else rng.randint(1, 4)
            floors = -(-n // per_floor)
            if floors > 45:
                per_floor = -(-n // 45)
                floors = -(-n // per_floor)
            shops = rng.random() < 0.25 and floors > 2
            name = f"{number_in_estate[e]}栋"
            buildings.append((b + 1, 1, e + 1, name, floors, "首层为临街商铺" if shops else None))
            self.b_estate.append(e)
            self.b_label.append(self.e_name[e] + name)
            self.b_floors.append(floors)
            plan = [rng.randint(5500, 15500) for _ in range(per_floor)]
            made = 0
            for floor in range(1, floors + 1):
                for room in range(1, per_floor + 1):
                    if made == n:
                        break
                    made += 1
                    shop = shops and floor == 1
                    area = min(16000, max(5000, plan[room - 1] + rng.randint(-150, 150)))
                    u_b.append(b)
                    u_floor.append(floor)
                    u_room.append(f"{floor}{room:02d}")
                    u_area.append(area)
                    u_rate.append(self.e_shop_rate[e] if shop else self.e_rate[e])
                    u_usage.append("shop" if shop else "residence")
        self.w.write("building", buildings)
        self.u_b, self.u_floor, self.u_room, self.u_area, self.u_rate, self.u_usage = (
            u_b, u_floor, u_room, u_area, u_rate, u_usage)

        # status, handover, move-ins
        status = []
        for u in range(N):
            r = rng.random()
            if u_usage[u] == "shop":
                status.append("vacant" if r < 0.10 else "occupied")
                continue
            acc, s = 0.0, "occupied"
            for code, share in STATUS_SHARES:
                acc += share
                if r < acc:
                    s = code
                    break
            status.append(s)
        hand = [0] * N
        for u in range(N):
            if status[u] != "vacant":
                hand[u] = min(self.e_delivery[self.b_estate[u_b[u]]] + rng.randint(0, 180), self.first_o - 1)
        # move-ins: 20% of the units were handed over in the window (or are being handed over now)
        M = min(N, self.count(0.2))
        movers = sorted(rng.sample(range(N), M))
        self.move_ins = []  # [u, handled_s, completed_s or None, prepaid months]
        for u in movers:
            if rng.random() < 0.1:  # still open: the unit waits, sold but vacant
                handled = self.at(rng.randint(self.last_o - 30, self.last_o))
                status[u], hand[u] = "vacant", 0
                self.move_ins.append([u, handled, None, None])
            else:
                handled = self.at(rng.randint(self.first_o, self.last_o - 3))
                completed = handled + rng.randint(30, 180) * MINUTE
                if status[u] in ("vacant", "custody"):
                    status[u] = "occupied"
                hand[u] = completed // DAY_S
                self.move_ins.append([u, handled, completed, rng.choice((1, 3, 3, 6, 6, 12))])
        self.u_status, self.u_hand = status, hand
        open_moves = {m[0] for m in self.move_ins if m[2] is None}
        self.owned = [u for u in range(N) if status[u] != "vacant" or u in open_moves]
        self.occupied = [u for u in range(N) if status[u] == "occupied"]
        notes = {"custody": "业主委托管理处代管钥匙", "renovating": "装修期间请遵守装修管理规定"}
        ds = self.ds

        def unit_rows():
            for u in range(N):
                yield (u + 1, 1, u_b[u] + 1, u_room[u], u_floor[u], _cents(u_area[u]), u_usage[u], status[u],
                       _cents(u_rate[u]), ds[hand[u]] if hand[u] else None, notes.get(status[u]))

        self.w.write("unit", unit_rows())

    def unit_label(self, u: int) -> str:
        return self.b_label[self.u_b[u]] + self.u_room[u]

    # ------------------------------------------------------------------ owners, ownership, residents

    def company(self):
        """(name, registration region) of a new company."""
        rng = self.rng
        while True:
            city, regions = rng.choice(COMPANY_CITIES)
            name = f"{city}{rng.choice(COMPANY_CHARS)}{rng.choice(COMPANY_CHARS)}{rng.choice(INDUSTRIES)}有限公司"
            if name not in self.company_names:
                self.company_names.add(name)
                return name, rng.choice(regions)

    def owners_and_residents(self) -> None:
        from seed.demo import COMPANY_ADDRESSES, FAMILY, OTHER_ADDRESSES

        rng, N, people = self.rng, self.N, self.people
        status, usage = self.u_status, self.u_usage
        owned = self.owned
        # ~3% of owners are companies: half the shops, then homes (staff dormitories, investments)
        companies = max(1, round(COMPANY_SHARE * 1.2 * N))
        shops = [u for u in owned if usage[u] == "shop"]
        homes = [u for u in owned if usage[u] != "shop"]
        rng.shuffle(shops)
        rng.shuffle(homes)
        chosen = shops[:min(len(shops) // 2, companies)]
        chosen += homes[:companies - len(chosen)]
        company_flag = dict.fromkeys(owned, False)
        company_flag.update(dict.fromkeys(chosen, True))
        companies = len(chosen)
        target = round(1.2 * N)
        persons = max(1, len(owned) - companies)
        co_share = min(1.0, max(0.0, (target - companies) / persons - 1))

        o_name, o_phone, o_idn, o_company, o_contact = [None], [None], [None], [False], [None]
        u_owner, u_owner2 = [0] * N, [0] * N
        u_contacts: list = [None] * N
        self.u_lives: list = [False] * N
        owner_rows, ownership_rows, resident_rows = [], [], []
        oid = sid = rid = 0
        adult_from, adult_to = self.adult_from, self.adult_to
        ds = self.ds
        occupied_n = max(1, len(self.occupied))
        q = min(1.0, max(0.0, (1.5 * N / occupied_n - 1) / 4))  # residents per occupied unit: 1 + 4 draws
        open_since = {m[0]: m[1] // DAY_S for m in self.move_ins if m[2] is None}
        last_o = self.last_o

        for u in owned:
            label = self.unit_label(u)
            hand = self.u_hand[u] or open_since.get(u)
            since = ds[hand] if hand else None
            occupied = status[u] == "occupied"
            if company_flag[u]:
                name, region = self.company()
                contact = people.name(rng.random() < 0.5)
                phone = (f"0755-{rng.choice('2368')}{rng.randrange(10 ** 7):07d}" if rng.random() < 0.5
                         else people.phone())
                oid += 1
                owner_rows.append((oid, 1, "company", name, "credit_code", _credit_code(rng, region, self.codes),
                                   phone, contact, COMPANY_ADDRESSES.get(region, "深圳市南山区科技园科苑路15号"),
                                   "单位业主"))
                o_name.append(name), o_phone.append(phone), o_idn.append(None), o_company.append(True)
                o_contact.append(contact)
                sid += 1
                ownership_rows.append((sid, 1, oid, u + 1, 100.0, since, True))
                u_owner[u] = oid
                contacts = [(contact, phone)]
                if occupied:
                    if usage[u] == "shop":
                        p = self.outsider()
                        rid += 1
                        resident_rows.append((rid, 1, u + 1, p[0], "other", p[2], p[1], ds[min(hand + rng.randint(5, 60), last_o)],
                                              None, "商铺经营负责人"))
                        contacts.append((p[0], p[2]))
                    else:
                        for _ in range(1 + sum(rng.random() < q for _ in range(4))):
                            p = people.person(*self.young_band())
                            rid += 1
                            resident_rows.append((rid, 1, u + 1, p[0], "tenant", p[2], p[1],
                                                  ds[rng.randint(min(hand + 30, last_o), last_o)], None,
                                                  "单位员工宿舍"))
                            contacts.append((p[0], p[2]))
                u_contacts[u] = tuple(contacts)
                continue

            first = people.person(adult_from, adult_to)
            group = [first]
            if rng.random() < co_share:
                born = min(max(first[4] + rng.randint(-1800, 1800), adult_from), adult_to)
                group.append(people.person(born, born, male=not first[3]))
            lives = occupied and usage[u] == "residence" and rng.random() < 0.8
            self.u_lives[u] = lives
            address = self.e_address[self.b_estate[self.u_b[u]]].removeprefix("广东省") + label if lives \
                else rng.choice(OTHER_ADDRESSES)
            share = 100.0 if len(group) == 1 else 50.0
            for i, p in enumerate(group):
                oid += 1
                owner_rows.append((oid, 1, "person", p[0], "resident_id", p[1], p[2], None, address, None))
                o_name.append(p[0]), o_phone.append(p[2]), o_idn.append(p[1]), o_company.append(False)
                o_contact.append(None)
                sid += 1
                ownership_rows.append((sid, 1, oid, u + 1, share, since, i == 0))
                if i == 0:
                    u_owner[u] = oid
                else:
                    u_owner2[u] = oid
            contacts = [(p[0], p[2]) for p in group]
            if occupied:
                keys = min(hand + rng.randint(20, 150), last_o)
                k = 1 + sum(rng.random() < q for _ in range(4))
                if lives:
                    for i, p in enumerate(group):
                        rid += 1
                        resident_rows.append((rid, 1, u + 1, p[0], "owner", p[2], p[1], ds[keys], None,
                                              "共有产权人" if i else None))
                    for _ in range(max(0, k - len(group))):
                        kind = rng.choice(FAMILY[1:] if len(group) > 1 else FAMILY)
                        if kind == "配偶":
                            p = people.person(first[4] - 1500, min(first[4] + 1500, adult_to), male=not first[3])
                        elif kind in ("父亲", "母亲"):
                            p = people.person(first[4] - 35 * 365, first[4] - 22 * 365, male=kind == "父亲",
                                              surname=first[0][0] if kind == "父亲" else None)
                        else:
                            lo = first[4] + 22 * 365
                            p = people.person(lo, max(lo, min(first[4] + 35 * 365, self.today_o - 365)),
                                              surname=first[0][0])
                        moved_out = None
                        if kind == "子女" and rng.random() < 0.2 and keys + 200 < last_o:
                            moved_out = ds[rng.randint(keys + 180, last_o)]
                        rid += 1
                        resident_rows.append((rid, 1, u + 1, p[0], "family", p[2], p[1], ds[keys], moved_out,
                                              kind + ("(已迁出)" if moved_out else "")))
                        contacts.append((p[0], p[2]))
                else:
                    start = rng.randint(keys, max(keys, last_o - 30))
                    for j in range(k):
                        p = people.person(*self.young_band())
                        rid += 1
                        resident_rows.append((rid, 1, u + 1, p[0], "tenant", p[2], p[1], ds[start], None,
                                              "租户" if j == 0 else "同住租户"))
                        contacts.append((p[0], p[2]))
            u_contacts[u] = tuple(contacts)

        self.w.write("owner", owner_rows)
        self.w.write("ownership", ownership_rows)
        self.w.write("resident", resident_rows)
        self.o_name, self.o_phone, self.o_idn, self.o_company, self.o_contact = (
            o_name, o_phone, o_idn, o_company, o_contact)
        self.u_owner, self.u_owner2, self.u_contacts = u_owner, u_owner2, u_contacts
        self.person_owned = [u for u in self.occupied if u_owner[u] and not o_company[u_owner[u]]]

    def young_band(self):
        return date(1975, 1, 1).toordinal(), date(2003, 12, 31).toordinal()

    def contact(self, u: int):
        """(name, phone) of someone at the unit (an owner or resident)."""
        contacts = self.u_contacts[u]
        if contacts:
            return self.rng.choice(contacts)
        p = self.outsider()
        return p[0], p[2]

    # ------------------------------------------------------------------ plans that touch the ledger

    def method_for(self, owner_id: int) -> str:
        if owner_id and self.o_company[owner_id] and self.rng.random() < 0.8:
            return "bank"
        return self.rng.choice(self.unit_methods)

    def plan_move_ins(self) -> None:
        """Move-ins: the fee prepaid at move-in (a charge and a receipt), billing after the prepaid months."""
        from seed.ledger_demo import UNIT_METHODS

        self.unit_methods = _weighted(UNIT_METHODS)
        self.u_first = [0] * self.N
        self.move_ins.sort(key=lambda m: m[1])
        for m in self.move_ins:
            u, _, completed, months = m
            if completed is not None:
                self.u_first[u] = max(0, self.month_index(completed // DAY_S)) + months
            elif self.rng.random() < 0.5:  # open, fee already taken
                m[3] = self.rng.choice((1, 3, 6))

    def plan_permits(self) -> None:
        """Renovation permits: one running for every 装修中 unit, plus completed and undecided ones."""
        from seed.ledger_demo import GARBAGE_FEES
        from seed.renovation_demo import (
            BALCONY,
            BATH,
            BEARING,
            CONTRACTORS,
            FLOOR,
            KIDS,
            KITCHEN,
            LOFT,
            PARTITION,
            TOILET,
            WALLS,
            WIRING,
        )

        rng = self.rng
        plans = [FLOOR, KITCHEN, BALCONY, PARTITION, WIRING, WALLS, BATH, KIDS] * 4 + [BEARING, LOFT, TOILET]
        renovating = [u for u in self.owned if self.u_status[u] == "renovating" and self.u_owner[u]]
        settled = [u for u in self.occupied if self.u_owner[u] and self.u_hand[u] < self.last_o - 90]
        rng.shuffle(settled)
        wanted = (("completed", 0.03), ("approved", 0.004), ("reviewed", 0.004), ("applied", 0.005),
                  ("rejected", 0.002))
        plan = [(u, "in_progress") for u in renovating]
        pos = 0
        for status, share in wanted:
            n = min(self.count(share), len(settled) - pos)
            plan += [(u, status) for u in settled[pos:pos + n]]
            pos += n
        permits = []
        for u, status in plan:
            hand = max(self.u_hand[u], self.first_o)
            summary, structural, load = rng.choice(plans)
            if status == "in_progress":
                approved_day = rng.randint(min(max(hand, self.last_o - 150), self.last_o - 2), self.last_o - 2)
            elif status == "completed":
                approved_day = rng.randint(hand, max(hand, self.last_o - 60))
            elif status == "approved":
                approved_day = rng.randint(self.last_o - 10, self.last_o - 1)
            else:
                approved_day = rng.randint(self.last_o - 12, self.last_o)
            applied = self.at(approved_day - rng.randint(2, 8))
            reviewed = applied + rng.randint(2, 48) * HOUR
            approved = max(reviewed + HOUR, self.at(approved_day, 14 * HOUR, 18 * HOUR))
            start_day = approved // DAY_S + rng.randint(1, 5)
            if status == "in_progress":
                start_day = min(start_day, self.last_o)
            proxy = rng.random() < 0.2
            p = {"u": u, "status": status, "summary": summary, "structural": structural, "load": load,
                 "proxy": self.outsider() if proxy else None, "contractor": rng.choice(CONTRACTORS),
                 "applied": applied, "reviewed": reviewed if status != "applied" else None,
                 "approved": approved if status in ("approved", "in_progress", "completed") else None,
                 "start_day": start_day, "end_day": start_day + rng.randint(30, 120),
                 "fee": int(rng.choice(GARBAGE_FEES)) * 100, "fee_paid": False, "violation": False}
            if status == "rejected" and structural is False:
                p["summary"] = "封阳台并外扩:阳台外扩至空调平台,外窗框更换为深灰色"
            if status == "reviewed" and rng.random() < 0.3:
                p["summary"], p["structural"], p["load"] = rng.choice(plans[-3:])
            if status in ("in_progress", "completed"):
                p["started"] = self.at(start_day)
                if status == "completed":
                    end = min(p["end_day"] - rng.randint(0, 10), self.last_o)
                    p["completed"] = max(p["started"] + DAY_S, self.at(end))
                    if p["completed"] > self.now_s:
                        p["completed"] = self.now_s - HOUR
            if p["approved"] is not None and rng.random() < 0.92:
                p["fee_paid"] = True
                p["fee_at"] = p["approved"] + rng.randint(5, 40) * MINUTE
            permits.append(p)
        permits.sort(key=lambda p: p["applied"])
        for pid, p in enumerate(permits, 1):
            p["id"] = pid
        for p in sorted((p for p in permits if p["approved"] is not None), key=lambda p: p["approved"]):
            p["number"] = self.number("ZX", p["approved"] // DAY_S)
        self.permits = permits

    def plan_services(self) -> None:
        from seed.community_demo import ITEMS

        rng = self.rng
        self.service_items = ITEMS
        published = [i for i, item in enumerate(ITEMS) if item[5]]
        orders = []
        candidates = self.person_owned or self.occupied or self.owned
        for booked in self.timeline(self.count(0.05), self.first_o, self.last_o):
            i = rng.choice(published)
            _, _, price, unit_word, dept, _, areas, result = ITEMS[i]
            u = rng.choice(candidates)
            fee = int(price) * 100 * (rng.choice((1, 1, 1, 2, 3)) if unit_word in ("台", "个", "小时") else 1)
            agreed = self.at(booked // DAY_S + rng.randint(1, 5), 9 * HOUR, 17 * HOUR)
            o = {"item": i, "u": u, "booked": booked, "agreed": agreed, "fee": fee, "contact": self.contact(u),
                 "area": rng.choice(areas), "result": result, "dept": dept,
                 "agreement": "written" if rng.random() < 0.3 else "oral"}
            r = rng.random()
            o["target"] = "cancelled" if r < 0.08 else "rejected" if r < 0.13 else "charged"
            o["scheduled_step"] = booked + rng.randint(1, 20) * HOUR
            o["done"] = agreed + rng.randint(1, 3) * HOUR
            o["paid"] = o["done"] + rng.randint(5, 30) * MINUTE
            now = self.now_s
            if o["target"] == "cancelled":
                o["status"] = "cancelled"
            elif o["scheduled_step"] > now:
                o["status"] = "booked"
            elif o["done"] > now:
                o["status"] = "scheduled"
            elif o["target"] == "rejected":
                o["status"] = "rejected"
            elif o["paid"] >= self.today_o * DAY_S or rng.random() < 0.05:  # receipts are numbered on past days
                o["status"] = "accepted"
            else:
                o["status"] = "charged"
            o["number"] = self.number("FW", booked // DAY_S)
            orders.append(o)
        self.orders = orders

    # ------------------------------------------------------------------ leasing

    def leasing(self) -> None:
        rng, ds = self.rng, self.ds
        A = self.count(0.05)
        kinds = _weighted((k, spec[1]) for k, spec in ASSET_SPECS.items())
        counters = {k: 0 for k in ASSET_SPECS}
        assets = []
        for a in range(A):
            kind = rng.choice(kinds)
            prefix, _, names, sizes, prices = ASSET_SPECS[kind]
            counters[kind] += 1
            b = rng.randrange(len(self.b_label))
            label = rng.choice(names)
            assets.append({"id": a + 1, "kind": kind, "code": f"{prefix}-{counters[kind]:04d}",
                           "name": f"{self.b_label[b]}{label}" if kind != "venue" else
                           f"{self.e_name[self.b_estate[b]]}{label}",
                           "location": f"{self.b_label[b]}{rng.choice(('首层', '架空层', '地下一层', '大堂'))}",
                           "size": rng.randint(*sizes), "price": rng.randint(prices[0] // 10, prices[1] // 10) * 1000,
                           "status": "idle"})
        leases = []
        for asset in assets:
            r = rng.random()
            if r < 0.02:
                asset["status"] = "disabled"
                continue
            if r < 0.10:
                continue
            r = rng.random()
            status = ("active" if r < 0.85 else "signed" if r < 0.90 else "terminated" if r < 0.95
                      else "negotiating")
            leases.append(self.lease(asset, status))
        if not leases:  # small runs still get one
            assets[0]["status"] = "idle"
            leases.append(self.lease(assets[0], "active"))
        target = self.count(0.05)
        holders = [l for l in leases if l["status"] in ("active", "signed", "terminated")]
        rng.shuffle(holders)
        for current in holders[:max(0, target - len(leases))]:
            leases.append(self.lease(current["asset"], "expired", before=current["start"]))
        for lease in leases:
            if lease["status"] in ("active", "signed"):
                lease["asset"]["status"] = "leased"
        # contract numbers in signing order, per year: ZL2026-001
        leases.sort(key=lambda l: (l["signed"] or self.today_o, l["asset"]["code"]))
        per_year: dict[int, int] = {}
        for lid, lease in enumerate(leases, 1):
            year = date.fromordinal(lease["signed"] or self.today_o).year
            per_year[year] = per_year.get(year, 0) + 1
            lease["id"] = lid
            lease["contract_no"] = f"ZL{year}-{per_year[year]:03d}"
        self.w.write("leasable_asset", [
            (a["id"], 1, a["kind"], a["code"], a["name"], None, a["location"], _cents(a["size"]), _cents(a["price"]),
             a["status"], "暂停招租,待维修" if a["status"] == "disabled" else None) for a in assets])
        self.w.write("lease", [
            (l["id"], 1, l["asset"]["id"], l["contract_no"], l["tenant"], l["company"], l["phone"], l["idn"],
             l["notes"], ds[l["signed"]] if l["signed"] else None, ds[l["start"]], ds[l["end"]], _cents(l["rent"]),
             "month", _cents(l["deposit"]), _cents(l["venue_fee"]), l["status"],
             f"终止原因:{l['reason']}" if l["status"] == "terminated" else None) for l in leases])
        self.leases = leases

    def lease(self, asset: dict, status: str, before: int | None = None) -> dict:
        rng = self.rng
        if status == "expired":  # an earlier lease on the asset, ended before the current one starts
            start = before - rng.randint(1, 30) + 1
            day = date.fromordinal(start).day
            if day > 28:
                start -= day - 28
            start = self.add_months(start, -12)
        elif status == "signed":
            start = self.today_o + rng.randint(5, 40)
        elif status == "terminated":
            start = rng.randint(self.today_o - 350, self.today_o - 120)
        else:
            start = rng.randint(self.today_o - 350, self.today_o - 20)
        d = date.fromordinal(start)
        if d.day > 28:
            start -= d.day - 28
        end = self.add_months(start, 12) - 1
        if status == "expired" and end >= self.today_o:
            status = "active"
        signed = None
        if status == "signed":
            signed = self.today_o - rng.randint(1, 20)
        elif status != "negotiating":
            signed = start - rng.randint(3, 12)
        if rng.random() < 0.45:
            p = self.outsider()
            tenant, company, phone, idn = p[0], None, p[2], p[1]
        else:
            company, region = self.company()
            tenant, phone = self.people.name(rng.random() < 0.5), self.people.phone()
            idn = _credit_code(rng, region, self.codes)
        rent = max(100, asset["price"] * rng.randint(90, 100) // 100 // 1000 * 1000)
        venue_fee = rng.randint(10, 30) * 10000 if asset["kind"] == "venue" else 0
        return {"asset": asset, "status": status, "start": start, "end": end, "signed": signed, "tenant": tenant,
                "company": company, "phone": phone, "idn": idn, "rent": rent,
                "deposit": rent * rng.choice((1, 2)), "venue_fee": venue_fee, "notes": rng.choice(NEGOTIATION_NOTES),
                "terminated_on": rng.randint(start + 60, self.last_o) if status == "terminated" else None,
                "reason": rng.choice(TERMINATE_REASONS) if status == "terminated" else None}

    @staticmethod
    def add_months(ordinal: int, n: int) -> int:
        d = date.fromordinal(ordinal)
        y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
        return date(y, m + 1, d.day).toordinal()

    # ------------------------------------------------------------------ charges (and what pays them)

    def charges(self) -> None:
        """Charges of every kind; each payment to come is noted as an intent in its day's bucket:
        (time, charge id, unit id, owner id, lease id, payer, cents, method, clerk, note, ref)."""
        self.buckets: dict[int, list] = {}
        self.chronic: dict[int, list] = {}   # unit -> [(charge id, due, cents, paid day or None)]
        self.lease_unpaid: dict[int, list] = {}
        self.refs: dict[tuple, int] = {}
        self.cid = 0
        self.w.write("charge", chain(self._mgmt_charges(), self._other_charges()))

    def _intent(self, s: int, cid: int, unit_id, owner_id, lease_id, payer, cents: int, method: str, clerk: int,
                note=None, ref=None) -> None:
        day = s // DAY_S
        bucket = self.buckets.get(day)
        if bucket is None:
            bucket = self.buckets[day] = []
        bucket.append((s, cid, unit_id, owner_id, lease_id, payer, cents, method, clerk, note, ref))

    def _mgmt_charges(self):
        rng = self.rng
        rand, randint = rng.random, rng.randint
        months = self.months
        last_o = self.last_o
        frontdesk, leasing = self.user["frontdesk"], self.user["leasing"]
        billable = [u for u in range(self.N) if self.u_status[u] in ("occupied", "custody", "renovating")
                    and self.u_owner[u] and self.u_first[u] < 12]
        # payer profiles: good payers pay before the due date, normal ones whenever, chronic ones stop
        profile = [0] * self.N
        order = billable[:]
        rng.shuffle(order)
        n_chronic = max(1, round(PROFILE_SHARES[2] * len(order))) if len(order) >= 5 else 0
        n_normal = round(PROFILE_SHARES[1] * len(order))
        for u in order[:n_chronic]:
            profile[u] = 2
        for u in order[n_chronic:n_chronic + n_normal]:
            profile[u] = 1
        self.u_profile = profile
        p_paid = [0.85] * 12
        buckets = self.buckets
        o_name, o_company = self.o_name, self.o_company
        methods = self.unit_methods
        chronic = self.chronic
        cid = self.cid
        for u in billable:
            uid, oid = u + 1, self.u_owner[u]
            payer = o_name[oid]
            company = o_company[oid]
            prof = profile[u]
            product = self.u_area[u] * self.u_rate[u]
            fee = (product * 70 + 5000) // 10000 if self.u_status[u] == "custody" else (product + 50) // 100
            stop = randint(1, 11) if prof == 2 else 12
            mine = chronic[u] = [] if prof == 2 else None
            n_methods = len(methods)
            for i in range(self.u_first[u], 12):
                _, end_o, label, start_s, end_s = months[i]
                cid += 1
                pay = None
                paid = fee
                if prof == 0:  # before the due date
                    pay = end_o - int(rand() * 26)
                elif prof == 1:
                    if rand() < p_paid[i]:  # 10 days early to 40 days late
                        pay = end_o - 10 + int(rand() * 51)
                        if rand() < 0.04 and fee > 6000:
                            paid = max(5000, fee * (30 + int(rand() * 41)) // 100 // 1000 * 1000)
                elif i < stop:  # 5 to 60 days late, until they stop
                    pay = end_o + 5 + int(rand() * 56)
                if pay is not None and pay > last_o:
                    pay = None
                if pay is None:
                    paid, status = 0, "unpaid"
                else:
                    status = "paid" if paid == fee else "partial"
                    method = "bank" if company and rand() < 0.8 else methods[int(rand() * n_methods)]
                    s = pay * DAY_S + 30600 + int(rand() * 39600)
                    bucket = buckets.get(pay)
                    if bucket is None:
                        bucket = buckets[pay] = []
                    bucket.append((s, cid, uid, oid, None, payer, paid, method,
                                   frontdesk if rand() < 0.7 else leasing,
                                   "业主对公摊面积计费有异议,先缴部分" if paid != fee else None, None))
                if mine is not None:
                    mine.append((cid, end_o, fee, pay))
                yield (cid, 1, "mgmt_fee", uid, oid, None, payer, label, start_s, end_s, end_s, fee / 100,
                       paid / 100, status, f"mgmt_fee:unit:{uid}:{label}", None, None)
        self.cid = cid

    def _other_charges(self):
        rng = self.rng
        ds = self.ds
        last_o = self.last_o
        leasing, frontdesk = self.user["leasing"], self.user["frontdesk"]
        # rent: 12 monthly periods billed at signing, due in advance
        for lease in self.leases:
            if lease["status"] == "negotiating":
                continue
            lid = lease["id"]
            payer = lease["company"] or lease["tenant"]
            company = lease["company"] is not None
            unpaid = self.lease_unpaid[lid] = []
            behind = rng.random() < 0.12  # some tenants fall behind for good
            for j in range(12):
                start = self.add_months(lease["start"], j)
                end = self.add_months(lease["start"], j + 1) - 1
                self.cid += 1
                cid = self.cid
                label = f"{date.fromordinal(start):%Y-%m}"
                status, paid, void = "unpaid", 0, None
                if lease["status"] == "terminated" and start > lease["terminated_on"]:
                    status, void = "void", "合同终止:" + lease["reason"]
                elif start <= last_o and not (behind and start > last_o - 75):
                    pay = min(max(start + rng.randint(-2, 6), lease["signed"]), last_o)
                    if rng.random() < 0.93:
                        status, paid = "paid", lease["rent"]
                        method = "bank" if company else rng.choice(("wechat", "alipay", "bank"))
                        self._intent(self.at(pay, 9 * HOUR, 18 * HOUR), cid, None, None, lid, payer, paid, method,
                                     leasing, f"{label} 租金")
                if status == "unpaid" and start <= last_o:
                    unpaid.append((cid, start, lease["rent"]))
                yield (cid, 1, "rent", None, None, lid, payer, label, ds[start], ds[end], ds[start],
                       lease["rent"] / 100, paid / 100, status, f"rent:lease:{lid}:{ds[start]}", void, None)
            if lease["venue_fee"] > 0:
                self.cid += 1
                first, last = f"{date.fromordinal(lease['start']):%Y-%m}", f"{date.fromordinal(lease['end']):%Y-%m}"
                fee = lease["venue_fee"]
                self._intent(self.at(lease["signed"], 10 * HOUR, 17 * HOUR), self.cid, None, None, lid, payer, fee,
                             "bank" if company else "wechat", leasing, "签约时缴纳场地管理费")
                yield (self.cid, 1, "venue_fee", None, None, lid, payer, first if first == last else f"{first}~{last}",
                       ds[lease["start"]], ds[lease["end"]], ds[lease["signed"]], fee / 100, fee / 100, "paid",
                       f"venue_fee:lease:{lid}", None, None)
        # move-in prepayments (物业管理费 入住预收N个月)
        for idx, (u, handled, completed, months) in enumerate(self.move_ins):
            if not months:
                continue
            oid = self.u_owner[u]
            fee = (self.u_area[u] * self.u_rate[u] + 50) // 100 * months
            at = handled + rng.randint(10, 25) * MINUTE  # before the move-in is completed
            self.cid += 1
            self._intent(at, self.cid, u + 1, oid, None, self.o_name[oid], fee, self.method_for(oid), frontdesk,
                         f"入住预收物业管理费{months}个月", ("move_in", idx))
            yield (self.cid, 1, "mgmt_fee", u + 1, oid, None, self.o_name[oid], f"入住预收{months}个月", None, None,
                   ds[at // DAY_S], fee / 100, fee / 100, "paid", None, None, None)
        # renovation-waste fees
        for p in self.permits:
            if not p["fee_paid"]:
                continue
            u = p["u"]
            oid = self.u_owner[u]
            self.cid += 1
            self._intent(p["fee_at"], self.cid, u + 1, oid, None, self.o_name[oid], p["fee"], self.method_for(oid),
                         frontdesk, "装修垃圾清运费", ("permit", p["id"]))
            yield (self.cid, 1, "garbage_fee", u + 1, oid, None, self.o_name[oid], f"装修 {p['number']}", None, None,
                   ds[p["fee_at"] // DAY_S], p["fee"] / 100, p["fee"] / 100, "paid", None, None, None)
        # service fees
        for idx, o in enumerate(self.orders):
            if o["status"] != "charged":
                continue
            u = o["u"]
            oid = self.u_owner[u]
            self.cid += 1
            item = self.service_items[o["item"]][0]
            self._intent(o["paid"], self.cid, u + 1, oid, None, o["contact"][0], o["fee"],
                         rng.choice(("wechat", "wechat", "alipay", "cash")), frontdesk,
                         f"便民服务费:{item}({o['number']})", ("service", idx))
            yield (self.cid, 1, "service_fee", u + 1, oid, None, o["contact"][0], f"服务订单 {o['number']}", None,
                   None, ds[o["paid"] // DAY_S], o["fee"] / 100, o["fee"] / 100, "paid", None, None, None)

    # ------------------------------------------------------------------ receipts

    def payments(self) -> None:
        """One receipt per paying intent, numbered SK<day>-nnnn in time order; one allocation each."""
        days = sorted(self.buckets)
        for day in days:
            self.buckets[day].sort()
        ds, dsn, ts = self.ds, self.dsn, self.ts
        refs = self.refs
        seq = self.seq

        def payment_rows():
            pid = 0
            for day in days:
                prefix = f"SK{dsn[day]}-"
                day_s = ds[day]
                n = seq.get(("SK", day), 0)
                for s, cid, uid, oid, lid, payer, cents, method, clerk, note, ref in self.buckets[day]:
                    pid += 1
                    n += 1
                    if ref is not None:
                        refs[ref] = pid
                    yield (pid, 1, f"{prefix}{n:04d}", uid, oid, lid, payer, cents / 100, method,
                           day_s + ts[s % DAY_S], clerk, "valid", None, note)
                seq[("SK", day)] = n

        def allocation_rows():
            pid = 0
            for day in days:
                for intent in self.buckets[day]:
                    pid += 1
                    yield (pid, 1, pid, intent[1], intent[6] / 100)

        self.w.write("payment", payment_rows())
        self.w.write("payment_allocation", allocation_rows())
        self.buckets = None  # let the intents go

    # ------------------------------------------------------------------ move-ins, permits, services

    def write_move_ins(self) -> None:
        from app.movein import REQUIRED_DOCUMENTS

        rng = self.rng
        rows = []
        self.docs = []  # (doc_type, owner id, unit index, received day, ref_table, ref_id, note)
        for idx, (u, handled, completed, months) in enumerate(self.move_ins):
            oid = self.u_owner[u]
            kind = "company" if self.o_company[oid] else ("proxy" if rng.random() < 0.15 else "owner")
            proxy = self.outsider() if kind == "proxy" else None
            done = completed is not None
            flags = [done or rng.random() < 0.6 for _ in range(7)]
            pay = self.refs.get(("move_in", idx))
            rows.append((idx + 1, 1, u + 1, oid, kind, proxy[0] if proxy else None, proxy[1] if proxy else None,
                         self.dt(handled), self.user["frontdesk"], flags[0], flags[1],
                         rng.randint(2, 4) if done or flags[2] else 0, flags[3], flags[4],
                         rng.randint(0, 3000) / 100, rng.randint(0, 20000) / 100, rng.randint(0, 1000) / 100,
                         flags[5], pay, "completed" if done else "open", self.dt(completed) if done else None,
                         rng.choice(MOVE_IN_NOTES)))
            required = REQUIRED_DOCUMENTS[kind]
            for doc in required:
                if done or rng.random() < 0.6:
                    self.docs.append((doc, oid, u, handled // DAY_S, "move_in", idx + 1, None))
        self.w.write("move_in", rows)

    def write_permits(self) -> None:
        from seed.renovation_demo import (
            FINAL_CHECK,
            FINDINGS,
            INSPECTORS,
            PROXY_NOTES,
            REJECTION,
            REVIEW_NOTES,
            STRUCTURAL_NOTE,
            VIOLATION,
        )

        rng = self.rng
        rows, passes, checks = [], [], []
        for p in self.permits:
            u, status = p["u"], p["status"]
            oid = self.u_owner[u]
            proxy = p["proxy"]
            number = p.get("number")
            reviewed = p["reviewed"]
            review_note = None
            if reviewed is not None:
                review_note = STRUCTURAL_NOTE if status == "reviewed" and p["structural"] else rng.choice(REVIEW_NOTES)
            approved = p["approved"]
            day = (approved or reviewed or p["applied"]) // DAY_S
            if proxy:  # 委托书 and 受托人身份证 archived on the unit's file
                for doc in ("power_of_attorney", "proxy_id_copy"):
                    self.docs.append((doc, oid, u, p["applied"] // DAY_S, "renovation_permit", p["id"], None))
            if (p["structural"] or p["load"]) and approved is not None:
                self.docs.append(("alteration_approval", oid, u, day - 1, "renovation_permit", p["id"], None))
            started, completed = p.get("started"), p.get("completed")
            if number:
                for k in range(1, rng.randint(1, 3) + 1):
                    w = self.outsider()
                    passes.append((len(passes) + 1, 1, p["id"], f"{number}-{k:02d}", w[0], w[1], w[2],
                                   self.ds[p["start_day"]], self.ds[p["end_day"]]))
            if started is not None:
                until = min(min(completed or self.now_s, self.now_s) // DAY_S, self.last_o)
                first = started // DAY_S
                n = rng.randint(1, 3)
                for k in range(n):
                    on = rng.randint(first, max(first, until))
                    violation = rng.random() < 0.05
                    last = status == "completed" and k == n - 1
                    findings = VIOLATION[0] if violation else FINAL_CHECK if last else rng.choice(FINDINGS)
                    checks.append((len(checks) + 1, 1, p["id"], self.ds[on], rng.choice(INSPECTORS), findings,
                                   violation, VIOLATION[1] if violation else None))
                    p["violation"] = p["violation"] or violation
            contractor, contractor_phone = p["contractor"]
            rows.append((
                p["id"], 1, number, status, u + 1, oid, "proxy" if proxy else "owner",
                proxy[0] if proxy else None, proxy[1] if proxy else None, proxy[2] if proxy else None,
                contractor, contractor_phone, self.ds[p["start_day"]], self.ds[p["end_day"]], p["summary"],
                p["structural"], p["load"], status != "applied" or rng.random() < 0.5, status != "applied",
                "supervisor" if reviewed else None, self.dt(reviewed) if reviewed else None, review_note,
                p["fee"] / 100, p["fee_paid"], self.refs.get(("permit", p["id"])), self.dt(p["applied"]), "frontdesk",
                self.dt(approved) if approved else None, "manager" if approved else None,
                REJECTION if status == "rejected" else None, self.dt(started) if started else None,
                self.dt(completed) if completed else None,
                "occupied" if started is not None else None, p["violation"],
                rng.choice(PROXY_NOTES) if proxy else None))
        self.w.write("renovation_permit", rows)
        self.w.write("worker_pass", passes)
        self.w.write("renovation_check", checks)

    def write_services(self) -> None:
        from seed.community_demo import (
            ACCEPT_NOTES,
            ORDER_CANCELS,
            REJECT_NOTES,
            WORKERS,
        )

        rng = self.rng
        items = []
        for i, (name, desc, price, unit_word, dept, published, _, _) in enumerate(self.service_items, 1):
            items.append((i, 1, name, desc, float(price), unit_word, self.dept.get(dept), published))
        self.w.write("service_item", items)
        rows = []
        for idx, o in enumerate(self.orders):
            st = o["status"]
            scheduled = st in ("scheduled", "accepted", "rejected", "charged") or (
                st == "cancelled" and rng.random() < 0.4 and o["scheduled_step"] <= self.now_s)
            done = st in ("accepted", "rejected", "charged")
            staff = rng.choice(WORKERS.get(o["dept"], ("周涛",)))
            note = f"取消原因:{rng.choice(ORDER_CANCELS)}" if st == "cancelled" else None
            u = o["u"]
            rows.append((idx + 1, 1, o["number"], o["item"] + 1, u + 1, self.u_owner[u] or None, o["contact"][0],
                         o["contact"][1], o["area"], self.dt(o["agreed"]), o["fee"] / 100, o["result"],
                         o["agreement"], st, self.dt(o["booked"]), "frontdesk",
                         "supervisor" if scheduled else None, staff if scheduled else None,
                         self.dt(o["agreed"]) if scheduled else None, self.dt(o["done"]) if done else None,
                         (st != "rejected") if done else None,
                         (rng.choice(REJECT_NOTES) if st == "rejected" else rng.choice(ACCEPT_NOTES)) if done else None,
                         self.refs.get(("service", idx)), note))
        self.w.write("service_order", rows)

    # ------------------------------------------------------------------ documents

    def documents(self) -> None:
        from schema.documents import DocType

        rng = self.rng
        target = self.count(0.5)
        docs = self.docs
        owned = self.owned
        custody = [u for u in owned if self.u_status[u] == "custody"]
        while len(docs) < target and owned:
            r = rng.random()
            if custody and r < 0.1:
                u = rng.choice(custody)
                docs.append(("custody_agreement", self.u_owner[u], u, rng.randint(self.first_o, self.last_o),
                             None, None, None))
            else:
                u = rng.choice(owned)
                oid = self.u_owner[u]
                kind = ("company_proof" if self.o_company[oid] else "id_copy") if r < 0.6 else \
                    rng.choice(("registration_form", "agreement", "purchase_contract", "other"))
                docs.append((kind, oid, u, rng.randint(self.first_o, self.last_o), None, None,
                             "业主补交资料" if kind == "other" else None))
        clerk = self.user["frontdesk"]
        labels = {m.value: m.label for m in DocType}
        randbytes = rng.randbytes

        def rows():
            for i, (kind, oid, u, day, ref_table, ref_id, note) in enumerate(docs, 1):
                label = labels[kind]
                owner = self.o_name[oid]
                title = f"{owner} {label}" if kind in ("id_copy", "company_proof") else f"{self.unit_label(u)} {label}"
                png = kind in ("id_copy", "proxy_id_copy")
                filename = f"{title.replace(' ', '-')}.{'png' if png else 'pdf'}"
                yield (i, 1, kind, title, oid, u + 1, ref_table, ref_id, filename,
                       "image/png" if png else "application/pdf", rng.randint(40_000, 2_500_000),
                       hashlib.sha256(randbytes(32)).hexdigest(), self.ds[min(day, self.last_o)], clerk, note)

        self.w.write("document", rows())

    # ------------------------------------------------------------------ work orders

    def work_orders(self) -> None:
        from seed.occupancy_demo import (
            CLOSE_REASONS,
            FOLLOWUP_RESULTS,
            ISSUES,
            PROBLEMS,
        )

        rng = self.rng
        rand, randint, choice = rng.random, rng.randint, rng.choice
        now = self.now_s
        dt = self.dt
        dept = self.dept
        issues = [i for i in ISSUES]
        units = self.occupied or self.owned
        self.call_orders = []    # (wo id, created, unit, reporter, phone, description, dept id, status, followup)
        self.visit_orders = []   # (wo id, unit, due, followup at, method, number, satisfied, result, status)
        self.order_ids = []

        def rows():
            for wid, created in enumerate(self.timeline(self.count(2.0), self.first_o, self.last_o,
                                                        7 * HOUR, 21 * HOUR), 1):
                source, category, dept_name, needs_unit, template = choice(issues)
                dept_id = dept.get(dept_name)
                if needs_unit and units:
                    u = choice(units)
                    reporter, phone = self.contact(u)
                    b = self.u_b[u]
                    floor = self.u_floor[u]
                else:
                    u, reporter, phone = None, None, None
                    b = randint(0, len(self.b_label) - 1)
                    floor = randint(1, self.b_floors[b])
                description = template.format(b=self.b_label[b], f=floor)
                number = self.number("WX", created // DAY_S)
                r = rand()
                target = "closed" if r < 0.04 else "back" if r < 0.05 else "done" if r < 0.07 else "visited"
                t_dispatch = created + (randint(5, 90) * MINUTE if rand() < 0.95
                                        else randint(12, 96) * HOUR)  # some wait for an appointment
                t_accept = t_dispatch + randint(10, 120) * MINUTE
                t_start = t_accept + randint(20, 360) * MINUTE
                t_done = t_start + randint(60, 48 * 60) * MINUTE
                leak = t_done - randint(60, 360) * MINUTE if category == "leak" else None
                if leak is not None and leak < t_start + 10 * MINUTE:
                    leak = t_start + 10 * MINUTE
                    t_done = max(t_done, leak + 30 * MINUTE)
                due = (leak + 3 * DAY_S) if leak is not None else t_done + 2 * DAY_S
                if rand() < 0.92:
                    t_follow = t_done + randint(HOUR, max(HOUR + 1, due - t_done))
                else:
                    t_follow = due + randint(HOUR, 72 * HOUR)
                steps = [created, t_dispatch, t_accept, t_start, t_done, t_follow]
                if target == "done":  # never followed up (yet): waits in the follow-up queue
                    steps = steps[:5]
                closed = False
                if target == "closed":  # closed before any work: from 待派工, 已派工 or 已签领
                    stop = randint(0, 2)
                    closed = steps[stop] + randint(1, 48) * HOUR <= now
                    steps = steps[:stop + 1]
                reached = 0
                for k, t in enumerate(steps):
                    if t <= now:
                        reached = k
                status = "closed" if closed else STEP_STATUS[reached]
                back = target == "back" and reached == 5  # the follow-up found the repair did not hold
                if back:
                    status = "dispatched"
                dep = dept_id if reached >= 1 or rand() < 0.5 else None
                followed = reached >= 5
                done = reached >= 4 and not back
                satisfied = rand() < 0.92 and not back
                result = "回访发现问题,已重新派工" if back else choice(FOLLOWUP_RESULTS[category])
                method = "phone" if rand() < 0.7 else "visit"
                row = (wid, 1, number, source, u + 1 if u is not None else None, reporter, phone, category,
                       description, dep, status, dt(created), choice(OPENED_BY),
                       dt(t_follow if back else t_dispatch) if reached >= 1 else None,
                       "frontdesk" if reached >= 1 else None,
                       dt(t_accept) if reached >= 2 else None, "maintenance" if reached >= 2 else None,
                       dt(t_start) if reached >= 3 else None, dt(t_done) if done else None,
                       "maintenance" if reached >= 4 else None, dt(leak) if reached >= 4 and leak is not None else None,
                       dt(due) if done else None, method if followed else None, dt(t_follow) if followed else None,
                       "frontdesk" if followed else None, satisfied if followed else None,
                       result if followed else None, PROBLEMS[category] if back else None,
                       choice(CLOSE_REASONS[u is not None]) if closed else None, None)
                if source == "call":
                    self.call_orders.append((wid, created, u, reporter, phone, description, dep, status,
                                             t_follow if followed else None))
                if u is not None and (status == "done" or (status == "visited" and rand() < 0.35)):
                    self.visit_orders.append((wid, u, due, t_follow if followed else None, method, number,
                                              satisfied, result, status))
                yield row

        self.w.write("work_order", rows())

    # ------------------------------------------------------------------ complaints and calls

    def plan_complaints(self) -> None:
        from schema.complaints import KIND_CATEGORIES
        from seed.frontdesk_demo import CHANNELS, COMPLAINTS, ESCALATIONS

        rng = self.rng
        valid, comm = KIND_CATEGORIES["valid"], KIND_CATEGORIES["communication"]
        channels = _weighted(CHANNELS)
        units = self.occupied or self.owned
        plans = []
        for received in self.timeline(self.count(1.0), self.first_o, self.last_o, 8 * HOUR, 21 * HOUR):
            c = {"received": received}
            escalation = None
            if rng.random() < 0.35:
                category = rng.choice(comm)
                kind = "communication"
                if received < self.now_s - 10 * DAY_S and rng.random() < 0.04:
                    escalation = rng.choice(ESCALATIONS)
                    category = escalation[0]
            else:
                category, kind = rng.choice(valid), "valid"
            dept_name, templates = COMPLAINTS[category]
            content, handling, result = rng.choice(templates)
            if escalation:
                _, content, new_category, reason, handling, result = escalation
                dept_name = COMPLAINTS[new_category][0]
                c["escalation"] = (category, new_category, reason)
            if rng.random() < 0.85 and units:
                u = rng.choice(units)
                name, phone = self.contact(u)
                b, floor = self.u_b[u], self.u_floor[u]
            else:
                p = self.outsider()
                u, name, phone = None, p[0], p[2]
                b = rng.randrange(len(self.b_label))
                floor = rng.randint(1, self.b_floors[b])
            c.update(u=u, name=name, phone=phone, kind=kind, category=category, dept=dept_name,
                     content=content.format(b=self.b_label[b], f=floor), handling=handling, result=result,
                     from_call=rng.random() < 0.15, channel=None)
            c["channel"] = "phone" if c["from_call"] else rng.choice(channels)
            plans.append(c)
        self.complaint_plans = plans

    def calls(self) -> None:
        from seed.frontdesk_demo import ANSWERED, FOLLOWUP_ANSWERED, PENDING

        rng = self.rng
        rand, randint, choice = rng.random, rng.randint, rng.choice
        dept = self.dept
        total = self.count(3.0)
        linked = [(wo[1] - randint(1, 8) * MINUTE, 0, i) for i, wo in enumerate(self.call_orders)]
        linked += [(c["received"] - randint(1, 5) * MINUTE, 1, i) for i, c in enumerate(self.complaint_plans)
                   if c["from_call"]]
        rest = max(0, total - len(linked))
        plain = [(t, 2, None) for t in self.timeline(rest, self.first_o, self.last_o, 8 * HOUR, 21 * HOUR)]
        calls = sorted(linked + plain, key=lambda c: (c[0], c[1], -1 if c[2] is None else c[2]))
        now = self.now_s
        dt = self.dt
        units = self.occupied or self.owned
        answered_by_identity: dict[str, list] = {}
        for item in ANSWERED:
            answered_by_identity.setdefault(item[0], []).append(item)
        identities = _weighted((("owner", 55), ("resident", 25), ("visitor", 8), ("other", 12)))
        self.complaint_calls: dict[int, int] = {}

        def rows():
            for cid, (at, kind, ref) in enumerate(calls, 1):
                if kind == 0:
                    wid, _, u, reporter, phone, description, dep, _, followed = self.call_orders[ref]
                    if reporter is None:
                        p = self.outsider()
                        reporter, phone = p[0], p[2]
                    closed = followed is not None and followed + HOUR <= now and rand() < 0.8
                    back = followed + randint(5, 55) * MINUTE if closed else None
                    yield (cid, 1, dt(at), reporter, "owner" if u is not None else "other",
                           u + 1 if u is not None else None, phone, description, False, None, phone, dep,
                           "closed" if closed else "referred", wid, dt(back) if closed else None,
                           "frontdesk" if closed else None, choice(CALL_FOLLOWUPS) if closed else None,
                           "frontdesk", None)
                    continue
                if kind == 1:
                    c = self.complaint_plans[ref]
                    self.complaint_calls[ref] = cid
                    u = c["u"]
                    yield (cid, 1, dt(at), c["name"], "owner" if u is not None else "other",
                           u + 1 if u is not None else None, c["phone"], c["content"], False, None, c["phone"],
                           dept.get(c["dept"]), "referred", None, None, None, None, "frontdesk", "已转投诉处理")
                    continue
                identity = choice(identities)
                if identity in ("owner", "resident") and units:
                    u = choice(units)
                    caller, phone = self.contact(u)
                else:
                    p = self.outsider()
                    u, caller, phone = None, p[0], p[2]
                if rand() < 0.8:
                    _, content, answer = choice(answered_by_identity[identity])
                    followup = None
                    if rand() < 0.05 and at + DAY_S < now:
                        followup = at + randint(2, 48) * HOUR
                    yield (cid, 1, dt(at), caller, identity, u + 1 if u is not None else None, phone, content, True,
                           answer, None, None, "closed" if followup else "answered", None,
                           dt(followup) if followup else None, "frontdesk" if followup else None,
                           choice(FOLLOWUP_ANSWERED) if followup else None, "frontdesk", None)
                else:
                    who, content, dept_name, result = choice(PENDING)
                    followup = at + randint(2, 72) * HOUR
                    if followup > now:
                        status, followup = ("pending" if rand() < 0.5 else "referred"), None
                    else:
                        status = "closed" if rand() < 0.95 else "referred"
                        if status == "referred":
                            followup = None
                    yield (cid, 1, dt(at), caller, who if u is not None or who in ("visitor", "other") else "other",
                           u + 1 if u is not None else None, phone, content, False, None, phone,
                           dept.get(dept_name) if status != "pending" else None, status, None,
                           dt(followup) if followup else None, "frontdesk" if followup else None,
                           result if followup else None, "frontdesk", None)

        self.w.write("call_log", rows())

    def write_complaints(self) -> None:
        from seed.frontdesk_demo import DISSATISFIED, IDENTITY_NOTES

        rng = self.rng
        randint, rand, choice = rng.randint, rng.random, rng.choice
        now = self.now_s
        dt = self.dt
        dept = self.dept

        def rows():
            for idx, c in enumerate(self.complaint_plans):
                r = c["received"]
                number = self.number("TS", r // DAY_S)
                classified = r + randint(10, 240) * MINUTE
                escalation = c.get("escalation")
                escalated_at = classified + randint(24, 72) * HOUR if escalation else None
                assigned = (escalated_at or classified) + randint(10, 24 * 60) * MINUTE
                onsite = assigned + randint(30, 48 * 60) * MINUTE
                visited = onsite + randint(24, 120) * HOUR
                steps = [r, classified, assigned, onsite, visited]
                reached = 0
                for k, t in enumerate(steps):
                    if t <= now:
                        reached = k
                status = ("registered", "classified", "assigned", "on_site", "visited")[reached]
                kind, category = c["kind"], c["category"]
                escalated_from = reason = None
                if escalation:
                    escalated_from, category, reason = escalation
                    kind = "valid"
                checked = c["kind"] == "communication" or rand() < 0.5
                checked = checked and reached >= 1
                relation = "owner" if c["u"] is not None else "resident"
                satisfied = rand() < 0.9
                yield (idx + 1, 1, number, dt(r), c["channel"], c["name"], c["phone"],
                       c["u"] + 1 if c["u"] is not None else None, c["content"],
                       kind if reached >= 1 else None, category if reached >= 1 else None, status, checked,
                       choice(IDENTITY_NOTES[relation]) if checked else None,
                       dt(classified) if reached >= 1 else None, "frontdesk" if reached >= 1 else None,
                       dept.get(c["dept"]) if reached >= 2 else None,
                       self.dept_boss.get(c["dept"]) if reached >= 2 else None,
                       dt(assigned) if reached >= 2 else None, dt(onsite) if reached >= 3 else None,
                       c["handling"] if reached >= 3 else None, dt(visited) if reached >= 4 else None,
                       "frontdesk" if reached >= 4 else None,
                       (c["result"] or "回访时投诉人表示满意") if reached >= 4 and satisfied else
                       DISSATISFIED if reached >= 4 else None, satisfied if reached >= 4 else None,
                       bool(escalation), escalated_from, reason, dt(escalated_at) if escalation else None,
                       "supervisor" if escalation else None, self.complaint_calls.get(idx), "frontdesk", None)

        self.w.write("complaint", rows())

    # ------------------------------------------------------------------ release slips

    def overdue(self, u: int, day: int) -> int:
        """Cents a chronic unit owed past due on `day` (its unpaid charges are never paid later)."""
        return sum(cents for _, due, cents, paid in self.chronic.get(u) or () if due < day and
                   (paid is None or paid >= day))

    def release_slips(self) -> None:
        from seed.frontdesk_demo import (
            GUARDS,
            MOVE_OUT,
            MOVERS,
            OVERRIDE_REASONS,
            REASONS,
            SHOP_CLEARANCE,
        )

        rng = self.rng
        now = self.now_s
        profile = self.u_profile
        good = [u for u in self.occupied if self.u_owner[u] and profile[u] == 0]
        good = good or self.occupied or self.owned
        chronic = [u for u, charges in self.chronic.items() if charges and any(p is None for _, _, _, p in charges)]
        slips = []
        for created in self.timeline(self.count(0.2), self.first_o, self.last_o, 8 * HOUR, 20 * HOUR):
            r = rng.random()
            scenario = ("refused" if r < 0.05 else "override" if r < 0.08 else "void" if r < 0.11
                        else "agent" if r < 0.26 else "owner")
            u = None
            if scenario in ("refused", "override") and chronic:
                u = rng.choice(chronic)
                if self.overdue(u, created // DAY_S) <= 0:
                    u = None
            if u is None:
                scenario = "owner" if scenario in ("refused", "override") else scenario
                u = rng.choice(good)
            oid = self.u_owner[u]
            if scenario == "owner" and (not oid or self.o_company[oid]):
                scenario = "agent"
            s = {"u": u, "created": created, "scenario": scenario, "oid": oid}
            if self.u_usage[u] == "shop":
                s["reason"], lines = SHOP_CLEARANCE
            elif rng.random() < 0.4:
                s["reason"], lines = MOVE_OUT
            else:
                s["reason"], lines = rng.choice(REASONS)
            items = []
            for description, quantity, measure in rng.sample(lines, min(len(lines), rng.randint(1, 3))):
                if isinstance(quantity, tuple):
                    quantity = rng.randint(*quantity)
                items.append((description, quantity, measure))
            s["items"] = items
            issue = created + rng.randint(5, 40) * MINUTE
            s["confirm"] = created + rng.randint(2, 4) * MINUTE if scenario in ("agent", "override") else None
            s["override"] = issue - rng.randint(1, 3) * MINUTE if scenario == "override" else None
            s["issue"] = issue
            s["release"] = issue + rng.randint(10, 48 * 60) * MINUTE
            s["void"] = issue + rng.randint(30, 24 * 60) * MINUTE if scenario == "void" else None
            if issue > now:
                s["state"] = "draft"
            elif scenario == "refused":
                s["state"] = "refused"
            elif scenario == "void":
                s["state"] = "void" if s["void"] <= now else "issued"
            elif s["release"] > now or rng.random() < 0.03:
                s["state"] = "issued"
            else:
                s["state"] = "released"
            slips.append(s)
        for s in sorted((s for s in slips if s["state"] in ("issued", "released", "void")), key=lambda s: s["issue"]):
            s["number"] = self.number("FX", s["issue"] // DAY_S)
        dt = self.dt

        def rows():
            for sid, s in enumerate(slips, 1):
                u, oid, state, scenario = s["u"], s["oid"], s["state"], s["scenario"]
                if scenario == "owner":
                    applicant, idn, phone, relation = self.o_name[oid], self.o_idn[oid], self.o_phone[oid], "owner"
                else:
                    p = self.outsider()
                    applicant, idn, phone = p[0], p[1], p[2]
                    relation = rng.choice(("family", "tenant", "agent", "agent"))
                is_owner = scenario == "owner"
                confirmed = s["confirm"] is not None and state != "draft" or (scenario == "agent" and state != "draft")
                confirm_at = s["confirm"] or s["created"] + 2 * MINUTE
                owed = self.overdue(u, s["issue"] // DAY_S) if scenario in ("refused", "override") else 0
                issued = state in ("issued", "released", "void")
                decided = state != "draft"
                refused = state == "refused"
                override = scenario == "override" and decided
                note = f"搬家公司:{rng.choice(MOVERS)}" if relation == "agent" else None
                yield (sid, 1, s.get("number"), state, u + 1, applicant, idn, phone, relation, s["reason"],
                       is_owner if decided else None, decided, confirmed,
                       (self.o_name[oid] if oid else None) if confirmed else None,
                       dt(confirm_at) if confirmed else None, self.o_phone[oid] if confirmed and oid else None,
                       owed / 100 if decided else None, dt(s["issue"]) if refused else None,
                       f"该房屋欠费 {owed / 100:,.2f} 元,不能开具放行条;如确需放行,须由主管填写理由审批" if refused else None,
                       "supervisor" if override else None, dt(s["override"]) if override else None,
                       rng.choice(OVERRIDE_REASONS) if override else None,
                       dt(s["issue"]) if issued else None, "frontdesk" if issued else None,
                       dt(s["release"]) if state == "released" else None,
                       rng.choice(GUARDS) if state == "released" else None,
                       "业主取消搬运,放行条未使用" if state == "void" else None,
                       dt(s["void"]) if state == "void" else None, "supervisor" if state == "void" else None,
                       dt(s["created"]), "frontdesk", note)

        def item_rows():
            iid = 0
            for sid, s in enumerate(slips, 1):
                for description, quantity, measure in s["items"]:
                    iid += 1
                    yield (iid, 1, sid, description, quantity, measure)

        self.w.write("release_slip", rows())
        self.w.write("release_item", item_rows())

    # ------------------------------------------------------------------ visitors

    def visitors(self) -> None:
        from seed.frontdesk_demo import DEPARTMENT_VISITS, UNIT_VISITS

        rng = self.rng
        now = self.now_s
        dt = self.dt
        units = self.occupied or self.owned

        def rows():
            for vid, t in enumerate(self.timeline(self.count(0.5), self.first_o, self.last_o, 7 * HOUR, 22 * HOUR), 1):
                p = self.outsider()
                out = t + rng.randint(10, 240) * MINUTE
                if out > now or rng.random() < 0.03:
                    out = None
                if rng.random() < 0.75 and units:
                    u = rng.choice(units)
                    purpose, note = rng.choice(UNIT_VISITS)
                    yield (vid, 1, dt(t), p[0], p[1], p[2], purpose, u + 1, None, self.contact(u)[0], None,
                           dt(out) if out else None, "frontdesk", note)
                else:
                    dept_name, purpose, note = rng.choice(DEPARTMENT_VISITS)
                    d = self.dept.get(dept_name)
                    yield (vid, 1, dt(t), p[0], p[1], p[2], purpose, None, d, self.dept_boss.get(dept_name), d,
                           dt(out) if out else None, "frontdesk", note)

        self.w.write("visitor", rows())

    # ------------------------------------------------------------------ follow-up visits and surveys

    def followup_visits(self) -> None:
        from seed.community_demo import (
            CANCEL_REASONS,
            CONTENTS,
            PROBLEMS,
            PURPOSES,
            VISIT_STAFF,
        )

        rng = self.rng
        target = self.count(0.5)
        results = _weighted(VISIT_RESULT_WEIGHTS)
        units = self.occupied or self.owned
        dt, ds = self.dt, self.ds
        orders = self.visit_orders[:max(0, target // 3)] + [o for o in self.visit_orders[target // 3:]
                                                           if o[8] == "done"]

        def rows():
            vid = 0
            for wid, u, due, followed, method, number, satisfied, result, status in orders:
                vid += 1
                oid = self.u_owner[u] or None
                if status == "done":  # awaiting its follow-up: planned on the deadline
                    yield (vid, 1, u + 1, oid, ds[due // DAY_S], rng.choice(VISIT_STAFF), method,
                           f"维修回访 {number}", wid, "planned", None, None, None, None, None, None, None)
                else:
                    yield (vid, 1, u + 1, oid, ds[due // DAY_S], rng.choice(VISIT_STAFF), method,
                           f"维修回访 {number}", wid, "done", dt(followed), result, None, None,
                           "satisfied" if satisfied else "unsatisfied", None, None)
            for _ in range(max(0, target - vid)):
                vid += 1
                u = rng.choice(units)
                purpose, method = rng.choice(PURPOSES)
                day = rng.randint(self.first_o, self.today_o + 30)
                status = "planned"
                visited = content = problems = opinion = result = note = None
                if day < self.today_o - 1:
                    r = rng.random()
                    if r < 0.9:
                        status = "done"
                        visited = self.at(day, 9 * HOUR, 19 * HOUR)
                        result = rng.choice(results)
                        content = rng.choice(CONTENTS[result])
                        if rng.random() < 0.15:
                            problems, opinion = rng.choice(PROBLEMS)
                    elif r < 0.96:
                        status = "cancelled"
                        note = f"取消原因:{rng.choice(CANCEL_REASONS)}"
                yield (vid, 1, u + 1, self.u_owner[u] or None, ds[day], rng.choice(VISIT_STAFF), method, purpose,
                       None, status, dt(visited) if visited else None, content, problems, opinion, result, None, note)

        self.w.write("followup_visit", rows())

    def surveys(self) -> None:
        from app.visits import SCORES
        from seed.community_demo import SCORE_WEIGHTS, SUGGESTIONS

        rng = self.rng
        units = self.occupied or self.owned
        n = min(len(units), self.count(0.3))
        chosen = sorted(rng.sample(units, n))
        given = self.today_o - rng.randint(60, 120)
        year = date.fromordinal(given).year
        weights = {name: _weighted(zip((5, 4, 3, 2, 1), SCORE_WEIGHTS[name])) for name in SCORES}
        ds = self.ds

        def rows():
            for i, u in enumerate(chosen, 1):
                day = given + rng.randint(0, 7)
                collected = day + rng.randint(3, 30) if rng.random() < 0.85 else None
                if collected is not None and collected > self.last_o:
                    collected = None
                scores = [rng.choice(weights[name]) if collected else None for name in SCORES]
                yield (i, 1, year, u + 1, ds[day], ds[collected] if collected else None, *scores,
                       rng.choice(SUGGESTIONS) if collected and rng.random() < 0.3 else None)

        self.w.write("survey", rows())

    # ------------------------------------------------------------------ dunning

    def dunning(self) -> None:
        rng = self.rng
        target = self.count(0.05)
        units = [u for u, charges in self.chronic.items() if any(p is None for _, _, _, p in charges or ())]
        leases = [lid for lid, unpaid in self.lease_unpaid.items() if unpaid]
        rows, links = [], []
        ds, dt = self.ds, self.dt
        leasing = self.user["leasing"]
        by_id = {l["id"]: l for l in self.leases}
        for _ in range(target):
            if leases and (not units or rng.random() < 0.1):
                lid = rng.choice(leases)
                unpaid = self.lease_unpaid[lid]
                first_due = unpaid[0][1]
                if first_due + 5 > self.last_o:
                    continue
                day = rng.randint(first_due + 5, self.last_o)
                owing = [cid for cid, due, _ in unpaid if due < day]
                lease = by_id[lid]
                unit_id, payer, reached = None, lease["company"] or lease["tenant"], lease["tenant"]
                result = rng.choice(LEASE_DUN_RESULTS)
            elif units:
                u = rng.choice(units)
                charges = self.chronic[u]
                first_due = min(due for _, due, _, p in charges if p is None)
                if first_due + 5 > self.last_o:
                    continue
                day = rng.randint(first_due + 5, self.last_o)
                owing = [cid for cid, due, _, paid in charges if due < day and (paid is None or paid >= day)]
                oid = self.u_owner[u]
                unit_id, lid, payer = u + 1, None, self.o_name[oid]
                reached = self.o_contact[oid] if self.o_company[oid] else payer
                result = rng.choice(DUN_RESULTS)
            else:
                break
            if not owing:
                continue
            did = len(rows) + 1
            at = self.at(day, 9 * HOUR, 18 * HOUR)
            answered = not result.startswith("电话无人接听")
            promised = day + rng.randint(3, 20) if answered and rng.random() < 0.6 else None
            rows.append((did, 1, unit_id, lid if unit_id is None else None, payer,
                         "visit" if result.startswith("上门") else rng.choice(("phone", "phone", "visit")),
                         dt(at), leasing, reached if answered else None, answered, result,
                         ds[promised] if promised else None, "下周再次联系" if rng.random() < 0.1 else None))
            links += [(did, cid) for cid in owing[-6:]]
        self.w.write("dunning", rows)
        self.w.write("dunning_charge", links)

    # ------------------------------------------------------------------ supervision

    def supervision(self) -> None:
        from app.supervision import PATROL_ITEMS
        from seed.demo import USERS
        from seed.frontdesk_demo import GUARDS
        from seed.renovation_demo import (
            ITEMS,
            PATROL_FIXES,
            PATROL_NOTES,
            RECHECK_FAIL,
            RECHECK_OK,
        )

        rng = self.rng
        now = self.now_s
        checks = []  # (checked_at, department name, item, checker, findings, fix or None, patrol id, kind)
        patrols = []
        fail_rate = 0.06
        for pid, at in enumerate(self.timeline(self.count(0.1), self.first_o, self.last_o, 8 * HOUR, 18 * HOUR), 1):
            b = rng.randrange(len(self.b_label))
            patroller = rng.choice(GUARDS)
            row = [pid, 1, b + 1, self.dt(at), patroller]
            for name in ("hygiene", "facilities", "bulletin", "security"):
                if rng.random() < fail_rate:
                    note = rng.choice(PATROL_NOTES[name]).format(f=rng.randint(1, self.b_floors[b]))
                    row += [False, note]
                    if rng.random() < 0.9:
                        item, dept_name = PATROL_ITEMS[name]
                        checks.append((at, dept_name, item, patroller, f"{self.b_label[b]} 巡查:{note}",
                                       rng.choice(PATROL_FIXES[name]), pid, "nonconformance"))
                else:
                    row += [True, None]
            patrols.append(tuple(row))
        self.w.write("patrol", patrols)
        checkers = [USERS[r][0] for r in ("supervisor", "manager", "frontdesk")]
        for at in self.timeline(self.count(0.05), self.first_o, self.last_o, 9 * HOUR, 17 * HOUR):
            item = rng.choice(list(ITEMS))
            dept_name, passed_texts, failures = ITEMS[item]
            if rng.random() < 0.75:
                checks.append((at, dept_name, item, rng.choice(checkers), rng.choice(passed_texts), None, None, None))
            else:
                finding, fix = rng.choice(failures)
                checks.append((at, dept_name, item, rng.choice(checkers), finding, fix, None,
                               "nonconformance" if rng.random() < 0.6 else "coordination"))
        checks.sort(key=lambda c: (c[0], c[6] or 0))
        prefixes = {"nonconformance": "BH", "coordination": "XT"}
        dt = self.dt
        rows = []
        for cid, (at, dept_name, item, checker, findings, fix, patrol_id, kind) in enumerate(checks, 1):
            if kind is None:
                rows.append((cid, 1, None, self.dept[dept_name], item, dt(at), checker, True, findings, None, None,
                             None, "passed", None, None, None, None, None, 0, None, None))
                continue
            number = self.number(prefixes[kind], at // DAY_S)
            deadline = (at // DAY_S + rng.randint(1, 5)) * DAY_S + 18 * HOUR
            rectified = at + rng.randint(4, 96) * HOUR
            rechecked = rectified + rng.randint(2, 48) * HOUR
            ok = rng.random() < 0.85
            status, reopen, recheck_note = "open", 0, None
            new_deadline = deadline
            if rectified <= now:
                status = "rectified"
                if rechecked <= now:
                    status = "recheck_passed" if ok else "recheck_failed"
                    recheck_note = rng.choice(RECHECK_OK if ok else RECHECK_FAIL)
                    if not ok:
                        reopen = 1
                        new_deadline = (rechecked // DAY_S + rng.randint(2, 5)) * DAY_S + 18 * HOUR
            done = status != "open"
            checked = status in ("recheck_passed", "recheck_failed")
            rows.append((cid, 1, number, self.dept[dept_name], item, dt(at), checker, False, findings, kind,
                         self.dept_boss.get(dept_name), dt(new_deadline), status, dt(rectified) if done else None,
                         fix if done else None, dt(rechecked) if checked else None,
                         "supervisor" if checked else None, recheck_note, reopen, patrol_id, None))
        self.w.write("dept_check", rows)

    # ------------------------------------------------------------------ number_sequence

    def number_sequence(self) -> None:
        """The last number of every (prefix, day), so the app's next number follows it."""
        existing = self.existing["number_sequence"]
        ds = self.dsn
        new, bumped = [], []
        next_id = max((v[0] for v in existing.values()), default=0)
        for (prefix, day), last in sorted(self.seq.items()):
            key = (prefix, ds[day])
            if key in existing:
                sid, old = existing[key]
                if last > old:
                    bumped.append((sid, last))
            else:
                next_id += 1
                new.append((next_id, prefix, ds[day], last))
        self.w.write("number_sequence", new, drop_indexes=False)
        if bumped:
            def bump(conn):
                table = db.metadata.tables["number_sequence"]
                for sid, last in bumped:
                    conn.execute(table.update().where(table.c.id == sid).values(last=last))
            self.w.call(bump)


# =========================================================================== entry points


def after_bulk_load(connection) -> None:
    """Run once after a bulk load, on the loading connection, inside its transaction.

    Search indexes that are maintained by triggers or need a rebuild after bulk loads go here. (The
    loader drops each table's triggers while it writes the table; the FTS5 search tables that
    app/fulltext.py keeps through them are refilled as each table is finished, see _rebuild_search.)
    For now it only refreshes the query planner's statistics."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA analysis_limit=1000")  # sampled statistics: about a second
    connection.exec_driver_sql("ANALYZE")


def _reset_sequences(connection) -> None:
    """PostgreSQL: move each table's id sequence past the ids written here."""
    if connection.dialect.name != "postgresql":
        return
    for name, columns in COLUMNS.items():
        if "id" not in columns:
            continue
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), COALESCE((SELECT max(id) FROM {name}), 1), "
            f"(SELECT max(id) FROM {name}) IS NOT NULL) WHERE pg_get_serial_sequence('{name}', 'id') IS NOT NULL")


def non_empty_tables(connection) -> list[str]:
    """The tables seed-scale writes that already hold rows (accounts and departments excepted)."""
    found = []
    for name in COLUMNS:
        if name in SMALL_TABLES:
            continue
        table = db.metadata.tables[name]
        if connection.execute(select(table.c[COLUMNS[name][0]]).limit(1)).first() is not None:
            found.append(name)
    return found


def _existing(connection) -> dict:
    dept = db.metadata.tables["department"]
    user = db.metadata.tables["app_user"]
    seq = db.metadata.tables["number_sequence"]
    return {
        "department": [(r.name, r.id) for r in connection.execute(select(dept.c.name, dept.c.id).order_by(dept.c.id))],
        "app_user": [(r.username, r.id) for r in connection.execute(select(user.c.username, user.c.id)
                                                                    .order_by(user.c.id))],
        "number_sequence": {(r.prefix, r.day): (r.id, r.last) for r in connection.execute(
            select(seq.c.id, seq.c.prefix, seq.c.day, seq.c.last))},
    }


def planned_rows(units: int) -> int:
    """About how many rows generate(units) writes (for the progress bar)."""
    return int(units * 46) + 100


LAST_TIMINGS: dict[str, list[float]] = {}
"""The last generate()'s database seconds per table: [inserting rows, re-creating indexes and committing]."""


def generate(units: int, seed: int = 2026, progress: bool = True, threaded: bool = True) -> dict[str, int]:
    """Write a city-scale dataset for `units` units into the empty database (inside an app context).

    Returns {table: rows written}. Refuses (RuntimeError) when any table it fills already holds rows,
    except departments and staff accounts, which are merged by name. `progress` shows a progress bar;
    `threaded` generates the next batch while the database stores the last one."""
    import click

    import schema  # noqa: F401  (registers every table on the metadata)

    if units < 1:
        raise ValueError("房屋数量须为正整数")
    engine = db.engine
    db.session.remove()
    with engine.connect() as conn:
        busy = non_empty_tables(conn)
        if busy:
            raise RuntimeError("数据库中已有数据(" + "、".join(busy) + "),seed-scale 只能写入空数据库")
        existing = _existing(conn)
    for name, columns in COLUMNS.items():
        _check_columns(name, columns)
    bar = (click.progressbar(length=planned_rows(units), label="生成数据", show_pos=True, file=click.get_text_stream("stderr"))
           if progress else nullcontext())
    switch = sys.getswitchinterval()
    with bar as bar:
        writer = _Writer(engine, bar, threaded=threaded)
        try:
            # The writer takes the GIL back between its SQL statements; while the generator runs, each
            # take waits for the switch interval (5 ms by default): keep that short during the load.
            sys.setswitchinterval(SWITCH_INTERVAL)
            _Scale(units, seed, writer, existing).run()
            writer.call(_reset_sequences)
            writer.call(after_bulk_load)
            writer.close()
        except BaseException:
            writer.abort()
            raise
        finally:
            sys.setswitchinterval(switch)
        if bar is not None:
            bar.update(max(0, bar.length - bar.pos))
    LAST_TIMINGS.clear()
    LAST_TIMINGS.update(writer.timings)
    return dict(writer.counts)


def summary(counts: dict[str, int], seconds: float, timings: dict[str, list[float]] | None = None) -> str:
    """The rows written per table (with the database's seconds on it when known), the total, the time
    and the rate."""
    timings = LAST_TIMINGS if timings is None else timings
    width = max([len(name) for name in counts] + [16])
    lines = [f"{'table':<{width}}  {'rows':>10}  {'db s':>6}"]
    for name, n in counts.items():
        spent = sum(timings.get(name, ()))
        lines.append(f"{name:<{width}}  {n:>10,}  {spent:>6.1f}")
    for name, spent in timings.items():
        if name not in counts:
            lines.append(f"{name:<{width}}  {'':>10}  {sum(spent):>6.1f}")
    total = sum(counts.values())
    lines.append(f"{'合计 total':<{width - 2}}  {total:>10,}")
    rate = total / seconds if seconds else 0.0
    lines.append(f"用时 {seconds:.1f} 秒 ({seconds:.1f} s), {rate:,.0f} 行/秒 (rows/s)")
    return "\n".join(lines)


def timed_generate(units: int, seed: int = 2026, progress: bool = True,
                   threaded: bool = True) -> tuple[dict[str, int], float]:
    """generate() and its wall-clock seconds."""
    start = _time.perf_counter()
    counts = generate(units, seed, progress, threaded)
    return counts, _time.perf_counter() - start


__all__ = ["COLUMNS", "after_bulk_load", "generate", "non_empty_tables", "summary", "timed_generate"]
