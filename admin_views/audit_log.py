"""The audit log list, narrowed to one record's history by `?table=&record=`."""
from flask import request

from app import scoping

from .generic import SchemaView


class AuditLogView(SchemaView):
    can_view_details = True

    def _history(self, query):
        table = request.args.get("table")
        record = request.args.get("record", type=int)
        if table:
            query = query.filter(self.model.table_name == table)
        if record is not None:
            query = query.filter(self.model.record_id == record)
        return query

    def scope(self, query):
        """One record's history, and only rows about records in the reader's estates."""
        allowed_rows = scoping.audit_condition(scoping.current_estates())
        query = self._history(query)
        return query if allowed_rows is None else query.filter(allowed_rows)

    def record_links(self, model):
        return []
