"""Excel import (数据导入): owners, units with their buildings, ownerships, residents, leases and
opening balances from an xlsx file.

    template_xlsx(kind)                  the template: Chinese headers, an example row, a 说明 sheet
    run(analyse(kind, path))             the dry run: every row validated, an Outcome with all issues
    error_report(path, outcome)          the uploaded sheet back with the bad cells marked
    run(commit(kind, path, filename))    re-validate and insert all rows in one transaction, audited

analyse() and commit() are generators yielding progress `(phase, done, total)`; `run()` drains one.
Modules: cells (a column and how a cell is read), kinds (one importer per kind), engine (reading,
validating, writing), workbooks (template and report), store (uploads kept between the steps).
"""
from .engine import (
           ACTION,
           ImportFileError,
           Issue,
           Outcome,
           Result,
           analyse,
           commit,
           run,
)
from .kinds import KINDS
from .workbooks import error_report, template_xlsx

__all__ = ["ACTION", "KINDS", "ImportFileError", "Issue", "Outcome", "Result", "analyse", "commit",
           "error_report", "run", "template_xlsx"]
